"""Conversions into every format of at most 8 bits, against the brute-force oracle.

The oracle (tests/oracle.py) rounds by enumeration: the sorted list of the
format's values, a bisection, the neighbour picked by the definition of the
mode (P3109 v4.0 §4.7.4 for the stochastic ones), then the overflow policy
table (IEEE 754 §7.4 / OFP8 non-SAT, SatFinite, SatPropagate, P3109 v4.0
§4.7.5 SatNone) and the IEEE flags.  Everything is compared bit for bit:
result code and the five IEEE flag bits.

Default suite: every binary16 code into every <= 8-bit catalog format and a set
of P3109/generic formats under their default policy, all four policies on six
formats (in-range inputs, which no policy touches, thinned to every 7th code),
every other rounding mode on each format's boundary set given as binary32
codes, the tininess, FTZ/DAZ and E8M0 knobs.  ``-m slow`` runs the full
product: every binary16 code x every format x every policy, and the
stochastic modes on every format with more random values.
"""

import bisect
from fractions import Fraction

import pytest

import oracle
from refnum import Context, convert, lookup

F16_VALUES = [oracle.ieee_value(c, 5, 10) for c in range(1 << 16)]
P3109_K8 = [f"p3109_k8p{p}{s}{d}" for s in "su" for d in "ef" for p in range(1, 8 + (s == "u"))]
P3109_SMALL_K = ["p3109_k3p1se", "p3109_k3p2uf", "p3109_k4p2sf", "p3109_k4p3ue", "p3109_k5p2ue",
                 "p3109_k6p3se", "p3109_k7p6sf", "p3109_k7p1uf"]
GENERIC = ["e3m3_fn", "e4m2_fnuz", "e5m2_b13", "e3m2_fin_nosub", "e4m3_ieee_u"]
CATALOG = list(oracle.FLOAT_CATALOG)
EDGE = ["e4m3", "e5m2", "e2m1", "e8m0", "p3109_k8p4se", "p3109_k8p1uf"]
ALL_FLOATS = CATALOG + P3109_K8 + P3109_SMALL_K + GENERIC
DEFAULT_F16 = CATALOG + ["p3109_k8p4se", "p3109_k4p2sf"]      # the P3109 conformance F8/F4 formats
DEFAULT_MODES_FORMATS = CATALOG + list(oracle.FIXED_CATALOG) + [
    "p3109_k8p4se", "p3109_k8p3sf", "p3109_k8p1uf", "p3109_k8p1se", "p3109_k8p4ue", "p3109_k5p2se",
    "e3m2_fin_nosub", "e4m3_ieee_u", "e4m2_fnuz"]
POLICIES = oracle.POLICIES
DIRECTED = ("rna", "rtz", "rup", "rdn", "rto")
SR = ("sr-a", "sr-b", "sr-c")
SR_RANDOM = {1: (0, 1), 3: (0, 3, 7), 8: (0, 128, 255)}
SR_RANDOM_SLOW = {1: (0, 1), 3: (0, 1, 2, 3, 4, 5, 6, 7), 8: (0, 1, 64, 127, 128, 200, 254, 255)}

CASES = {"count": 0}


class _F32Values(dict):
    """binary32 code -> exact value (oracle decoding), filled on demand."""

    def __missing__(self, code):
        self[code] = v = oracle.ieee_value(code, 8, 23)
        return v


F32_VALUES = _F32Values()


@pytest.fixture(scope="module", autouse=True)
def case_count():
    yield
    print(f"\n{__name__}: {CASES['count']} (input, format, mode, policy) cases checked")


