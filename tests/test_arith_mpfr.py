"""refnum's arithmetic against MPFR (gmpy2): every rounding mode, bits and flags.

The oracle lets MPFR compute each operation (``add sub mul div fma sqrt``, and
``remainder`` and ``rint`` for rem and roundToInt) on the exact operands, correctly
rounded to the result format's precision p, with IEEE subnormals (MPFR's emin set so
that its smallest number is the format's smallest subnormal, and ``subnormalize``) and
an exponent range unbounded above, so that overflow is decided afterwards on the
rounded value.  Specials, overflow and the encoding are then settled by
``strategies.finish`` (the hand-written IEEE 754 §7 policy of the conversion
oracle), with the RISC-V NaN rules written out here: a NaN operand gives the
canonical NaN, invalid when one is signalling or for fma(Inf, 0, qNaN).

MPFR has rne, rtz, rup and rdn.  The other two IEEE-style modes are built from
MPFR results, each an exact construction:

* rna (ties away from zero): the exact result y is a tie of the p-bit grid exactly
  when rounding it toward zero to p + 1 bits (same emin, so the subnormal grid is
  halved too) is exact and gives a value off the p-bit grid; that value is then
  rounded away from zero to p bits (one rounding of an exact input).  Every other
  y is not a tie, and rna(y) = rne(y).
* rto (round to odd, SoftFloat ``odd``): rtz(y) at p bits; if that was inexact and
  its last significand bit (at the subnormal quantum below 2**emin) is 0, step one
  quantum away from zero.  A nonzero y never rounds to zero.

Flags: inexact from MPFR's ternary (its inexact flag), underflow = tiny and
inexact with tininess after rounding (IEEE 754 §7.5: the result rounded with the
exponent range unbounded, computed again by MPFR with emin at its minimum, is
below 2**emin) or before (|y| < 2**emin), overflow when the rounded value exceeds
the largest finite one, divide-by-zero from MPFR's flag, invalid from a NaN
result.  ``test_oracle_against_definition`` checks the whole construction against
the P3109 v4.0 §4.7.4 definition on rationals (strategies.round_by_definition).

Formats: binary16, bfloat16, TF32, binary32, binary64 and generic IEEE-style
``ieee_k{K}p{P}``, same-format and mixed (bf16 x bf16 + f32 -> f32 and friends:
MPFR rounds the exact mixed-precision result once into the result's p).  refnum
runs under ``Context.profile("riscv", rounding=..., tininess=..., exact=...)``,
through :func:`refnum.arith.compute` and (add, sub, mul, div) the bulk
:func:`refnum.arith.evaluator`; every operand tuple in all six modes, with
tininess after rounding, and before too for mul, div and fma; roundToInt with
``exact`` off and on.  Operands as in test_arith_softfloat (tests/strategies.py:
boundary-weighted and aimed tuples, by hypothesis and as seeded lists);
``-m slow`` checks 3,000 seeded tuples per function and format.
"""

from __future__ import annotations

import collections
import functools
import random
import time
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S

gmpy2 = pytest.importorskip("gmpy2", reason="gmpy2 (MPFR) is the oracle; pip install gmpy2")

from refnum import Context  # noqa: E402
from refnum import arith  # noqa: E402

MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")
OPS = ("add", "sub", "mul", "div", "mulAdd", "sqrt", "rem", "roundToInt")
TINY_OPS = ("mul", "div", "mulAdd")                      # also run with tininess before rounding
FAST_PATH = ("add", "sub", "mul", "div")                 # arith.evaluator() has its own path for these
LAYOUTS = {name: S.Layout(name, w, m) for name, w, m in (
    ("binary16", 5, 10), ("bfloat16", 8, 7), ("tf32", 8, 10), ("binary32", 8, 23), ("binary64", 11, 52),
    ("ieee_k8p3", 5, 2), ("ieee_k8p4", 4, 3), ("ieee_k12p5", 7, 4), ("ieee_k20p9", 11, 8),
    ("ieee_k24p17", 7, 16), ("ieee_k40p30", 10, 29), ("ieee_k80p64", 16, 63))}
