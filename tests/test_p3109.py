"""IEEE P3109 interim report v4.0: encodings, projection (rounding then saturation), stochastic rounding.

Every expectation here comes from the report as summarised in
``/work/shared/reference/ml-formats-spec.md`` (§1.3 encodings and the table of
concrete formats, §4.2 = report §4.7.4 rounding, §4.3 = report §4.7.5
saturation), not from refnum:

* the §1.3 table of Binary8p4se ... Binary4p2sf is written out below;
* the decode formula of §1.3 (report §4.7.2 ωDecode) is implemented here in a
  few lines (``spec_decode``) and encoding is its inverse by enumeration;
* ``spec_round`` is §4.7.4 ωRoundToPrecision with the RoundAway table, and
  ``spec_saturate`` is the §4.7.5 table, one ``if`` per row, returning the row
  it used so the tests can check that every row is exercised.

The projection ``Op = ωEncode(ωSaturate(ωRoundToPrecision(X)))`` built from
those three is the oracle refnum's ``from_value`` is compared with.
"""

from __future__ import annotations

import functools
import math
import struct
from fractions import Fraction

import pytest

from refnum import Context, Flag, decode, from_value, lookup

NAN, POS_INF, NEG_INF = "NaN", "+Inf", "-Inf"
MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto", "sr-a", "sr-b", "sr-c")
POLICIES = ("finite", "propagate", "satnone")      # SatFinite, SatPropagate, SatNone
P3109 = Context.profile("p3109")


# -- the report's formulas -------------------------------------------------------------------

class Spec:
    """Binary{K}p{P}{s|u}{e|f} described by the report's parameters alone (§3.1, §1.3 of the notes)."""

    def __init__(self, k, p, signed, extended):
        self.k, self.p, self.signed, self.extended = k, p, signed, extended
        self.bias = 2 ** (k - p - 1) if signed else 2 ** (k - p)
        self.nan = 2 ** (k - 1) if signed else 2 ** k - 1
        if extended:
            self.infs = {2 ** (k - 1) - 1: POS_INF, 2 ** k - 1: NEG_INF} if signed else {2 ** k - 2: POS_INF}
        else:
            self.infs = {}
        top = 2 ** (k - 1) - 1 if signed else 2 ** k - 2     # the largest magnitude code that is not NaN
        self.max_code = top - 1 if extended else top
        self.m_hi = self.decode(self.max_code)
        self.m_lo = -self.m_hi if signed else Fraction(0)

    @property
    def name(self):
        return f"p3109_k{self.k}p{self.p}{'s' if self.signed else 'u'}{'e' if self.extended else 'f'}"

    def decode(self, x):
        """§4.7.2 ωDecode."""
        if x == self.nan:
            return NAN
        if x in self.infs:
            return self.infs[x]
        if self.signed and x > 2 ** (self.k - 1):
            return -self.decode(x - 2 ** (self.k - 1))
        t, e = x % 2 ** (self.p - 1), x // 2 ** (self.p - 1)
        if e == 0:
            return t * Fraction(2) ** (1 - self.p) * Fraction(2) ** (1 - self.bias)
        return (1 + t * Fraction(2) ** (1 - self.p)) * Fraction(2) ** (e - self.bias)

    @functools.cached_property
    def codes(self):
        """ωEncode as the inverse of ωDecode: every datum has exactly one code."""
        table = {}
        for x in range(2 ** self.k):
            v = self.decode(x)
            assert v not in table, (self.name, x)
            table[v] = x
        return table

    def lowest_code(self):
        return self.codes[self.m_lo]


def ilog2(q):
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def rnite(y):
    """Round a rational to the nearest integer, ties to even."""
    f = math.floor(y)
    d = y - f
    return f + (d > Fraction(1, 2) or (d == Fraction(1, 2) and f % 2 == 1))


