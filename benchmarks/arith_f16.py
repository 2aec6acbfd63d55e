"""Throughput of binary16 and E4M3 arithmetic, refnum against softfloatpy, in one run.

Workload (issue 3 §7):

* binary16 add, mul, mulAdd, div and sqrt on 100,000 seeded random operand sets
  (every operand a uniformly random 16-bit code, so NaNs, infinities and
  subnormals appear at their natural rates), RISC-V semantics, round to nearest
  even:

  - refnum, API:      ``refnum.arith.compute(op, codes, "f16", ctx)`` per case;
  - refnum, bulk:     ``refnum.arith.evaluator(op, formats, out, ctx)`` bound once,
                      then called per case (what ``refnum run`` uses);
  - refnum, run:      ``refnum run f16_<op> FILE`` on a file of the operand lines
                      (interpreter start, parsing and writing included);
  - softfloatpy:      the SoftFloat 3e binding called element by element from
                      Python with bits in and bits and flags out:
                      ``set_exception_flags(0); f16_<op>(Float16.from_bytes(..), ..)``,
                      ``to_bytes()``, ``get_exception_flags()``.

  The target is refnum within 5x of softfloatpy's per-call time for add and mul.

* E4M3 add and mul over all 65,536 operand pairs (rne, the format's default
  overflow policy), one process, bulk evaluator; target under 0.5 s each.

Run:  python benchmarks/arith_f16.py [--n 100000] [--repeat 3] [--ops add,mul]
CPU time (of this process, or of the child for ``refnum run``), best of
``--repeat``.  Every refnum column is checked against softfloatpy, bits and flags.
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile

from refnum import Context, arith

sys.path.insert(0, os.path.dirname(__file__))
from round_float64 import _cpu_seconds  # noqa: E402  (one CPU-time helper for every benchmark)

CTX = Context.profile("riscv")
OPERATIONS = {"add": 2, "mul": 2, "mulAdd": 3, "div": 2, "sqrt": 1}
SOFTFLOAT_NAMES = {"add": "f16_add", "mul": "f16_mul", "mulAdd": "f16_mul_add", "div": "f16_div",
                   "sqrt": "f16_sqrt"}


def workload(n, arity, seed=2026):
    rng = random.Random(seed)
    return [tuple(rng.getrandbits(16) for _ in range(arity)) for _ in range(n)]


def best_seconds(fn, repeat):
    return min(_cpu_seconds(fn) for _ in range(repeat))


def refnum_api(op, cases):
    return lambda: [arith.compute(op, c, "f16", CTX) for c in cases]


def refnum_bulk(op, cases):
    def run():                       # bound afresh each time
        evaluate = arith.evaluator(op, ("f16",) * OPERATIONS[op], None, CTX)
        return [evaluate(*c, 0) for c in cases]
    return run


def refnum_cli(op, cases):
    fd, path = tempfile.mkstemp(suffix=".txt")
    with os.fdopen(fd, "w") as f:
        f.writelines(" ".join(f"{x:04X}" for x in c) + "\n" for c in cases)
    cmd = [sys.executable, "-m", "refnum", "run", f"f16_{op}", "--profile", "riscv", path]

    def run():
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    return run, path


def softfloat(op, cases):
    import softfloatpy as sf

    function, from_bytes = getattr(sf, SOFTFLOAT_NAMES[op]), sf.Float16.from_bytes
    clear, flags = sf.set_exception_flags, sf.get_exception_flags
    sf.set_rounding_mode(sf.RoundingMode.NEAR_EVEN)
    sf.set_tininess_mode(sf.TininessMode.AFTER_ROUNDING)

    def run():
        out = []
        for c in cases:
            clear(0)
            z = function(*[from_bytes(x.to_bytes(2, "big")) for x in c])
            out.append((int.from_bytes(z.to_bytes(), "big"), flags()))
        return out
    return run


def e4m3_table(op):
    def run():
        evaluate = arith.evaluator(op, ("e4m3", "e4m3"), None, Context())
        return [evaluate(a, b, 0) for a in range(256) for b in range(256)]
    return run


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ops", default=",".join(OPERATIONS), help="comma-separated, of " + ", ".join(OPERATIONS))
    args = ap.parse_args(argv)
    try:
        import softfloatpy  # noqa: F401
        peer = True
    except ImportError:
        peer = False
        print("softfloatpy is not installed (pip install '.[crosscheck]'): peer column skipped")
    print(f"binary16, {args.n} random operand sets, best of {args.repeat}; microseconds of CPU per case")
    print(f"{'op':7} {'api':>7} {'bulk':>7} {'run':>7} {'sf':>7} {'api/sf':>7} {'bulk/sf':>8} {'run/sf':>7}"
          "  agreement with softfloatpy (bits and flags)")
    for op in args.ops.split(","):
        arity = OPERATIONS[op]
        cases = workload(args.n, arity)
        per_case = 1e6 / args.n
        api = best_seconds(refnum_api(op, cases), args.repeat) * per_case
        bulk = best_seconds(refnum_bulk(op, cases), args.repeat) * per_case
        run, path = refnum_cli(op, cases)
        try:
            cli = best_seconds(run, args.repeat) * per_case
        finally:
            os.unlink(path)
        if not peer:
            print(f"{op:7} {api:7.2f} {bulk:7.2f} {cli:7.2f}")
            continue
        peer_fn = softfloat(op, cases)
        sf = best_seconds(peer_fn, args.repeat) * per_case
        expected = peer_fn()
        agree = min(sum(r == e for r, e in zip(fn(op, cases)(), expected)) for fn in (refnum_api, refnum_bulk))
        print(f"{op:7} {api:7.2f} {bulk:7.2f} {cli:7.2f} {sf:7.2f} {api / sf:6.1f}x {bulk / sf:7.1f}x"
              f" {cli / sf:6.1f}x  {agree}/{args.n}")
    print("E4M3, all 65,536 operand pairs, bulk evaluator; CPU seconds (target < 0.5)")
    for op in ("add", "mul"):
        print(f"{op:7} {best_seconds(e4m3_table(op), args.repeat):7.3f} s")


if __name__ == "__main__":
    main()