FORMATS = tuple(LAYOUTS)
# (operation, operand formats, result format): mixed precision as accelerators use it
MIXED = (
    ("mulAdd", ("bfloat16", "bfloat16", "binary32"), "binary32"),
    ("mulAdd", ("binary16", "binary16", "binary32"), "binary32"),
    ("mulAdd", ("tf32", "tf32", "binary32"), "binary32"),
    ("mulAdd", ("binary32", "binary32", "binary32"), "bfloat16"),
    ("mulAdd", ("ieee_k8p3", "ieee_k8p4", "binary16"), "binary16"),
    ("mul", ("bfloat16", "bfloat16"), "binary32"),
    ("mul", ("binary32", "binary32"), "binary16"),
    ("mul", ("ieee_k8p3", "ieee_k8p3"), "bfloat16"),
    ("add", ("bfloat16", "binary32"), "binary32"),
    ("add", ("binary16", "bfloat16"), "tf32"),
    ("add", ("ieee_k8p3", "ieee_k8p4"), "ieee_k12p5"),
    ("sub", ("binary32", "binary32"), "bfloat16"),
    ("div", ("binary32", "binary32"), "binary16"),
    ("div", ("bfloat16", "bfloat16"), "binary32"),
    ("div", ("binary16", "binary16"), "binary64"),
    ("sqrt", ("binary32",), "bfloat16"),
    ("sqrt", ("binary64",), "binary32"),
    ("sqrt", ("bfloat16",), "binary32"),
    ("sqrt", ("binary16",), "binary64"),
)
COUNTS = collections.Counter()
TIMES = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\nMPFR arithmetic cases per function (all modes):", dict(sorted(COUNTS.items())),
          "total", sum(COUNTS.values()), "seconds:", {k: round(v, 1) for k, v in sorted(TIMES.items())})


# -- MPFR contexts and operands -------------------------------------------------------------------

MPFR_ROUND = {"rne": gmpy2.RoundToNearest, "rtz": gmpy2.RoundToZero, "rup": gmpy2.RoundUp,
              "rdn": gmpy2.RoundDown, "away": gmpy2.RoundAwayZero}
MPFR_OP = {"add": "add", "sub": "sub", "mul": "mul", "div": "div", "mulAdd": "fma", "sqrt": "sqrt",
           "rem": "remainder"}
RINT = {"rne": "rint", "rtz": "rint_trunc", "rup": "rint_ceil", "rdn": "rint_floor", "rna": "rint_round"}


@functools.lru_cache(maxsize=None)
def mpfr_context(p, emin, mode):
    """Precision p, rounding ``mode`` (an MPFR mode name); emin None: exponent range unbounded,
    else subnormals below 2**emin (MPFR writes 0.1xxx * 2**e, so the format's smallest
    subnormal 2**(emin - p + 1) has MPFR exponent emin - p + 2)."""
    lo = gmpy2.get_emin_min() if emin is None else emin - p + 2
    return gmpy2.context(precision=p, emin=lo, emax=gmpy2.get_emax_max(), subnormalize=emin is not None,
                         round=MPFR_ROUND[mode], trap_divzero=False, trap_invalid=False)


WIDE = gmpy2.context(precision=256, emin=gmpy2.get_emin_min(), emax=gmpy2.get_emax_max())


@functools.lru_cache(maxsize=1 << 16)
def operand(layout, code):
    """(X, mpfr) of a code: the exact value (strategies.Layout.decode) and the same as an MPFR number."""
    x = layout.decode(code)
    if x.kind == "nan":
        return x, None
    if x.kind == "inf":
        return x, gmpy2.mpfr("-inf" if x.sign else "inf")
    if x.mag == 0:
        return x, gmpy2.mpfr("-0.0" if x.sign else "0.0")
    return x, WIDE.div(gmpy2.mpz(x.value.numerator), gmpy2.mpz(x.value.denominator))   # exact: a power-of-2 divisor


def fraction(v):
    return Fraction(*v.as_integer_ratio())


def _run(name, args, p, emin, mode):
    """(result, inexact, divzero, nan) of MPFR's ``name`` in context (p, emin, mode)."""
    ctx = mpfr_context(p, emin, mode)
    ctx.clear_flags()
    r = getattr(ctx, name)(*args)
    return r, ctx.inexact, ctx.divzero, gmpy2.is_nan(r)


def rounded(name, args, p, emin, mode):
    """``name(*args)`` rounded into (p, emin) in any IEEE mode: (result mpfr, inexact, divzero, nan)."""
    if mode in MPFR_ROUND:
        return _run(name, args, p, emin, mode)
    if mode == "rna":
        r, inexact, dz, nan = _run(name, args, p + 1, emin, "rtz")
        if not inexact and not nan and gmpy2.is_finite(r):
            on_grid = mpfr_context(p, emin, "rtz").plus(r) == r
            if not on_grid:                                         # an exact tie: away from zero
                return mpfr_context(p, emin, "away").plus(r), True, dz, nan
        return _run(name, args, p, emin, "rne")
    assert mode == "rto", mode
    r, inexact, dz, nan = _run(name, args, p, emin, "rtz")
    if inexact:
        v = fraction(r)
        e = S.floor_log2(abs(v)) if v else emin                     # 0 only below a set emin
        q = S.pow2((e if emin is None else max(e, emin)) - p + 1)   # the quantum at v
        if (abs(v) / q) % 2 == 0:                                   # last bit 0: one quantum away
            v += -q if gmpy2.is_signed(r) else q
            r = WIDE.div(gmpy2.mpz(v.numerator), gmpy2.mpz(v.denominator))
    return r, inexact, dz, nan


