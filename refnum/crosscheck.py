"""``refnum crosscheck BACKEND``: refnum against a peer implementation, in bulk (issue 4 §7).

A backend is a library that implements some of refnum's functions: ml_dtypes
(casts), numpy (binary16/32/64 casts and arithmetic), torch on the CPU (casts
and binary16/bfloat16 arithmetic), gfloat (rounding binary64 values into the
P3109 and OCP formats) and softfloatpy (Berkeley SoftFloat 3e: arithmetic,
comparisons and conversions, bits and flags).  For each backend the harness
builds *checks*: one refnum function (``f16_to_e4m3``, ``f16_add``,
``f32_lt_quiet``) under one setting (rounding mode, saturation, tininess), a
list of operand codes, and the refnum context that states the backend's
semantics (its profile: ``ml_dtypes``, ``x86``, ``riscv``, ``ocp``, ``p3109``,
or one of the contexts below).  The peer computes every case in one call where
it can (numpy arrays, torch tensors, gfloat's ndarray API); refnum computes
the same cases with its bulk paths; the codes are compared (and the flag byte,
where the peer reports flags per case: softfloatpy).

Every disagreement is then matched against :data:`KNOWN_DIFFERENCES`, the
rows of ``spec/differences.md`` as data: each row is a predicate that says
both sides' exact results, so a row never hides a disagreement of another
kind.  A disagreement no row explains is *unexplained*.

Cases.  ``--quick`` takes a seeded sample (seconds per backend).  The full run
takes every code of a 16-bit source, every code of each small format (decoding
to binary32), TestFloat-style cases of wider sources
(:func:`refnum.vectors.cases.operands`, level 2, plus seeded random bit
patterns), the boundary set of each target format (every value, every midpoint,
the values past the largest finite one, with their binary32 and binary64
neighbours) and TestFloat-style operand tuples for arithmetic
(:func:`refnum.vectors.cases.operand_tuples`).

Exit status: 0 when every disagreement is a known difference, 1 when any is
unexplained, 2 when the backend is not installed or the input is bad.

This module never computes with Python floats and never imports numpy: the
backends' modules are imported by name when a check runs, codes cross to them
as integer arrays reinterpreted in place (``view``), and the scalar gfloat calls
take their floats from :func:`refnum.interop.bits_to_float`.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import random
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from fractions import Fraction

from . import arith
from .catalog import lookup, short_name
from .context import Context, Flag
from .convert import converter, decode
from .errors import RefnumError
from .interop import bits_to_float
from .rounding import ilog2, project
from .values import Value
from .vectors.cases import operand_tuples, operands

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR = 0, 1, 2
SEED = 1
EXAMPLES = 5                    # unexplained disagreements shown per function
RAISES = "raises"               # the peer's answer when it refuses a case (gfloat's ValueError)

# sizes of the case lists: (quick, full)
SAMPLE_16 = (1024, None)        # codes of a 16-bit source (None: all 65,536)
WIDE_RANDOM = (256, 20_000)     # seeded random bit patterns of a 32- or 64-bit source, besides its patterns
WIDE_LEVEL = (1, 2)             # TestFloat-style level of a wide source's patterns
WIDE_SAMPLE = (512, None)       # of those patterns (None: all)
BOUNDARY_KEEP = (128, 4096)     # values (and midpoints) of a 16-bit target kept besides its ends
TUPLES = (150, None)            # operand tuples per arithmetic check (None: the level-1 list)
GFLOAT_F16_STRIDE = (251, 1)    # every n-th binary16 code into the gfloat formats
GFLOAT_BOUNDARY = (300, None)   # binary64 boundary codes per gfloat format (None: all)
GFLOAT_RANDOM = (100, 4000)     # seeded random binary64 codes in each gfloat format's range
GFLOAT_NEGATIVE = (16, 512)     # negative inputs kept for an unsigned format (row GF-3)


class BackendMissing(RefnumError):
    """The backend's package is not installed."""


# -- what is compared ---------------------------------------------------------------------

@dataclass
class Check:
    """One refnum function under one setting, on a list of cases, against one peer call.

    ``cases`` are operand code tuples in ``sources`` (the random integer R of a
    stochastic rounding last); ``peer(cases)`` returns the peer's codes, or
    ``(code, flags)`` pairs when ``flags`` is true.  ``ask(operands, **changes)``
    (optional) asks the peer about one case under other settings, for the rows
    of the known-differences table that are defined by the peer's own results.
    ``note`` carries what those rows read (gfloat's FormatInfo, ...).
    """

    function: str
    variant: str
    sources: tuple
    result: object
    ctx: Context
    cases: list
    peer: object
    op: str | None = None
    flags: bool = False
    ask: object = None
    note: dict = field(default_factory=dict)

    @property
    def label(self):
        return f"{self.function} {self.variant}".strip()


@dataclass(frozen=True)
class Mismatch:
    """One case where the peer and refnum disagree."""

    check: Check
    operands: tuple
    peer: object                # the peer's code, or RAISES
    peer_flags: int | None
    ours: int
    our_flags: int

    @property
    def src(self):
        return self.check.sources[0]

    @property
    def dst(self):
        return self.check.result

    @property
    def x(self):
        return self.operands[0]

    @property
    def value(self):
        """The exact value of the first operand."""
        return decode(self.x, self.src)

    def describe(self, backend):
        ops = " ".join(f"{c:0{_digits(f)}X}" for c, f in zip(self.operands, self._operand_formats()))
        peer = self.peer if self.peer == RAISES else f"{self.peer:0{_digits(self.dst)}X}"
        if self.peer_flags is not None:
            peer += f" {self.peer_flags:02X}"
        ours = f"{self.ours:0{_digits(self.dst)}X} {self.our_flags & 0x1F:02X}"
        return f"{self.check.label}: {ops} -> {backend} {peer}, refnum {ours}"

    def _operand_formats(self):
        return list(self.check.sources) + [None] * (len(self.operands) - len(self.check.sources))


def _digits(fmt):
    return 1 if fmt is None else (fmt.k + 3) // 4


# -- the known differences (spec/differences.md), as data ----------------------------------

@dataclass(frozen=True)
class Known:
    """A row of spec/differences.md: ``explains(mismatch)`` checks the row's rule, both sides."""

    id: str
    backend: str
    summary: str
    explains: object


def _is_nan(fmt, code):
    return code != RAISES and fmt.kind == "float" and fmt.is_nan_code(code)


def _mld1(m):
    """float64 into ml_dtypes is rounded to float32 first: the peer's code is that double rounding,
    refnum's the single rounding, and the first rounding was inexact (else the two are one)."""
    if m.src.name != "binary64":
        return False
    f32, flags = convert_code(m.x, m.src, lookup("binary32"), m.check.ctx)
    return (flags & Flag.INEXACT and m.peer == convert_code(f32, lookup("binary32"), m.dst, m.check.ctx)[0]
            and m.ours == convert_code(m.x, m.src, m.dst, m.check.ctx)[0])


def _mld2(m):
    """bfloat16 -> bfloat16 is a copy in numpy: NaNs keep their bits; refnum gives the canonical NaN."""
    return (m.src.name == m.dst.name == "bfloat16" and _is_nan(m.src, m.x) and m.peer == m.x
            and m.ours == 0x7FC0 | (m.x & 0x8000))


def _mld3(m):
    """bfloat16 -> float32 by a bit shift: NaN payloads and signalling kept."""
    return (m.src.name == "bfloat16" and m.dst.name == "binary32" and _is_nan(m.src, m.x)
            and m.peer == m.x << 16 and m.ours == 0x7FC00000 | (m.x & 0x8000) << 16)


