"""Conversions from wide IEEE formats, hypothesis over bit patterns, against MPFR and the P3109 definition.

Sources: binary16, bfloat16, binary32, binary64, binary128 codes drawn by
``strategies.float_codes`` (weighted to zeros, subnormal edges, max, the
target's overflow threshold, exact ties for the target's precision, NaN, Inf).
Targets: binary16, bfloat16, tf32, binary32, binary64, E4M3, E5M2, E2M1, E8M0,
P3109 Binary8p4se, a generic ieee_k12p5 and two scaled formats.  Every code is
checked in the six deterministic modes under every saturation policy and both
tininess settings, and in the stochastic modes with N in {1, 4, 8, 13}: bits
and the whole flag byte (the refnum-only SATURATED bit included).

The oracle (``strategies.py``) never calls refnum: MPFR (gmpy2) rounds in rne,
rtz, rup, rdn with an explicit (p, emin, subnormalize) context per target; rna,
rto, stochastic rounding and precision-1 ties are built from the P3109 v4.0
§4.7.4 definition on exact rationals, which ``test_oracle_routes_agree`` checks
against MPFR where both apply.  Specials and saturation come from the OFP8 and
P3109 tables (ml-formats-spec §2.1, §4.3).
"""

from __future__ import annotations

import collections
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import strategies as S

gmpy2 = pytest.importorskip("gmpy2", reason="gmpy2 (MPFR) is the oracle of these tests; pip install gmpy2")

from refnum import Context, convert, lookup  # noqa: E402

