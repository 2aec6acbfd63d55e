"""Check refnum's Hopper presets against torch matrix products on an H200, for K beyond the
shared capture (spec/dot-float.md: the FP8 promotion interval is a prediction for K > 64).

Run on a machine with a Hopper GPU and torch (refnum itself is pure Python; mpmath is its
only dependency)::

    PYTHONPATH=. python3 tests/device/h200_dot_check.py --out DIR

For each K it draws seeded FP8 (e4m3, narrow and wide), binary16 and bfloat16 operands,
runs ``torch._scaled_mm`` (fast accumulation on and off) and ``torch.mm`` / ``@`` on the GPU
(M = N = 64, as the shared capture), and compares the first ``--rows`` rows of each result
with refnum's presets -- for FP8 without fast accumulation also with other promotion
intervals, so the interval the hardware uses is read off the counts -- and a promotion
probe (one large product, then small ones) whose result counts the products kept.
``--simulate`` replaces the GPU by refnum's own presets (checks this script on a CPU).
Writes ``DIR/h200_dot_check.json`` (mismatch counts) and ``DIR/h200_dot_check.npz`` (inputs
and device results, for adding to the shared data).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
from multiprocessing import Pool

from refnum.catalog import lookup
from refnum.dot import Gemm, preset
from refnum.dot.models import dot

M = N = 64
PROMOTIONS = (32, 64, 128, 256, 512)
FP8_SLOW = "hopper_cublas_fp8"


def _codes(fmt_name, exponents, count, rng):
    """Finite codes of a float format with unbiased exponents in ``exponents`` (inclusive)."""
    fmt = lookup(fmt_name)
    lo, hi = (e + fmt.bias for e in exponents)
    out = []
    while len(out) < count:
        code = (rng.randrange(2) << (fmt.k - 1)) | (rng.randrange(lo, hi + 1) << fmt.m) | rng.randrange(1 << fmt.m)
        if fmt.finite_parts(code):
            out.append(code)
    return out


def operands(kind, k, rng):
    """``(fa, A rows, B columns)``: A is M x K, B is K x N given as its N columns."""
    fmt, exponents = {"e4m3_narrow": ("e4m3", (-3, 3)), "e4m3_wide": ("e4m3", (-6, 8)),
                      "f16": ("binary16", (-6, 6)), "bf16": ("bfloat16", (-20, 20))}[kind]
    a = [_codes(fmt, exponents, k, rng) for _ in range(M)]
    b = [_codes(fmt, exponents, k, rng) for _ in range(N)]
    return fmt, a, b


def probe(k):
    """e4m3 rows: 256 (2**8) at position p, 2**-6 elsewhere; B all ones.  Fast accumulation keeps
    none of the small products (grid 2**-5 once 256 is in the block); promotion every P keeps
    every part that does not hold the 256: the result says P."""
    rows = []
    for m in range(M):
        p = (m * 37) % k
        rows.append([0x78 if i == p else 0x08 for i in range(k)])
    return "e4m3", rows, [[0x38] * k for _ in range(N)]


# -- refnum's predictions ----------------------------------------------------------------------

def models(kind):
    """{variant: {label: model}} of what refnum predicts for one kind of case."""
    if kind.startswith("e4m3") or kind == "probe":
        fast = preset("hopper_cublas_fp8_fast_accum").model
        inner = fast.inner
        slow = {f"promote_every={p}": Gemm(inner, promote_every=p) for p in PROMOTIONS}
        return {"f32_fast1": {"preset": fast}, "f32_fast0": {"preset": preset(FP8_SLOW).model, **slow},
                "bf16_fast0": {"preset": Gemm(preset(FP8_SLOW).model, out="bfloat16")}}
    name, out = ("hopper_cublas_f16", "binary16") if kind == "f16" else ("hopper_cublas_bf16", "bfloat16")
    model = preset(name).model
    return {"f32": {"preset": model}, f"{kind}": {"preset": Gemm(model, out=out)}}


def _one(job):
    model, a, b, fmt = job
    return dot(model, a, b, 0, (fmt, fmt, "binary32"))[0]


def predict(pool, model, fmt, a, b, rows):
    jobs = [(model, a[m], b[n], fmt) for m in range(rows) for n in range(N)]
    return pool.map(_one, jobs, chunksize=16)


# -- the device ---------------------------------------------------------------------------------

def device(kind, fmt, a, b):
    """{variant: [result codes, row-major]} from torch on the GPU."""
    import torch

    dtype = {"e4m3": torch.float8_e4m3fn, "binary16": torch.float16, "bfloat16": torch.bfloat16}[fmt]
    raw = torch.uint8 if fmt == "e4m3" else torch.int16

    def tensor(rows):
        signed = [[c - 0x10000 if raw is torch.int16 and c >= 0x8000 else c for c in row] for row in rows]
        return torch.tensor(signed, dtype=raw).view(dtype).cuda()

    A, Bt = tensor(a), tensor(b)                  # B given by columns: Bt is N x K
    B = Bt.t()                                    # K x N, column-major as _scaled_mm wants

    def codes(t, bits):
        ints = t.contiguous().view(torch.int32 if bits == 32 else torch.int16).flatten().tolist()
        return [x & ((1 << bits) - 1) for x in ints]

    if fmt == "e4m3":
        one = torch.ones((), device="cuda")
        out = {}
        for fast in (0, 1):
            d = torch._scaled_mm(A, B, scale_a=one, scale_b=one, out_dtype=torch.float32, use_fast_accum=bool(fast))
            out[f"f32_fast{fast}"] = codes(d, 32)
        d = torch._scaled_mm(A, B, scale_a=one, scale_b=one, out_dtype=torch.bfloat16, use_fast_accum=False)
        out["bf16_fast0"] = codes(d, 16)
        return out
    short = "f16" if fmt == "binary16" else "bf16"
    return {"f32": codes(torch.mm(A, B.contiguous(), out_dtype=torch.float32), 32),
            short: codes(A @ B.contiguous(), 16)}


# -- the run --------------------------------------------------------------------------------------

def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=".", help="folder for the JSON report and the npz capture")
    parser.add_argument("--ks", default="96,128,160,256,512,1024,4096", help="values of K")
    parser.add_argument("--rows", type=int, default=4, help="rows of each 64 x 64 result compared")
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--simulate", action="store_true", help="refnum's presets stand in for the GPU")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    report, capture = {}, {}
    with Pool(len(os.sched_getaffinity(0))) as pool:
        for k in (int(x) for x in args.ks.split(",")):
            for kind in ("probe", "e4m3_narrow", "e4m3_wide", "f16", "bf16"):
                fmt, a, b = probe(k) if kind == "probe" else operands(kind, k, rng)
                predictions = models(kind)
                if args.simulate:
                    got = {v: predict(pool, labels["preset"], fmt, a, b, args.rows)
                           for v, labels in predictions.items()}
                else:
                    got = device(kind, fmt, a, b)
                key = f"{kind}_K{k}"
                capture[key] = (a, b, got)
                for variant, labels in predictions.items():
                    want = got[variant][:args.rows * N]
                    counts = {label: sum(x != y for x, y in zip(predict(pool, model, fmt, a, b, args.rows), want))
                              for label, model in labels.items()}
                    report.setdefault(key, {})[variant] = counts
                    print(key, variant, counts, flush=True)
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "h200_dot_check.json"), "w", encoding="utf-8") as f:
        json.dump({"simulated": args.simulate, "rows": args.rows, "report": report}, f, indent=1, sort_keys=True)
    _save_capture(os.path.join(args.out, "h200_dot_check.npz"), capture)
    misses = sum(c["preset"] for r in report.values() for c in r.values())
    print(f"preset mismatches: {misses}")
    return 0 if misses == 0 else 1


def _save_capture(path, capture):
    try:
        import numpy as np
    except ImportError:
        return
    arrays = {}
    for key, (a, b, got) in capture.items():
        arrays[f"{key}__a"] = np.array(a, dtype=np.uint32)
        arrays[f"{key}__bT"] = np.array(b, dtype=np.uint32)
        for variant, codes in got.items():
            arrays[f"{key}__d_{variant}"] = np.array(codes, dtype=np.uint32).reshape(-1, N)
    np.savez_compressed(path, **arrays)


if __name__ == "__main__":
    sys.exit(main())
