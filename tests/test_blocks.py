"""Blocks: scale rules and element rounding against brute force, round trips, edge blocks, errors.

The oracle enumerates every E8M0 scale exponent and keeps the one the rule's
definition (ml-formats-spec notes §3.2-3.3) selects; elements are rounded by
tests/oracle.py's enumeration of the element format, which imports nothing from refnum.
"""

import random
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import oracle
from refnum import Context, Flag, RefnumError
from refnum.blocks import blocks_of, dequantize, quantize, quantize_tensor, requantize, scheme
from refnum.blocks import dfp

MX_FLOAT = {"mxfp4": "e2m1", "mxfp6_e2m3": "e2m3", "mxfp6_e3m2": "e3m2", "mxfp8_e4m3": "e4m3",
            "mxfp8_e5m2": "e5m2"}
RULES = ("floor", "ceil", "even", "rceil")


def element_grid(name):
    """The element format's finite values, by enumeration."""
    fmt = oracle.catalog_format(name)
    return sorted({v for v in oracle.small_float_values(fmt).values() if isinstance(v, Fraction)})


def e8m0_candidates():
    return range(-127, 128)


def _elem_mantissa_bits(name):
    return oracle.catalog_format(name).mbits


def binade(q):
    """n with 2**n <= q < 2**(n + 1), by search from the bit lengths."""
    n = q.numerator.bit_length() - q.denominator.bit_length() - 2
    while Fraction(2) ** (n + 1) <= q:
        n += 1
    return n


def rule_selects(rule, e, amax, grid, m):
    """Whether the rule's definition selects the (unclamped) exponent e for amax > 0."""
    top = max(grid)
    emax = binade(top)                       # the largest power of two the element format holds
    lo, hi = Fraction(2) ** (e + emax), Fraction(2) ** (e + emax + 1)
    if rule == "floor":
        return lo <= amax < hi
    if rule == "ceil":
        return lo / 2 < amax <= lo
    if rule == "even":                       # amax rounded to m fraction bits, ties away, then floor
        ulp = Fraction(2) ** (binade(amax) - m)
        r = (amax / ulp + Fraction(1, 2)).__floor__() * ulp
        return lo <= r < hi
    return amax / Fraction(2) ** e <= top < amax / Fraction(2) ** (e - 1)   # rceil: the smallest e that fits


def chosen_exponent(rule, amax, grid, m):
    """Every candidate exponent within 40 of amax's binade (the rules differ by at most a few)."""
    n = binade(amax)
    hits = [e for e in range(n - 40, n + 40) if rule_selects(rule, e, amax, grid, m)]
    assert len(hits) == 1, (rule, amax, hits)
    return min(max(hits[0], -127), 127)


def random_amax_block(rng, k):
    """k dyadic values; the largest often sits at a binade edge or a tie of the element grid."""
    e = rng.randrange(-140, 130)
    special = rng.choice([Fraction(1), Fraction(3, 2), Fraction(7, 4), Fraction(15, 8), Fraction(31, 16),
                          2 - Fraction(1, 1 << 20), Fraction(13, 8), Fraction(1 << 23 | rng.getrandbits(23), 1 << 23)])
    vals = [special * Fraction(2) ** e * rng.choice((1, -1))]
    for _ in range(k - 1):
        frac = Fraction(rng.getrandbits(12) + 1, 1 << 12)
        vals.append(frac * vals[0] * rng.choice((1, -1)) if rng.random() < 0.8 else Fraction(0))
    rng.shuffle(vals)
    return vals