def sweep(src, codes, name, mode="rne", policy=None, sr_bits=0, rand=0, **knobs):
    """Convert every code; return the mismatches against the oracle (empty when all agree)."""
    fmt, ofmt = lookup(name), oracle.oracle_format(name)
    ctx = Context(rounding=mode, saturation=policy, sr_bits=sr_bits, **knobs)
    okw = {k: v for k, v in knobs.items() if k in ("tininess", "ftz", "zero_missing", "p1_parity", "exact")}
    values = F16_VALUES if src == "f16" else F32_VALUES
    bad = []
    for c in codes:
        x = values[c]
        got = convert(c, src, fmt, ctx, rand)
        want = oracle.nearest(x, ofmt, mode, policy, rand=rand, sr_bits=sr_bits, **okw)
        if (got[0], got[1] & 0x1F) != want:
            bad.append(f"{src} {c:0{4 if src == 'f16' else 8}X} ({x}) -> {got[0]:02X}/{got[1] & 0x1F:02X},"
                       f" oracle {want[0]:02X}/{want[1]:02X}")
    CASES["count"] += len(codes)
    return bad


def report(bad, what):
    return f"{what}: {len(bad)} mismatches, first: " + "; ".join(bad[:6])


# --------------------------------------------------------------------------------------------
# Every binary16 code, round to nearest even, each overflow policy
# --------------------------------------------------------------------------------------------

ALL_F16 = range(1 << 16)


@pytest.mark.parametrize("name", DEFAULT_F16)
def test_every_f16_code_default_policy(name):
    bad = sweep("f16", ALL_F16, name)
    assert not bad, report(bad, name)


def finite_values(ofmt):
    return [v for v in oracle.small_float_values(ofmt).values() if isinstance(v, Fraction) and not isinstance(v, str)]


def policy_relevant(name, values, thin=1):
    """Indices of the inputs an overflow policy can act on: NaN, Inf, magnitudes in
    [max/2, 2 max], and for unsigned formats negative ones (all of them when thin == 0,
    else those below twice the smallest value); every ``thin``-th of the others (those
    go through the default policy too)."""
    ofmt = oracle.oracle_format(name)
    mags = [abs(v) for v in finite_values(ofmt)]
    vmax, small = max(mags), 2 * min(m for m in mags if m)
    out = []
    for i, x in enumerate(values):
        if not isinstance(x, Fraction) or isinstance(x, str):
            out.append(i)
        elif vmax <= 2 * abs(x) <= 4 * vmax or (not ofmt.signed and x < 0 and (-x <= small or not thin)):
            out.append(i)
        elif thin and i % thin == 0:
            out.append(i)
    return out


def policy_codes(name):
    """The binary16 codes for the policy sweeps (every 32nd away from the edges)."""
    return policy_relevant(name, F16_VALUES, thin=32)


@pytest.mark.parametrize("name,policy", [(n, p) for n in EDGE for p in POLICIES
                                         if p != oracle.oracle_format(n).saturation])   # default: above
def test_f16_each_policy(name, policy):
    bad = sweep("f16", policy_codes(name), name, policy=policy)
    assert not bad, report(bad, f"{name} {policy}")


@pytest.mark.slow
@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", ALL_FLOATS)
def test_every_f16_code_every_policy(name, policy):
    bad = sweep("f16", ALL_F16, name, policy=policy)
    assert not bad, report(bad, f"{name} {policy}")


@pytest.mark.parametrize("name", ["mxint8", "int4"])
def test_every_f16_code_to_fixed(name):
    # float -> integer/fixed point: TestFloat semantics (invalid and saturate out of
    # range, inexact only with ``exact``); exact=True so that inexact is checked too.
    bad = sweep("f16", ALL_F16, name, exact=True)
    assert not bad, report(bad, name)


@pytest.mark.slow
@pytest.mark.parametrize("exact", [False, True])
@pytest.mark.parametrize("mode", ("rne",) + DIRECTED)
@pytest.mark.parametrize("name", oracle.FIXED_CATALOG)
def test_every_f16_code_to_fixed_every_mode(name, mode, exact):
    bad = sweep("f16", ALL_F16, name, mode=mode, exact=exact)
    assert not bad, report(bad, f"{name} {mode} exact={exact}")


# --------------------------------------------------------------------------------------------
# Boundary sets as binary32 codes, every other rounding mode
# --------------------------------------------------------------------------------------------

