"""The explicit context (every knob a spec leaves open), flags and profiles.

A :class:`Context` is passed to every operation; there is no global state.
Profiles are named bundles of knob settings, like SoftFloat's specializations:
``Context.profile("x86")`` is one word for "behave like that implementation".
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from .errors import RefnumError


class Flag(enum.IntFlag):
    """Exception flags in TestFloat / RISC-V ``fflags`` bit order (IEEE 754 §7).

    Bits 0-4 are IEEE's; higher bits are refnum-only and never written to
    TestFloat lines.
    """

    INEXACT = 0x01
    UNDERFLOW = 0x02
    OVERFLOW = 0x04
    DIVBYZERO = 0x08
    INVALID = 0x10
    SATURATED = 0x20    # refnum: a value was clamped to the largest finite magnitude or to the lowest code

    @staticmethod
    def ieee(flags):
        return flags & 0x1F

    @staticmethod
    def letters(flags):
        """TestFloat's ``vioux`` spelling, '.' for a clear flag."""
        return "".join(c if flags & b else "." for c, b in zip("vioux", (16, 8, 4, 2, 1)))


ROUNDINGS = ("rne", "rna", "rtz", "rup", "rdn", "rto", "sr-a", "sr-b", "sr-c")
ROUNDING_ALIASES = {
    "near_even": "rne", "neareven": "rne", "nearest": "rne", "rn": "rne",
    "near_maxmag": "rna", "nearmaxmag": "rna",
    "minmag": "rtz", "rz": "rtz", "trunc": "rtz",
    "max": "rup", "ru": "rup", "ceil": "rup",
    "min": "rdn", "rd": "rdn", "floor": "rdn",
    "odd": "rto",
    "sra": "sr-a", "srb": "sr-b", "src": "sr-c",
    "stochastica": "sr-a", "stochasticb": "sr-b", "stochasticc": "sr-c",
}
TESTFLOAT_ROUNDING = {"rne": "near_even", "rna": "near_maxMag", "rtz": "minMag",
                      "rup": "max", "rdn": "min", "rto": "odd"}

_CHOICES = {
    "rounding": ROUNDINGS,
    "saturation": (None, "none", "finite", "propagate", "satnone"),
    "tininess": ("after", "before"),
    "nan": ("canonical", "sign", "payload"),
    "nan_fill": ("quiet", "ones"),
    "overflow_nan": ("nan", "sign"),
    "nan_missing": ("max", "zero", "negzero", "error"),
    "zero_missing": ("min", "nan"),
    "lowest_binade": ("exact", "subnormal"),
    "p1_parity": ("code", "significand"),
    "invalid_int": ("saturate", "x86", "arm", "wrap"),
    "nan_priority": ("first", "signaling"),
    "inf_zero_nan": ("invalid", "quiet"),
    "fma_nan_order": ("product", "addend"),
    "div_by_zero": ("inf", "nan"),
    "rto_overflow": ("max", "inf"),
    "unsigned_negative": (None, "clamp", "nan", "magnitude"),
}


def canonical_rounding(name):
    key = name.strip().lower()
    key = ROUNDING_ALIASES.get(key, key)
    if key not in ROUNDINGS:
        raise RefnumError(f"unknown rounding mode '{name}'; choose from {', '.join(ROUNDINGS)}"
                          " (or TestFloat's near_even, near_maxMag, minMag, max, min, odd)")
    return key