@pytest.mark.parametrize("name", sorted(MX_FLOAT))
@pytest.mark.parametrize("rule", RULES)
def test_scale_and_elements_by_enumeration(name, rule):
    """Brute force: the chosen E8M0 exponent follows the rule's definition, and every element
    is the correctly rounded (RNE, clamped) quotient, flags included."""
    elem = MX_FLOAT[name]
    grid, m = element_grid(elem), _elem_mantissa_bits(elem)
    ofmt = oracle.catalog_format(elem)
    rng = random.Random(f"{name}-{rule}")
    for _ in range(40):
        vals = random_amax_block(rng, 4)
        b = quantize(vals, scheme(name, k=4, rule=rule))
        amax = max(abs(v) for v in vals)
        e = chosen_exponent(rule, amax, grid, m)
        assert b.scale == e + 127, (vals, rule)
        for v, code, flags in zip(vals, b.elements, b.flags):
            want = oracle.nearest(v / Fraction(2) ** e, ofmt, "rne", "finite")
            assert (code, flags & 0x1F) == want, (v, e)


@pytest.mark.parametrize("name", sorted(MX_FLOAT))
def test_microxcaling_half_away(name):
    """microxcaling's default element rounding is ties away (rna): each element matches the oracle."""
    elem = MX_FLOAT[name]
    ofmt = oracle.catalog_format(elem)
    rng = random.Random(name)
    for _ in range(40):
        vals = random_amax_block(rng, 8)
        b = quantize(vals, scheme(name, k=8), Context(rounding="rna"))
        e = b.scale - 127
        assert [c for c in b.elements] == [oracle.nearest(v / Fraction(2) ** e, ofmt, "rna", "finite")[0]
                                           for v in vals]


def test_mxfp4_rule_table():
    """The worked example of the notes (§3.3): amax 3, 3.25, 7 under each rule; dequantized largest element."""
    want = {"3": {"floor": (-1, "3"), "ceil": (0, "3"), "even": (-1, "3"), "rceil": (-1, "3")},
            "3.25": {"floor": (-1, "3"), "ceil": (0, "3"), "even": (-1, "3"), "rceil": (0, "3")},
            "7": {"floor": (0, "6"), "ceil": (1, "8"), "even": (1, "8"), "rceil": (1, "8")}}
    for amax, row in want.items():
        for rule, (e, top) in row.items():
            b = quantize([amax, "0.5"], scheme("mxfp4", rule=rule))
            assert (b.scale - 127, str(dequantize(b)[0])) == (e, top), (amax, rule)


@pytest.mark.parametrize("name", sorted(MX_FLOAT) + ["mxint8"])
def test_round_trip_exact(name):
    """Blocks of element values times 2**E with an element in the top binade: quantize chooses
    2**E (FLOOR) and dequantize gives every value back exactly, with no flag (OCP MX §6.3)."""
    s = scheme(name)
    fmt = s.element_format
    values = {c: fmt.decode(c).to_fraction() for c in range(fmt.ncodes) if fmt.decode(c).is_finite}
    largest = max(values.values())
    codes = [c for c, v in values.items() if abs(v) <= largest]      # not MXINT8's -128 (-2 > 127/64)
    top = [c for c in codes if abs(values[c]) >= Fraction(2) ** binade(largest)]
    rng = random.Random(name)
    for _ in range(50):
        e = rng.randrange(-127, 128)
        picks = [rng.choice(top)] + [rng.choice(codes) for _ in range(31)]
        vals = [fmt.decode(c).to_fraction() * Fraction(2) ** e for c in picks]
        b = quantize(vals, s)
        assert b.scale == e + 127
        assert [v.to_fraction() for v in dequantize(b)] == vals
        assert b.all_flags == 0


