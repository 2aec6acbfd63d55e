"""Arithmetic on formats of at most 8 bits, against a brute-force oracle (issue 3 §5).

The oracle (tests/arith_oracle.py on top of tests/oracle.py) decodes the operands
into exact values, computes the exact result of each IEEE 754-2019 operation with
``Fraction`` from its definition (special cases, signs of zeros, invalid and
division by zero included), and picks the code by enumeration with the rounding
mode, overflow policy and tininess rule (``oracle.nearest``).  The square root of
a non-square is decided by comparing squares (``math.isqrt``), never by floating
point.  Results are compared bit for bit: the code and the five IEEE flag bits
(refnum's own SATURATED bit 0x20 is not an IEEE flag and is masked off).  NaN
results are compared as codes: under the default context (``nan="canonical"``,
``nan_sign=0``) refnum must deliver the oracle's canonical NaN, the positive
quiet NaN with the smallest code (E5M2 0x7E, E4M3 0x7F, FNUZ/P3109 0x80,
unsigned 0xFF), as spec/profiles-and-flags.md "NaN encodings" defines it.

Default suite (about 2.5 million cases): every operand pair of FP4 (e2m1) and FP6
(e2m3, e3m2) for every operation in the six deterministic modes under SatFinite
(their catalogue default) and, under the three other overflow policies, on the
pairs a policy can act on (exact result beyond the largest finite value, an
infinity, a NaN or an invalid operation; the oracle picks them) plus every 16th
other pair; the stochastic modes with a few (sr_bits, R); mulAdd over every FP4
triple and every FP6 pair with +0, -0 and a seeded addend; tininess before rounding,
FTZ and DAZ on the tiny results and subnormal operands; seeded samples of pairs
for E4M3/E5M2 (every operation, mode and policy; riscv and arm profiles) and the
other 8-bit formats; E8M0 mul/div; mixed formats (e4m3 x e4m3 -> binary32
exactly, every pair; fma of bfloat16 into binary32, whose binary32 rounder is also
checked against SoftFloat); the P3109 profile.

``-m slow`` (about 40 million cases, several CPU minutes): every pair of E4M3 and
E5M2 for add, mul, div and fma with a +0 and a -0 addend in rne and rtz under
each policy; every FP4/FP6 pair in every mode and policy, unthinned; every FP6
triple for mulAdd; more stochastic (N, R); every pair of the other 8-bit formats
for add, mul, div (E8M0: mul, div) in rne and rtz; the P3109 profile on every pair.
"""

from __future__ import annotations

import collections
import functools
import itertools
import random
from fractions import Fraction

import pytest

import arith_oracle as A
import oracle
from refnum import Context, arith, lookup

SMALL = ("e2m1", "e2m3", "e3m2")
DETERMINISTIC = ("rne", "rna", "rtz", "rup", "rdn", "rto")
POLICIES = oracle.POLICIES
SR = (("sr-a", 1, (0, 1)), ("sr-b", 2, (0, 3)), ("sr-c", 3, (0, 4, 7)))
SR_SLOW = (("sr-a", 1, (0, 1)), ("sr-a", 3, range(8)), ("sr-b", 2, range(4)), ("sr-b", 3, range(8)),
           ("sr-c", 1, (0, 1)), ("sr-c", 3, range(8)), ("sr-a", 8, (0, 1, 127, 128, 255)))
BINARY_ROUNDED = ("add", "sub", "mul", "div", "rem")
UNROUNDED = tuple(A.MIN_MAX) + tuple(A.COMPARISONS) + ("totalOrder", "neg", "abs", "copySign")
OTHER_8BIT = ("e4m3fnuz", "e5m2fnuz", "float8_e4m3", "float8_e3m4", "e4m3b11fnuz", "ue4m3") + tuple(
    f"p3109_k8p{p}{s}{d}" for p in (3, 4) for s in "su" for d in "ef")

COUNTS = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print(f"\n{__name__} cases checked:", dict(sorted(COUNTS.items())), "total", sum(COUNTS.values()))


@functools.lru_cache(maxsize=None)
def formats(name):
    return lookup(name), oracle.oracle_format(name)


# --------------------------------------------------------------------------------------------
# The sweep: refnum against the oracle, exact results and roundings remembered
# --------------------------------------------------------------------------------------------

_EXACT = {}
_SETTLED = {}


def oracle_result(op, name, codes, mode, policy, rand, sr_bits, tininess, ftz, daz, exact, div_by_zero):
    ofmt = formats(name)[1]
    if op in A.ROUNDED and op != "roundToInt" or op in A.MIN_MAX:
        key = (name, op, codes, div_by_zero, daz)
        r = _EXACT.get(key)
        if r is None:
            table = A.operand_table(ofmt, daz)
            r = _EXACT[key] = A.exact(op, [table[c] for c in codes], div_by_zero)
        rand = rand if mode.startswith("sr") else 0
        skey = (name, r, mode, policy, rand, sr_bits, tininess, ftz)
        s = _SETTLED.get(skey)
        if s is None:
            s = _SETTLED[skey] = A.settle(*r, ofmt, mode, policy, rand=rand, sr_bits=sr_bits,
                                          tininess=tininess, ftz=ftz)
        return s
    return A.expect(op, codes, ofmt, mode, policy, rand=rand, sr_bits=sr_bits, exact_flag=exact,
                    div_by_zero=div_by_zero, daz=daz, tininess=tininess, ftz=ftz)


