"""Hardware dot-product presets as data: one row per instruction (or library kernel) and
architecture, each with its model, operand formats, context profile and evidence.

The evidence column says where the parameters come from: the shared hardware data
that the tests reproduce bit for bit (``tensor-core/<GPU>/<fmt>``: Khattak and
Mikaitis, arXiv:2512.07004; ``h200/gemm-k32-k64``: torch on an H200), a vendor's
pseudo-code, or a peer model (MMA-Sim, arXiv:2511.10909) -- see spec/dot-float.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import RefnumError
from .models import Exact, Fused, Gemm, Sequential, Tree


@dataclass(frozen=True)
class Preset:
    """A named hardware dot product: ``D = sum a[k] * b[k] + C`` as that unit computes it."""

    name: str
    operands: tuple             # formats of a, b and the addend C
    model: object
    profile: str                # the Context profile of its IEEE steps and NaN encodings
    description: str
    evidence: str


_TC = "shared data tensor-core/{} ({} cases, every one reproduced by tests/test_dot_hardware.py)"
_H200 = ("shared data h200/gemm-k32-k64 (torch 2.11, cuBLAS 13.0; every output of K = 32 and 64,"
         " the order probes included, reproduced by tests/test_dot_hardware.py)")
_MMASIM = "MMA-Sim nv_ptx.py (F = 23 Volta, 24 Ampere/Ada, 25 Hopper; FP8 'f32_e8m13')"
_NAN = ("NaN 0x7FFFFFFF / 0x7FFF (all ones), overflow to Inf, no -0 and the zero exponent as MMA-Sim models"
        " them (refnum crosscheck mmasim); not in the shared data")


# MMA-Sim's zero exponent (nv_ptx.py _mma_e_zero_for_fp32 / _fp16): where zero terms align
_E_ZERO = {"v100": (-131, -19), "a100": (-132, -20), "ada": (-132, -20), "h100": (-133, -21)}


def _nv(arch, L, F, out="binary32"):
    """An NVIDIA fused block: RZ into FP32, RNE into FP16 (Fasi et al. 2021; notes §4.2);
    NaN all ones, never -0, overflow to Inf, zeros aligned at the architecture's e_zero (MMA-Sim)."""
    f32 = out == "binary32"
    return Fused(L, F, out=out, rounding="rtz" if f32 else "rne", nan="all-ones", zero="positive",
                 overflow="inf", e_zero=_E_ZERO[arch][0 if f32 else 1])


def _nv_fp8(arch, L):
    """NVIDIA's FP8 block: F = 13 and the FP32 result truncated to 13 fraction bits (E8M13)."""
    return Fused(L, 13, intermediate="e8m13", nan="all-ones", zero="positive", overflow="inf",
                 e_zero=_E_ZERO[arch][0])


_HOPPER_FP8 = _nv_fp8("h100", 32)
_LABEL = {"v100": "V100 (Volta)", "a100": "A100 (Ampere)", "ada": "Ada", "h100": "H100/H200 (Hopper)"}
_CUTLASS_PROMOTION = 128        # 4 wgmma of k = 32: CUTLASS mma_promotion_interval 4; DeepSeek-V3 N_C