def test_zero_subnormal_and_out_of_range_blocks():
    e4m3 = scheme("mxfp8_e4m3")
    zero = quantize(["0", "-0"], e4m3)
    assert (zero.scale, zero.elements, zero.all_flags) == (0, (0, 0x80), 0)
    tiny = quantize([Fraction(3, 2 ** 140)], e4m3)                  # below an fp32 subnormal: scale clamps
    assert tiny.scale == 0 and tiny.scale_flags == Flag.UNDERFLOW | Flag.SATURATED
    assert tiny.elements == (0,) and tiny.flags[0] & Flag.UNDERFLOW
    huge = quantize([2 ** 200], e4m3)
    assert huge.scale == 0xFE and huge.scale_flags == Flag.OVERFLOW | Flag.SATURATED
    assert huge.elements == (0x7E,)                                 # clamped to 448
    assert quantize([2 ** 200], e4m3.replace(scale_overflow="nan")).scale == 0xFF
    sub = quantize([Fraction(1, 2 ** 130)], e4m3)                   # an fp32-subnormal amax: exact log2
    assert sub.scale == 0 and [v.to_fraction() for v in dequantize(sub)] == [Fraction(1, 2 ** 130)]


def test_nonfinite_policies():
    s = scheme("mxfp8_e4m3", k=4)
    b = quantize(["1", "nan", "2", "-3"], s)
    assert b.scale == 0xFF and b.scale_flags == Flag.INVALID
    assert all(v.is_nan for v in dequantize(b))
    assert quantize(["inf", "1"], s).scale == 0xFF
    el = quantize(["1", "nan", "-inf", "-3"], s.replace(nonfinite="element"))
    assert el.scale == 127 - 7                                      # from the finite amax 3: 1 - 8
    assert el.elements[1] == 0x7F and el.elements[2] == 0xFE        # NaN kept; -Inf saturates to -448
    e2m1 = quantize(["nan", "1"], scheme("mxfp4", nonfinite="element"))
    assert e2m1.elements[0] == 0x7 and e2m1.flags[0] & Flag.INVALID  # no NaN in E2M1: +max (nan_missing)


def test_log2_knobs_reproduce_the_off_by_one():
    """microxcaling (torch.log2 in float32) and gfloat (float64) see an amax just below 2**n as 2**n."""
    below = 2 ** 10 - Fraction(2 ** 10, 2 ** 24)                    # the binary32 just below 1024
    assert quantize([below], "mxfp8_e4m3").scale == 127 + 9 - 8
    assert quantize([below], scheme("mxfp8_e4m3", log2="binary32")).scale == 127 + 10 - 8
    assert quantize([below], scheme("mxfp8_e4m3", log2="binary64")).scale == 127 + 9 - 8
    near = 2 ** 10 - Fraction(2 ** 10, 2 ** 53)
    assert quantize([near], scheme("mxfp8_e4m3", log2="binary64")).scale == 127 + 10 - 8
    assert quantize([Fraction(3, 2)], scheme("mxfp8_e4m3", log2="binary32")).scale == 127 + 0 - 8


def test_stochastic_elements_and_rand_validation():
    s = scheme("mxfp4", k=2)
    ctx = Context(rounding="sr-a", sr_bits=8)
    # 5/4 lies halfway from 1 to 1.5: sr-a rounds up iff floor(nu * 256) + R >= 256, i.e. R >= 128
    lo = quantize(["5/4", "4"], s, ctx, rand=[127, 0])
    hi = quantize(["5/4", "4"], s, ctx, rand=[128, 0])
    assert (lo.elements[0], hi.elements[0]) == (0x2, 0x3)
    with pytest.raises(RefnumError, match="rand"):
        quantize(["1"], s, ctx)
    with pytest.raises(RefnumError, match="rand"):
        quantize(["1"], s, ctx, rand=[256])
    with pytest.raises(TypeError, match="rand"):
        quantize(["1"], s, ctx, rand=[True])
    with pytest.raises(RefnumError, match="rand"):
        quantize(["1"], s, rand=[0])
    with pytest.raises(TypeError, match="ctx"):
        quantize(["1"], s, ctx="rne")
    with pytest.raises(TypeError, match="values"):
        quantize("1", s)
    with pytest.raises(RefnumError, match="values"):
        quantize(["1"] * 3, s)
    with pytest.raises(RefnumError, match="unknown block scheme 'mxfp5'"):
        scheme("mxfp5")
    with pytest.raises(RefnumError, match="tensor_scale"):
        quantize(["1"], s, tensor_scale=0x3F800000)
    with pytest.raises(RefnumError, match="per-tensor scale"):
        scheme("mxfp4", rule="nvfp4")
    with pytest.raises(RefnumError, match="floating-point scale"):
        scheme("dfp16", rule="amax")
    with pytest.raises(RefnumError, match="k must be"):
        scheme("mxfp4", k=0)