F16_POSITIVE = sorted(v for v in F16_VALUES if isinstance(v, Fraction) and not isinstance(v, str) and v > 0)


def f32_code(y):
    """The binary32 code of a nonnegative exact value, or None if it is not representable."""
    if y == 0:
        return 0
    e = y.numerator.bit_length() - y.denominator.bit_length()
    if Fraction(2) ** e > y:
        e -= 1
    if e > 127:
        return None
    if e < -126:
        sig = y * 2**149
        return int(sig) if sig.denominator == 1 else None
    sig = y * Fraction(2) ** (23 - e)
    if sig.denominator != 1:
        return None
    return (e + 127) << 23 | (int(sig) - (1 << 23))


def f16_neighbours(y):
    """The binary16 values just below and just above y (y excluded)."""
    i = bisect.bisect_left(F16_POSITIVE, y)
    j = bisect.bisect_right(F16_POSITIVE, y)
    out = []
    if i > 0:
        out.append(F16_POSITIVE[i - 1])
    if j < len(F16_POSITIVE):
        out.append(F16_POSITIVE[j])
    return out


def boundary_points(ofmt):
    """Every representable magnitude, every midpoint between neighbours (0 and the phantom
    values above max included), max + ulp/2, 2*max, tiny values below the smallest one."""
    values = oracle.small_float_values(ofmt)
    mags = sorted({abs(v) for v in values.values() if isinstance(v, Fraction) and not isinstance(v, str)})
    if ofmt.kind == "fixed":
        ulp_max = Fraction(1, 2**ofmt.frac)
    else:
        vmax = mags[-1]
        e = vmax.numerator.bit_length() - vmax.denominator.bit_length()
        if Fraction(2) ** e > vmax:
            e -= 1
        ulp_max = Fraction(2) ** (e - ofmt.mbits)        # the spacing of max's binade
    phantom = mags[-1] + ulp_max
    grid = ([0] if mags[0] != 0 else []) + mags + [phantom]
    points = set(grid)
    points.update((a + b) / 2 for a, b in zip(grid, grid[1:]))
    points.update((2 * mags[-1], mags[-1] + 3 * ulp_max / 2, 4 * phantom))
    smallest = mags[1] if mags[0] == 0 else mags[0]
    points.update((smallest / 4, smallest / 3, 3 * smallest / 4))
    return points


def boundary_codes(name):
    """binary32 codes: the boundary points, their binary32 and binary16 neighbours, both
    signs, zeros, infinities, quiet and signalling NaNs."""
    codes = {0x7F800000, 0x7FC00000, 0x7FA00000, 0x7F7FFFFF, 0x00000001, 0x00800000}
    for y in boundary_points(oracle.oracle_format(name)):
        c = f32_code(y)
        if c is not None:
            codes.update((c, c + 1) if c == 0 else (c - 1, c, c + 1))
        for n in f16_neighbours(y):
            codes.add(f32_code(n))
    codes = {c for c in codes if c < 0x7F800000 or c in (0x7F800000, 0x7FC00000, 0x7FA00000)}
    return sorted(codes | {c | 0x80000000 for c in codes})


_BOUNDARY = {}


def boundary(name):
    if name not in _BOUNDARY:
        _BOUNDARY[name] = boundary_codes(name)
    return _BOUNDARY[name]


def test_boundary_set_contains_the_cited_cases():
    codes = set(boundary("e4m3"))
    for y in (448, 464, 480, 896, Fraction(1, 2**10)):            # max, tie, phantom, 2*max, minS/2
        assert f32_code(Fraction(y)) in codes
    assert f32_code(Fraction(465)) not in codes and f32_code(Fraction(464)) + 1 in codes
    assert 0x80000000 in codes and 0xFFC00000 in codes


@pytest.mark.parametrize("mode", DIRECTED)
@pytest.mark.parametrize("name", DEFAULT_MODES_FORMATS)
def test_boundary_set_other_modes(name, mode):
    bad = sweep("f32", boundary(name), name, mode=mode)
    assert not bad, report(bad, f"{name} {mode}")


