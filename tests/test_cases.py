"""refnum.vectors.cases: exhaustive small sources, TestFloat-style wide ones.

Every boundary code below is written out from the format parameters (or packed
with :mod:`struct`), never asked of refnum.
"""

import random
import struct
from fractions import Fraction

import pytest

from refnum import RefnumError, lookup
from refnum.vectors.cases import operands, operands_with_random


def f32(x):
    """The binary32 code of a Python float that binary32 holds exactly."""
    code = struct.unpack(">I", struct.pack(">f", x))[0]
    assert struct.unpack(">f", struct.pack(">I", code))[0] == x
    return code


def f64(x):
    return struct.unpack(">Q", struct.pack(">d", x))[0]


def neighbours32(code):
    return {code - 1, code, code + 1}


WIDE = ["f32", "f64", "f128", "tf32", "i32", "ui32", "i64", "ui64", "p3109_k32p24se", "q16.16", "e8m23@1/3"]


# -- small sources: every code ---------------------------------------------------------

@pytest.mark.parametrize("name, k", [("e2m1", 4), ("e2m3", 6), ("e4m3", 8), ("ue4m3", 7), ("e8m0", 8),
                                     ("f16", 16), ("bf16", 16), ("i16", 16), ("p3109_k3p1se", 3)])
def test_small_sources_are_exhaustive_in_order(name, k):
    assert operands(name) == list(range(2 ** k))
    assert operands(name, level=2, seed=99) == list(range(2 ** k))


def test_count_on_a_small_source_is_a_sorted_seeded_sample():
    a = operands("f16", count=1000, seed=5)
    assert a == operands("f16", count=1000, seed=5)
    assert a != operands("f16", count=1000, seed=6)
    assert len(a) == len(set(a)) == 1000 and a == sorted(a) and all(0 <= c < 2 ** 16 for c in a)
    assert operands("e2m1", count=40) == [i % 16 for i in range(40)]


# -- determinism -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", WIDE)
def test_same_seed_same_list_other_seed_other_list(name):
    a = operands(name, seed=3)
    assert a == operands(name, seed=3)
    assert a != operands(name, seed=4)
    assert operands(name, level=2, seed=3) == operands(name, level=2, seed=3)


def test_global_random_state_is_neither_used_nor_disturbed():
    random.seed(12345)
    before = random.getstate()
    a = operands("f32")
    assert random.getstate() == before
    random.seed(999)
    assert operands("f32") == a


@pytest.mark.parametrize("name", WIDE)
def test_codes_are_in_range(name):
    k = lookup(name).k
    for level in (1, 2):
        assert all(0 <= c < 2 ** k for c in operands(name, level=level))


# -- counts ----------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["f32", "f64", "f128", "i32", "i64", "ui32", "ui64"])
def test_counts_by_level(name):
    n1, n2 = len(operands(name, level=1)), len(operands(name, level=2))
    assert 300 <= n1 <= 5000
    assert n2 > n1
    if name in ("f32", "f64", "f128", "i64"):
        assert 10_000 <= n2 <= 100_000


def test_count_overrides_length_prefix_then_cycle():
    full = operands("f32")
    assert operands("f32", count=100) == full[:100]
    longer = operands("f32", count=len(full) + 500)
    assert longer[:len(full)] == full and len(longer) == len(full) + 500
    assert longer[len(full)] == full[0]                      # the patterns start over


def test_bad_arguments():
    for bad in (dict(level=3), dict(level=0), dict(count=0), dict(count=-5)):
        with pytest.raises(RefnumError):
            operands("f32", **bad)
    with pytest.raises(RefnumError):
        operands_with_random("f32", 0)


# -- the promised boundary codes ---------------------------------------------------------------

def test_f32_patterns():
    a = set(operands("f32"))
    max32 = 0x7F7FFFFF                                        # (2 - 2**-23) * 2**127
    must = {0x00000000, 0x80000000, 0x00000001, 0x80000001,   # zeros, smallest subnormals
            0x007FFFFF, 0x00800000, 0x80800000,               # largest subnormal, smallest normal
            max32, max32 | 0x80000000, max32 - 1,             # largest finite
            0x7F800000, 0xFF800000, 0x7F800001, 0x7FFFFFFF, 0x7FC00000,   # Inf, sNaN, qNaNs
            f32(1.0), f32(-1.0), f32(2.0), f32(0.5), f32(2.0 ** -24),
            f32(2.0 ** 31), f32(2.0 ** 32), f32(2.0 ** 63), f32(2.0 ** 64), f32(-2.0 ** 31),
            f32(2.0 ** 7), f32(2.0 ** 8), f32(2.0 ** 15), f32(2.0 ** 16)}
    assert must <= a, sorted(hex(c) for c in must - a)