def test_requantize_is_one_rounding():
    b = quantize(["1.3", "-0.7", "2.9"], "mxfp8_e4m3")
    r = requantize(b, "mxfp4")
    direct = quantize([v.to_fraction() for v in dequantize(b)], "mxfp4")
    assert (r.scale, r.elements, r.flags) == (direct.scale, direct.elements, direct.flags)


def test_dfp_exponent_rounding_and_corner():
    """Das et al.: the max maps into [2**14, 2**15); RNE on a value just below 2**15 * 2**Es
    reaches 2**15, which INT16 cannot hold: clamped (invalid) or wrapped (LIBXSMM's (short))."""
    rng = random.Random(5)
    for _ in range(100):
        vals = [Fraction(rng.getrandbits(30) - (1 << 29), 1 << rng.randrange(0, 40)) for _ in range(16)]
        if not any(vals):
            continue
        b = quantize(vals, "dfp16")
        d = dfp.from_block(b)
        amax = max(abs(v) for v in vals)
        assert 2 ** 14 <= amax / Fraction(2) ** d.exponent < 2 ** 15
        for v, i in zip(vals, d.integers):
            q = v / Fraction(2) ** d.exponent
            assert abs(q - i) <= Fraction(1, 2) and (abs(q - i) < Fraction(1, 2) or i % 2 == 0)
    corner = [2 ** 15 - Fraction(1, 4)]
    b = quantize(corner, "dfp16")
    assert dfp.from_block(b).integers == (32767,) and b.flags[0] & Flag.INVALID
    assert dfp.from_block(quantize(corner, "dfp16", Context(invalid_int="wrap"))).integers == (-32768,)
    assert dfp.from_block(quantize(corner, "dfp16", Context(rounding="rtz"))).integers == (32767,)
    assert dfp.from_block(quantize(corner, scheme("dfp16", headroom=1))).integers == (16384,)


def test_dfp_arithmetic():
    a = dfp.DFP((3, -5), -2)
    b = dfp.DFP((7, 1), 1)
    assert dfp.multiply(a, b) == dfp.DFP((21, -5), -1)
    exact_sum = dfp.add(a, b)
    assert [v.to_fraction() for v in exact_sum.values()] == [Fraction(3, 4) + 14, Fraction(-5, 4) + 2]
    aligned = dfp.add(a, b, Context(rounding="rdn"))                # arithmetic right shift of a by 3
    assert aligned == dfp.DFP((7 + 0, 1 - 1), 1)
    codes = dfp.to_format(dfp.DFP((1 << 25 | 1,), 0))               # 2**25 + 1 rounds in FP32
    assert codes == [(0x4C000000, 1)]
    with pytest.raises(RefnumError):
        dfp.add(a, dfp.DFP((1,), 0))


def test_bfp_sign_magnitude():
    """MSFP12: sign + 3-bit magnitude, max 7 = 0b111; the shared exponent puts amax in [4, 8)."""
    b = quantize(["-7.9", "3.1", "0.2"], "msfp12")
    assert b.scale == 0 and b.elements == (0xF, 0x3, 0x0)           # -7.9 clamps to -7 (sign-magnitude)
    assert b.flags[0] & Flag.SATURATED
    assert [str(v) for v in dequantize(quantize(["12", "-2"], "msfp12"))] == ["12", "-2"]