def sweep(op, name, tuples, mode="rne", policy=None, *, sr_bits=0, rands=(0,), tininess="after",
          ftz=False, daz=False, exact=False, div_by_zero="inf", ctx=None, tag=None):
    """Run ``op`` on every operand tuple; return the mismatches (empty when all agree)."""
    fmt = formats(name)[0]
    if ctx is None:
        ctx = Context(rounding=mode, saturation=policy, sr_bits=sr_bits, tininess=tininess, ftz=ftz,
                      daz=daz, exact=exact, div_by_zero=div_by_zero)
    bad = []
    n = 0
    for rand in rands:
        for codes in tuples:
            got = arith.compute(op, codes, fmt, ctx, rand=rand)
            want = oracle_result(op, name, codes, mode, policy, rand, sr_bits, tininess, ftz, daz, exact,
                                 div_by_zero)
            if (got[0], got[1] & 0x1F) != want:
                bad.append(f"{op}({', '.join(f'{c:02X}' for c in codes)}) {name} {mode} {policy} "
                           f"R={rand}: refnum {got[0]:02X}/{got[1] & 0x1F:02X}, oracle {want[0]:02X}/{want[1]:02X}")
            n += 1
    COUNTS[tag or op] += n
    return bad


def report(bad):
    return f"{len(bad)} mismatches; first: " + "\n".join(bad[:8])


def codes_of(name):
    return range(formats(name)[0].ncodes)


def pairs(name):
    return list(itertools.product(codes_of(name), repeat=2))


def sample_pairs(name, n, seed):
    rng = random.Random(f"{name}/{seed}")
    k = formats(name)[0].ncodes
    return [(rng.randrange(k), rng.randrange(k)) for _ in range(n)]


def _exact_results(name, op, tuples, daz=False):
    """The oracle's exact results (remembered for the sweeps)."""
    table = A.operand_table(formats(name)[1], daz)
    out = []
    for t in tuples:
        key = (name, op, t, "inf", daz)
        r = _EXACT.get(key)
        if r is None:
            r = _EXACT[key] = A.exact(op, [table[c] for c in t])
        out.append(r[0])
    return out


def _largest(ofmt):
    t = oracle.table(ofmt)
    return Fraction(t.max_units, 2**t.scale)


def policy_relevant(name, op, tuples, thin=16):
    """The tuples an overflow policy can act on (by the oracle's exact result: Inf, NaN, an
    invalid operation, a magnitude above the largest finite one, which is the only way to
    round beyond it, a negative value in an unsigned format), and every ``thin``-th other one."""
    if op in ("sqrt", "roundToInt"):
        return tuples
    ofmt = formats(name)[1]
    largest = _largest(ofmt)
    out = []
    for i, (t, r) in enumerate(zip(tuples, _exact_results(name, op, tuples))):
        if (not isinstance(r, Fraction) or isinstance(r, str) or abs(r) > largest
                or (r < 0 and not ofmt.signed) or i % thin == 0):
            out.append(t)
    return out


def tiny_relevant(name, op, tuples, thin=32):
    """The tuples whose exact result is nonzero and below the smallest normal in magnitude
    (the only ones tininess and FTZ can act on), and every ``thin``-th other one."""
    lim = formats(name)[1].min_normal
    return [t for i, (t, r) in enumerate(zip(tuples, _exact_results(name, op, tuples)))
            if (isinstance(r, Fraction) and not isinstance(r, str) and 0 < abs(r) < lim) or i % thin == 0]


def subnormal_operand(name, tuples, thin=32):
    """The tuples with a subnormal operand (the only ones DAZ can act on), and every
    ``thin``-th other one."""
    ofmt = formats(name)[1]
    table = A.operand_table(ofmt)
    lim = ofmt.min_normal

    def sub(v):
        return isinstance(v, Fraction) and not isinstance(v, str) and 0 < abs(v) < lim

    return [t for i, t in enumerate(tuples) if any(sub(table[c]) for c in t) or i % thin == 0]


# --------------------------------------------------------------------------------------------
# The oracle itself: worked examples from the specs, and the square root by squares
# --------------------------------------------------------------------------------------------

