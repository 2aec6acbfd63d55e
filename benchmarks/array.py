"""Throughput of refnum.array.quantize against gfloat's and ml_dtypes' array paths, in one run.

Workload (issue 10 §1): 10**6 seeded float32 values from a standard normal
distribution (what ``np.random.randn(10**6).astype(np.float32)`` gives), rounded
to E4M3, E5M2, E2M1, bfloat16 and binary16, round to nearest even, saturating
to the largest finite value, and encoded to codes.

* refnum:   ``refnum.array.quantize(x, fmt, Context(saturation="finite"))``: codes and flags;
* gfloat:   ``encode_ndarray(fi, round_ndarray(fi, x, sat=True))`` (gfloat 0.5, the peer
            the issue names; target: refnum at least 5x faster);
* ml_dtypes: ``x.astype(dtype)`` (C++, no flags: the ceiling for a numpy-level path).

Run:  python benchmarks/array.py [--n 1000000] [--repeat 5]
Prints CPU milliseconds (best of ``--repeat``) and the ratios, and checks that
refnum's codes equal gfloat's and ml_dtypes' for every value.

Block schemes (``--blocks``): the same values, 1 x 10**6, quantized to MXFP8 E4M3 and
MXFP4 (OCP MX, k = 32, floor rule) by ``refnum.array.quantize_blocks`` and by the
scalar block model ``refnum.blocks.quantize_tensor`` (timed once: it takes seconds),
checking that every scale, element and flag is equal.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from refnum import Context
from refnum.array import quantize, quantize_blocks
from refnum.blocks import quantize_tensor

CTX = Context(saturation="finite")

TARGETS = {  # refnum name: (gfloat format_info name, ml_dtypes dtype name)
    "e4m3": ("format_info_ocp_e4m3", "float8_e4m3fn"),
    "e5m2": ("format_info_ocp_e5m2", "float8_e5m2"),
    "e2m1": ("format_info_ocp_e2m1", "float4_e2m1fn"),
    "bf16": ("format_info_bfloat16", "bfloat16"),
    "f16": ("format_info_binary16", "float16"),
}


def best_ms(fn, repeat):
    """The smallest CPU time of ``repeat`` calls, in milliseconds, and the last result."""
    best, result = None, None
    for _ in range(repeat):
        t0 = time.process_time()
        result = fn()
        spent = time.process_time() - t0
        best = spent if best is None else min(best, spent)
    return best * 1000, result


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10**6)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--blocks", action="store_true", help="the block schemes instead")
    args = parser.parse_args(argv)
    if args.blocks:
        return blocks(args)
    import gfloat
    import gfloat.formats
    import ml_dtypes

    x = np.random.default_rng(2026).standard_normal(args.n).astype(np.float32)
    print(f"{args.n:,} float32 values, CPU ms (best of {args.repeat})")
    print("| target | refnum | gfloat | ml_dtypes | gfloat/refnum | refnum/ml_dtypes | codes equal (gfloat, ml_dtypes) |")
    print("|---|---|---|---|---|---|---|")
    for name, (fi_name, dtype_name) in TARGETS.items():
        fi = getattr(gfloat.formats, fi_name)
        dtype = np.float16 if dtype_name == "float16" else getattr(ml_dtypes, dtype_name)
        ours, (codes, _) = best_ms(lambda: quantize(x, name, CTX), args.repeat)
        theirs, peer = best_ms(lambda: gfloat.encode_ndarray(fi, gfloat.round_ndarray(fi, x, sat=True)), args.repeat)
        ceiling, cast = best_ms(lambda: x.astype(dtype), args.repeat)
        cast_codes = cast.view(np.uint16 if cast.itemsize == 2 else np.uint8)
        equal_peer = int(np.count_nonzero(codes == peer.astype(np.uint64)))
        equal_cast = int(np.count_nonzero(codes == cast_codes))
        print(f"| {name} | {ours:.1f} | {theirs:.1f} | {ceiling:.1f} | {theirs / ours:.1f}x | "
              f"{ours / ceiling:.1f}x | {equal_peer:,}, {equal_cast:,} |")


def blocks(args):
    """quantize_blocks against the scalar block model on one row of ``--n`` values."""
    x = np.random.default_rng(2026).standard_normal((1, args.n)).astype(np.float32)
    print(f"{args.n:,} float32 values, CPU ms (refnum.array best of {args.repeat}; scalar once)")
    print("| scheme | refnum.array | scalar blocks | scalar/array | blocks, elements equal |")
    print("|---|---|---|---|---|")
    for name in ("mxfp8_e4m3", "mxfp4"):
        ours, (scales, elements, scale_flags, element_flags) = best_ms(lambda: quantize_blocks(x, name), args.repeat)
        scalar, ref = best_ms(lambda: quantize_tensor(x.astype(np.float64).tolist(), name), 1)
        same_blocks = sum(b.scale == int(s) and b.scale_flags == int(f)
                          for b, s, f in zip(ref, scales.reshape(-1).tolist(), scale_flags.reshape(-1).tolist()))
        codes = [c for b in ref for c in b.elements]
        flags = [f for b in ref for f in b.flags]
        same_elements = int(np.count_nonzero((elements.reshape(-1) == np.array(codes))
                                             & (element_flags.reshape(-1) == np.array(flags))))
        print(f"| {name} | {ours:.1f} | {scalar:.0f} | {scalar / ours:.0f}x | {same_blocks:,}, {same_elements:,} |")


if __name__ == "__main__":
    main()