def round_away(mode, x, nu, code_is_even, rand, n):
    """The RoundAway column of §4.7.4 for 0 < nu < 1."""
    return {
        "rtz": False,
        "rup": x > 0,
        "rdn": x < 0,
        "rna": nu >= Fraction(1, 2),
        "rne": nu > Fraction(1, 2) or (nu == Fraction(1, 2) and not code_is_even),
        "rto": code_is_even,
        "sr-a": lambda: math.floor(nu * 2 ** n) + rand >= 2 ** n,
        "sr-b": lambda: math.floor(nu * 2 ** (n + 1)) + (2 * rand + 1) >= 2 ** (n + 1),
        "sr-c": lambda: rnite(nu * 2 ** n) + rand >= 2 ** n,
    }[mode]


def spec_round(x, spec, mode, rand=0, n=0):
    """§4.7.4 ωRoundToPrecision_{P,B,µ}(X) for a finite nonzero rational X (exponent unbounded above)."""
    q = max(ilog2(abs(x)), 1 - spec.bias) - spec.p + 1
    scaled = abs(x) / Fraction(2) ** q
    s0 = math.floor(scaled)
    nu = scaled - s0
    if nu == 0:
        return x
    even = s0 % 2 == 0 if spec.p > 1 else (s0 == 0 or (q + spec.bias) % 2 == 0)   # CodeIsEven
    away = round_away(mode, x, nu, even, rand, n)
    if callable(away):
        away = away()
    s = s0 + int(away)
    return (1 if x > 0 else -1) * s * Fraction(2) ** q


def spec_saturate(r, spec, mode, policy):
    """§4.7.5 ωSaturate: (row, result).  First matching row; M_hi = MaxFinite, M_lo = MinFinite."""
    hi, lo = spec.m_hi, spec.m_lo
    ext, sgn = spec.extended, spec.signed
    if r == NAN:
        return "NaN", NAN
    if r not in (POS_INF, NEG_INF) and lo <= r <= hi:
        return "in range", r
    if r == POS_INF:
        return "+inf", {"finite": hi, "propagate": POS_INF if ext else hi, "satnone": POS_INF if ext else hi}[policy]
    if r == NEG_INF:
        if policy == "finite":
            return "-inf", lo
        if policy == "propagate":
            return "-inf", NEG_INF if sgn and ext else lo
        return "-inf", NEG_INF if sgn and ext else (NAN if not sgn else lo)
    if r > hi:
        if policy in ("finite", "propagate"):
            return "X > M_hi", hi
        if mode in ("rtz", "rdn"):
            return "X > M_hi", hi
        if not sgn and ext and mode == "rto":
            return "X > M_hi", hi
        return "X > M_hi", POS_INF if ext else hi
    if policy in ("finite", "propagate"):                       # r < lo
        return "X < M_lo", lo
    if mode in ("rtz", "rup"):
        return "X < M_lo", lo
    if sgn and ext:
        return "X < M_lo", NEG_INF
    return "X < M_lo", NAN if not sgn else lo


def spec_project(x, spec, mode, policy, rand=0, n=0):
    """ωProject: (row, code).  x is a Fraction or one of NAN/POS_INF/NEG_INF."""
    if x in (NAN, POS_INF, NEG_INF):
        r = x
    elif x == 0:
        r = Fraction(0)
    else:
        r = spec_round(x, spec, mode, rand, n)
    row, s = spec_saturate(r, spec, mode, policy)
    return row, spec.codes[s]


def refnum_code(x, spec, mode, policy, rand=0, n=0):
    value = {NAN: "nan", POS_INF: "inf", NEG_INF: "-inf"}.get(x, x)
    ctx = P3109.replace(rounding=mode, saturation=policy, sr_bits=n)
    return from_value(value, spec.name, ctx, rand)[0]


# -- encodings: the §1.3 table ------------------------------------------------------------------