def test_f32_holds_narrowing_boundaries_of_ocp_formats():
    a = set(operands("f32"))
    # OFP8 v1.0: E4M3 max 448, overflow threshold 448 + 32/2 = 464; E5M2 max 57344, threshold 61440;
    # binary16 max 65504, threshold 65520; MX FP4 E2M1 max 6, threshold 7; E8M0 max 2**127,
    # threshold 1.5 * 2**127; bf16 is not a narrow target of f32's list, its max is f32's own.
    for value in (464.0, 61440.0, 65520.0, 7.0):
        for sign in (1.0, -1.0):
            assert neighbours32(f32(sign * value)) <= a, value
    for value in (448.0, 57344.0, 65504.0, 6.0, 2.0 ** 127, 1.5 * 2.0 ** 127):
        assert f32(value) in a and f32(-value) in a, value
    # smallest subnormal and normal, and their halves: E4M3 2**-9, 2**-6; E5M2 2**-16, 2**-14;
    # binary16 2**-24, 2**-14; E2M1 0.5, 1.0; E8M0 (no zero) 2**-127
    for e in (-9, -6, -10, -7, -16, -17, -15, -24, -25, -14, -1, -2, -127, -128):
        assert f32(2.0 ** e) in a and f32(-(2.0 ** e)) in a, e
    # ties above 1: E4M3 1 + 2**-4 and 1 + 3 * 2**-4; binary16 1 + 2**-11
    for value in (1 + 2.0 ** -4, 1 + 3 * 2.0 ** -4, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11):
        assert neighbours32(f32(value)) <= a, value


def test_f64_holds_its_extremes_and_the_e4m3_threshold():
    a = set(operands("f64"))
    must = {0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, 0x0010000000000000, 0x0000000000000001,
            0x7FF0000000000000, 0x7FF8000000000000, f64(464.0), f64(464.0) + 1, f64(464.0) - 1,
            f64(65520.0) - 1, f64(65520.0) + 1, f64(2.0 ** -24), f64(2.0 ** -25) + 1}
    assert must <= a, sorted(hex(c) for c in must - a)


def test_level2_adds_significand_walks():
    a1, a2 = set(operands("f32", level=1)), set(operands("f32", level=2))
    walks = {f32(1.0) | 1 << i for i in range(23)}                       # single set bits on 1.0
    walks |= {f32(1.0) | (0x7FFFFF ^ (1 << i)) for i in range(23)}       # all ones but one bit
    assert walks <= a2
    assert not walks <= a1


def test_i32_patterns():
    a = set(operands("i32"))

    def code(q):
        return q & 0xFFFFFFFF

    must = {code(q) for q in (0, 1, -1, 2 ** 31 - 1, -2 ** 31, -2 ** 31 + 1,
                              2 ** 11 + 1, 2 ** 24 + 1, 2 ** 24 - 1, -(2 ** 24 + 1),
                              65504, 65519, 65520, 65521, -65520, 448, 464, 465, 57344, 61440)}
    must |= {1 << i for i in range(32)} | {0xFFFFFFFF ^ (1 << i) for i in range(32)}   # walking 1s, 0s
    assert must <= a, sorted(hex(c) for c in must - a)


def test_i64_holds_float_precision_limits():
    a = set(operands("i64"))
    must = {q & (2 ** 64 - 1) for q in (2 ** 53 + 1, 2 ** 53 - 1, 2 ** 54 + 1, -(2 ** 53 + 1), -2 ** 63, 2 ** 63 - 1)}
    assert must <= a


def test_scaled_source_holds_scaled_boundaries():
    # e8m23 (binary32 layout) times 1/3: the code of 448 is the f32 code of 3 * 448.
    a = set(operands("e8m23@1/3"))
    assert f32(1344.0) in a and neighbours32(f32(3 * 464.0)) <= a
    assert Fraction(3 * 464) == 1392


# -- stochastic pairs ----------------------------------------------------------------------------

def test_operands_with_random_draw_order_on_exhaustive_source():
    pairs = operands_with_random("f16", 8, seed=11)
    rng = random.Random(11)                                   # no operand draws for an exhaustive source
    assert pairs == [(c, rng.getrandbits(8)) for c in range(2 ** 16)]


def test_operands_with_random_on_wide_source():
    pairs = operands_with_random("f32", 5, seed=2)
    assert [c for c, _ in pairs] == operands("f32", seed=2)
    assert all(0 <= r < 32 for _, r in pairs)
    assert pairs == operands_with_random("f32", 5, seed=2)
    assert [r for _, r in pairs] != [r for _, r in operands_with_random("f32", 5, seed=3)]
    assert len({r for _, r in pairs}) == 32


@pytest.mark.parametrize("name", WIDE + ["e17m0_fin", "p3109_k20p1se"])
def test_level2_is_never_shorter_than_level1(name):
    assert len(operands(name, level=2)) >= len(operands(name, level=1))