def test_oracle_worked_examples():
    """Hand-derived results the oracle must reproduce (so that agreement means something)."""
    e4m3, e5m2, fp4 = (formats(n)[1] for n in ("e4m3", "e5m2", "e2m1"))
    # OFP8 §5: E4M3 max 448 = 0x7E; 15 * 30 = 450 rounds to 448 (ties/below the 464 midpoint)
    assert A.expect("mul", (0x57, 0x5F), e4m3, "rne", "none") == (0x7E, oracle.INEXACT)
    # 16 * 30 = 480 > 464: overflow; non-SAT gives NaN 0x7F, SAT gives 448
    assert A.expect("mul", (0x58, 0x5F), e4m3, "rne", "none") == (0x7F, oracle.OVERFLOW | oracle.INEXACT)
    assert A.expect("mul", (0x58, 0x5F), e4m3, "rne", "finite") == (0x7E, oracle.OVERFLOW | oracle.INEXACT)
    # §6.3: 1 + (-1) = +0, and -0 rounding toward negative
    assert A.expect("add", (0x3C, 0xBC), e5m2, "rne") == (0x00, 0)
    assert A.expect("add", (0x3C, 0xBC), e5m2, "rdn") == (0x80, 0)
    # §7.2/7.3: Inf - Inf invalid (canonical NaN 0x7E), 1/0 = +Inf with division by zero, 0/0 invalid
    assert A.expect("sub", (0x7C, 0x7C), e5m2, "rne", "none") == (0x7E, oracle.INVALID)
    assert A.expect("div", (0x3C, 0x00), e5m2, "rne", "none") == (0x7C, oracle.DIVBYZERO)
    assert A.expect("div", (0x80, 0x80), e5m2, "rne", "none") == (0x7E, oracle.INVALID)
    # a signalling NaN (0x7D: quiet bit clear) signals invalid and gives the quiet canonical NaN
    assert A.expect("add", (0x7D, 0x3C), e5m2) == (0x7E, oracle.INVALID)
    assert A.expect("minimumNumber", (0x7D, 0x3C), e5m2) == (0x3C, oracle.INVALID)
    assert A.expect("minNum", (0x7D, 0x3C), e5m2) == (0x7E, oracle.INVALID)
    assert A.expect("minNum", (0x7E, 0x3C), e5m2) == (0x3C, 0)
    # FP4: 6 + 6 = 12 overflows; 4 * 1.5 = 6 exact; sqrt(2) ~ 1.414 rounds to 1.5; 0/0 -> +max, invalid
    assert A.expect("add", (0x7, 0x7), fp4, "rne", "finite") == (0x7, oracle.OVERFLOW | oracle.INEXACT)
    assert A.expect("mul", (0x6, 0x3), fp4) == (0x7, 0)
    assert A.expect("sqrt", (0x4,), fp4) == (0x3, oracle.INEXACT)
    assert A.expect("sqrt", (0x4,), fp4, "rtz") == (0x2, oracle.INEXACT)
    assert A.expect("div", (0x0, 0x8), fp4) == (0x7, oracle.INVALID)
    # remainder: 5 rem 2 = 1 (n = 2, tie to even), 3 rem 2 = -1 (n = 2), 1.5 rem 1 = -0.5
    assert A.rem(Fraction(5), Fraction(2)) == (Fraction(1), 0)
    assert A.rem(Fraction(3), Fraction(2)) == (Fraction(-1), 0)
    assert A.rem(Fraction(3, 2), Fraction(1)) == (Fraction(-1, 2), 0)
    # totalOrder: -NaN < -Inf, -0 < +0, +Inf < sNaN < qNaN
    assert A.total_order(e5m2, 0xFE, 0xFC) and not A.total_order(e5m2, 0x00, 0x80)
    assert A.total_order(e5m2, 0x7C, 0x7D) and A.total_order(e5m2, 0x7D, 0x7E)
    assert not A.total_order(e5m2, 0x7E, 0x7D)
    # binary32 rounding: 1 + 2**-24 ties to even (1.0); 2**-149 / 2 ties to even (0), underflow
    assert A.ieee_encode(1 + Fraction(1, 2**24), 8, 23) == (0x3F800000, oracle.INEXACT)
    assert A.ieee_encode(Fraction(1, 2**150), 8, 23) == (0, oracle.INEXACT | oracle.UNDERFLOW)
    assert A.ieee_encode(Fraction(3, 2**150), 8, 23, "rtz") == (1, oracle.INEXACT | oracle.UNDERFLOW)
    assert A.ieee_encode(Fraction(2**128), 8, 23, "rtz") == (0x7F7FFFFF, oracle.OVERFLOW | oracle.INEXACT)


def _sqrt_by_squares(x, grid, mode):
    """Round sqrt(x) among the sorted nonnegative ``grid`` values by comparing squares of the
    neighbours and of their midpoint (rne, rtz, rup: no decision point but the midpoint)."""
    hi = next(i for i, g in enumerate(grid) if g * g >= x)
    if grid[hi] ** 2 == x:
        return grid[hi], False
    lo = grid[hi - 1]
    if mode == "rtz":
        return lo, True
    if mode == "rup":
        return grid[hi], True
    mid = (lo + grid[hi]) / 2
    assert mid * mid != x
    return (grid[hi] if x > mid * mid else lo), True