# name: (bias, max, max code, minN, minS or None, NaN code, Inf codes)
TABLE = {
    "p3109_k8p4se": (8, 224, 0x7E, Fraction(1, 2 ** 7), Fraction(1, 2 ** 10), 0x80, (0x7F, 0xFF)),
    "p3109_k8p4sf": (8, 240, 0x7F, Fraction(1, 2 ** 7), Fraction(1, 2 ** 10), 0x80, ()),
    "p3109_k8p3se": (16, 49152, 0x7E, Fraction(1, 2 ** 15), Fraction(1, 2 ** 17), 0x80, (0x7F, 0xFF)),
    "p3109_k8p3sf": (16, 57344, 0x7F, Fraction(1, 2 ** 15), Fraction(1, 2 ** 17), 0x80, ()),
    "p3109_k8p5se": (4, 15, 0x7E, Fraction(1, 2 ** 3), Fraction(1, 2 ** 7), 0x80, (0x7F, 0xFF)),
    "p3109_k8p1uf": (128, 2 ** 126, 0xFE, Fraction(1, 2 ** 127), None, 0xFF, ()),
    "p3109_k8p1ue": (128, 2 ** 125, 0xFD, Fraction(1, 2 ** 127), None, 0xFF, (0xFE,)),
    "p3109_k8p1se": (64, 2 ** 62, 0x7E, Fraction(1, 2 ** 63), None, 0x80, (0x7F, 0xFF)),
    "p3109_k4p2sf": (2, 3, 0x7, Fraction(1, 2), Fraction(1, 4), 0x8, ()),
}


@pytest.mark.parametrize("name", TABLE)
def test_concrete_formats_of_the_table(name):
    bias, mx, max_code, min_n, min_s, nan, infs = TABLE[name]
    fmt = lookup(name)
    k = fmt.k
    assert fmt.bias == bias
    assert decode(max_code, name).to_fraction() == mx
    assert from_value(mx, name, P3109) == (max_code, 0)
    p = fmt.p
    first_normal = 2 ** (p - 1) if p > 1 else 1                 # E = 1, T = 0
    assert decode(first_normal, name).to_fraction() == min_n
    if min_s is None:
        assert p == 1
    else:
        assert decode(1, name).to_fraction() == min_s
        assert decode(first_normal - 1, name).to_fraction() == min_n - min_s   # the largest subnormal
    nan_codes = [c for c in range(2 ** k) if decode(c, name).is_nan]
    assert nan_codes == [nan]
    inf_codes = sorted(c for c in range(2 ** k) if decode(c, name).is_inf)
    assert inf_codes == sorted(infs)
    for c in infs:
        assert decode(c, name).sign == (c >= 2 ** (k - 1) and fmt.signed)
    zero_codes = [c for c in range(2 ** k) if decode(c, name).is_zero]
    assert zero_codes == [0]                                      # one zero, no -0


@pytest.mark.parametrize("fnuz, p3109", [("e4m3fnuz", "p3109_k8p4sf"), ("e5m2fnuz", "p3109_k8p3sf")])
def test_fnuz_encodings_are_p3109_finite_formats(fnuz, p3109):
    """E4M3FNUZ = Binary8p4sf and E5M2FNUZ = Binary8p3sf bit for bit (notes §1.1)."""
    spec = Spec(8, 4 if p3109 == "p3109_k8p4sf" else 3, True, False)
    for c in range(256):
        a, b, want = decode(c, fnuz), decode(c, p3109), spec.decode(c)
        if want == NAN:
            assert a.is_nan and b.is_nan
        else:
            assert a.to_fraction() == b.to_fraction() == want


def _all_parameters(kmin=3, kmax=16):
    for k in range(kmin, kmax + 1):
        for signed in (True, False):
            for p in range(1, k if signed else k + 1):
                for extended in (True, False):
                    yield k, p, signed, extended


def test_one_encodes_at_a_power_of_two_for_every_k_and_p():
    """Bias 2**(K-P-1) / 2**(K-P) puts 1.0 at code 2**(K-2) (signed) or 2**(K-1) (unsigned)."""
    n = 0
    for k, p, signed, extended in _all_parameters():
        spec = Spec(k, p, signed, extended)
        one = 2 ** (k - 2) if signed else 2 ** (k - 1)
        assert spec.decode(one) == 1
        fmt = lookup(spec.name)
        assert fmt.bias == spec.bias, spec.name
        assert from_value(1, fmt, P3109) == (one, 0), spec.name
        assert decode(one, fmt).to_fraction() == 1
        n += 1
    assert n == 504


