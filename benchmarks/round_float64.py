"""Throughput of rounding float64 values, refnum against gfloat's scalar path, in one run.

Workload (issue 2 §9): 100,000 seeded float64 values, magnitudes log-uniform
over 2**-12 .. 2**10, both signs, rounded to E4M3 (rne, saturate finite),
bfloat16 and binary16 and encoded to codes.

* refnum, Python API:  ``from_value(x, fmt, ctx)`` per value;
* refnum, command line: ``refnum run f64_to_<fmt>`` on a file of the values'
  binary64 codes (process start and parsing included);
* gfloat (peer):       ``encode_float(fi, round_float(fi, x, sat=True))``.

Run:  python benchmarks/round_float64.py [--n 100000] [--repeat 3]
Prints values/second for each and the ratios refnum/gfloat (target: >= 5).
The best of ``--repeat`` runs is kept: the machines are noisy.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time

from refnum import Context, from_value, lookup
from refnum.interop import float_to_bits

TARGETS = {  # refnum name: (gfloat format_info name, TestFloat-style function)
    "e4m3": ("format_info_ocp_e4m3", "f64_to_e4m3"),
    "bf16": ("format_info_bfloat16", "f64_to_bf16"),
    "f16": ("format_info_binary16", "f64_to_f16"),
}


def workload(n, seed=2026):
    rng = random.Random(seed)
    return [rng.choice((-1.0, 1.0)) * 2.0 ** rng.uniform(-12.0, 10.0) for _ in range(n)]


def best_rate(fn, n, repeat):
    best = min(_timed(fn) for _ in range(repeat))
    return n / best


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def refnum_api(xs, fmt):
    ctx = Context(saturation="finite")
    return lambda: [from_value(x, fmt, ctx)[0] for x in xs]


def refnum_cli(xs, function):
    fd, path = tempfile.mkstemp(suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.writelines(f"{float_to_bits(x):016X}\n" for x in xs)
    cmd = [sys.executable, "-m", "refnum", "run", function, "--saturate", "finite", path]

    def run():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run, path


def gfloat_scalar(xs, info_name):
    import gfloat
    import gfloat.formats
    fi = getattr(gfloat.formats, info_name)
    return lambda: [gfloat.encode_float(fi, gfloat.round_float(fi, x, sat=True)) for x in xs]


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    xs = workload(args.n)
    try:
        import gfloat  # noqa: F401
    except ImportError:
        gfloat = None
        print("gfloat is not installed (pip install '.[crosscheck]'): peer column skipped")
    print(f"{args.n} float64 values, best of {args.repeat}; values/second")
    print(f"{'target':8} {'refnum API':>12} {'refnum run':>12} {'gfloat':>12} {'API/gfloat':>11} {'run/gfloat':>11}")
    for name, (info_name, function) in TARGETS.items():
        fmt = lookup(name)
        api = best_rate(refnum_api(xs, fmt), args.n, args.repeat)
        run, path = refnum_cli(xs, function)
        try:
            cli = best_rate(run, args.n, args.repeat)
        finally:
            os.unlink(path)
        if gfloat is None:
            print(f"{name:8} {api:12,.0f} {cli:12,.0f}")
            continue
        peer_fn = gfloat_scalar(xs, info_name)
        peer = best_rate(peer_fn, args.n, args.repeat)
        agree = sum(a == b for a, b in zip(refnum_api(xs, fmt)(), peer_fn()))
        print(f"{name:8} {api:12,.0f} {cli:12,.0f} {peer:12,.0f} {api / peer:10.1f}x {cli / peer:10.1f}x"
              f"   codes agree {agree}/{args.n}")


if __name__ == "__main__":
    main()