@pytest.mark.parametrize("name", ("e2m1", "e2m3", "e3m2", "e4m3", "e5m2", "e4m3fnuz", "p3109_k8p3se"))
def test_oracle_sqrt_standin_agrees_with_squares(name):
    """Every positive finite code: the Root stand-in rounds as the direct comparison of squares."""
    ofmt = formats(name)[1]
    values = oracle.small_float_values(ofmt)
    grid = sorted(v for v in values.values() if isinstance(v, Fraction) and not isinstance(v, str) and v >= 0)
    n = 0
    for v in grid:
        if v <= 0:
            continue
        for mode in ("rne", "rtz", "rup"):
            code, flags = A.settle(*A.sqrt(v), ofmt, mode)
            want, inexact = _sqrt_by_squares(v, grid, mode)
            assert values[code] == want and bool(flags & oracle.INEXACT) == inexact, (name, v, mode)
            n += 1
    COUNTS["oracle sqrt self-check"] += n


# --------------------------------------------------------------------------------------------
# FP4 and FP6: every operand pair, every operation, mode and policy
# --------------------------------------------------------------------------------------------

def mode_policy_sweep(op, name, tuples, modes=DETERMINISTIC, tag=None, thin=16):
    """Every tuple in every mode under SatFinite (the catalog default of the small formats);
    under the three other policies the tuples a policy can act on (and every ``thin``-th other)."""
    relevant = policy_relevant(name, op, tuples, thin)
    bad = []
    for mode in modes:
        for policy in POLICIES:
            bad += sweep(op, name, tuples if policy == "finite" else relevant, mode, policy, tag=tag or op)
    return bad


@pytest.mark.parametrize("op", BINARY_ROUNDED)
@pytest.mark.parametrize("name", SMALL)
def test_small_every_pair_mode_policy(name, op):
    bad = mode_policy_sweep(op, name, pairs(name), tag=f"{op} small")
    assert not bad, report(bad)


@pytest.mark.parametrize("op", BINARY_ROUNDED)
@pytest.mark.parametrize("name", SMALL)
def test_small_every_pair_stochastic(name, op):
    bad = []
    for (mode, n, rands), policy in zip(SR, ("satnone", "none", "finite")):
        bad += sweep(op, name, pairs(name), mode, policy, sr_bits=n, rands=rands[-2:], tag=f"{op} small sr")
    assert not bad, report(bad)


@pytest.mark.parametrize("op", ("sqrt", "roundToInt"))
@pytest.mark.parametrize("name", SMALL)
def test_small_unary_every_mode_policy(name, op):
    one = [(c,) for c in codes_of(name)]
    bad = []
    for policy in POLICIES:
        for mode in DETERMINISTIC:
            for exact in ((False, True) if op == "roundToInt" else (False,)):
                bad += sweep(op, name, one, mode, policy, exact=exact, tag=f"{op} small")
        for mode, n, rands in SR_SLOW:
            bad += sweep(op, name, one, mode, policy, sr_bits=n, rands=rands, tag=f"{op} small sr")
    assert not bad, report(bad)


@pytest.mark.parametrize("op", UNROUNDED)
@pytest.mark.parametrize("name", SMALL)
def test_small_every_pair_unrounded(name, op):
    """min/max, comparisons, totalOrder and the sign-bit operations: every pair in rne under
    the default policy; every 8th pair again in rdn under each other policy (no rounding
    happens, so neither may matter)."""
    arity = A.ARITY[op]
    tuples = pairs(name) if arity == 2 else [(c,) for c in codes_of(name)]
    bad = sweep(op, name, tuples, "rne", "finite", tag="unrounded small")
    for policy in ("none", "propagate", "satnone"):
        bad += sweep(op, name, tuples[::8], "rdn", policy, tag="unrounded small")
    assert not bad, report(bad)


def fp6_addends(name, slow=False):
    """+0, -0 and seeded other codes (the largest magnitudes too, slow)."""
    fmt = formats(name)[0]
    rng = random.Random(f"addends/{name}")
    extra = {fmt.max_code(0), fmt.max_code(1)} | {rng.randrange(fmt.ncodes) for _ in range(4)} if slow else set()
    return sorted({0, fmt.sign_bit, rng.randrange(fmt.ncodes)} | extra)


@pytest.mark.parametrize("name", SMALL)
def test_small_fma(name):
    """mulAdd: every FP4 triple; every FP6 (x, y) pair with +0, -0 and a seeded addend."""
    addends = codes_of(name) if name == "e2m1" else fp6_addends(name)
    triples = [(x, y, z) for x, y in pairs(name) for z in addends]
    bad = mode_policy_sweep("mulAdd", name, triples, tag="mulAdd small", thin=64)
    mode, n, rands = SR[SMALL.index(name)]
    bad += sweep("mulAdd", name, triples, mode, "satnone", sr_bits=n, rands=rands[-2:], tag="mulAdd small sr")
    assert not bad, report(bad)