def test_special_codes_for_every_k_and_p():
    """One NaN (2**(K-1) signed, 2**K - 1 unsigned); Inf codes just below it in extended formats;
    the largest finite value at the next code down (every K 3..16, every P)."""
    for k, p, signed, extended in _all_parameters():
        spec = Spec(k, p, signed, extended)
        fmt = lookup(spec.name)
        assert decode(spec.nan, fmt).is_nan
        for code, inf in spec.infs.items():
            v = decode(code, fmt)
            assert v.is_inf and v.sign == (inf == NEG_INF)
        assert decode(spec.max_code, fmt).to_fraction() == spec.m_hi
        assert fmt.max_code(0) == spec.max_code


@pytest.mark.parametrize("k", range(3, 11))
def test_every_code_decodes_by_the_formula(k):
    """§4.7.2 ωDecode against refnum.decode for every code of every format with K <= 10."""
    for kk, p, signed, extended in _all_parameters(k, k):
        spec = Spec(kk, p, signed, extended)
        fmt = lookup(spec.name)
        for c in range(2 ** k):
            want, got = spec.decode(c), decode(c, fmt)
            if want == NAN:
                assert got.is_nan
            elif want in (POS_INF, NEG_INF):
                assert got.is_inf and got.sign == (want == NEG_INF)
            else:
                assert got.is_finite and got.to_fraction() == want and not (got.sign and want == 0)


# -- §4.7.5 saturation, row by row ------------------------------------------------------------------

SAT_SPECS = [Spec(8, 4, True, True), Spec(8, 4, True, False), Spec(8, 4, False, True), Spec(8, 4, False, False)]


def saturation_inputs(spec):
    """Inputs that reach every row: NaN, +-Inf, values in range, values whose rounding is beyond
    M_hi (4 * M_hi in every mode; M_hi + ulp/2 and + 3ulp/4 by mode), below M_lo, and negative
    values for unsigned formats (tiny ones round to 0 and stay in range)."""
    ulp = spec.m_hi - spec.decode(spec.max_code - 1)
    pos = [Fraction(1), spec.m_hi, spec.m_hi + ulp / 4, spec.m_hi + ulp / 2, spec.m_hi + 3 * ulp / 4,
           4 * spec.m_hi, Fraction(3, 7)]
    neg = [-x for x in pos] + [-spec.decode(1) / 4, -spec.decode(1) * 3 / 4]
    return [NAN, POS_INF, NEG_INF, *pos, *neg]


@pytest.mark.parametrize("spec", SAT_SPECS, ids=lambda s: s.name)
def test_saturation_table_row_by_row(spec):
    rows = {policy: set() for policy in POLICIES}
    bad, n = [], 0
    for x in saturation_inputs(spec):
        for mode in MODES:
            n_bits = 3 if mode.startswith("sr-") else 0
            for rand in (range(8) if n_bits else (0,)):
                for policy in POLICIES:
                    row, want = spec_project(x, spec, mode, policy, rand, n_bits)
                    rows[policy].add(row)
                    got = refnum_code(x, spec, mode, policy, rand, n_bits)
                    n += 1
                    if got != want:
                        bad.append((str(x), mode, rand, policy, row, hex(want), hex(got)))
    assert not bad, bad[:10]
    every_row = {"NaN", "in range", "+inf", "-inf", "X > M_hi", "X < M_lo"}
    assert all(r == every_row for r in rows.values()), rows
    assert n > 1000