def boundary_policy(name):
    codes = boundary(name)
    return [codes[i] for i in policy_relevant(name, [F32_VALUES[c] for c in codes], thin=0)]


@pytest.mark.parametrize("policy", POLICIES)
@pytest.mark.parametrize("name", EDGE + ["ue4m3", "p3109_k8p1ue", "p3109_k8p3ue", "e4m3_ieee_u"])
def test_boundary_set_other_modes_each_policy(name, policy):
    bad = []
    for mode in DIRECTED:
        bad += sweep("f32", boundary_policy(name), name, mode=mode, policy=policy)
    assert not bad, report(bad, f"{name} {policy}")


def sr_cases(random_values):
    return [(mode, n, r) for mode in SR for n, rs in random_values.items() for r in rs]


@pytest.mark.parametrize("name", ["e4m3", "e5m2", "e2m1", "e8m0", "p3109_k8p1uf", "mxint8"])
def test_boundary_set_stochastic(name):
    bad = []
    for mode, n, r in sr_cases(SR_RANDOM):
        bad += sweep("f32", boundary(name), name, mode=mode, sr_bits=n, rand=r)
    assert not bad, report(bad, name)


@pytest.mark.parametrize("policy", POLICIES)
def test_boundary_set_stochastic_each_policy(policy):
    bad = []
    for name in ("e4m3", "e5m2", "e2m1", "ue4m3", "p3109_k8p4se", "p3109_k8p1ue"):
        for mode, n, r in sr_cases({3: (0, 5, 7)}):
            bad += sweep("f32", boundary_policy(name), name, mode=mode, policy=policy, sr_bits=n, rand=r)
    assert not bad, report(bad, policy)


@pytest.mark.slow
@pytest.mark.parametrize("name", ALL_FLOATS + list(oracle.FIXED_CATALOG))
def test_boundary_set_every_mode_slow(name):
    bad = []
    for mode in ("rne",) + DIRECTED:
        for policy in POLICIES:
            bad += sweep("f32", boundary(name), name, mode=mode, policy=policy)
    for mode, n, r in sr_cases(SR_RANDOM_SLOW):
        bad += sweep("f32", boundary(name), name, mode=mode, sr_bits=n, rand=r)
    assert not bad, report(bad, name)


def test_stochastic_rounding_probability_is_nu():
    # P3109 v4.0 §4.7.4: over all 2**N values of R, StochasticA rounds away exactly
    # floor(nu * 2**N) times.  1 + 3/8 lies 3/8 of the way from 1 to 1.125 in E4M3 (N = 3).
    x = f32_code(1 + Fraction(3, 64))                   # between 1 and 1 + 1/8, nu = 3/8
    ups = [convert(x, "f32", "e4m3", Context(rounding=m, sr_bits=3), r)[0] == 0x39
           for m in SR for r in range(8)]
    assert [sum(ups[i * 8:(i + 1) * 8]) for i in range(3)] == [3, 3, 3]


# --------------------------------------------------------------------------------------------
# Cited boundaries (ml-formats-spec.md §1.1 notes, §2.1 table)
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,policy,code,flags", [
    (448, "none", 0x7E, 0), (464, "none", 0x7E, 0x01), (465, "none", 0x7F, 0x05),
    (464, "finite", 0x7E, 0x01), (465, "finite", 0x7E, 0x05), (-465, "finite", 0xFE, 0x05),
])
def test_e4m3_464_465(value, policy, code, flags):
    c = f32_code(Fraction(abs(value))) | (0x80000000 if value < 0 else 0)
    got = convert(c, "f32", "e4m3", Context(saturation=policy))
    assert (got[0], got[1] & 0x1F) == (code, flags)
    assert oracle.nearest(Fraction(value), oracle.catalog_format("e4m3"), "rne", policy) == (code, flags)