@dataclass(frozen=True)
class Context:
    """Every semantic choice of a conversion, with refnum's defaults.

    rounding      rne | rna | rtz | rup | rdn | rto | sr-a | sr-b | sr-c
                  (IEEE 754 §4.3; round to odd as SoftFloat; P3109 v4.0 §4.7.4
                  stochastic A/B/C with ``sr_bits`` random bits per value)
    saturation    None = the target format's catalog default; else
                  none      non-saturating: overflow goes where the rounding
                            direction sends it (IEEE 754 §7.4): Inf, or max for
                            rtz/rto and the directed mode pointing inwards; a
                            format without Inf gives NaN (OFP8 non-SAT), without
                            NaN either gives max (ml_dtypes FP4/FP6)
                  finite    SatFinite: clamp to the finite range, Inf included
                            (OFP8 SAT, OCP MX, P3109, PTX .satfinite)
                  propagate SatPropagate: finite overflow clamps, Inf stays Inf
                  satnone   P3109 v4.0 §4.7.5 SatNone, row by row
    tininess      after | before rounding (IEEE 754 §7.5)
    ftz, daz      flush tiny results to zero / read subnormal inputs as zero
    nan           how a NaN result is encoded when the format has NaNs:
                  canonical (the format's quiet NaN, sign ``nan_sign``: RISC-V,
                  Arm default NaN, P3109), sign (canonical NaN with the input's
                  sign: ml_dtypes, torch), payload (sign and payload kept,
                  quieted: x86 SSE/AVX, Intel SDM Vol. 1 §4.8.3.5; SoftFloat
                  8086-SSE)
    nan_sign      sign bit of a newly generated NaN (x86 uses 1; so does the
                  ml_dtypes profile: ml_dtypes computes in float32 on the host,
                  and an x86 host's invalid operation gives a negative NaN)
    nan_fill      the trailing field of a NaN whose payload is not kept (``nan``
                  canonical or sign, and the NaN of an overflow), in an
                  IEEE-layout format (binary16, bfloat16, E5M2): quiet (only
                  the quiet bit: 0x7E00, E5M2 0x7E; IEEE 754 §6.2.1) or ones
                  (every trailing bit: 0x7FFF, E5M2 0x7F; NVIDIA's CUDA
                  intrinsics, torch's E5M2 casts)
    overflow_nan  the NaN of a non-saturating overflow or an infinity into a
                  format whose only non-finite code is NaN (OFP8 E4M3 non-SAT):
                  nan (a generated NaN: encoded as ``nan`` says, canonical with
                  ``nan_sign`` or with the value's sign) or sign (the canonical
                  NaN with the overflowing value's sign, whatever ``nan`` says
                  for NaN operands: CUDA's ``__NV_NOSAT`` E4M3, -500 -> 0xFF)
    nan_missing   NaN into a format without NaN (FP4/FP6): max (+max: PTX,
                  ONNX, TE), zero (+0), negzero (ml_dtypes: the -0 code with
                  the NaN's sign flipped), error
    zero_missing  exact zero into a format without zero (E8M0): min (2**-127:
                  torch, TE, MX zero blocks) or nan (ml_dtypes)
    lowest_binade how a precision-1 format without zero (E8M0) rounds a value
                  between its smallest value 2**emin and 2**(emin+1): exact
                  (between those two neighbours) or subnormal (ml_dtypes: as
                  if that binade were IEEE subnormals whose only value, the
                  lowest code, were zero: to nearest, everything above 2**emin
                  goes up to 2**(emin+1))
    p1_parity     which neighbour is "even" for precision-1 formats (E8M0,
                  Binary8p1*): code (P3109 CodeIsEven: parity of the code) or
                  significand (the implicit bit counts as the LSB, so ties go
                  up: ml_dtypes, torch)
    invalid_int   float -> integer when NaN or out of range: saturate (RISC-V:
                  clamp, NaN -> max), x86 (integer indefinite: min for signed,
                  all ones for unsigned), arm (clamp, NaN -> 0), wrap (modulo
                  2**width, NaN and Inf -> 0)
    exact         float -> integer raises inexact (TestFloat -exact; IEEE
                  convertToIntegerExact)
    sr_bits       N, the number of random bits of a stochastic rounding
    nan_priority  which NaN operand an operation propagates when ``nan`` keeps
                  payloads: first (the first NaN operand: SoftFloat 8086-SSE;
                  x86 SSE/AVX, Intel SDM Vol. 1 Table 4-7, and for FMA the
                  multiplicand, multiplier, addend order of Table 14-17) or
                  signaling (the first signalling NaN, else the first NaN:
                  SoftFloat ARM-VFPv2, Arm FPProcessNaNs)
    inf_zero_nan  fma(Inf, 0, qNaN): invalid (signal invalid, return the
                  default NaN: SoftFloat, RISC-V, Arm FPMulAdd) or quiet
                  (propagate the NaN addend, invalid only if it signals: x86
                  FMA, Intel SDM Vol. 1 Table 14-17, whose NaN rows come before
                  its Inf * 0 rows); IEEE 754-2019 §7.2(c) allows both
    fma_nan_order which NaN operands of fma(x, y, z) are ranked first when
                  ``nan`` keeps payloads: product (x, y, then z: SoftFloat
                  ``propagateNaN(propagateNaN(x, y), z)``, x86 Table 14-17) or
                  addend (z, x, y in one ranking: Arm FPMulAdd's
                  FPProcessNaNs3(typeA, type1, type2), FPCR.DN = 0)
    div_by_zero   x / 0: inf (IEEE 754 §7.3: a signed infinity, divide-by-zero)
                  or nan (P3109 v4.0: Divide(x, 0) = NaN for every x)
    rto_overflow  where round to odd sends an overflow under saturation none:
                  max (the largest finite value, as for round toward zero:
                  SoftFloat ``odd``) or inf (Arm BFDotAdd's round-to-odd)
    unsigned_negative  a negative nonzero value (or -Inf) into an unsigned
                  floating-point format (E8M0, UE4M3, P3109 unsigned): None =
                  by the overflow policy, P3109 v4.0 §4.7.5 "X < M_lo" (the
                  lowest value under finite/propagate or rounding rtz/rup, NaN
                  otherwise); clamp (always the lowest value); nan (always NaN
                  where the format has one); magnitude (|x| is projected
                  instead: torch, CUDA's ``__nv_cvt_*_to_e8m0``).  Integer
                  targets follow ``invalid_int``
    """

    rounding: str = "rne"
    saturation: str | None = None
    tininess: str = "after"
    ftz: bool = False
    daz: bool = False
    nan: str = "canonical"
    nan_sign: int = 0
    nan_missing: str = "max"
    zero_missing: str = "min"
    lowest_binade: str = "exact"
    p1_parity: str = "code"
    invalid_int: str = "saturate"
    exact: bool = False
    sr_bits: int = 0
    nan_priority: str = "first"
    inf_zero_nan: str = "invalid"
    fma_nan_order: str = "product"
    div_by_zero: str = "inf"
    rto_overflow: str = "max"
    nan_fill: str = "quiet"
    overflow_nan: str = "nan"
    unsigned_negative: str | None = None
    name: str = "default"

    def __post_init__(self):
        for knob, choices in _CHOICES.items():
            if getattr(self, knob) not in choices:
                raise RefnumError(f"bad {knob} {getattr(self, knob)!r}; choose from "
                                  + ", ".join(str(c) for c in choices if c is not None))
        if self.rounding.startswith("sr-") and self.sr_bits < 1:
            raise RefnumError(f"stochastic rounding {self.rounding} needs sr_bits >= 1 (--sr-bits N)")
        if self.sr_bits < 0:
            raise RefnumError("sr_bits must be >= 0")

    def __hash__(self):
        """Hash of every knob, computed once (contexts key the caches of bound operations)."""
        h = self.__dict__.get("_hash")
        if h is None:
            h = hash(tuple(getattr(self, f.name) for f in dataclasses.fields(self)))
            object.__setattr__(self, "_hash", h)
        return h

    def replace(self, **changes):
        if "rounding" in changes:
            changes["rounding"] = canonical_rounding(changes["rounding"])
        return dataclasses.replace(self, **changes)

    @classmethod
    def profile(cls, name, **changes):
        """The context of a named profile, with further knob changes on top.

        >>> Context.profile("x86").invalid_int
        'x86'
        """
        key = name.strip().lower().replace("-", "_")
        if key not in PROFILES:
            raise RefnumError(f"unknown profile '{name}'; choose from {', '.join(PROFILES)}")
        return cls(name=key, **PROFILES[key]).replace(**changes)

    def saturation_for(self, fmt):
        return self.saturation or getattr(fmt, "saturation", "none")