def _tiny(name, args, p, emin, mode):
    """(tiny before rounding, tiny after rounding) of a nonzero result, IEEE 754 §7.5."""
    lo = S.pow2(emin)
    r, _, _, _ = _run(name, args, p, None, "rtz")                    # |rtz(y)| < 2**emin iff |y| < 2**emin
    if abs(fraction(r)) >= lo:
        return False, False
    r, _, _, _ = rounded(name, args, p, None, mode)
    return True, abs(fraction(r)) < lo


# -- the oracle -------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def target(layout):
    """The result format as the conversion oracle's Target, and its smallest normal 2**emin."""
    t = S.ieee_target(layout.name, layout.w, layout.m)
    return t, S.pow2(t.emin)


def oracle(op, codes, layouts, result, mode, tininess="after", exact=False):
    """The expected (code, flags) of ``op`` on ``codes`` (one layout each) into layout ``result``,
    RISC-V rules."""
    t, smallest_normal = target(result)
    xs, ms = zip(*(operand(lay, c) for lay, c in zip(layouts, codes)))
    nan_operands = [x for x in xs if x.kind == "nan"]
    if nan_operands:            # RISC-V: the canonical NaN; invalid for an sNaN and for fma(Inf, 0, qNaN)
        invalid = any(x.signaling for x in nan_operands) or (op == "mulAdd" and _inf_times_zero(*xs[:2]))
        return t.nan_code(0), S.INVALID if invalid else 0
    p, emin = t.p, t.emin
    if op == "roundToInt":
        return _round_to_int(xs[0], ms[0], t, mode, exact)
    r, inexact, dz, nan = rounded(MPFR_OP[op], ms, p, emin, mode if op != "rem" else "rne")
    if nan:
        return t.nan_code(0), S.INVALID
    sign = int(gmpy2.is_signed(r))
    if gmpy2.is_infinite(r):                            # an infinite operand, or x / 0
        code, flags = S.finish(S.Rounded(S.X("inf", sign)), t, mode)
        return code, flags | (S.DIVBYZERO if dz else 0)
    v = fraction(r)
    # finish() reads the exact value's sign and whether it is zero; the rounding is MPFR's
    rd = S.Rounded(S.X("fin", sign, Fraction(1) if inexact else abs(v)), v, inexact)
    if inexact and abs(v) <= smallest_normal:           # candidates for underflow
        rd.tiny_before, rd.tiny_after = _tiny(MPFR_OP[op], ms, p, emin, mode)
    return S.finish(rd, t, mode, tininess=tininess)


def _inf_times_zero(a, b):
    return any(u.kind == "inf" and w.kind == "fin" and w.mag == 0 for u, w in ((a, b), (b, a)))


def _round_to_int(x, m, t, mode, exact):
    """§5.3.1 roundToIntegral in ``mode`` by MPFR's rint family; rto: truncate, then odd if inexact."""
    if x.kind == "inf" or x.mag == 0:
        return S.finish(S.Rounded(x), t, mode)
    ctx = mpfr_context(t.p, t.emin, "rne")
    r = getattr(ctx, RINT.get(mode, "rint_trunc"))(m)
    v = fraction(r)
    inexact = v != x.value
    if mode == "rto" and inexact and v % 2 == 0:
        v += -1 if x.sign else 1
    code = t.encode(x.sign, abs(v)) if v else (t.sign_bit if x.sign else 0)
    return code, S.INEXACT if inexact and exact else 0


# -- refnum and the comparison ----------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _context(mode, tininess, exact):
    return Context.profile("riscv", rounding=mode, tininess=tininess, exact=exact)


def variants(op):
    out = [(mode, "after", False) for mode in MODES]
    if op in TINY_OPS:
        out += [(mode, "before", False) for mode in MODES]
    if op == "roundToInt":
        out += [(mode, "after", True) for mode in MODES]
    return out


def check(op, formats, result, tuples):
    layouts = tuple(LAYOUTS[f] for f in formats)
    out = LAYOUTS[result]
    label = f"{'_'.join(dict.fromkeys(formats))}_{op}" + (f"_to_{result}" if result != formats[0] else "")
    fmt_arg = formats if len(set(formats)) > 1 else formats[0]
    out_arg = result if result != formats[0] else None
    bad = []
    start = time.perf_counter()
    for mode, tininess, exact in variants(op):
        ctx = _context(mode, tininess, exact)
        fast = arith.evaluator(op, fmt_arg, out_arg, ctx) if op in FAST_PATH else None
        for codes in tuples:
            want = oracle(op, codes, layouts, out, mode, tininess, exact)
            got = arith.compute(op, codes, fmt_arg, ctx, out=out_arg)
            bulk = fast(*codes, 0) if fast else got
            if got != want or bulk != want:
                bad.append(f"{label} {mode} tininess={tininess} exact={exact} "
                           f"{' '.join(f'{c:X}' for c in codes)}: refnum {got[0]:X} {got[1]:02X} "
                           f"(evaluator {bulk[0]:X} {bulk[1]:02X}), MPFR {want[0]:X} {want[1]:02X}")
    COUNTS[label] += len(tuples) * len(variants(op))
    TIMES[result] += time.perf_counter() - start
    assert not bad, f"{len(bad)} differ; first:\n" + "\n".join(bad[:10])