@pytest.mark.parametrize("value,policy,code,flags", [
    (57344, "none", 0x7B, 0), (61440, "none", 0x7C, 0x05), (61440, "finite", 0x7B, 0x05),
    (61439, "none", 0x7B, 0x01), (-61440, "none", 0xFC, 0x05),
])
def test_e5m2_61440(value, policy, code, flags):
    c = f32_code(Fraction(abs(value))) | (0x80000000 if value < 0 else 0)
    got = convert(c, "f32", "e5m2", Context(saturation=policy))
    assert (got[0], got[1] & 0x1F) == (code, flags)
    assert oracle.nearest(Fraction(value), oracle.catalog_format("e5m2"), "rne", policy) == (code, flags)


def test_negative_into_unsigned_nan_raises_invalid_only():
    # A NaN delivered for a non-NaN operand is an invalid operation: invalid and no
    # other flag (IEEE 754 §7.2; TestFloat's out-of-range float -> int).  refnum used
    # to keep underflow/overflow while dropping inexact (flags 0x12 / 0x14).
    for value in (-500, Fraction(-1025, 2**20), -1):
        c = f32_code(-value) | 0x80000000
        for policy in ("none", "satnone"):
            got = convert(c, "f32", "ue4m3", Context(saturation=policy))
            assert (got[0], got[1] & 0x1F) == (0x7F, 0x10), (value, policy, got)


# --------------------------------------------------------------------------------------------
# Tininess, FTZ, DAZ
# --------------------------------------------------------------------------------------------

def subnormal_edge_codes(name):
    """binary32 codes around the subnormal/normal boundary: every binary16 value in
    [minN/2, minN] and the boundary set in [minN/4, 2 minN]."""
    ofmt = oracle.oracle_format(name)
    minn = ofmt.min_normal
    codes = {f32_code(v) for v in F16_POSITIVE if minn / 2 <= v <= minn}
    codes |= {c for c in boundary(name) if c < 0x7F800000 and minn / 4 <= oracle.ieee_value(c, 8, 23) <= 2 * minn}
    return sorted(codes | {c | 0x80000000 for c in codes})


@pytest.mark.parametrize("name", ["e4m3", "e5m2"])
def test_tininess_before_and_after(name):
    codes = subnormal_edge_codes(name)
    bad, differ = [], 0
    for mode in ("rne",) + DIRECTED:
        bad += sweep("f32", codes, name, mode=mode, tininess="before")
        bad += sweep("f32", codes, name, mode=mode, tininess="after")
        differ += sum(convert(c, "f32", name, Context(rounding=mode, tininess="before"))
                      != convert(c, "f32", name, Context(rounding=mode, tininess="after")) for c in codes)
    assert not bad, report(bad, name)
    assert differ > 0


def test_tininess_example_e4m3():
    # 15.75 * 2**-10 lies below minN = 2**-6 = 16 * 2**-10 (tiny before rounding); on
    # the subnormal grid (step 2**-9) it rounds to minN, and with an unbounded exponent
    # (step 2**-10 in that binade) it also rounds to 16 * 2**-10: not tiny after.
    c = f32_code(Fraction(63, 2**12))
    assert convert(c, "f32", "e4m3", Context(tininess="before")) == (0x08, 0x03)
    assert convert(c, "f32", "e4m3", Context(tininess="after")) == (0x08, 0x01)
    # 15.25 * 2**-10 rounds to minN on the subnormal grid but to 15 * 2**-10 unbounded.
    c = f32_code(Fraction(61, 2**12))
    assert convert(c, "f32", "e4m3", Context(tininess="after")) == (0x08, 0x03)