# Hardware, SoftFloat 3e specializations (softfloat-testfloat notes §1.6) and library behaviours;
# spec/profiles-and-flags.md cites the manual clause behind each knob.
PROFILES = {
    "default": {},
    # RISC-V F/D/Zfh (unprivileged ISA §"NaN Generation and Propagation": always the canonical
    # NaN; fma(Inf, 0, qNaN) sets invalid; tininess after rounding), = SoftFloat RISCV.
    "riscv": dict(nan="canonical", nan_sign=0, invalid_int="saturate", tininess="after"),
    # x86 SSE/AVX/FMA hardware with MXCSR's defaults (Intel SDM Vol. 1: NaNs §4.8.3.5 Table 4-7,
    # integer indefinite §4.8.3.7, tininess after rounding §4.9.1.5, FMA Table 14-17).
    "x86": dict(nan="payload", nan_sign=1, invalid_int="x86", tininess="after", inf_zero_nan="quiet"),
    # Arm A64/AArch32 with FPCR.DN = 1 (default NaN mode), FZ = 0 (Arm ARM FPProcessNaN,
    # FPMulAdd, FPRound, FPToFixed), = SoftFloat ARM-VFPv2-defaultNaN.  With DN = 0 a NaN
    # operand propagates and FPMulAdd ranks the addend first: not modelled by this profile.
    "arm": dict(nan="canonical", nan_sign=0, invalid_int="arm", tininess="before"),
    # SoftFloat 3e / TestFloat 3e built with SPECIALIZE_TYPE=8086-SSE: x86 except that
    # fma(Inf, 0, qNaN) is invalid and returns the default NaN (softfloat_mulAddF32 infProdArg).
    "softfloat_8086_sse": dict(nan="payload", nan_sign=1, invalid_int="x86", tininess="after"),
    "ml_dtypes": dict(saturation="none", nan="sign", nan_sign=1, nan_missing="negzero", zero_missing="nan",
                      p1_parity="significand", lowest_binade="subnormal"),
    "p3109": dict(saturation="satnone", nan="canonical", p1_parity="code", div_by_zero="nan"),
    "ocp": dict(saturation="finite", nan="canonical", nan_missing="max", zero_missing="min"),
    # One element operation of a CPU BF16 dot-product instruction (hardware-accumulators notes §4.1):
    # AVX512-BF16 VDPBF16PS and AMX-BF16 TDPBF16PS (FP32 FMA with DAZ and FTZ, RNE, x86 NaNs; MXCSR
    # is ignored, so their flags are never visible); Arm BFDOT/BFMMLA with FPCR.EBF = 0 (round to
    # odd, overflow to Inf, inputs and results flushed, tininess before rounding, default NaN).
    "avx512_bf16": dict(nan="payload", nan_sign=1, invalid_int="x86", tininess="after", daz=True, ftz=True),
    "arm_bf16": dict(rounding="rto", rto_overflow="inf", nan="canonical", nan_sign=0, invalid_int="arm",
                     tininess="before", daz=True, ftz=True),
    # NVIDIA's conversion intrinsics of CUDA 13 (cuda_fp8.h, cuda_fp6.h, cuda_fp4.h; on sm_90 the PTX
    # cvt instructions, .satfinite for __NV_SATFINITE), as an H200 returned them for every binary16 and
    # bfloat16 code (spec/hardware-profiles.md): the saturation is the call's (__NV_SATFINITE: finite,
    # __NV_NOSAT: none; unset: the format's catalogue default), the rounding mode too (rz, rp into E8M0).
    "cuda": dict(nan="canonical", nan_sign=0, nan_fill="ones", overflow_nan="sign", nan_missing="max",
                 zero_missing="min", unsigned_negative="magnitude"),
    # torch 2.x Tensor.to(dtype) into float8_e4m3fn, float8_e5m2, the FNUZ types and float8_e8m0fnu,
    # as torch 2.11 returned them on an H200's CPU and GPU (spec/hardware-profiles.md); torch 2.13
    # saturates into float8_e4m3fn (pytorch/pytorch#178817): saturation="finite" on top for that type.
    "torch": dict(saturation="none", nan="sign", nan_sign=1, nan_fill="ones", zero_missing="min",
                  p1_parity="significand", lowest_binade="subnormal", unsigned_negative="magnitude"),
}

DEFAULT = Context()
