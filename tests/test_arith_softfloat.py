"""refnum's arithmetic against SoftFloat 3e (softfloatpy, RISCV specialization): bits and flags.

Operations: f16, f32 and f64 add, sub, mul, div, mulAdd, sqrt, rem, roundToInt (exact
and not) and the six comparisons eq, le, lt, eq_signaling, le_quiet, lt_quiet.  refnum
runs under ``Context.profile("riscv", rounding=..., tininess=..., exact=...)`` (canonical
NaN, sNaN operands invalid, fma(Inf, 0, qNaN) invalid: softfloat-testfloat notes §1.6)
and every result is compared as (code, whole flag byte), through both
:func:`refnum.arith.compute` and the bulk :func:`refnum.arith.evaluator`.

Every operand tuple is checked in the five IEEE modes softfloatpy has (near_even,
minMag, min, max, near_maxMag) with tininess after rounding, and again with tininess
before rounding for the operations whose result can be tiny and inexact (mul, div,
mulAdd; add and sub too, where SoftFloat must agree that a tiny sum is exact).
roundToInt runs with ``exact`` off and on.  Comparisons do not depend on the mode and
run once.  softfloatpy has no round-to-odd (see test_softfloat_crosscheck's docstring),
so ``rto`` is checked against MPFR in test_arith_mpfr instead.

Operands (tests/strategies.py): hypothesis over bit patterns (specials, zeros,
subnormal edge, max, exponent edges x significand patterns, and tuples *aimed* so the
exact result lands on a tie, the subnormal edge, the overflow threshold or zero), and a
seeded list of TestFloat-like boundary codes, random codes and aimed tuples.
``-m slow`` raises both to about 3 x 10**4 operand tuples per function.
"""

from __future__ import annotations

import collections
import functools
import random
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S

sf = pytest.importorskip("softfloatpy", reason="softfloatpy (SoftFloat 3e binding) is the oracle; "
                         "pip install softfloatpy")

from test_softfloat_crosscheck import LAYOUT, MODES, TININESS, TYPES, WIDTH  # noqa: E402

from refnum import Context  # noqa: E402
from refnum import arith  # noqa: E402

FORMATS = ("f16", "f32", "f64")
TINY_OPS = ("add", "sub", "mul", "div", "mulAdd")       # also run with tininess before rounding
FAST_PATH = ("add", "sub", "mul", "div")                # evaluator() has its own path for these
FUNCTIONS = S.ARITH_OPS + S.COMPARISONS
SOFTFLOAT_NAME = {"mulAdd": "mul_add", "roundToInt": "round_to_int"}
COUNTS = collections.Counter()          # (format_op, mode) -> cases compared
TIMES = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    per_function = collections.Counter()
    for (fn, _), n in COUNTS.items():
        per_function[fn] += n
    print("\nsoftfloat arithmetic cases per function (all modes):", dict(sorted(per_function.items())),
          "total", sum(COUNTS.values()), "seconds:", {k: round(v, 1) for k, v in sorted(TIMES.items())})


# -- the oracle -----------------------------------------------------------------------------