@pytest.mark.parametrize("name", SMALL)
def test_small_tininess_ftz_daz(name):
    """Tininess before rounding and FTZ in the four IEEE directions on the tuples with a tiny
    exact result; DAZ (alone and with both) in rne and rup on the tuples with a subnormal
    operand (and every 64th other tuple each time)."""
    bad = []
    for op in ("add", "sub", "mul", "div", "sqrt", "mulAdd", "lt", "minimum"):
        if op == "mulAdd":
            tuples = [(x, y, z) for x, y in pairs(name) for z in (0, formats(name)[0].sign_bit, 1)]
        elif op == "sqrt":
            tuples = [(c,) for c in codes_of(name)]
        else:
            tuples = pairs(name)
        if op not in ("lt", "minimum"):
            tiny = tiny_relevant(name, op, tuples, thin=64)
            for knobs in ({"tininess": "before"}, {"ftz": True}):
                for mode in ("rne", "rtz", "rup", "rdn"):
                    bad += sweep(op, name, tiny, mode, **knobs, tag="tininess/ftz/daz")
        subnormal = subnormal_operand(name, tuples, thin=64)
        for knobs in ({"daz": True}, {"ftz": True, "daz": True, "tininess": "before"}):
            for mode in ("rne", "rup"):
                bad += sweep(op, name, subnormal, mode, **knobs, tag="tininess/ftz/daz")
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("op", BINARY_ROUNDED + UNROUNDED)
@pytest.mark.parametrize("name", SMALL)
def test_small_every_pair_every_policy_slow(name, op):
    """The full product: every pair, every mode, every policy (no thinning)."""
    tuples = pairs(name) if A.ARITY[op] == 2 else [(c,) for c in codes_of(name)]
    bad = []
    for mode in DETERMINISTIC if op in A.ROUNDED else ("rne", "rdn"):
        for policy in POLICIES:
            bad += sweep(op, name, tuples, mode, policy, tag=f"{op} small (slow)")
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", SMALL)
def test_small_fma_every_triple_slow(name):
    triples = list(itertools.product(codes_of(name), repeat=3))
    bad = mode_policy_sweep("mulAdd", name, triples, tag="mulAdd small (slow)")
    _EXACT.clear()
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("op", BINARY_ROUNDED + ("mulAdd",))
@pytest.mark.parametrize("name", SMALL)
def test_small_every_stochastic_slow(name, op):
    tuples = pairs(name) if op != "mulAdd" else [(x, y, z) for x, y in pairs(name) for z in fp6_addends(name, True)]
    bad = []
    for i, (mode, n, rands) in enumerate(SR_SLOW):
        policy = POLICIES[i % len(POLICIES)]
        bad += sweep(op, name, tuples, mode, policy, sr_bits=n, rands=rands, tag=f"{op} small sr (slow)")
    assert not bad, report(bad)


# --------------------------------------------------------------------------------------------
# E4M3 and E5M2
# --------------------------------------------------------------------------------------------

OCP8 = ("e4m3", "e5m2")


def fma_zero_addend(tuples, name):
    sign = formats(name)[0].sign_bit
    return [(x, y, z) for i, (x, y) in enumerate(tuples) for z in ((0,) if i % 2 else (sign,))]


def every_op_sweep(name, sample, sample3, tag):
    """Every operation on a sample: rounded ones in every mode and policy
    (:func:`mode_policy_sweep`), min/max and the sign-bit operations under every policy,
    comparisons and totalOrder once."""
    bad = []
    for op in A.OPERATIONS:
        arity = A.ARITY[op]
        tuples = sample if arity == 2 else [(x,) for x, _ in sample] if arity == 1 else sample3
        if op in A.ROUNDED:
            bad += mode_policy_sweep(op, name, tuples, tag=tag)
        elif op in A.MIN_MAX or op in A.SIGN_OPS:
            for policy in POLICIES:
                bad += sweep(op, name, tuples, "rne", policy, tag=tag)
        else:
            bad += sweep(op, name, tuples, "rne", tag=tag)
    return bad


@pytest.mark.parametrize("name", OCP8)
def test_ocp8_sample_every_op_mode_policy(name):
    """A seeded sample of pairs (and triples), every operation, every deterministic mode and policy."""
    sample, other = sample_pairs(name, 400, 1), sample_pairs(name, 400, 2)
    bad = every_op_sweep(name, sample, [(x, y, z) for (x, y), (z, _) in zip(sample, other)], "ocp8 sample")
    assert not bad, report(bad)