def _mld4(m):
    """The FNUZ NaN 0x80 widens to -NaN in ml_dtypes; refnum reads it as an unsigned NaN."""
    return (m.src.nan == "negzero" and m.dst.name == "binary32" and m.x == 0x80
            and m.peer == 0xFFC00000 and m.ours == 0x7FC00000)


def _gf1(m):
    """gfloat's NaN code in OCP E4M3 and E5M2 is 0xFF; refnum's is the canonical NaN with sign
    ``nan_sign``.  Only where a NaN is the result: a NaN input, or E4M3 overflow (or Inf, which
    refnum reports as invalid) under saturation none."""
    nan_result = m.value.is_nan or (m.dst.name == "e4m3" and m.check.ctx.saturation_for(m.dst) == "none"
                                     and m.our_flags & (Flag.OVERFLOW | Flag.INVALID))
    return (m.dst.name in ("e4m3", "e5m2") and nan_result and m.peer == 0xFF
            and m.ours == m.dst.nan_code(m.check.ctx.nan_sign))


def _largest_code(fmt):
    return fmt.max_code(0) if fmt.kind == "float" else (1 << (fmt.width - fmt.signed)) - 1


def _gf2(m):
    """No NaN and no Inf (FP4, FP6, MX INT8): gfloat raises; refnum gives +max for a NaN
    (``nan_missing="max"``) and, for an infinity or an overflow, gfloat's own sat=True code."""
    if m.peer != RAISES or (m.dst.kind == "float" and m.dst.has_nan):
        return False
    v = m.value
    if v.is_nan:
        return m.ours == _largest_code(m.dst)
    return _overflows(m) and m.ours == m.check.ask(m.operands, sat=True)


def _overflows(m):
    """An infinite input, or one that refnum reports as rounding beyond the largest magnitude
    (overflow for a float target, invalid for an integer or fixed-point one)."""
    return not m.value.is_finite or bool(m.our_flags & (Flag.OVERFLOW | Flag.INVALID))


def _gf3(m):
    """Negative values into unsigned formats: refnum follows P3109 v4.0 §4.7.5, gfloat does not
    project them (``round_float`` drops the sign only for signed formats)."""
    v = m.value
    if m.dst.signed or v.sign == 0 or v.is_nan or v.is_zero:
        return False
    return m.ours == _negative_into_unsigned(m) and _gfloat_unprojected(m)


def _negative_into_unsigned(m):
    """P3109 v4.0 §4.7.5 for a negative X into an unsigned format: a value that rounds to 0 gives
    0; otherwise "X < M_lo" gives M_lo under SatFinite and SatPropagate, and under SatNone (and
    ``none``) NaN, except TowardZero and TowardPositive (and a format without NaN): M_lo; -Inf is
    M_lo under SatFinite and SatPropagate, else NaN."""
    ctx, dst, v = m.check.ctx, m.dst, m.value
    clamps = ctx.saturation_for(dst) in ("finite", "propagate") or not dst.has_nan
    if not v.is_finite:
        return dst.lowest_code() if clamps else dst.canonical_nan
    if dst.zero and _magnitude_rounds_to_zero(m):
        return 0
    return dst.lowest_code() if clamps or ctx.rounding in ("rtz", "rup") else dst.canonical_nan


def _magnitude_rounds_to_zero(m):
    """Whether -|x| rounds to 0 in the check's mode: |x| rounded the mirrored way gives code 0."""
    ctx = m.check.ctx
    mirrored = {"rup": "rdn", "rdn": "rup"}.get(ctx.rounding, ctx.rounding)
    magnitude = m.x & ~m.src.sign_bit
    code, _ = convert_code(magnitude, m.src, m.dst, ctx.replace(rounding=mirrored, saturation="finite"),
                           *m.operands[1:])
    return code == 0


def _gfloat_unprojected(m):
    """Whether the peer's code is what gfloat gives for a negative input into an unsigned format.
    The scalar API (``round_float``) drops the sign of -Inf, so it gives gfloat's own code for
    +Inf; it rounds a finite value as it is, and the negative result has no code:
    ``encode_float`` raises (Extended formats) or returns the NaN (Finite formats, E8M0).  The
    array API ORs a negative significand into the code, giving a code outside the format, for
    -Inf too.  Only a magnitude below the smallest subnormal can round to 0, code 0."""
    v, fi = m.value, m.check.note.get("fi")
    outside = m.peer != RAISES and m.peer >= m.dst.ncodes
    if not v.is_finite:
        return outside or m.peer == m.check.ask((m.src.inf_code,) + tuple(m.operands[1:]))
    if m.peer == 0:
        return fi is not None and fi.has_subnormals and abs(v.to_fraction()) < _smallest_positive(m.dst)
    return outside or m.peer == (RAISES if m.dst.has_inf else m.dst.canonical_nan)


def _smallest_positive(fmt):
    return decode(1, fmt).to_fraction()


def _gf4(m):
    return m.dst.name == "e8m0" and m.value.is_zero and m.peer == 0xFF and m.ours == 0x00


def _gf5(m):
    """P3109 Finite formats under SatNone, an infinity or an overflow: gfloat (report v3) gives
    the NaN, v4.0 saturates to +-M_hi, which is also gfloat's own sat=True code."""
    v = m.value
    return (m.check.note.get("profile") == "p3109" and not m.dst.has_inf and m.check.ctx.saturation == "satnone"
            and not v.is_nan and (m.dst.signed or v.sign == 0) and _overflows(m)
            and m.peer == m.dst.canonical_nan
            and m.ours == m.dst.max_code(v.sign) == m.check.ask(m.operands, sat=True))