def test_satnone_special_cases():
    """v4.0 SatNone (§4.7.5) spelled out on Binary8p4se / p4sf / p4ue / p4uf."""
    se, sf, ue, uf = SAT_SPECS
    big = 4 * se.m_hi
    sat_none = P3109                                             # the profile's projection is SatNone
    assert sat_none.saturation == "satnone"
    # X > M_hi: +Inf in an extended format, except TowardZero and TowardNegative
    assert from_value(big, se.name, sat_none)[0] == 0x7F
    assert from_value(big, se.name, sat_none.replace(rounding="rtz"))[0] == 0x7E
    assert from_value(big, se.name, sat_none.replace(rounding="rdn"))[0] == 0x7E
    assert from_value(-big, se.name, sat_none.replace(rounding="rup"))[0] == 0xFE
    assert from_value(-big, se.name, sat_none.replace(rounding="rdn"))[0] == 0xFF
    # ToOdd: signed extended goes to +Inf (code 0x7F is odd); unsigned extended stays at M_hi
    # (0xFD is odd, the +Inf code 0xFE is even)
    assert from_value(big, se.name, sat_none.replace(rounding="rto"))[0] == 0x7F
    assert from_value(4 * ue.m_hi, ue.name, sat_none.replace(rounding="rto"))[0] == 0xFD
    assert from_value(4 * ue.m_hi, ue.name, sat_none)[0] == 0xFE
    # finite formats saturate under SatNone, Inf included
    assert from_value(4 * sf.m_hi, sf.name, sat_none) == (0x7F, Flag.OVERFLOW | Flag.INEXACT | Flag.SATURATED)
    assert from_value("inf", sf.name, sat_none)[0] == 0x7F
    assert from_value("-inf", sf.name, sat_none)[0] == 0xFF
    assert from_value(4 * uf.m_hi, uf.name, sat_none)[0] == 0xFE
    # negative values into unsigned formats: NaN, or M_lo = 0 under TowardZero/TowardPositive
    for spec in (ue, uf):
        assert from_value(-1, spec.name, sat_none) == (0xFF, Flag.INVALID)
        assert from_value(-1, spec.name, sat_none.replace(rounding="rdn"))[0] == 0xFF
        assert from_value(-1, spec.name, sat_none.replace(rounding="rtz"))[0] == 0x00
        assert from_value(-1, spec.name, sat_none.replace(rounding="rup"))[0] == 0x00
        assert from_value("-inf", spec.name, sat_none) == (0xFF, Flag.INVALID)
        assert from_value(-1, spec.name, sat_none.replace(saturation="finite"))[0] == 0x00
        # a negative value that rounds to zero is in range: +0
        assert from_value(-spec.decode(1) / 4, spec.name, sat_none)[0] == 0x00


def test_rounding_precedes_saturation():
    """Binary8p4se: M_hi = 224, the next phantom value 240; 232 is their midpoint and 224's
    trailing significand (110) is even, so RNE keeps 224 while RNA, RUP overflow to +Inf."""
    se = SAT_SPECS[0]
    assert se.m_hi == 224
    assert from_value(232, se.name, P3109) == (0x7E, Flag.INEXACT)
    assert from_value(232, se.name, P3109.replace(rounding="rna"))[0] == 0x7F
    assert from_value(232, se.name, P3109.replace(rounding="rup"))[0] == 0x7F
    assert from_value(231, se.name, P3109.replace(rounding="rna"))[0] == 0x7E


# -- stochastic rounding, by hand ------------------------------------------------------------------

def stochastic_rounds_away(mode, nu, n, rand):
    """The §4.7.4 decisions, written out with Fractions."""
    if mode == "sr-a":
        return math.floor(nu * 2 ** n) + rand >= 2 ** n
    if mode == "sr-b":
        return math.floor(nu * 2 ** (n + 1)) + 2 * rand + 1 >= 2 ** (n + 1)
    return rnite(nu * 2 ** n) + rand >= 2 ** n