@pytest.mark.parametrize("name", OCP8)
def test_ocp8_sample_add_mul_div_fma0(name):
    """The slow sweep's operations on a larger seeded sample, rne and rtz, each policy."""
    sample = sample_pairs(name, 2500, 3)
    bad = []
    for op in ("add", "mul", "div"):
        bad += mode_policy_sweep(op, name, sample, ("rne", "rtz"), tag="ocp8 sample")
    bad += mode_policy_sweep("mulAdd", name, fma_zero_addend(sample, name), ("rne", "rtz"), tag="ocp8 sample")
    assert not bad, report(bad)


@pytest.mark.parametrize("name", OCP8)
def test_ocp8_sample_stochastic(name):
    sample = sample_pairs(name, 400, 4)
    bad = []
    for op in ("add", "sub", "mul", "div"):
        for mode, n, rands in SR:
            bad += sweep(op, name, sample, mode, "satnone", sr_bits=n, rands=rands, tag="ocp8 sample sr")
    bad += sweep("mulAdd", name, fma_zero_addend(sample, name), "sr-b", "none", sr_bits=3, rands=(0, 5),
                 tag="ocp8 sample sr")
    assert not bad, report(bad)


@pytest.mark.parametrize("profile,tininess", (("riscv", "after"), ("arm", "before")))
@pytest.mark.parametrize("name", OCP8 + ("e2m3",))
def test_profiles_canonical_nan_sample(name, profile, tininess):
    """Under the riscv and arm profiles (canonical positive NaN, tininess after / before) every
    operation on a sample, each deterministic mode, the catalogue's overflow policy: NaN
    results are the oracle's canonical NaN code."""
    sample, other = sample_pairs(name, 120, 8), sample_pairs(name, 120, 9)
    bad = []
    for op in A.OPERATIONS:
        arity = A.ARITY[op]
        tuples = (sample if arity == 2 else [(x,) for x, _ in sample] if arity == 1
                  else [(x, y, z) for (x, y), (z, _) in zip(sample, other)])
        for mode in DETERMINISTIC if op in A.ROUNDED else ("rne",):
            ctx = Context.profile(profile, rounding=mode)
            bad += sweep(op, name, tuples, mode, None, tininess=tininess, ctx=ctx, tag=f"{profile} profile")
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("mode", ("rne", "rtz"))
@pytest.mark.parametrize("name", OCP8)
def test_ocp8_every_pair_slow(name, mode, policy):
    """Every operand pair: add, mul, div, and fma with a +0 and a -0 addend."""
    every = pairs(name)
    bad = []
    for op in ("add", "mul", "div"):
        bad += sweep(op, name, every, mode, policy, tag="ocp8 every pair (slow)")
    sign = formats(name)[0].sign_bit
    bad += sweep("mulAdd", name, [(x, y, z) for x, y in every for z in (0, sign)], mode, policy,
                 tag="ocp8 every pair (slow)")
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", OCP8)
def test_ocp8_sample_every_mode_slow(name):
    sample = sample_pairs(name, 4000, 5)
    bad = []
    for op in BINARY_ROUNDED:
        for mode in DETERMINISTIC:
            for policy in POLICIES:
                bad += sweep(op, name, sample, mode, policy, tag="ocp8 sample (slow)")
        for mode, n, rands in SR_SLOW:
            bad += sweep(op, name, sample, mode, "none", sr_bits=n, rands=rands, tag="ocp8 sample (slow)")
    assert not bad, report(bad)


# --------------------------------------------------------------------------------------------
# The other 8-bit formats, E8M0
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", OTHER_8BIT)
def test_other_8bit_sample(name):
    sample, other = sample_pairs(name, 120, 6), sample_pairs(name, 120, 7)
    bad = every_op_sweep(name, sample, [(x, y, z) for (x, y), (z, _) in zip(sample, other)], "other 8-bit sample")
    rng = random.Random(f"modes/{name}")
    for op in ("add", "mul", "div", "sqrt"):
        mode, n, rands = SR[rng.randrange(len(SR))]
        tuples = sample if op != "sqrt" else [(x,) for x, _ in sample]
        bad += sweep(op, name, tuples, mode, POLICIES[rng.randrange(4)], sr_bits=n, rands=rands,
                     tag="other 8-bit sample")
    assert not bad, report(bad)


def test_e8m0_mul_div():
    """E8M0 (no zero, no sign, NaN 0xFF): every 23rd pair for mul and div, every mode and policy."""
    every = pairs("e8m0")[::23]
    bad = []
    for op in ("mul", "div"):
        bad += mode_policy_sweep(op, "e8m0", every, tag="e8m0")
        for mode, n, rands in SR:
            bad += sweep(op, "e8m0", every, mode, "finite", sr_bits=n, rands=rands[:1], tag="e8m0")
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", OTHER_8BIT + ("e8m0",))
def test_other_8bit_every_pair_slow(name):
    every = pairs(name)
    bad = []
    for op in ("add", "mul", "div") if name != "e8m0" else ("mul", "div"):
        bad += mode_policy_sweep(op, name, every, ("rne", "rtz"), tag="other 8-bit every pair (slow)")
    assert not bad, report(bad)