def _rows():
    f16, bf16, tf32, f32 = "binary16", "bfloat16", "tf32", "binary32"
    nv = []
    for arch, L, F, fmts in (("v100", 4, 23, ("f16",)), ("a100", 8, 24, ("f16", "bf16")),
                             ("ada", 8, 24, ("f16", "bf16")), ("h100", 16, 25, ("f16", "bf16"))):
        inst = "wgmma" if arch == "h100" else "mma"
        folder = {"v100": "V100", "a100": "A100", "ada": "Ada"}.get(arch)
        for short in fmts:
            fmt = {"f16": f16, "bf16": bf16}[short]
            data = _TC.format(f"{folder}/{'fp16' if short == 'f16' else 'bf16'}", "5000") if folder else (
                "hardware-accumulators notes §4.4 (H100/H200 vectors of the same project, 5000/5000)")
            nv.append(Preset(f"{arch}_{inst}_{short}_f32", (fmt, fmt, f32), _nv(arch, L, F), "default",
                             f"{_LABEL[arch]} {inst} {short} x {short} + f32 -> f32: fused blocks of {L}, F = {F}, RZ",
                             f"{data}; {_MMASIM}"))
        nv.append(Preset(f"{arch}_{inst}_f16_f16", (f16, f16, f16), _nv(arch, L, F, f16), "default",
                         f"{_LABEL[arch]} {inst} f16 x f16 + f16 -> f16: fused blocks of {L}, F = {F}, RNE",
                         (f"{_TC.format(folder + '/fp16 d_fp16', '5000')} (C rounded to f16 first)" if folder
                          else "hardware-accumulators notes §4.4") + f"; {_MMASIM}"))
    for arch, L in (("a100", 4), ("ada", 4), ("h100", 8)):
        F = 25 if arch == "h100" else 24
        data = (_TC.format(("A100" if arch == "a100" else "Ada") + "/tf32", "5000") if arch != "h100"
                else "hardware-accumulators notes §4.4 (H100 tf32 K = 4, 5000/5000: blocks of 8 from MMA-Sim's"
                     " L_max of 32 bytes, not observable at K = 4)")
        nv.append(Preset(f"{arch}_{'wgmma' if arch == 'h100' else 'mma'}_tf32_f32", (tf32, tf32, f32),
                         _nv(arch, L, F), "default",
                         f"{_LABEL[arch]} tf32 x tf32 + f32 -> f32: blocks of {L}, F = {F}, RZ",
                         f"{data}; {_MMASIM}"))
    for short in ("e4m3", "e5m2"):
        folder = short.upper()
        nv.append(Preset(f"ada_mma_{short}_f32", (short, short, f32), _nv_fp8("ada", 16), "default",
                         f"Ada mma.m16n8k32 {short} -> f32: two chained blocks of 16, F = 13, result truncated"
                         " to E8M13", f"{_TC.format('Ada/' + folder, '5000')}; {_MMASIM}"))
        nv.append(Preset(f"ada_mma_{short}_f16", (short, short, f16), _nv("ada", 16, 13, f16), "default",
                         f"Ada mma.m16n8k32 {short} -> f16: two chained blocks of 16, F = 13, RNE into f16",
                         f"{_TC.format('Ada/' + folder + ' d_fp16', '5000')} (C rounded to f16 first)"))
        nv.append(Preset(f"h100_wgmma_{short}_f32", (short, short, f32), _HOPPER_FP8, "default",
                         f"Hopper wgmma k32 {short} -> f32: one block of 32, F = 13, result truncated to E8M13",
                         f"{_H200}; hardware-accumulators notes §4.4; {_MMASIM}; DeepSeek-V3 §3.3.2 ('about 14 bits')"))
    hopper_gemm = [
        Preset("hopper_cublas_fp8_fast_accum", ("e4m3", "e4m3", f32), Gemm(_HOPPER_FP8), "default",
               "torch._scaled_mm(use_fast_accum=True) on Hopper: wgmma k32 blocks chained over all of K in the"
               " E8M13-truncating accumulator (operand formats: --formats e4m3|e5m2 mixes)", _H200),
        Preset("hopper_cublas_fp8", ("e4m3", "e4m3", f32), Gemm(_HOPPER_FP8, promote_every=_CUTLASS_PROMOTION),
               "default", "torch._scaled_mm(use_fast_accum=False) on Hopper: the wgmma chain restarted every 128"
               " products and added into an FP32 accumulator (RNE): two-level promotion",
               f"{_H200}: K <= 64 shows no promotion (fast and slow results and probes identical), so the"
               " interval is >= 64; 128 is CUTLASS's mma_promotion_interval (4 x k32) and DeepSeek-V3's N_C,"
               " a prediction for the held-back K > 64"),
        Preset("deepseek_v3_fp8", ("e4m3", "e4m3", f32), Gemm(_HOPPER_FP8, promote_every=_CUTLASS_PROMOTION),
               "default", "DeepSeek-V3 FP8 GEMM: wgmma chain, promoted to FP32 CUDA-core registers every N_C = 128",
               "DeepSeek-V3 technical report arXiv:2412.19437 §3.3.2 (scales omitted: 1)"),
        Preset("hopper_cublas_f16", (f16, f16, f32), Gemm(_nv("h100", 16, 25)), "default",
               "torch.matmul f16 on Hopper (FP32 accumulation; --out binary16 for the f16 result, either"
               " reduced-precision-reduction setting)", _H200),
        Preset("hopper_cublas_bf16", (bf16, bf16, f32), Gemm(_nv("h100", 16, 25)), "default",
               "torch.matmul bf16 on Hopper (FP32 accumulation; --out bfloat16 for the bf16 result)", _H200),
    ]
    cpu = [
        Preset("avx512_bf16_vdpbf16ps", (bf16, bf16, f32), Sequential(f32, order="odd-even"), "avx512_bf16",
               "x86 VDPBF16PS: per FP32 lane two FMAs, the odd element first, DAZ/FTZ, RNE",
               "Intel SDM VDPBF16PS pseudo-code (hardware-accumulators notes §4.1)"),
        Preset("amx_bf16_tdpbf16ps", (bf16, bf16, f32), Sequential(f32, lanes=2, addend="last"), "avx512_bf16",
               "x86 AMX TDPBF16PS: even and odd FMA chains over K, then (even + odd) + C",
               "Intel intrinsics guide __tile_dpbf16ps pseudo-code (notes §4.1)"),
        Preset("arm_bfdot", (bf16, bf16, f32), Tree(f32, tree=("c", (0, 1))), "arm_bf16",
               "Arm BFDOT (FEAT_EBF16 off): products rounded, pair summed, added to the accumulator, all"
               " round to odd, inputs and results flushed", "Arm ARM BFDotAdd pseudo-code (notes §4.1)"),
        Preset("arm_bfmmla", (bf16, bf16, f32), Tree(f32, tree=("c", (0, 1))), "arm_bf16",
               "Arm BFMMLA: per element two unfused 2-way BFDOT steps (4 products)",
               "Arm ARM BFMMLA text: 'two 2-way unfused' dot products (notes §4.1)"),
        Preset("riscv_vfwmacc_f16", (f16, f16, f32), Sequential(f32), "riscv",
               "RISC-V vfwmacc.vv (Zvfh): widening FMA f16 x f16 + f32, one rounding per element",
               "RISC-V V spec 1.0 §13.7 (notes §2.1)"),
        Preset("riscv_vfwmaccbf16", (bf16, bf16, f32), Sequential(f32), "riscv",
               "RISC-V vfwmaccbf16 (Zvfbfwma): widening FMA bf16 x bf16 + f32", "RISC-V Zvfbfwma (notes §2.1)"),
        Preset("riscv_vfdotpex_s_h", (f16, f16, f32), Exact(f32, group=2), "riscv",
               "RISC-V Snitch/FPnew vfdotpex.s.h: a0*b0 + a1*b1 + c fused, one rounding into FP32",
               "Snitch decoder SDOTP FP16 -> FP32; MiniFloat-NN ExSdotp arXiv:2207.03192 (notes §2.1;"
               " single rounding not yet checked against the FPnew RTL)"),
        Preset("pulp_fp16_simd2", (f16, f16, f16), Sequential(f16, lanes=2), "riscv",
               "PULP-TrainLib v2f16 kernels: two binary16 FMA lanes over even/odd k, summed at the end",
               "pulp-trainlib pulp_matmul_fp16.c (notes §2.1; fused vs mul+add depends on the compiler)"),
    ]
    nv = [replace(p, evidence=f"{p.evidence}; {_NAN}") for p in nv + hopper_gemm[:2] + hopper_gemm[3:]]
    return nv + hopper_gemm[2:3] + cpu


