"""The dot-product presets against real hardware, bit for bit (spec/dot-float.md).

* tensor-core/: V100, A100 and Ada instruction vectors (Khattak and Mikaitis), 5000 cases
  per set and output; the default run checks every 10th case, the slow run all of them.
* h200/gemm-k32-k64: torch matrix products on an H200 (FP8 ``_scaled_mm`` with and without
  fast accumulation, f16/bf16 matmuls, accumulation-order probes); the default run checks
  every 11th output element, the slow run all.
* The order probes pin the parameters: the neighbouring models (another block length,
  promotion after every instruction) disagree with them.
"""

import pytest

from dot_data import TENSOR_CORE_SETS, h200_gemm, tensor_core_cases
from refnum.convert import convert
from refnum.dot.models import Fused, Gemm, dot
from refnum.dot.presets import preset
from refnum.dot import run_dot

TC_PRESET = {("V100", "fp32"): "v100_mma_{}_f32", ("V100", "fp16"): "v100_mma_{}_f16",
             ("A100", "fp32"): "a100_mma_{}_f32", ("A100", "fp16"): "a100_mma_{}_f16",
             ("Ada", "fp32"): "ada_mma_{}_f32", ("Ada", "fp16"): "ada_mma_{}_f16"}
SHORT = {"binary16": "f16", "bfloat16": "bf16", "tf32": "tf32", "e4m3": "e4m3", "e5m2": "e5m2"}


def _tensor_core_mismatches(gpu, folder, fmt, k, out, stride):
    p = preset(TC_PRESET[gpu, out].format(SHORT[fmt]))
    bad, checked = [], 0
    for i, (a, b, c, d) in enumerate(tensor_core_cases(gpu, folder, fmt, k)):
        if out not in d or i % stride:
            continue
        if out == "fp16":                  # the publishers rounded C to f16 on the device (README)
            c = convert(c, "binary32", "binary16")[0]
        code, _ = run_dot(p, a, b, c)
        if out == "fp16":
            code = convert(code, "binary16", "binary32")[0]
        checked += 1
        if code != d[out]:
            bad.append(i)
    return bad, checked


_TC_PARAMS = [(g, f, fmt, k, out) for g, f, fmt, k in TENSOR_CORE_SETS for out in ("fp32", "fp16")
              if not (out == "fp16" and fmt in ("bfloat16", "tf32"))]


@pytest.mark.parametrize("gpu,folder,fmt,k,out", _TC_PARAMS, ids=lambda x: str(x))
def test_tensor_core_sample(gpu, folder, fmt, k, out):
    bad, checked = _tensor_core_mismatches(gpu, folder, fmt, k, out, stride=10)
    assert checked == 500 and bad == []


@pytest.mark.slow
@pytest.mark.parametrize("gpu,folder,fmt,k,out", _TC_PARAMS, ids=lambda x: str(x))
def test_tensor_core_every_case(gpu, folder, fmt, k, out):
    bad, checked = _tensor_core_mismatches(gpu, folder, fmt, k, out, stride=1)
    assert checked == 5000 and bad == []


# -- the H200 capture ---------------------------------------------------------------------------

_FORMAT = {"e4m3": "e4m3", "e5m2": "e5m2", "f16": "binary16", "bf16": "bfloat16"}
_OUT = {"f32": None, "f16": "binary16", "bf16": "bfloat16"}
_ONE = {"binary16": 0x3C00, "bfloat16": 0x3F80, "e5m2": 0x3C, "e4m3": 0x38}


def h200_model(case, variant):
    """The preset that predicts one output variant of one case, and the operand formats."""
    fa = _FORMAT[case["a"]]
    fb = fa if case["b"] == "ones" else _FORMAT[case["b"]]
    if fa in ("e4m3", "e5m2"):
        name = "hopper_cublas_fp8_fast_accum" if variant.endswith("fast1") else "hopper_cublas_fp8"
    else:
        name = "hopper_cublas_f16" if fa == "binary16" else "hopper_cublas_bf16"
    model = preset(name).model
    out = _OUT[variant.split("_")[0]]
    return (Gemm(model, out=out) if out else model), (fa, fb, "binary32")


def h200_mismatches(key, variant, model, formats, stride=1):
    cases, arrays = h200_gemm()
    a = arrays[key + "__a"]
    b = arrays[key + "__b"] if key + "__b" in arrays.files else None
    d = arrays[key + "__d_" + variant]
    m_rows, k = a.shape
    bad, checked = [], 0
    for index in range(0, m_rows * d.shape[1], stride):
        m, n = divmod(index, d.shape[1])
        col = [int(x) for x in b[:, n]] if b is not None else [_ONE[formats[1]]] * k
        code, _ = dot(model, [int(x) for x in a[m]], col, 0, formats)
        checked += 1
        if code != int(d[m, n]):
            bad.append((m, n))
    return bad, checked


def _h200_params():
    try:
        cases, arrays = h200_gemm()
    except pytest.skip.Exception:
        return [pytest.param(None, None, marks=pytest.mark.skip(reason="shared H200 data absent"))]
    return [(case, name.split("__d_")[1]) for case in cases for name in arrays.files
            if name.startswith(case["key"] + "__d_")]


_H200_PARAMS = _h200_params()


def _ID(x):
    return x["key"] if isinstance(x, dict) else str(x)


@pytest.mark.parametrize("case,variant", _H200_PARAMS, ids=_ID)
def test_h200_sample(case, variant):
    model, formats = h200_model(case, variant)
    bad, checked = h200_mismatches(case["key"], variant, model, formats, stride=11)
    assert checked > 100 and bad == []


@pytest.mark.slow
@pytest.mark.parametrize("case,variant", _H200_PARAMS, ids=_ID)
def test_h200_every_output(case, variant):
    model, formats = h200_model(case, variant)
    bad, checked = h200_mismatches(case["key"], variant, model, formats)
    assert checked == case["M"] * case["N"] and bad == []


@pytest.mark.parametrize("key,variant,neighbour", [
    ("order_f16_K64", "f32", Gemm(Fused(8, 25))),                  # blocks of 8, not 16
    ("order_f16_K64", "f32", Gemm(Fused(32, 25))),                 # blocks of 32
    ("mm_bf16_K64", "f32", Gemm(Fused(16, 24))),                   # F = 24, not 25
    ("mm_f16_K64", "f32", Gemm(Fused(16, 26))),                    # F = 26
    ("mm_f16_K64", "f32", Gemm(Fused(16, 25, rounding="rne"))),    # RNE, not RZ
    ("order_e5m2_K64", "f32_fast0", Gemm(Fused(32, 13, intermediate="e8m13"), promote_every=32)),
    ("order_e5m2_K64", "f32_fast1", Gemm(Fused(16, 13, intermediate="e8m13"))),
    ("smm_e4m3_e4m3_K32_wide", "f32_fast1", Gemm(Fused(32, 13))),  # no E8M13 truncation of the result
    ("smm_e4m3_e4m3_K32_wide", "f32_fast1", Gemm(Fused(32, 14, intermediate="e8m13"))),
])
def test_probes_reject_neighbouring_parameters(key, variant, neighbour):
    """Each parameter of the presets is pinned: moving it by one step breaks the match."""
    short = key.split("_")[1]
    formats = (_FORMAT[short],) * 2 + ("binary32",)
    bad, checked = h200_mismatches(key, variant, neighbour, formats, stride=3)
    assert bad, "the probe cannot tell this neighbour from the preset"