def _gf6(m):
    """gfloat decides TiesToAway and stochastic A and B with a binary64 sum that rounds up to 1."""
    fi, ctx = m.check.note.get("fi"), m.check.ctx
    v = m.value
    if fi is None or ctx.rounding not in ("rna", "sr-a", "sr-b") or not v.is_finite or v.is_zero:
        return False
    a = abs(v.to_fraction())
    e = ilog2(a.numerator, 0, a.denominator)
    if fi.has_subnormals:
        e = max(e, 1 - fi.bias)
    s = a / Fraction(2) ** (e - fi.precision + 1)
    nu = s - (s.numerator // s.denominator)
    rand, nbits = (m.operands[-1], ctx.sr_bits) if ctx.rounding != "rna" else (0, 0)
    c = {"rna": Fraction(1, 2), "sr-a": Fraction(rand, 2 ** nbits),
         "sr-b": Fraction(2 * rand + 1, 2 ** (nbits + 1))}[ctx.rounding]
    if not nu + c < 1 <= _binary64_sum(nu, c):
        return False
    outward = "rup" if v.sign == 0 else "rdn"
    return (m.peer == m.check.ask(m.operands, rounding=outward)
            and m.ours == m.check.ask(m.operands, rounding="rtz"))


def _binary64_sum(a, b):
    """a + b rounded to binary64 (to nearest, ties to even), as an exact Fraction."""
    binary64 = lookup("binary64")
    code, _ = project(Value.from_fraction(a + b), binary64)
    return decode(code, binary64).to_fraction()


def _gf7(m):
    """Below E8M0's smallest value 2**-127: gfloat's encoder gives NaN (``encode_float``) or a
    code outside the format (``encode_ndarray``: the biased exponent goes negative)."""
    v = m.value
    outside = m.peer != RAISES and (m.peer == 0xFF or not 0 <= m.peer < m.dst.ncodes)
    return (m.dst.name == "e8m0" and v.is_finite and v.sign == 0 and not v.is_zero
            and v.to_fraction() < Fraction(1, 2 ** 127) and outside and m.ours == 0x00)


def _quiet_bit(fmt):
    return 1 << (fmt.m - 1)


def _moved_nan(code, src, dst):
    """The IEEE NaN ``code`` of ``src`` with its fields moved into ``dst``: the sign, and the
    trailing field aligned at the top, truncated or zero-extended (the quiet bit moves with it)."""
    trailing = code & ((1 << src.m) - 1)
    shift = dst.m - src.m
    moved = trailing << shift if shift >= 0 else trailing >> -shift
    return (dst.sign_bit if code & src.sign_bit else 0) | dst.inf_code | moved


def _payload_nan(code, src, dst):
    """``nan="payload"`` (x86, IEEE 754 §6.2.3): the NaN's sign and leading trailing bits, quieted."""
    return _moved_nan(code, src, dst) | _quiet_bit(dst)


def _np1(m):
    """numpy's float16 casts move NaN bits without quieting: a signalling NaN stays signalling
    (the lowest trailing bit set where nothing else would be left, to keep it a NaN); refnum
    (x86) quiets it and keeps the payload's leading bits."""
    v = m.value
    if not (m.check.op is None and v.is_nan and v.signaling):
        return False
    moved = _moved_nan(m.x, m.src, m.dst)
    peer = moved if moved & ((1 << m.dst.m) - 1) else moved | 1
    return m.peer == peer and m.ours == _payload_nan(m.x, m.src, m.dst)


def _second_nan(*ops):
    """Operations ``ops`` with two NaN operands return the second operand's NaN, quieted, as if the
    operands were swapped; refnum's x86 profile (SSE ``addss``, as SoftFloat 8086-SSE) returns the
    first's, quieted."""
    def explains(m):
        if m.check.op not in ops or len(m.operands) != 2:
            return False
        a, b = m.operands
        if not (_is_nan(m.src, a) and _is_nan(m.src, b)):
            return False
        return m.peer == b | _quiet_bit(m.src) and m.ours == a | _quiet_bit(m.src)
    return explains


def _torch2(m):
    """torch's NaN in bfloat16: 0x7FC0 from float16, 0xFFFF from float32; in bfloat16 arithmetic
    0xFFFF in the 32-element blocks of the vector loop and 0x7FC0 in its scalar tail (a case's
    position is not known here, so either).  refnum's: a cast keeps the NaN's sign and payload,
    quieted (``nan="payload"``); an operation (x86 profile) returns its first NaN operand,
    quieted, or for an invalid operation the default NaN (sign ``nan_sign``)."""
    if m.dst.name != "bfloat16":
        return False
    if m.check.op is None:
        peer = 0x7FC0 if m.src.name == "binary16" else 0xFFFF
        return m.value.is_nan and m.peer == peer and m.ours == _payload_nan(m.x, m.src, m.dst)
    nans = [c for c in m.operands if _is_nan(m.src, c)]
    if nans:
        ours = nans[0] | _quiet_bit(m.src)
    elif m.our_flags & Flag.INVALID:
        ours = m.dst.nan_code(m.check.ctx.nan_sign)
    else:
        return False
    return m.peer in (0xFFFF, 0x7FC0) and m.ours == ours


def _torch4(m):
    """torch widens the E4M3 NaN S.1111.111 to float32 S.11111111.111 0...0 (mantissa bits moved up)."""
    sign = (m.x & 0x80) << 24
    return (m.src.name == "e4m3" and m.dst.name == "binary32" and m.x & 0x7F == 0x7F
            and m.peer == 0x7FF00000 | sign and m.ours == 0x7FC00000 | sign)


def _torch5(m):
    """torch widens the one NaN of the FNUZ formats (0x80) and of E8M0 (0xFF) to float32 0x7F800001."""
    return (m.src.name in ("e4m3fnuz", "e5m2fnuz", "e8m0") and m.dst.name == "binary32"
            and m.x == m.src.canonical_nan and m.peer == 0x7F800001 and m.ours == 0x7FC00000)


def _torch6(m):
    """torch widens bfloat16 to float32 by a bit shift: a signalling NaN stays signalling."""
    v = m.value
    return (m.src.name == "bfloat16" and m.dst.name == "binary32" and v.is_nan and v.signaling
            and m.peer == m.x << 16 and m.ours == m.peer | 0x00400000)


KNOWN_DIFFERENCES = (
    Known("MLD-1", "ml_dtypes", "float64 is rounded to float32 first (double rounding)", _mld1),
    Known("MLD-2", "ml_dtypes", "bfloat16 -> bfloat16 copies NaN codes", _mld2),
    Known("MLD-3", "ml_dtypes", "bfloat16 -> float32 shifts NaN bits (payload, signalling kept)", _mld3),
    Known("MLD-4", "ml_dtypes", "FNUZ NaN 0x80 widens to -NaN", _mld4),
    Known("GF-1", "gfloat", "OCP E4M3/E5M2 NaN code 0xFF vs refnum's canonical NaN", _gf1),
    Known("GF-2", "gfloat", "no NaN/Inf code (FP4, FP6, INT8): gfloat raises, refnum saturates", _gf2),
    Known("GF-3", "gfloat", "negative values into unsigned formats are not projected by gfloat", _gf3),
    Known("GF-4", "gfloat", "zero into E8M0: gfloat NaN, ocp profile 2**-127", _gf4),
    Known("GF-5", "gfloat", "P3109 Finite formats, SatNone: gfloat NaN (v3), refnum saturates (v4.0)", _gf5),
    Known("GF-6", "gfloat", "binary64 sum in gfloat's rna / sr-a / sr-b decision rounds up to 1", _gf6),
    Known("GF-7", "gfloat", "values below 2**-127 into E8M0: gfloat NaN, refnum 2**-127", _gf7),
    Known("NP-1", "numpy", "float16 casts keep signalling NaNs signalling", _np1),
    Known("NP-2", "numpy", "float16 add and mul of two NaNs return the second NaN", _second_nan("add", "mul")),
    Known("TORCH-2", "torch", "NaN into bfloat16: 0xFFFF or 0x7FC0", _torch2),
    Known("TORCH-4", "torch", "E4M3 NaN widens to float32 0x7FF00000", _torch4),
    Known("TORCH-5", "torch", "FNUZ and E8M0 NaN widen to float32 0x7F800001", _torch5),
    Known("TORCH-6", "torch", "bfloat16 -> float32 keeps signalling NaNs signalling", _torch6),
    Known("TORCH-7", "torch", "float16 add and sub of two NaNs return the second NaN", _second_nan("add", "sub")),
)


def known_for(backend):
    return [k for k in KNOWN_DIFFERENCES if k.backend == backend]


def classify(mismatch, backend):
    """The id of the first row of the backend's table that explains ``mismatch``, or None."""
    for row in known_for(backend):
        if row.explains(mismatch):
            return row.id
    return None


# -- refnum's side ---------------------------------------------------------------------------

def convert_code(code, src, dst, ctx, rand=0):
    return converter(src, dst, ctx)(code, rand)


def refnum_results(check):
    """refnum's ``(code, flags)`` for every case of ``check``, through the bulk paths."""
    stochastic = check.ctx.rounding.startswith("sr-")
    if check.op is None:
        f = converter(check.sources[0], check.result, check.ctx)
        if stochastic:
            return [f(c, r) for c, r in check.cases]
        return [f(c[0]) for c in check.cases]
    f = arith.evaluator(check.op, check.sources, check.result, check.ctx)
    if stochastic:
        return [f(*c) for c in check.cases]
    return [f(*c, 0) for c in check.cases]


# -- the report --------------------------------------------------------------------------------

@dataclass
class Row:
    """The results of every check of one function."""

    function: str
    cases: int = 0
    agree: int = 0
    known: Counter = field(default_factory=Counter)
    unexplained: int = 0
    examples: list = field(default_factory=list)
    variants: list = field(default_factory=list)
    nanoseconds: int = 0

    def as_dict(self):
        return {"function": self.function, "cases": self.cases, "agree": self.agree,
                "known": dict(sorted(self.known.items())), "unexplained": self.unexplained,
                "examples": self.examples, "variants": self.variants,
                "milliseconds": self.nanoseconds // 1_000_000}


@dataclass
class Report:
    backend: str
    versions: dict
    quick: bool
    seed: int
    rows: dict = field(default_factory=dict)
    nanoseconds: int = 0

    @property
    def unexplained(self):
        return sum(r.unexplained for r in self.rows.values())

    @property
    def exit_status(self):
        return EXIT_MISMATCH if self.unexplained else EXIT_OK

    def as_dict(self):
        rows = list(self.rows.values())
        known = Counter()
        for r in rows:
            known.update(r.known)
        return {"backend": self.backend, "versions": self.versions, "run": "quick" if self.quick else "full",
                "seed": self.seed, "functions": [r.as_dict() for r in rows],
                "total": {"cases": sum(r.cases for r in rows), "agree": sum(r.agree for r in rows),
                          "known": dict(sorted(known.items())), "unexplained": self.unexplained},
                "table": [k.id for k in known_for(self.backend)],
                "milliseconds": self.nanoseconds // 1_000_000, "exit": self.exit_status}

    def lines(self):
        d = self.as_dict()
        versions = ", ".join(f"{k} {v}" for k, v in self.versions.items())
        yield (f"refnum crosscheck {self.backend} ({versions}): {d['run']} run, seed {self.seed}")
        width = max([len("function")] + [len(r.function) for r in self.rows.values()])
        yield f"{'function':<{width}}  {'cases':>9}  {'agree':>9}  {'unexplained':>11}  {'s':>5}  known differences"
        for r in self.rows.values():
            known = " ".join(f"{k} x{n}" for k, n in sorted(r.known.items())) or "-"
            yield (f"{r.function:<{width}}  {r.cases:>9}  {r.agree:>9}  {r.unexplained:>11}  "
                   f"{_seconds(r.nanoseconds):>5}  {known}")
            for e in r.examples:
                yield f"    unexplained: {e}"
        t = d["total"]
        known = " ".join(f"{k} x{n}" for k, n in t["known"].items()) or "none"
        table = ", ".join(d["table"]) or "no rows"
        yield (f"total: {t['cases']} cases, {t['agree']} agree, known differences {known} "
               f"(table: {table}), {t['unexplained']} unexplained; {_seconds(self.nanoseconds)} s")
        if self.exit_status != EXIT_OK:
            yield f"{self.unexplained} unexplained disagreements: exit {EXIT_MISMATCH}"
        else:
            yield "every disagreement is a known difference" if t["known"] else "no disagreements"


def _seconds(ns):
    return f"{ns // 1_000_000_000}.{ns // 100_000_000 % 10}"


def run_check(check, backend, report):
    """Compare one check; record agreements, known differences and unexplained cases."""
    start = time.perf_counter_ns()
    peer = check.peer(check.cases)
    ours = refnum_results(check)
    if len(peer) != len(check.cases):
        raise RefnumError(f"crosscheck {backend}: {check.label}: the peer returned {len(peer)} results"
                          f" for {len(check.cases)} cases")
    row = report.rows.setdefault(check.function, Row(check.function))
    if check.variant and check.variant not in row.variants:
        row.variants.append(check.variant)
    row.cases += len(check.cases)
    for case, theirs, (code, flags) in zip(check.cases, peer, ours):
        peer_code, peer_flags = theirs if check.flags else (theirs, None)
        if peer_code == code and (peer_flags is None or peer_flags == flags & 0x1F):
            row.agree += 1
            continue
        m = Mismatch(check, tuple(case), peer_code, peer_flags, code, flags)
        row_id = classify(m, backend)
        if row_id is not None:
            row.known[row_id] += 1
            continue
        row.unexplained += 1
        if len(row.examples) < EXAMPLES:
            row.examples.append(m.describe(backend))
    row.nanoseconds += time.perf_counter_ns() - start


def run(backend, *, quick=False, seed=SEED, progress=None):
    """Run every check of ``backend`` (a name or a Backend); returns the :class:`Report`."""
    b = backend_named(backend) if isinstance(backend, str) else backend
    modules = b.load()
    start = time.perf_counter_ns()
    report = Report(b.name, b.versions(modules), quick, seed)
    plan = Plan(quick, seed)
    for check in b.checks(modules, plan):
        if progress:
            progress(check.label)
        run_check(check, b.name, report)
    report.nanoseconds = time.perf_counter_ns() - start
    return report


def main(backend, *, quick=False, seed=SEED, json_path=None, out=None, err=None):
    """The ``refnum crosscheck`` command: print the report, write the JSON summary; exit status."""
    out = out or sys.stdout
    err = err or sys.stderr
    if json_path and not os.path.isdir(os.path.dirname(os.path.abspath(json_path))):
        raise RefnumError(f"crosscheck: cannot write '{json_path}': no such folder")
    if backend == "mmasim":                              # dot products: refnum.dot.mmasim
        from .dot import mmasim
        return mmasim.main(quick=quick, seed=seed, out=out, json_path=json_path)
    progress = _progress_line(err, backend) if err.isatty() else None
    report = run(backend, quick=quick, seed=seed, progress=progress)
    if progress:
        err.write("\r\033[K")
    for line in report.lines():
        out.write(line + "\n")
    if json_path:
        write_json_atomic(json_path, report.as_dict())
    return report.exit_status


def _progress_line(err, backend):
    """Progress for a terminal: the check being run, rewritten in place on one line."""
    def progress(label):
        err.write(f"\r\033[Kcrosscheck {backend}: {label}")
        err.flush()
    return progress


def write_json_atomic(path, data):
    """Write JSON to a temporary file beside ``path``, then rename it into place."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as f:
            json.dump(data, f, indent=1)
            f.write("\n")
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)                    # mkstemp makes it private
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# -- cases -------------------------------------------------------------------------------------

@dataclass
class Plan:
    """How many cases each check gets (quick or full) and the seeded generators."""

    quick: bool
    seed: int = SEED
    _cache: dict = field(default_factory=dict)

    def size(self, pair):
        return pair[0] if self.quick else pair[1]

    def rng(self, *tag):
        return random.Random(f"{self.seed}:" + ":".join(map(str, tag)))

    def every_code(self, fmt, sample=SAMPLE_16):
        """Every code of ``fmt``; for 16-bit formats in a quick run, a seeded sample in order."""
        fmt = _fmt(fmt)
        n = self.size(sample)
        if fmt.k <= 8 or n is None or n >= fmt.ncodes:
            return list(range(fmt.ncodes))
        return sorted(self.rng("codes", fmt.name).sample(range(fmt.ncodes), n))

    def wide_codes(self, fmt, targets=()):
        """Codes of a 32- or 64-bit source: TestFloat-style patterns and boundaries, the boundary
        sets of ``targets`` (formats of at most 16 bits) placed in ``fmt``, and seeded random
        bit patterns (wider targets add nothing: their boundaries are the patterns')."""
        fmt = _fmt(fmt)
        key = ("wide", fmt.name, tuple(t.name for t in targets))
        if key not in self._cache:
            codes = operands(fmt, level=self.size(WIDE_LEVEL), seed=self.seed)
            n = self.size(WIDE_SAMPLE)
            rng = self.rng("wide", fmt.name)
            if n is not None and n < len(codes):
                codes = rng.sample(codes, n)
            for t in targets:
                if t.k <= 16:
                    codes += boundary_codes(t, fmt, self.size(BOUNDARY_KEEP), rng)
            codes += [rng.getrandbits(fmt.k) for _ in range(self.size(WIDE_RANDOM))]
            self._cache[key] = sorted(set(codes))
        return self._cache[key]

    def one_operand(self, fmt):
        """Operands of a one-operand operation: every code of a 16-bit format (a sample when
        quick), TestFloat-style patterns and random codes of a wider one."""
        return self.every_code(fmt) if fmt.k <= 16 else self.wide_codes(fmt)

    def tuples(self, formats):
        """Operand tuples of an operation (TestFloat-style; every tuple for <= 2**16 of them)."""
        formats = tuple(_fmt(f) for f in formats)
        if len(formats) == 1:
            return [(c,) for c in self.one_operand(formats[0])]
        key = ("tuples",) + tuple(f.name for f in formats)
        if key not in self._cache:
            cases = operand_tuples(formats, level=1, seed=self.seed)
            n = self.size(TUPLES)
            if n is not None and n < len(cases):
                cases = [cases[i] for i in sorted(self.rng(*key).sample(range(len(cases)), n))]
            self._cache[key] = cases
        return self._cache[key]


def _fmt(f):
    return lookup(f) if isinstance(f, str) else f


def positive_values(fmt):
    """The finite values >= 0 of ``fmt``, exact, sorted (-0 and +0 merged)."""
    vals = set()
    for c in range(fmt.ncodes):
        v = decode(c, fmt)
        if v.is_finite and v.sign == 0:
            vals.add(v.to_fraction())
    return sorted(vals)


def boundary_values(fmt, keep=None, rng=None):
    """Positive values around every rounding boundary of ``fmt`` (at most 16 bits): each value,
    each midpoint of neighbours, past the largest value (its half gap, the next grid value,
    twice and four times it) and fractions of the smallest nonzero value.

    With ``keep``, the values and midpoints are thinned to their lowest and highest 64
    and ``keep`` drawn from the rest by ``rng`` (for formats with thousands of values).
    """
    if fmt.k > 16:
        raise RefnumError(f"crosscheck: boundary values of {fmt.name} ({fmt.k} bits) would take too long")
    vals = positive_values(fmt)
    nonzero = [v for v in vals if v > 0]
    top, tiny = vals[-1], nonzero[0]
    gap = top - vals[-2] if len(vals) > 1 else top
    mids = [(a + b) / 2 for a, b in zip(vals, vals[1:])]
    if keep is not None:
        nonzero, mids = _thinned(nonzero, keep, rng), _thinned(mids, keep, rng)
    past = [top + gap / 2, top + gap, 2 * top, 4 * top]
    below = [tiny / 2, tiny / 4, tiny * 3 / 4, tiny * 5 / 4, tiny * 3 / 2]
    return nonzero + mids + past + below


def _thinned(values, keep, rng, ends=64):
    if len(values) <= 2 * ends + keep:
        return values
    return values[:ends] + rng.sample(values[ends:-ends], keep) + values[-ends:]


def boundary_codes(target, src, keep=None, rng=None):
    """Codes of ``src`` (binary32 or binary64) at and next to the boundary values of ``target``,
    both signs: each value that ``src`` represents, with its neighbours in ``src`` and, for a
    source wider than binary32, its binary32 neighbours too (placed exactly in ``src``)."""
    exact = Context(rounding="rtz", saturation="finite")
    f32 = lookup("binary32")
    widen = converter(f32, src, Context()) if src.k > f32.k else None
    codes = set()
    for v in map(Value.from_fraction, boundary_values(target, keep, rng)):
        code, flags = project(v, src, exact)
        if flags:
            continue                                    # not a value of the source
        codes.update((code - 1, code, code + 1))
        if widen:
            narrow, flags = project(v, f32, exact)
            if not flags:
                codes.update(widen(c)[0] for c in (narrow - 1, narrow + 1))
    codes = {c for c in codes if 0 <= c < src.sign_bit}
    return sorted(codes | {c | src.sign_bit for c in codes})


# -- the backends ------------------------------------------------------------------------------

class Backend:
    """A peer library: its name, the module names it needs, and its checks."""

    name = ""
    modules = ()
    extra = "crosscheck"                # the pyproject extra that installs the modules

    @property
    def install(self):
        return f"pip install 'refnum[{self.extra}]', or in a checkout pip install '.[{self.extra}]'"

    def load(self):
        loaded = {}
        for name in self.modules:
            try:
                loaded[name] = importlib.import_module(name)
            except ImportError:
                raise BackendMissing(f"crosscheck {self.name}: {name} is not installed ({self.install})") from None
        return loaded

    def versions(self, modules):
        """The installed version of each module's distribution."""
        from importlib import metadata

        out = {}
        for name, mod in modules.items():
            try:
                out[name] = metadata.version(name)
            except metadata.PackageNotFoundError:
                out[name] = getattr(mod, "__version__", "?")
        return out

    def checks(self, modules, plan):
        raise NotImplementedError


def _uint(np, bits):
    return {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}[max(8, bits)]


def _storage_bits(fmt):
    return 8 if fmt.k <= 8 else fmt.k


def np_cast(np, codes, src, src_dtype, dst, dst_dtype):
    """Codes of ``src`` reinterpreted as ``src_dtype``, cast with ``astype``, read back as codes."""
    a = np.asarray(codes, dtype=_uint(np, _storage_bits(src))).view(src_dtype)
    with np.errstate(all="ignore"):
        b = a.astype(dst_dtype)
    return b.view(_uint(np, _storage_bits(dst))).tolist()


# ml_dtypes --------------------------------------------------------------------------------------

ML_DTYPES_TYPES = ("float8_e3m4", "float8_e4m3", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz",
                   "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
                   "float4_e2m1fn", "bfloat16")


class MlDtypes(Backend):
    """ml_dtypes ``astype`` under ``Context.profile("ml_dtypes")``."""

    name = "ml_dtypes"
    modules = ("numpy", "ml_dtypes")

    def checks(self, modules, plan):
        np, mld = modules["numpy"], modules["ml_dtypes"]
        ctx = Context.profile("ml_dtypes")
        types = [(lookup(t), getattr(mld, t)) for t in ML_DTYPES_TYPES if hasattr(mld, t)]
        f32 = lookup("binary32")
        for fmt, dtype in types:                                # decode: every code -> float32
            yield self._cast(np, fmt, dtype, f32, np.float32, plan.every_code(fmt), ctx)
        sources = [(lookup("binary16"), np.float16), (lookup("bfloat16"), mld.bfloat16)]
        for src, src_dtype in sources:
            codes = plan.every_code(src)
            for fmt, dtype in types:
                yield self._cast(np, src, src_dtype, fmt, dtype, codes, ctx)
        for src, src_dtype in ((f32, np.float32), (lookup("binary64"), np.float64)):
            for fmt, dtype in types:
                yield self._cast(np, src, src_dtype, fmt, dtype, plan.wide_codes(src, (fmt,)), ctx)

    @staticmethod
    def _cast(np, src, src_dtype, dst, dst_dtype, codes, ctx):
        return Check(f"{short_name(src)}_to_{short_name(dst)}", "", (src,), dst, ctx, [(c,) for c in codes],
                     lambda cases: np_cast(np, [c[0] for c in cases], src, src_dtype, dst, dst_dtype))


# numpy ------------------------------------------------------------------------------------------

NUMPY_OPS = {"add": "add", "sub": "subtract", "mul": "multiply", "div": "divide", "sqrt": "sqrt",
             "eq": "equal", "lt": "less", "le": "less_equal"}


class Numpy(Backend):
    """numpy's float16, float32 and float64: casts and ufuncs (round to nearest even).

    numpy computes a float16 operation in float32 and rounds the result to float16.
    For +, -, *, / and sqrt of float16 operands that double rounding is innocuous
    (24 >= 2 * 11 + 2: Figueroa, "When is double rounding innocuous?", 1995), so
    every result must equal refnum's single rounding.  NaNs follow the host's
    SSE rules: ``Context.profile("x86")``.
    """

    name = "numpy"
    modules = ("numpy",)

    def checks(self, modules, plan):
        np = modules["numpy"]
        ctx = Context.profile("x86")
        dtypes = {"binary16": np.float16, "binary32": np.float32, "binary64": np.float64}
        f16, f32, f64 = (lookup(n) for n in dtypes)
        for dst in (f32, f64):
            yield self._cast(np, f16, dst, plan.every_code(f16), dtypes, ctx)
        for src, dst in ((f32, f16), (f64, f16), (f64, f32)):
            yield self._cast(np, src, dst, plan.wide_codes(src, (dst,)), dtypes, ctx)
        for fmt in (f16, f32, f64):
            for op, ufunc in NUMPY_OPS.items():
                arity = 1 if op == "sqrt" else 2
                cases = plan.tuples((fmt,) * arity)
                yield Check(f"{short_name(fmt)}_{op}", "rne", (fmt,) * arity, fmt, ctx, cases,
                            self._ufunc(np, getattr(np, ufunc), fmt, dtypes[fmt.name]), op=op)

    @staticmethod
    def _cast(np, src, dst, codes, dtypes, ctx):
        return Check(f"{short_name(src)}_to_{short_name(dst)}", "rne", (src,), dst, ctx, [(c,) for c in codes],
                     lambda cases: np_cast(np, [c[0] for c in cases], src, dtypes[src.name], dst, dtypes[dst.name]))

    @staticmethod
    def _ufunc(np, ufunc, fmt, dtype):
        def peer(cases):
            args = [np.asarray([c[i] for c in cases], dtype=_uint(np, fmt.k)).view(dtype)
                    for i in range(len(cases[0]))]
            with np.errstate(all="ignore"):
                r = ufunc(*args)
            if r.dtype == np.bool_:
                return r.astype(np.uint8).tolist()
            return r.view(_uint(np, fmt.k)).tolist()
        return peer


# torch (CPU) ------------------------------------------------------------------------------------

TORCH_TYPES = ("float16", "bfloat16", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
               "float8_e8m0fnu")
TORCH_OPS = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "sqrt": "sqrt"}
# torch 2.13 clamps overflow and Inf into float8_e4m3fn to +-448 (torch 2.11 gave NaN: pytorch/pytorch#178817
# made the CPU cast saturate); the other float8 types do not saturate
TORCH_SATURATING = ("e4m3",)


def torch_cast_context(dst):
    """The semantics of torch's CPU casts into ``dst`` (measured with torch 2.13.0): the torch
    profile (its float8 casts), saturating into float8_e4m3fn; into the 16- and 32-bit types
    NaNs keep their sign and payload, quieted, as x86's conversions do."""
    ctx = Context.profile("torch")
    if dst.name in TORCH_SATURATING:
        ctx = ctx.replace(saturation="finite")
    if dst.k > 8:
        ctx = ctx.replace(nan="payload", nan_fill="quiet")
    return ctx


class Torch(Backend):
    """torch on the CPU: ``Tensor.to(dtype)`` casts and float16/bfloat16 element-wise operations.

    Casts run under :func:`torch_cast_context` (measured with torch 2.13.0: the torch profile,
    saturating into float8_e4m3fn, NaN payloads kept and quieted into the 16- and 32-bit types
    as x86 does); operations under ``Context.profile("x86")``:
    torch computes a float16 or bfloat16 operation in float32 and rounds the result, which
    for +, -, *, / and sqrt is innocuous (24 >= 2 * 11 + 2) and equals one rounding.
    """

    name = "torch"
    modules = ("torch",)
    extra = "torch"                     # torch, the CPU wheel

    def checks(self, modules, plan):
        torch = modules["torch"]
        types = [(lookup(t), getattr(torch, t)) for t in TORCH_TYPES if hasattr(torch, t)]
        f32 = lookup("binary32")
        for fmt, dtype in types:
            yield self._cast(torch, fmt, dtype, f32, torch.float32, plan.every_code(fmt))
        for src, src_dtype in types[:2]:
            for fmt, dtype in types:
                if fmt is not src:
                    yield self._cast(torch, src, src_dtype, fmt, dtype, plan.every_code(src))
        for fmt, dtype in types:
            yield self._cast(torch, f32, torch.float32, fmt, dtype, plan.wide_codes(f32, (fmt,)))
        op_ctx = Context.profile("x86")
        for fmt, dtype in types[:2]:
            for op, name in TORCH_OPS.items():
                arity = 1 if op == "sqrt" else 2
                yield Check(f"{short_name(fmt)}_{op}", "rne", (fmt,) * arity, fmt, op_ctx,
                            plan.tuples((fmt,) * arity), self._op(torch, getattr(torch, name), fmt, dtype), op=op)

    @staticmethod
    def _tensor(torch, codes, fmt, dtype):
        bits = _storage_bits(fmt)
        signed = {8: torch.uint8, 16: torch.int16, 32: torch.int32}[bits]
        t = torch.tensor(codes, dtype=torch.int64).to(signed)  # wraps modulo 2**bits
        return t.view(dtype)

    @staticmethod
    def _codes(torch, t, fmt):
        bits = _storage_bits(fmt)
        signed = {8: torch.uint8, 16: torch.int16, 32: torch.int32}[bits]
        mask = (1 << bits) - 1
        return [c & mask for c in t.contiguous().view(signed).tolist()]

    def _cast(self, torch, src, src_dtype, dst, dst_dtype, codes):
        ctx = torch_cast_context(dst)

        def peer(cases):
            t = self._tensor(torch, [c[0] for c in cases], src, src_dtype)
            return self._codes(torch, t.to(dst_dtype), dst)
        return Check(f"{short_name(src)}_to_{short_name(dst)}", "", (src,), dst, ctx, [(c,) for c in codes], peer)

    def _op(self, torch, fn, fmt, dtype):
        def peer(cases):
            args = [self._tensor(torch, [c[i] for c in cases], fmt, dtype) for i in range(len(cases[0]))]
            return self._codes(torch, fn(*args), fmt)
        return peer


# gfloat -----------------------------------------------------------------------------------------

GFLOAT_MODES = {"rne": "TiesToEven", "rna": "TiesToAway", "rtz": "TowardZero", "rup": "TowardPositive",
                "rdn": "TowardNegative", "sr-a": "StochasticFastest", "sr-b": "StochasticFast",
                "sr-c": "Stochastic"}
# N, the random bits of each stochastic mode, per input source
GFLOAT_SR_BITS = {"binary16": {"sr-a": 1, "sr-b": 2, "sr-c": 3}, "binary64": {"sr-a": 5, "sr-b": 8, "sr-c": 12}}
# gfloat's sat flag per refnum saturation policy; the first is the profile's own
GFLOAT_POLICIES = {"ocp": (("finite", True), ("none", False)),
                   "p3109": (("satnone", False), ("finite", True), ("none", False))}
GFLOAT_OCP = {"e4m3": "format_info_ocp_e4m3", "e5m2": "format_info_ocp_e5m2", "e2m1": "format_info_ocp_e2m1",
              "e2m3": "format_info_ocp_e2m3", "e3m2": "format_info_ocp_e3m2", "e8m0": "format_info_ocp_e8m0",
              "mxint8": "format_info_ocp_int8"}


class Gfloat(Backend):
    """gfloat 0.5 ``round_ndarray`` + ``encode_ndarray`` on binary64 inputs.

    Formats: every P3109 Binary8p{P}{s,u}{e,f} that gfloat and v4.0 both define
    (signed P < 8) and the OCP formats.  Inputs: binary16 codes (widened exactly),
    and binary64 codes at the boundaries of the format and at random.  Contexts:
    ``Context.profile("p3109")`` and ``Context.profile("ocp")`` with the rounding
    mode (gfloat's TiesToEven, TiesToAway, TowardZero, TowardPositive,
    TowardNegative, StochasticFastest, StochasticFast, Stochastic = rne rna rtz
    rup rdn sr-a sr-b sr-c) and the saturation policy of gfloat's ``sat`` flag.
    The profile's own policy sees every input; the others see, in a quick run,
    only the inputs where saturation can matter (non-finite or beyond the range).
    """

    name = "gfloat"
    modules = ("numpy", "gfloat")

    def checks(self, modules, plan):
        np, gf = modules["numpy"], modules["gfloat"]
        f16, f64 = lookup("binary16"), lookup("binary64")
        f16_codes = sorted(set(range(0, f16.ncodes, plan.size(GFLOAT_F16_STRIDE))) | {0x7C00, 0xFC00, 0x7E00, 0x8000})
        for fmt, fi, profile in self._formats(gf):
            rng = plan.rng("gfloat", fmt.name)
            boundaries = boundary_codes(fmt, f64, plan.size(BOUNDARY_KEEP), rng)
            f64_codes = _sample(boundaries, plan.size(GFLOAT_BOUNDARY), rng)
            f64_codes += random_codes_in_range(fmt, f64, plan.size(GFLOAT_RANDOM), rng)
            for src, codes in ((f16, f16_codes), (f64, sorted(set(f64_codes)))):
                if not fmt.signed:                      # GF-3: a sample of the negative inputs
                    codes = _few_negatives(codes, src, plan.size(GFLOAT_NEGATIVE), rng)
                for mode in GFLOAT_MODES:
                    nbits = GFLOAT_SR_BITS[src.name].get(mode, 0)
                    cases = [(c, rng.getrandbits(nbits)) if nbits else (c,) for c in codes]
                    yield from self._policies(np, gf, fmt, fi, profile, src, mode, nbits, cases, plan)

    @staticmethod
    def _formats(gf):
        gff = importlib.import_module("gfloat.formats")
        out = []
        for signed in (True, False):
            for p in range(1, 8 if signed else 9):
                for extended in (True, False):
                    fi = gff.format_info_p3109(8, p, gf.Signedness.Signed if signed else gf.Signedness.Unsigned,
                                               gf.Domain.Extended if extended else gf.Domain.Finite)
                    out.append((lookup(fi.name), fi, "p3109"))
        return out + [(lookup(n), getattr(gff, attr), "ocp") for n, attr in GFLOAT_OCP.items()]

    def _policies(self, np, gf, fmt, fi, profile, src, mode, nbits, cases, plan):
        top = positive_values(fmt)[-1]
        for i, (policy, sat) in enumerate(GFLOAT_POLICIES[profile]):
            if i:                                       # gfloat reads ``sat`` only on overflow
                cases = [c for c in cases if _beyond(decode(c[0], src), top)]
            if not cases:
                continue
            ctx = Context.profile(profile, rounding=mode, saturation=policy, sr_bits=nbits)
            variant = f"{mode}{f' N={nbits}' if nbits else ''} sat={sat} ({policy})"
            yield Check(f"{short_name(src)}_to_{fmt.name}", variant, (src,), fmt, ctx, cases,
                        self._peer(np, gf, fi, src, mode, sat, nbits),
                        ask=self._asker(gf, fi, src, mode, sat, nbits),
                        note={"fi": fi, "profile": profile, "sat": sat})

    def _peer(self, np, gf, fi, src, mode, sat, nbits):
        """gfloat's codes for cases (code[, R]) of ``src`` through its array API; where an array
        call refuses a batch, the batch's cases one by one through the scalar API (RAISES where
        gfloat refuses the value)."""
        rnd = getattr(gf.RoundMode, GFLOAT_MODES[mode])
        view = {16: np.float16, 64: np.float64}[src.k]
        one = self._scalar(gf, fi, src, mode, sat, nbits)

        def bulk(cases):
            x = np.asarray([c[0] for c in cases], dtype=_uint(np, src.k)).view(view).astype(np.float64)
            srbits = np.asarray([c[1] for c in cases], dtype=np.int64) if nbits else None
            with np.errstate(all="ignore"):
                codes = gf.encode_ndarray(fi, gf.round_ndarray(fi, x, rnd, sat, srbits, nbits))
            return [int(c) for c in codes.tolist()]
        return lambda cases: _bulk_or_split(bulk, one, cases)

    @staticmethod
    def _scalar(gf, fi, src, mode, sat, nbits):
        """gfloat's ``round_float`` + ``encode_float`` for one case (code[, R]); RAISES on ValueError."""
        rnd = getattr(gf.RoundMode, GFLOAT_MODES[mode])
        widen = converter(src, lookup("binary64"), Context())

        def one(case):
            x = bits_to_float(widen(case[0])[0])       # exact: binary16 and binary64 are binary64 values
            try:
                return gf.encode_float(fi, gf.round_float(fi, x, rnd, sat, case[1] if nbits else -1, nbits))
            except ValueError:
                return RAISES
        return one

    def _asker(self, gf, fi, src, mode, sat, nbits):
        """gfloat's code (scalar API) for one case under another rounding mode (a directed mode: R
        dropped) or another ``sat``."""
        def ask(operands, rounding=None, **changes):
            if rounding is None:
                return self._scalar(gf, fi, src, mode, changes.get("sat", sat), nbits)(operands)
            return self._scalar(gf, fi, src, rounding, changes.get("sat", sat), 0)(operands[:1])
        return ask


def _sample(codes, n, rng):
    return codes if n is None or n >= len(codes) else sorted(rng.sample(codes, n))


def _few_negatives(codes, src, n, rng):
    """The nonnegative codes, -Inf and ``n`` of the negative ones (gfloat does not project
    negative values into unsigned formats, row GF-3: a sample shows that row at work)."""
    negative = [c for c in codes if c & src.sign_bit and c != src.sign_bit]
    kept = set(_sample(negative, n, rng)) | {src.inf_code | src.sign_bit}
    return [c for c in codes if not c & src.sign_bit or c == src.sign_bit or c in kept]


def random_codes_in_range(fmt, src, n, rng):
    """``n`` seeded codes of the float format ``src`` with magnitudes from three binades below
    the smallest nonzero value of ``fmt`` to two above its largest, random signs and trailing bits."""
    vals = [v for v in positive_values(fmt) if v > 0]
    lo = ilog2(vals[0].numerator, 0, vals[0].denominator) - 3
    hi = ilog2(vals[-1].numerator, 0, vals[-1].denominator) + 2
    out = []
    for _ in range(n):
        e = rng.randint(lo, hi) + src.bias
        out.append(rng.getrandbits(1) * src.sign_bit | e << src.m | rng.getrandbits(src.m))
    return out


def _beyond(v, top):
    """Whether saturation can matter for value ``v``: not finite, or beyond the largest magnitude."""
    return not v.is_finite or abs(v.to_fraction()) > top


def _bulk_or_split(bulk, one, cases, smallest=64):
    """``bulk(cases)``; where it raises for a batch, halves it down to ``smallest`` cases, which
    are then asked one at a time with ``one``.

    gfloat's array API refuses a whole array when one value has no code (ValueError, or its
    encoder's assertion on a NaN for a format without NaN); the scalar API refuses that value alone.
    """
    try:
        return bulk(cases)
    except (ValueError, AssertionError):
        if len(cases) <= smallest:
            return [one(c) for c in cases]
        half = len(cases) // 2
        return _bulk_or_split(bulk, one, cases[:half], smallest) + _bulk_or_split(bulk, one, cases[half:], smallest)


# softfloatpy -------------------------------------------------------------------------------------

SF_MODES = {"rne": "NEAR_EVEN", "rtz": "MIN_MAG", "rdn": "MIN", "rup": "MAX", "rna": "NEAR_MAX_MAG"}
SF_TYPES = {"binary16": "Float16", "bfloat16": "BFloat16", "binary32": "Float32", "binary64": "Float64",
            "binary128": "Float128", "int32": "Int32"}
SF_ARITH = ("add", "sub", "mul", "div", "mulAdd", "sqrt", "rem", "roundToInt")
SF_COMPARE = ("eq", "le", "lt", "eq_signaling", "le_quiet", "lt_quiet")
SF_TINY = ("add", "sub", "mul", "div", "mulAdd")          # also run with tininess before rounding
SF_NAME = {"mulAdd": "mul_add", "roundToInt": "round_to_int"}
ARITY = {"mulAdd": 3, "sqrt": 1, "roundToInt": 1}


class SoftFloat(Backend):
    """softfloatpy (SoftFloat 3e, RISCV specialization) under ``Context.profile("riscv")``: bits and flags."""

    name = "softfloatpy"
    modules = ("softfloatpy",)

    def checks(self, modules, plan):
        sf = modules["softfloatpy"]
        f16, bf16, f32, f64, f128, i32 = (lookup(n) for n in
                                          ("binary16", "bfloat16", "binary32", "binary64", "binary128", "int32"))
        for src, dst in ((f16, f32), (f16, f64), (f16, f128), (bf16, f32)):
            yield self._convert(sf, src, dst, "rne", plan.every_code(src))
        for src, dst in ((f32, f16), (f32, bf16), (f64, f16), (f64, f32), (f128, f64)):
            for mode in SF_MODES:
                for tininess in ("after",) if plan.quick else ("after", "before"):
                    yield self._convert(sf, src, dst, mode, plan.wide_codes(src, (dst,)),
                                        tininess)
        for mode in SF_MODES:
            for exact in (False, True):
                yield self._convert(sf, f16, i32, mode, plan.every_code(f16), exact=exact)
        for fmt in (f16, f32, f64):
            for op in SF_ARITH + SF_COMPARE:
                cases = plan.tuples((fmt,) * ARITY.get(op, 2))
                for mode, tininess, exact in self._variants(op, plan.quick):
                    yield self._operation(sf, fmt, op, cases, mode, tininess, exact)

    @staticmethod
    def _variants(op, quick):
        """(mode, tininess, exact) settings of ``op``; tininess before rounding only in a full run."""
        if op in SF_COMPARE:
            return [("rne", "after", False)]
        out = [(mode, "after", False) for mode in SF_MODES]
        if op in SF_TINY and not quick:
            out += [(mode, "before", False) for mode in SF_MODES]
        if op == "roundToInt":
            out += [(mode, "after", True) for mode in SF_MODES]
        return out

    @staticmethod
    def _context(mode, tininess, exact):
        return Context.profile("riscv", rounding=mode, tininess=tininess, exact=exact)

    @staticmethod
    def _variant(mode, tininess, exact):
        return f"{mode} tininess={tininess}" + (" exact" if exact else "")

    def _convert(self, sf, src, dst, mode, codes, tininess="after", exact=False):
        fn = getattr(sf, f"{short_name(src)}_to_{short_name(dst)}")
        to_int = dst.kind == "fixed"

        def call(args, rm):
            return fn(args[0], rm, exact) if to_int else fn(args[0])
        return Check(f"{short_name(src)}_to_{short_name(dst)}", self._variant(mode, tininess, exact), (src,), dst,
                     self._context(mode, tininess, exact), [(c,) for c in codes],
                     self._peer(sf, (src,), dst, call, mode, tininess), flags=True)

    def _operation(self, sf, fmt, op, cases, mode, tininess, exact):
        fn = getattr(sf, f"{short_name(fmt)}_{SF_NAME.get(op, op)}")

        def call(args, rm):
            return fn(*args, rm, exact) if op == "roundToInt" else fn(*args)
        result = arith.BOOL if op in SF_COMPARE else fmt
        return Check(f"{short_name(fmt)}_{op}", self._variant(mode, tininess, exact), (fmt,) * len(cases[0]),
                     result, self._context(mode, tininess, exact), cases,
                     self._peer(sf, (fmt,) * len(cases[0]), result, call, mode, tininess), op=op, flags=True)

    @staticmethod
    def _peer(sf, sources, result, call, mode, tininess):
        types = [getattr(sf, SF_TYPES[f.name]) for f in sources]
        sizes = [f.k // 8 for f in sources]

        def peer(cases):
            rm = getattr(sf.RoundingMode, SF_MODES[mode])
            sf.set_rounding_mode(rm)
            sf.set_tininess_mode(sf.TininessMode.AFTER_ROUNDING if tininess == "after"
                                 else sf.TininessMode.BEFORE_ROUNDING)
            out = []
            for case in cases:
                args = [t.from_bytes(c.to_bytes(n, "big")) for t, c, n in zip(types, case, sizes)]
                sf.set_exception_flags(0)
                z = call(args, rm)
                code = int(z) if isinstance(z, bool) else int.from_bytes(z.to_bytes(), "big") & (
                    (1 << result.k) - 1)
                out.append((code, int(sf.get_exception_flags())))
            return out
        return peer


BACKENDS = {b.name: b for b in (MlDtypes(), Numpy(), Gfloat(), Torch(), SoftFloat())}


def backend_named(name):
    try:
        return BACKENDS[name]
    except KeyError:
        raise RefnumError(f"crosscheck: unknown backend '{name}'; choose from {', '.join(BACKENDS)}") from None