@pytest.mark.parametrize("name", ["e4m3", "e5m2", "float8_e3m4", "p3109_k8p4se"])
def test_ftz_by_definition(name):
    # FTZ: a tiny result (tininess after rounding) is replaced by a zero of its sign,
    # raising underflow and inexact; every other result is unchanged.
    bad = sweep("f32", subnormal_edge_codes(name), name, ftz=True)
    assert not bad, report(bad, name)
    ofmt = oracle.oracle_format(name)
    minn = ofmt.min_normal
    smallest = min(v for v in oracle.small_float_values(ofmt).values()
                   if isinstance(v, Fraction) and not isinstance(v, str) and v > 0)
    zero, negzero = convert(0, "f32", name)[0], convert(0x80000000, "f32", name)[0]
    ctx = Context(ftz=True)
    assert convert(f32_code(smallest), "f32", name, ctx) == (zero, 0x03)       # exact subnormal
    assert convert(f32_code(smallest) | 0x80000000, "f32", name, ctx) == (negzero, 0x03)
    assert convert(f32_code(minn), "f32", name, ctx) == convert(f32_code(minn), "f32", name)
    assert convert(f32_code(3 * minn), "f32", name, ctx) == convert(f32_code(3 * minn), "f32", name)


def test_daz_by_definition():
    # DAZ: a subnormal input reads as a zero of its sign.  binary16 0x0200 = 2**-15 is an
    # f16 subnormal and an exact E5M2 subnormal (0x02).
    assert convert(0x0200, "f16", "e5m2") == (0x02, 0)
    assert convert(0x0200, "f16", "e5m2", Context(daz=True)) == (0x00, 0)
    assert convert(0x8200, "f16", "e5m2", Context(daz=True)) == (0x80, 0)
    assert convert(0x0400, "f16", "e5m2", Context(daz=True)) == (0x04, 0)      # 2**-14 is normal
    # DAZ on every binary16 subnormal, into E4M3: the result is the conversion of a zero.
    for c in list(range(1, 0x400)) + list(range(0x8001, 0x8400)):
        assert convert(c, "f16", "e4m3", Context(daz=True)) == ((c & 0x8000) >> 8, 0)
        CASES["count"] += 1


# --------------------------------------------------------------------------------------------
# E8M0 knobs (ml-formats-spec.md §5 table)
# --------------------------------------------------------------------------------------------

def e8m0_code(power):
    return power + 127          # E8M0 value 2**(c - 127), ml-formats-spec.md §1.1


@pytest.mark.parametrize("value,even_code,up_code", [
    (3, e8m0_code(1), e8m0_code(2)),                       # 3 -> 2 (code parity) vs 4
    (Fraction(3, 4), e8m0_code(-1), e8m0_code(0)),         # 0.75 -> 0.5 vs 1
    (6, e8m0_code(3), e8m0_code(3)),                       # 6 -> 8 both ways
])
def test_e8m0_tie_parity(value, even_code, up_code):
    c = f32_code(Fraction(value))
    assert convert(c, "f32", "e8m0", Context(p1_parity="code"))[0] == even_code
    assert convert(c, "f32", "e8m0", Context(p1_parity="significand"))[0] == up_code
    o = oracle.catalog_format("e8m0")
    assert oracle.nearest(Fraction(value), o, p1_parity="code")[0] == even_code
    assert oracle.nearest(Fraction(value), o, p1_parity="significand")[0] == up_code


def test_e8m0_zero_missing():
    # 0 -> 2**-127 (code 0x00: torch, TE, MX zero blocks) or NaN (0xFF: ml_dtypes).
    for zero in (0x00000000, 0x80000000):
        assert convert(zero, "f32", "e8m0", Context(zero_missing="min"))[0] == 0x00
        assert convert(zero, "f32", "e8m0", Context(zero_missing="nan"))[0] == 0xFF
        for knob in ("min", "nan"):
            got = convert(zero, "f32", "e8m0", Context(zero_missing=knob))
            want = oracle.nearest(oracle.ieee_value(zero, 8, 23), oracle.catalog_format("e8m0"), zero_missing=knob)
            assert (got[0], got[1] & 0x1F) == want


@pytest.mark.parametrize("p1_parity", ["code", "significand"])
def test_e8m0_parity_on_boundary_set(p1_parity):
    bad = sweep("f32", boundary("e8m0"), "e8m0", p1_parity=p1_parity)
    assert not bad, report(bad, p1_parity)