def test_stochastic_hand_examples():
    """X = 1 + nu/8 in Binary8p4se (ulp of [1, 2) is 2**-3; 1.0 = 0x40, the next value 0x41)."""
    # hand computations: nu = 0.3, N = 2: floor(1.2) = 1, floor(2.4) = 2, RNITE(1.2) = 1:
    #   A away iff 1 + R >= 4; B iff 2 + 2R + 1 >= 8; C iff 1 + R >= 4  -> only R = 3 in each
    # nu = 0.4, N = 2: floor(1.6) = 1, floor(3.2) = 3, RNITE(1.6) = 2 -> A: R = 3; B, C: R in {2, 3}
    # nu = 3/8, N = 2: nu*4 = 1.5 (RNITE -> 2), nu*8 = 3 -> A: R = 3; B: R >= 2; C: R >= 2
    # nu = 5/8, N = 2: nu*4 = 2.5 (RNITE -> 2), nu*8 = 5 -> A: R >= 2; B: R >= 1; C: R >= 2
    hand = {
        (Fraction(3, 10), "sr-a"): {3}, (Fraction(3, 10), "sr-b"): {3}, (Fraction(3, 10), "sr-c"): {3},
        (Fraction(4, 10), "sr-a"): {3}, (Fraction(4, 10), "sr-b"): {2, 3}, (Fraction(4, 10), "sr-c"): {2, 3},
        (Fraction(3, 8), "sr-a"): {3}, (Fraction(3, 8), "sr-b"): {2, 3}, (Fraction(3, 8), "sr-c"): {2, 3},
        (Fraction(5, 8), "sr-a"): {2, 3}, (Fraction(5, 8), "sr-b"): {1, 2, 3}, (Fraction(5, 8), "sr-c"): {2, 3},
    }
    n = 2
    for (nu, mode), away in hand.items():
        assert {r for r in range(4) if stochastic_rounds_away(mode, nu, n, r)} == away, (nu, mode)
        x = 1 + nu / 8
        for rand in range(4):
            want = 0x41 if rand in away else 0x40
            assert from_value(x, "p3109_k8p4se", P3109.replace(rounding=mode, sr_bits=n), rand) == (
                want, Flag.INEXACT), (nu, mode, rand)
            assert from_value(-x, "p3109_k8p4se", P3109.replace(rounding=mode, sr_bits=n), rand)[0] == (
                want | 0x80), (nu, mode, rand)                   # sign-symmetric


def test_stochastic_probability_is_nu_when_n_covers_the_fraction():
    """With N at least the number of fraction bits of nu, each of A, B, C rounds away for exactly
    nu * 2**N of the 2**N values of R (notes §8)."""
    for num in range(1, 16):
        nu = Fraction(num, 16)
        x = 1 + nu / 8
        for mode in ("sr-a", "sr-b", "sr-c"):
            for n in (4, 5, 7):
                ctx = P3109.replace(rounding=mode, sr_bits=n)
                ups = sum(from_value(x, "p3109_k8p4se", ctx, r)[0] == 0x41 for r in range(2 ** n))
                assert ups == nu * 2 ** n, (nu, mode, n)


def test_stochastic_against_the_spec_rounding():
    """Every value of Binary8p4se's sixteenth grid between neighbours near 1, the bottom (between
    0 and the smallest subnormal) and the top (M_hi to the phantom 240), both signs, N = 1..4,
    every R, three policies: refnum against spec_project."""
    se = SAT_SPECS[0]
    grid = [(Fraction(1), Fraction(9, 8)), (Fraction(0), se.decode(1)), (se.m_hi, Fraction(240))]
    bad, n_cases = [], 0
    for a, b in grid:
        for k in range(1, 16):
            for x in (a + (b - a) * k / 16, -(a + (b - a) * k / 16)):
                for mode in ("sr-a", "sr-b", "sr-c"):
                    for n in (1, 2, 3, 4):
                        for rand in range(2 ** n):
                            for policy in POLICIES:
                                _, want = spec_project(x, se, mode, policy, rand, n)
                                got = refnum_code(x, se, mode, policy, rand, n)
                                n_cases += 1
                                if got != want:
                                    bad.append((str(x), mode, n, rand, policy, hex(want), hex(got)))
    assert not bad, bad[:10]
    assert n_cases == 3 * 15 * 2 * 3 * (2 + 4 + 8 + 16) * 3