COUNTS = collections.Counter()
PAIRS = [(s, t) for s in S.SOURCES for t in S.TARGETS]
TININESS = ("after", "before")
SR_BITS = (1, 4, 8, 13)
CODES_PER_EXAMPLE = 6
FAST = settings(derandomize=True, max_examples=10, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(FAST, max_examples=400)


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\nwide-format cases checked:", dict(sorted(COUNTS.items())))


CONTEXTS = {(mode, sat, tininess): Context(rounding=mode, saturation=sat, tininess=tininess)
            for mode in S.DETERMINISTIC_MODES for sat in S.SATURATIONS for tininess in TININESS}


def check_deterministic(src, dst, code):
    """Six modes x five saturation settings x two tininess settings, one code."""
    layout, t = S.SOURCES[src], S.TARGETS[dst]
    x = layout.decode(code)
    for mode in S.DETERMINISTIC_MODES:
        rd = S.Rounded(x)
        if x.kind == "fin" and x.mag:
            rd = S.round_stage(x, t, mode)
        for sat in S.SATURATIONS:
            for tininess in TININESS:
                want = S.finish(rd, t, mode, sat, tininess)
                got = convert(code, src, dst, CONTEXTS[mode, sat, tininess])
                assert got == want, (f"{src} 0x{code:0{layout.k // 4}X} -> {dst} {mode} sat={sat} "
                                     f"tininess={tininess}: refnum ({got[0]:#x}, {got[1]:#04x}) "
                                     f"oracle ({want[0]:#x}, {want[1]:#04x})")
                COUNTS["deterministic"] += 1


def check_stochastic(src, dst, code, nbits, rand, sat):
    layout, t = S.SOURCES[src], S.TARGETS[dst]
    x = layout.decode(code)
    for mode in S.STOCHASTIC_MODES:
        want = S.oracle_convert(x, t, mode, sat, rand=rand, nbits=nbits)
        got = convert(code, src, dst, Context(rounding=mode, sr_bits=nbits, saturation=sat), rand=rand)
        assert got == want, (f"{src} 0x{code:X} -> {dst} {mode} N={nbits} R={rand} sat={sat}: "
                             f"refnum ({got[0]:#x}, {got[1]:#04x}) oracle ({want[0]:#x}, {want[1]:#04x})")
        COUNTS["stochastic"] += 1


def _case(src, dst):
    return S.float_codes(S.SOURCES[src], S.TARGETS[dst])


def _cases(src, dst):
    return st.lists(_case(src, dst), min_size=CODES_PER_EXAMPLE, max_size=CODES_PER_EXAMPLE)


def _sr_case(src, dst):
    return st.tuples(_case(src, dst), st.sampled_from(SR_BITS).flatmap(
        lambda n: st.tuples(st.just(n), st.integers(0, (1 << n) - 1))), st.sampled_from(S.SATURATIONS))


# -- the oracle itself ----------------------------------------------------------------------

def test_targets_match_spec_tables():
    """The oracle's target descriptions agree with the tables they were typed from and name real formats."""
    t = S.TARGETS
    assert t["binary16"].max_finite == 65504 and t["e5m2"].max_finite == 57344
    assert t["bfloat16"].max_finite == (2 - Fraction(1, 128)) * 2**127
    assert t["e4m3"].max_code() == 0x7E and t["e4m3"].encode(0, Fraction(1, 2**9)) == 0x01
    assert t["e2m1"].max_code(1) == 0xF and t["e8m0"].max_code() == 0xFE
    assert t["p3109_k8p4se"].max_code() == 0x7E and t["p3109_k8p4se"].min_positive == Fraction(1, 2**10)
    assert t["tf32"].nan == 0x3FE00 and t["ieee_k12p5"].max_finite == (2 - Fraction(1, 16)) * 2**63
    for name, target in t.items():
        fmt = lookup(name)
        assert getattr(fmt, "k", None) == target.k, name


@pytest.mark.parametrize("dst", [n for n, t in S.TARGETS.items() if t.p > 1 and t.scale == 1])
@settings(FAST, max_examples=30)
@given(data=st.data())
def test_oracle_routes_agree(dst, data):
    """MPFR and the P3109 definition round alike in rne/rtz/rup/rdn, bounded and unbounded exponent."""
    t = S.TARGETS[dst]
    src = S.SOURCES[data.draw(st.sampled_from(sorted(S.SOURCES)), label="source")]
    x = src.decode(data.draw(S.float_codes(src, t), label="code"))
    if x.kind != "fin" or not x.mag:
        return
    for mode in S.MPFR_MODES:
        for emin in (t.emin, None):
            a = S.round_oracle(x.value, t.p, emin, mode, route="mpfr")
            b = S.round_by_definition(x.value, t.p, emin, mode)
            assert a == b, (dst, x, mode, emin)
            COUNTS["oracle self-check"] += 1


def test_oracle_precision1_ties():
    """At precision 1 MPFR breaks ties upwards: the definition does too with significand parity."""
    for y in (Fraction(3), Fraction(-3), Fraction(6), Fraction(3, 2**130), Fraction(5, 4)):
        assert S.round_oracle(y, 1, None, "rne", route="mpfr") == S.round_by_definition(
            y, 1, None, "rne", bias=127, p1_parity="significand")
    assert S.round_by_definition(Fraction(3), 1, -127, "rne", bias=127) == 2      # code 128 is even


# -- refnum against the oracle ----------------------------------------------------------------

@pytest.mark.parametrize("src,dst", PAIRS)
@FAST
@given(data=st.data())
def test_deterministic_modes(src, dst, data):
    for code in data.draw(_cases(src, dst), label="codes"):
        check_deterministic(src, dst, code)


@pytest.mark.parametrize("src,dst", PAIRS)
@FAST
@given(data=st.data())
def test_stochastic_modes(src, dst, data):
    for code, (nbits, rand), sat in data.draw(st.lists(_sr_case(src, dst), min_size=CODES_PER_EXAMPLE,
                                                       max_size=CODES_PER_EXAMPLE), label="cases"):
        check_stochastic(src, dst, code, nbits, rand, sat)


@pytest.mark.slow
@pytest.mark.parametrize("src,dst", PAIRS)
@SLOW
@given(data=st.data())
def test_deterministic_modes_long(src, dst, data):
    for code in data.draw(_cases(src, dst), label="codes"):
        check_deterministic(src, dst, code)


@pytest.mark.slow
@pytest.mark.parametrize("src,dst", PAIRS)
@SLOW
@given(data=st.data())
def test_stochastic_modes_long(src, dst, data):
    for code, (nbits, rand), sat in data.draw(st.lists(_sr_case(src, dst), min_size=CODES_PER_EXAMPLE,
                                                       max_size=CODES_PER_EXAMPLE), label="cases"):
        check_stochastic(src, dst, code, nbits, rand, sat)


@pytest.mark.parametrize("src", sorted(S.SOURCES))
@pytest.mark.parametrize("nan_policy", ["canonical", "sign", "payload"])
def test_nan_policies(src, nan_policy):
    """Every NaN pattern of the source into every target under each NaN encoding policy."""
    layout = S.SOURCES[src]
    m, inf = layout.m, layout.inf_code
    patterns = [inf | t for t in (1, 1 << (m - 1), (1 << (m - 1)) | 1, (1 << (m - 2)), (1 << m) - 1,
                                  ((1 << m) - 1) ^ (1 << (m - 1)), 0x5 << (m - 4) if m >= 4 else 1)]
    for dst, t in S.TARGETS.items():
        for nan_missing in ("max", "zero", "negzero"):
            ctx = Context(nan=nan_policy, nan_missing=nan_missing)
            for code in patterns + [c | layout.sign_bit for c in patterns]:
                want = S.finish(S.Rounded(layout.decode(code)), t, "rne", nan_policy=nan_policy,
                                nan_missing=nan_missing)
                assert convert(code, src, dst, ctx) == want, (src, hex(code), dst, nan_policy, nan_missing)
                COUNTS["nan policy"] += 1


# -- stochastic rounding: the probability property, independent of the RoundAway formulas --------

@pytest.mark.parametrize("src,dst", [("binary16", "e4m3"), ("binary16", "e2m1"), ("bfloat16", "e4m3"),
                                     ("bfloat16", "e2m1"), ("binary16", "p3109_k8p4se"), ("bfloat16", "e8m0")])
@settings(FAST, max_examples=25)
@given(data=st.data())
def test_stochastic_probability(src, dst, data):
    """Over all 2**N values of R the result rounds away floor(nu 2**N) (A) or within one of nu 2**N
    (B, C) times, exactly nu 2**N when N covers the discarded bits, and only for the largest R
    (ml-formats-spec §8)."""
    layout, t = S.SOURCES[src], S.TARGETS[dst]
    code = data.draw(S.float_codes(layout, t), label="code")
    x = layout.decode(code)
    if x.kind != "fin" or not x.mag or (x.sign and not t.signed):
        return
    y = abs(x.value)
    down = abs(S.round_by_definition(y, t.p, t.emin, "rtz"))
    up = abs(S.round_by_definition(y, t.p, t.emin, "rup"))
    if down == up or up > t.max_finite or (down == 0 and not t.zero):   # one result code either way
        return
    nu = (y - down) / (up - down)
    ctx_sat = "finite"
    down_code = convert(code, src, dst, Context(rounding="rtz", saturation=ctx_sat))
    for nbits in (1, 4, 8):
        scaled_nu = nu * (1 << nbits)
        for mode in S.STOCHASTIC_MODES:
            ctx = Context(rounding=mode, sr_bits=nbits, saturation=ctx_sat)
            away = [convert(code, src, dst, ctx, rand=r)[0] != down_code[0] for r in range(1 << nbits)]
            count = sum(away)
            COUNTS["stochastic probability"] += 1 << nbits
            assert away == [False] * (len(away) - count) + [True] * count, (mode, nbits)
            if scaled_nu.denominator == 1:
                assert count == scaled_nu, (mode, nbits, nu)
            elif mode == "sr-a":
                assert count == int(scaled_nu), (mode, nbits, nu)
            else:
                assert int(scaled_nu) <= count <= int(scaled_nu) + 1, (mode, nbits, nu)


# -- precision-1 parity and a few hand-worked anchors ------------------------------------------------

@settings(FAST, max_examples=150)
@given(code=S.float_codes(S.SOURCES["binary32"], S.TARGETS["e8m0"]))
def test_e8m0_significand_parity_against_mpfr(code):
    """ml_dtypes-style E8M0 ties (p1_parity='significand', ties up) = MPFR's precision-1 RNDN."""
    x = S.SOURCES["binary32"].decode(code)
    if x.kind != "fin" or x.sign or x.mag < Fraction(1, 2**126) or x.mag >= 2**127:
        return
    r = S.round_oracle(x.value, 1, None, "rne", route="mpfr")
    if r > 2**127:
        return
    got = convert(code, "binary32", "e8m0", Context(p1_parity="significand"))
    assert got == (S.TARGETS["e8m0"].encode(0, r), S.INEXACT if r != x.mag else 0)
    COUNTS["e8m0 parity"] += 1


@pytest.mark.parametrize("src_code,src,dst,ctx,want", [
    (0x43E80000, "binary32", "e4m3", Context(), (0x7E, 0x01)),                  # 464 -> 448 (tie to even)
    (0x43E88000, "binary32", "e4m3", Context(), (0x7E, 0x25)),                  # 465 -> SAT 448
    (0x43E88000, "binary32", "e4m3", Context(saturation="none"), (0x7F, 0x05)),  # 465 -> NaN non-SAT
    (0x476FFFFF, "binary32", "e5m2", Context(saturation="none"), (0x7B, 0x01)),  # just under 61440
    (0x47700000, "binary32", "e5m2", Context(saturation="none"), (0x7C, 0x05)),  # 61440: tie, odd max -> Inf
    (0x47700000, "binary32", "e5m2", Context(saturation="none", rounding="rtz"), (0x7B, 0x01)),
    (0x47700000, "binary32", "e5m2", Context(saturation="none", rounding="rto"), (0x7B, 0x01)),
    (0x7F800000, "binary32", "e4m3", Context(saturation="none"), (0x7F, 0x10)),  # Inf -> NaN non-SAT
    (0x3EAAAAAB, "binary32", "e4m3@1/3", Context(), (0x38, 0x01)),            # 1/3 at scale 1/3 -> 1.0
    (0x3FC00000, "binary32", "e8m0", Context(), (0x80, 0x01)),   # 1.5: 1 (code 127) or 2 (code 128, even)
])
def test_hand_worked(src_code, src, dst, ctx, want):
    """Anchors computed by hand from the OFP8 tables (so a shared oracle mistake would show)."""
    assert convert(src_code, src, dst, ctx) == want
    x = S.SOURCES[src].decode(src_code)
    assert S.oracle_convert(x, S.TARGETS[dst], ctx.rounding, ctx.saturation) == want