# --------------------------------------------------------------------------------------------
# Mixed formats
# --------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def f32_value(code):
    return oracle.ieee_value(code, 8, 23)


@pytest.mark.parametrize("op", ("mul", "add"))
def test_e4m3_into_binary32_exact(op):
    """e4m3 x e4m3 (and +) -> binary32: every pair in rne (and a sample in rdn, which only
    changes the sign of an exact zero sum), one exact result without a flag, read back with
    the oracle's binary32 decoder and compared with the Fraction result; NaN operands give
    binary32's canonical NaN 0x7FC00000."""
    e4m3_values = A.operand_table(formats("e4m3")[1])
    bad = []
    n = 0
    for mode, thin in (("rne", 1), ("rdn", 4 if op == "add" else 64)):     # rdn: the sign of x + (-x)
        ctx = Context.profile("riscv", rounding=mode)
        for a, b in pairs("e4m3")[::thin]:
            code, flags = arith.compute(op, (a, b), "e4m3", ctx, out="f32")
            result, want_flags = A.exact(op, [e4m3_values[a], e4m3_values[b]])
            if result is A.ZERO_SUM:
                result = oracle.NEG_ZERO if mode == "rdn" else A.ZERO
            if result is oracle.NAN:
                ok = (code, flags) == (0x7FC00000, want_flags)
            else:
                got = f32_value(code)
                ok = flags == want_flags == 0 and A.real(got) == A.real(result) and A.sign(got) == A.sign(result)
            if not ok:
                bad.append(f"{op} e4m3 {a:02X} {b:02X} -> f32 {mode}: refnum {code:08X}/{flags:02X}, exact {result}")
            n += 1
    COUNTS[f"e4m3 {op} -> f32"] += n
    assert not bad, report(bad)


def bf16_value(code):
    return oracle.ieee_value(code, 8, 7)


def bf16_fma_operands(n, seed):
    """Seeded (bf16, bf16, f32) codes: random bits, with the exponents drawn near each other
    often enough to make cancellation, ties and the subnormal range likely."""
    rng = random.Random(seed)
    specials16 = (0x0000, 0x8000, 0x7F80, 0xFF80, 0x7FC0, 0x7F81, 0x0001, 0x8001, 0x7F7F, 0x3F80)
    specials32 = (0, 0x80000000, 0x7F800000, 0xFF800000, 0x7FC00000, 0x7F800001, 1, 0x7F7FFFFF, 0x3F800000)
    out = []
    for i in range(n):
        if i % 10 == 0:
            a, b, c = rng.choice(specials16), rng.choice(specials16), rng.choice(specials32)
        else:
            ea, eb = rng.randrange(1, 255), rng.randrange(1, 255)
            a = rng.getrandbits(1) << 15 | ea << 7 | rng.getrandbits(7)
            b = rng.getrandbits(1) << 15 | eb << 7 | rng.getrandbits(7)
            ec = min(254, max(0, ea + eb - 127 + rng.randrange(-30, 31)))
            c = rng.getrandbits(1) << 31 | ec << 23 | rng.getrandbits(23)
            if i % 10 == 1:                         # near-cancellation: c ~ -(a*b) rounded to binary32
                prod = bf16_value(a & 0x7FFF) * bf16_value(b & 0x7FFF)
                c = A.ieee_encode(-prod if (a ^ b) >> 15 == 0 else prod, 8, 23, "rtz")[0] ^ rng.randrange(4)
        out.append((a, b, c))
    return out


@pytest.mark.parametrize("mode", DETERMINISTIC)
def test_fma_bf16_into_binary32(mode):
    """mulAdd(bf16, bf16, f32) -> f32 rounded once, against the exact Fraction result and the
    oracle's binary32 rounder (every mode, tininess after and before)."""
    bad = []
    triples = bf16_fma_operands(1500, f"bf16fma/{mode}")
    for tininess in ("after", "before"):
        ctx = Context.profile("riscv", rounding=mode, tininess=tininess)
        for a, b, c in triples:
            got = arith.compute("mulAdd", (a, b, c), ("bf16", "bf16", "f32"), ctx, out="f32")
            want = A.ieee_fma(bf16_value(a), bf16_value(b), f32_value(c), 8, 23, mode, tininess)
            if got != want:
                bad.append(f"fma bf16 {a:04X} {b:04X} f32 {c:08X} {mode} {tininess}: refnum "
                           f"{got[0]:08X}/{got[1]:02X}, oracle {want[0]:08X}/{want[1]:02X}")
    COUNTS["fma bf16 -> f32"] += 2 * len(triples)
    assert not bad, report(bad)