# -- CodeIsEven for P = 1 ------------------------------------------------------------------------------

def test_code_is_even_for_precision_one():
    """P = 1 has no trailing significand: CodeIsEven is the parity of the code (Q + B), or
    floor(S~) = 0.  Binary8p1se (B = 64): 1.0 = code 64, 2.0 = 65, 4.0 = 66, 0.5 = 63."""
    se = Spec(8, 1, True, True)
    assert (se.codes[1], se.codes[2], se.codes[4], se.codes[Fraction(1, 2)]) == (64, 65, 66, 63)
    cases = {Fraction(3, 2): 64,        # tie between codes 64 and 65: to 64
             Fraction(3): 66,           # tie between 65 and 66: to 66 (4.0)
             Fraction(3, 4): 64,        # tie between 63 and 64: to 64 (1.0)
             Fraction(6): 66}           # tie between 66 (4) and 67 (8): to 66
    for x, code in cases.items():
        assert spec_project(x, se, "rne", "satnone")[1] == code
        assert from_value(x, se.name, P3109) == (code, Flag.INEXACT), x
        assert from_value(-x, se.name, P3109)[0] == code | 0x80
    # floor(S~) = 0 counts as even: 2**-64 is the midpoint of 0 and the smallest value 2**-63
    tiny = Fraction(1, 2 ** 64)
    assert spec_project(tiny, se, "rne", "satnone")[1] == 0
    assert from_value(tiny, se.name, P3109)[0] == 0
    assert from_value(3 * tiny / 2, se.name, P3109)[0] == 1
    # ToOdd: round away from an even code only
    assert from_value(Fraction(5, 4), se.name, P3109.replace(rounding="rto"))[0] == 65   # 64 even -> 65
    assert from_value(Fraction(5, 2), se.name, P3109.replace(rounding="rto"))[0] == 65   # 65 odd stays
    # unsigned Binary8p1ue (B = 128): 1.0 = 128, 2.0 = 129, 4.0 = 130
    ue = Spec(8, 1, False, True)
    for x, code in {Fraction(3, 2): 128, Fraction(3): 130, Fraction(3, 4): 128}.items():
        assert spec_project(x, ue, "rne", "satnone")[1] == code
        assert from_value(x, ue.name, P3109)[0] == code
    # the ml_dtypes knob: the implicit bit as the LSB, so ties go up
    assert from_value(Fraction(3, 2), se.name, P3109.replace(p1_parity="significand"))[0] == 65


# -- the projection oracle against refnum on binary16 inputs ---------------------------------------------

def _f16_value(code):
    x = struct.unpack("<e", struct.pack("<H", code))[0]
    if math.isnan(x):
        return NAN
    if math.isinf(x):
        return POS_INF if x > 0 else NEG_INF
    return Fraction(x)


@pytest.mark.parametrize("spec", [*SAT_SPECS, Spec(8, 1, True, True), Spec(8, 3, True, True),
                                  Spec(8, 1, False, False), Spec(4, 2, True, False)], ids=lambda s: s.name)
def test_projection_of_binary16_codes(spec):
    """Every 101st binary16 code through spec_project and refnum, all nine modes (N = 3, R cycling),
    the three policies."""
    bad, n = [], 0
    for i, c in enumerate(range(0, 1 << 16, 101)):
        x = _f16_value(c)
        for mode in MODES:
            n_bits, rand = (3, i % 8) if mode.startswith("sr-") else (0, 0)
            for policy in POLICIES:
                want = spec_project(x, spec, mode, policy, rand, n_bits)[1]
                got = refnum_code(x, spec, mode, policy, rand, n_bits)
                n += 1
                if got != want:
                    bad.append((hex(c), str(x), mode, rand, policy, hex(want), hex(got)))
    assert not bad, bad[:10]
    assert n > 15000