PRESETS = {p.name: p for p in _rows()}

ALIASES = {
    "cublas_fp8_fast_accum": "hopper_cublas_fp8_fast_accum",
    "cublas_fp8": "hopper_cublas_fp8",
    **{n.replace("h100_", "h200_"): n for n in list(PRESETS) if n.startswith("h100_")},
    **{n.replace("h100_wgmma_", "hopper_wgmma_"): n for n in list(PRESETS) if n.startswith("h100_")},
}


def preset(name):
    """The preset called ``name`` (or an alias: ``h200_*`` and ``hopper_wgmma_*`` for ``h100_*``,
    ``cublas_fp8[_fast_accum]``).

    >>> preset("h200_wgmma_e4m3_f32").model.F
    13
    """
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in PRESETS:
        import difflib
        close = difflib.get_close_matches(key, list(PRESETS) + list(ALIASES), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'refnum dot --list' lists them"
        raise RefnumError(f"unknown dot preset '{name}'{hint}")
    return PRESETS[key]


def model_summary(model):
    """The model's class and the fields that differ from their defaults (the spec's table):
    ``Fused(L=16, F=25, nan='all-ones')``."""
    import dataclasses

    parts = []
    for f in dataclasses.fields(model):
        value = getattr(model, f.name)
        if f.default is dataclasses.MISSING or value != f.default:
            parts.append(f"{f.name}={model_summary(value) if dataclasses.is_dataclass(value) else repr(value)}")
    return f"{type(model).__name__}({', '.join(parts)})"