@pytest.mark.parametrize("mode", ("rne", "rtz", "rup", "rdn", "rna"))
def test_oracle_fma_bf16_against_softfloat(mode):
    """The oracle's binary32 rounder against SoftFloat's f32_mulAdd on the same triples
    (bf16 -> f32 is exact, so the two operations coincide)."""
    sf = pytest.importorskip("softfloatpy", reason="softfloatpy cross-checks the binary32 rounder")
    modes = {"rne": sf.RoundingMode.NEAR_EVEN, "rtz": sf.RoundingMode.MIN_MAG, "rdn": sf.RoundingMode.MIN,
             "rup": sf.RoundingMode.MAX, "rna": sf.RoundingMode.NEAR_MAX_MAG}
    sf.set_rounding_mode(modes[mode])
    sf.set_tininess_mode(sf.TininessMode.AFTER_ROUNDING)
    bad = []
    triples = bf16_fma_operands(1500, f"bf16fma/{mode}")
    for a, b, c in triples:
        sf.set_exception_flags(0)
        x, y, z = (sf.Float32.from_bytes(v.to_bytes(4, "big")) for v in (a << 16, b << 16, c))
        r = sf.f32_mul_add(x, y, z)
        want = (int.from_bytes(r.to_bytes(), "big"), sf.get_exception_flags())
        got = A.ieee_fma(bf16_value(a), bf16_value(b), f32_value(c), 8, 23, mode)
        if got != want:
            bad.append(f"{a:04X} {b:04X} {c:08X} {mode}: oracle {got[0]:08X}/{got[1]:02X}, "
                       f"SoftFloat {want[0]:08X}/{want[1]:02X}")
    COUNTS["oracle fma vs SoftFloat"] += len(triples)
    assert not bad, report(bad)


# --------------------------------------------------------------------------------------------
# P3109 formats under the p3109 profile
# --------------------------------------------------------------------------------------------

P3109_PROFILE_FORMATS = ("p3109_k8p4se", "p3109_k8p3se", "p3109_k8p4sf", "p3109_k8p3ue", "p3109_k8p4uf")


@pytest.mark.parametrize("name", P3109_PROFILE_FORMATS)
def test_p3109_profile(name):
    """Context.profile("p3109"): SatNone, canonical NaN, Divide(x, 0) = NaN for every x (P3109
    v4.0; ml-formats-spec.md §4.4), a single NaN code, never a -0 code (there is none: the -0
    pattern is the NaN)."""
    fmt, ofmt = formats(name)
    nan_code = oracle.table(ofmt).nan_code
    every = pairs(name)
    conformance = name in ("p3109_k8p4se", "p3109_k8p3se")       # P3109 v4.0 §4.5's F8
    bad = []
    for mode, thin in (("rne", 8 if conformance else 16), ("rtz", 32)):
        ctx = Context.profile("p3109", rounding=mode)
        for op in ("add", "sub", "mul", "div"):
            tuples = every[::thin if op == "div" else 4 * thin]
            bad += sweep(op, name, tuples, mode, "satnone", div_by_zero="nan", ctx=ctx, tag="p3109 profile")
    ctx = Context.profile("p3109")
    zero = 0
    for x in codes_of(name):
        code, flags = arith.compute("div", (x, zero), fmt, ctx)
        vx = A.operand(ofmt, x)
        want_flags = oracle.DIVBYZERO if not (A.is_nan(vx) or A.is_zero(vx) or A.is_inf(vx)) else (
            0 if A.is_nan(vx) else oracle.INVALID)
        if (code, flags & 0x1F) != (nan_code, want_flags):
            bad.append(f"div({x:02X}, 0) {name}: refnum {code:02X}/{flags:02X}, "
                       f"want NaN {nan_code:02X}/{want_flags:02X}")
    nans = {c for c in codes_of(name) if A.is_nan(A.operand(ofmt, c))}
    assert nans == {nan_code}, "a single NaN"
    if ofmt.signed:
        for x in codes_of(name):            # x * 0 and -x + x are +0, the only zero
            for op, codes in (("mul", (x, zero)), ("add", (x, arith.compute("neg", (x,), fmt, ctx)[0]))):
                code, _ = arith.compute(op, codes, fmt, ctx)
                vx = A.operand(ofmt, x)
                if not (A.is_nan(vx) or A.is_inf(vx)) and code != 0:
                    bad.append(f"{op}{codes} {name}: refnum {code:02X}, want +0 (00)")
    COUNTS["p3109 profile"] += 3 * fmt.ncodes
    assert not bad, report(bad)


@pytest.mark.slow
@pytest.mark.parametrize("name", P3109_PROFILE_FORMATS)
def test_p3109_profile_every_pair_slow(name):
    bad = []
    for mode in ("rne", "rtz", "rup"):
        ctx = Context.profile("p3109", rounding=mode)
        for op in ("add", "sub", "mul", "div", "minimum", "lt"):
            bad += sweep(op, name, pairs(name), mode, "satnone", div_by_zero="nan", ctx=ctx,
                         tag="p3109 profile (slow)")
    assert not bad, report(bad)