def test_nvfp4_exact_two_level():
    """s_b = RN_ue4m3(amax_b / (6 g)), elements x / (s_b g) projected once; g = RN32(amax / 2688)."""
    rows = [[Fraction(i - 7, 3) for i in range(16)], [Fraction(i, 1000) for i in range(16)]]
    blocks = quantize_tensor(rows, "nvfp4")
    g = blocks[0].tensor_scale
    assert g == blocks[1].tensor_scale
    q = Fraction(8, 3) / 2688                                       # amax / (448 * 6) = 1/1008, in [2**-10, 2**-9)
    assert abs(dequant_g(g) - q) <= Fraction(1, 2 ** 34) and (dequant_g(g) * 2 ** 33).denominator == 1
    for blk, row in zip(blocks, rows):
        gv = dequant_g(g)
        amax = max(abs(v) for v in row)
        want_scale = oracle.nearest(amax / (6 * gv), oracle.catalog_format("ue4m3"), "rne", "finite")[0]
        assert blk.scale == want_scale
        sv = oracle.small_float_values(oracle.catalog_format("ue4m3"))[want_scale]
        assert list(blk.elements) == [oracle.nearest(v / (sv * gv), oracle.catalog_format("e2m1"), "rne",
                                                     "finite")[0] for v in row]


def dequant_g(code):
    return oracle.ieee_value(code, 8, 23)


def test_tiles_2d():
    s = scheme("nvfp4_2d")
    rows = [[Fraction(r * 32 + c) for c in range(32)] for r in range(20)]
    pieces = blocks_of(rows, s)
    assert [len(p) for p in pieces] == [256, 256, 64, 64]
    assert pieces[1][:2] == [Fraction(16), Fraction(17)] and pieces[1][16] == Fraction(48)
    assert len(blocks_of(rows, scheme("mxfp8_e4m3"))) == 20
    with pytest.raises(TypeError, match="rand must be"):
        quantize_tensor(rows, s, Context(rounding="sr-a", sr_bits=4), rand=[1, 2])
    with pytest.raises(RefnumError, match="rand: give a matrix"):
        quantize_tensor(rows, s, Context(rounding="sr-a", sr_bits=4), rand=[[0] * 32])


def test_fp8_recipes():
    b = quantize(["100", "-3.3", "0.001"], "fp8_tensor")
    s = oracle.ieee_value(b.scale, 8, 23)
    assert Fraction(100, 448) - s <= Fraction(100, 448) / 2 ** 24     # RN32(amax / 448)
    assert b.elements == tuple(oracle.nearest(Fraction(x) / s, oracle.catalog_format("e4m3"), "rne", "finite")[0]
                               for x in ("100", "-3.3", "0.001"))
    ue8 = quantize(["100"], "fp8_1x128_ue8m0")
    assert oracle.ieee_value(ue8.scale, 8, 23) == Fraction(1, 4)      # 2**ceil(log2(100/448))
    te = quantize(["100", "-3.3"], "fp8_tensor_te")
    assert oracle.ieee_value(te.scale, 8, 23) * 448 / 100 - 1 < Fraction(1, 2 ** 22)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.sampled_from(sorted(MX_FLOAT) + ["mxint8", "dfp16", "msfp12", "bfp8"]),
       st.lists(st.tuples(st.integers(-(1 << 24), 1 << 24), st.integers(-160, 140)), min_size=1, max_size=8))
def test_floor_requantize_is_idempotent(name, parts):
    """Under FLOOR a quantized block is a fixed point: its dequantized amax stays in the binade
    [2**e_m, 2**(e_m+1)) * X, so quantizing the exact values again gives the same codes, no flag."""
    vals = [Fraction(m) * Fraction(2) ** e for m, e in parts]
    b = quantize(vals, scheme(name, k=8))
    again = requantize(b, b.scheme)
    assert (again.scale, again.elements) == (b.scale, b.elements)
    assert all(f & 0x1F == 0 for f in again.flags) or b.scale == 0 or any(abs(v) > 2**140 for v in vals)