# -- the oracle itself, against the definition ----------------------------------------------------------

@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("fmt", ["ieee_k8p3", "binary16", "ieee_k12p5"])
def test_oracle_against_definition(fmt, mode):
    """MPFR's rounding of exact sums and products (rna and rto built as above, subnormals,
    tininess after rounding) equals P3109 v4.0 §4.7.4 on rationals (``round_by_definition``),
    for every pair of a seeded sample of codes."""
    layout = LAYOUTS[fmt]
    rng = random.Random(fmt)
    codes = [c for c in (rng.getrandbits(layout.k) for _ in range(60)) if layout.decode(c).kind == "fin"]
    p, emin = layout.m + 1, layout.emin
    for a in codes:
        for b in codes:
            (xa, ma), (xb, mb) = operand(layout, a), operand(layout, b)
            for name, y in (("add", xa.value + xb.value), ("mul", xa.value * xb.value)):
                if not y:
                    continue
                r, inexact, _, _ = rounded(name, (ma, mb), p, emin, mode)
                want = S.round_by_definition(y, p, emin, mode)
                assert (fraction(r), inexact) == (want, want != y), (fmt, mode, name, a, b)
                if abs(y) < S.pow2(emin):
                    after = S.round_by_definition(y, p, None, mode)
                    assert _tiny(name, (ma, mb), p, emin, mode) == (True, abs(after) < S.pow2(emin))


# -- same-format operations: hypothesis and seeded lists --------------------------------------------------

EXAMPLES = {"default": 4, "slow": 100}
BATCH = 30
SEEDED = {"default": 60, "slow": 3_000}


def _hypothesis_test(examples):
    @pytest.mark.parametrize("op", OPS)
    @pytest.mark.parametrize("fmt", FORMATS)
    def test(fmt, op):
        layouts = (LAYOUTS[fmt],) * S.ARITY[op]

        @settings(max_examples=examples, derandomize=True, deadline=None, database=None,
                  suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
        @given(st.lists(S.op_operands(op, layouts), min_size=1, max_size=BATCH))
        def run(tuples):
            check(op, (fmt,) * S.ARITY[op], fmt, tuples)
        run()
    return test


test_hypothesis = _hypothesis_test(EXAMPLES["default"])
test_hypothesis_long = pytest.mark.slow(_hypothesis_test(EXAMPLES["slow"]))


def seeded_tuples(op, formats, result, n):
    rng = random.Random(f"{'_'.join(formats)}_{op}_{result}")
    layouts = tuple(LAYOUTS[f] for f in formats)
    return S.op_operand_list(op, layouts, n, rng, result=LAYOUTS[result])


@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_seeded(fmt, op):
    formats = (fmt,) * S.ARITY[op]
    check(op, formats, fmt, seeded_tuples(op, formats, fmt, SEEDED["default"]))


@pytest.mark.slow
@pytest.mark.parametrize("op", OPS)
@pytest.mark.parametrize("fmt", FORMATS)
def test_seeded_long(fmt, op):
    formats = (fmt,) * S.ARITY[op]
    check(op, formats, fmt, seeded_tuples(op, formats, fmt, SEEDED["slow"]))


# -- mixed formats ----------------------------------------------------------------------------------------

MIXED_IDS = [f"{op}-{'_'.join(f)}-to-{r}" for op, f, r in MIXED]


@pytest.mark.parametrize("op,formats,result", MIXED, ids=MIXED_IDS)
def test_mixed(op, formats, result):
    layouts = tuple(LAYOUTS[f] for f in formats)

    @settings(max_examples=EXAMPLES["default"], derandomize=True, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(st.lists(S.op_operands(op, layouts, LAYOUTS[result]), min_size=1, max_size=BATCH))
    def run(tuples):
        check(op, formats, result, tuples)
    run()
    check(op, formats, result, seeded_tuples(op, formats, result, SEEDED["default"]))


@pytest.mark.slow
@pytest.mark.parametrize("op,formats,result", MIXED, ids=MIXED_IDS)
def test_mixed_long(op, formats, result):
    check(op, formats, result, seeded_tuples(op, formats, result, SEEDED["slow"]))
