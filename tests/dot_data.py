"""Readers of the shared hardware data for the dot-product tests (skipped when absent).

Third-party data is read from /work/shared/data (or $REFNUM_SHARED_DATA), never copied here:
the tensor-core vectors of Khattak and Mikaitis (MATLAB-tensor-core ``model_validation``) and
the torch matrix products measured on an H200 (``h200/gemm-k32-k64``).
"""

import json
import os
import pathlib

import pytest

from refnum.convert import convert

DATA = pathlib.Path(os.environ.get("REFNUM_SHARED_DATA", "/work/shared/data"))
TENSOR_CORE = DATA / "tensor-core"
H200 = DATA / "h200"

# (GPU, input folder, refnum input format, K) as the publishers' validation uses them
TENSOR_CORE_SETS = [
    ("V100", "fp16", "binary16", 4),
    ("A100", "fp16", "binary16", 8), ("A100", "bf16", "bfloat16", 8), ("A100", "tf32", "tf32", 4),
    ("Ada", "fp16", "binary16", 8), ("Ada", "bf16", "bfloat16", 8), ("Ada", "tf32", "tf32", 4),
    ("Ada", "E4M3", "e4m3", 32), ("Ada", "E5M2", "e5m2", 32),
]


def require(path):
    if not path.exists():
        pytest.skip(f"shared hardware data not present: {path}")
    return path


def tensor_core_cases(gpu, folder, fmt, k):
    """``(a codes, b codes, c code, {output: d code})`` per case; inputs as ``fmt`` codes,
    C and D as binary32 codes (binary16 results are the binary32 holding the value)."""
    base = require(TENSOR_CORE / gpu / folder)
    words = lambda name: (base / name).read_text().split()
    a = [convert(int(w, 16), "binary32", fmt)[0] for w in words(f"a_{gpu}_{folder}.txt")]
    b = [convert(int(w, 16), "binary32", fmt)[0] for w in words(f"b_{gpu}_{folder}.txt")]
    c = [int(w, 2) for w in words(f"c_{gpu}_fp32.txt")]
    outs = {}
    for out in ("fp32", "fp16"):
        path = base / f"d_{gpu}_{out}.txt"
        if path.exists():
            outs[out] = [int(w, 2) for w in path.read_text().split()]
    assert len(a) == len(b) == k * len(c)
    return [(a[i * k:(i + 1) * k], b[i * k:(i + 1) * k], c[i], {o: d[i] for o, d in outs.items()})
            for i in range(len(c))]


def h200_gemm():
    """``(cases from the JSON, arrays)`` of the H200 capture (numpy needed)."""
    np = pytest.importorskip("numpy")
    require(H200 / "gemm-k32-k64.npz")
    meta = json.loads((H200 / "gemm-k32-k64.json").read_text())
    return meta["cases"], np.load(H200 / "gemm-k32-k64.npz")