def _to_sf(fmt, code):
    return TYPES[fmt].from_bytes(code.to_bytes(WIDTH[fmt] // 8, "big"))


def softfloat(fmt, op, codes, mode, tininess="after", exact=False):
    """SoftFloat's (result code, flags) for ``fmt_op`` on ``codes``."""
    sf.set_rounding_mode(MODES[mode])
    sf.set_tininess_mode(TININESS[tininess])
    sf.set_exception_flags(0)
    fn = getattr(sf, f"{fmt}_{SOFTFLOAT_NAME.get(op, op)}")
    args = [_to_sf(fmt, c) for c in codes]
    z = fn(*args, MODES[mode], exact) if op == "roundToInt" else fn(*args)
    code = int(z) if isinstance(z, bool) else int.from_bytes(z.to_bytes(), "big")
    return code, int(sf.get_exception_flags())


# -- refnum ---------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _context(mode, tininess, exact):
    return Context.profile("riscv", rounding=mode, tininess=tininess, exact=exact)


@functools.lru_cache(maxsize=None)
def _evaluator(fmt, op, mode, tininess):
    return arith.evaluator(op, fmt, None, _context(mode, tininess, False))


def variants(op):
    """(mode, tininess, exact) settings each operand tuple of ``op`` is checked under."""
    if op in S.COMPARISONS:
        return [("rne", "after", False)]
    out = [(mode, "after", False) for mode in MODES]
    if op in TINY_OPS:
        out += [(mode, "before", False) for mode in MODES]
    if op == "roundToInt":
        out += [(mode, "after", True) for mode in MODES]
    return out


def check(fmt, op, tuples):
    """Compare every tuple under every variant; fail with the first ten differences."""
    bad = []
    start = time.perf_counter()
    for mode, tininess, exact in variants(op):
        ctx = _context(mode, tininess, exact)
        fast = _evaluator(fmt, op, mode, tininess) if op in FAST_PATH else None
        for codes in tuples:
            want = softfloat(fmt, op, codes, mode, tininess, exact)
            got = arith.compute(op, codes, fmt, ctx)
            bulk = fast(*codes, 0) if fast else got
            if got != want or bulk != want:
                bad.append(f"{fmt}_{op} {mode} tininess={tininess} exact={exact} "
                           f"{' '.join(f'{c:X}' for c in codes)}: refnum {got[0]:X} {got[1]:02X}"
                           f" (evaluator {bulk[0]:X} {bulk[1]:02X}), SoftFloat {want[0]:X} {want[1]:02X}")
        COUNTS[(f"{fmt}_{op}", mode)] += len(tuples)
    TIMES[fmt] += time.perf_counter() - start
    assert not bad, f"{len(bad)} differ; first:\n" + "\n".join(bad[:10])


# -- hypothesis: boundary-weighted bit patterns and aimed tuples ----------------------------------

EXAMPLES = {"default": 12, "slow": 300}
BATCH = 40


def _hypothesis_test(examples):
    @pytest.mark.parametrize("op", FUNCTIONS)
    @pytest.mark.parametrize("fmt", FORMATS)
    def test(fmt, op):
        layouts = (LAYOUT[fmt],) * S.ARITY[op]

        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(S.op_operands(op, layouts), min_size=1, max_size=BATCH))
        def run(tuples):
            check(fmt, op, tuples)
        run()
    return test


test_hypothesis = _hypothesis_test(EXAMPLES["default"])
test_hypothesis_long = pytest.mark.slow(_hypothesis_test(EXAMPLES["slow"]))


# -- seeded lists: TestFloat-like boundary codes, random codes, aimed tuples --------------------------

SEEDED = {"default": 300, "slow": 30_000}


def seeded_tuples(fmt, op, n):
    rng = random.Random(f"{fmt}_{op}")
    layout = LAYOUT[fmt]
    p = layout.m + 1
    # exponent windows of the format plus the halves of its range (products and quotients
    # that land at the subnormal edge or overflow) and the exponents where rem's quotients and
    # roundToInt's fractions end (0 .. p + 1)
    exps = S.exponent_windows(layout, [(p, layout.emin, layout.bias)])
    exps += [layout.emin // 2 + d for d in (-1, 0, 1)] + [layout.bias // 2 + d for d in (-1, 0, 1)]
    exps += list(range(0, p + 2, max(1, p // 8))) + [p - 1, p, p + 1]
    return S.op_operand_list(op, (layout,) * S.ARITY[op], n, rng, exponents=exps)


@pytest.mark.parametrize("op", FUNCTIONS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_seeded(fmt, op):
    check(fmt, op, seeded_tuples(fmt, op, SEEDED["default"]))


@pytest.mark.slow
@pytest.mark.parametrize("op", FUNCTIONS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_seeded_long(fmt, op):
    check(fmt, op, seeded_tuples(fmt, op, SEEDED["slow"]))
