"""Floats into integers (widths 1..64) and fixed point, and integers into floats, by definition.

Float -> integer / fixed point (IEEE 754-2019 §5.8, SoftFloat ``f*_to_i*``): the
oracle scales the exact value by 2**frac and picks between ``math.floor`` and
``math.ceil`` by the definition of each mode (ties to even / away, toward zero,
up, down, to the odd integer, and the P3109 stochastic rules), then range-checks.
Out-of-range, Inf and NaN results follow the ``invalid_int`` policy, typed from
the SoftFloat specialization table (softfloat-testfloat notes §1.6):

=============  ===========================  ================  =================
policy         +overflow / +Inf             -overflow / -Inf  NaN
=============  ===========================  ================  =================
saturate       max                          min (0 unsigned)  max    (RISCV)
x86            min signed, all ones uns.    same              same   (8086-SSE)
arm            max                          min (0 unsigned)  0      (ARM-VFPv2)
wrap           rounded value mod 2**width   same              0      (refnum)
=============  ===========================  ================  =================

and raise invalid alone; ``exact`` adds inexact to an in-range result that
changed (TestFloat ``-exact``).  Integer -> float goes through the MPFR oracle
of ``strategies.py`` with the target's overflow policy.
"""

from __future__ import annotations

import collections
import math
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S

from refnum import Context, convert, from_value, lookup

INT_MODES = S.DETERMINISTIC_MODES
POLICIES = ("saturate", "x86", "arm", "wrap")
FIXED = {"q3.4": (7, 4, True), "uq4.4": (8, 4, False), "mxint8": (8, 6, True), "q1.15": (16, 15, True)}
SETTINGS = settings(derandomize=True, max_examples=120, deadline=None, database=None)
FLOAT_SOURCES = ("binary16", "bfloat16", "binary32", "binary64")
COUNTS = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\nfixed/int cases checked:", dict(sorted(COUNTS.items())))


def int_name(width, signed):
    return f"{'i' if signed else 'ui'}{width}"


def round_to_integer(v, mode, rand=0, nbits=0):
    """The integer a rational rounds to, by definition (floor/ceil and the tie rules)."""
    lo, hi = math.floor(v), math.ceil(v)
    if lo == hi:
        return lo
    toward, away = (lo, hi) if v > 0 else (hi, lo)
    nu = abs(v - toward)
    if mode == "rtz":
        return toward
    if mode == "rdn":
        return lo
    if mode == "rup":
        return hi
    if mode == "rto":
        return lo if lo % 2 else hi
    if mode in ("rne", "rna"):
        if nu != Fraction(1, 2):
            return away if nu > Fraction(1, 2) else toward
        return (lo if lo % 2 == 0 else hi) if mode == "rne" else away
    n = 1 << nbits
    if mode == "sr-a":
        up = math.floor(nu * n) + rand >= n
    elif mode == "sr-b":
        up = math.floor(nu * 2 * n) + 2 * rand + 1 >= 2 * n
    else:
        up = round(nu * n) + rand >= n                     # ties to even
    return away if up else toward


def expect_integer(x, width, frac, signed, mode, policy, exact, rand=0, nbits=0):
    """(code, flags) of an exact value x (strategies.X) into a width-bit integer scaled by 2**-frac."""
    lo, hi = (-(1 << (width - 1)), (1 << (width - 1)) - 1) if signed else (0, (1 << width) - 1)
    mask = (1 << width) - 1
    if x.kind == "fin":
        v = x.value * 2**frac
        n = round_to_integer(v, mode, rand, nbits)
        if lo <= n <= hi:
            return n & mask, (S.INEXACT if exact and n != v else 0)
    else:
        n = None
    if policy == "wrap":
        return (n or 0) & mask, S.INVALID
    if policy == "x86":
        return (lo if signed else hi) & mask, S.INVALID
    if x.kind == "nan":
        return (hi if policy == "saturate" else 0) & mask, S.INVALID
    return (lo if x.sign else hi) & mask, S.INVALID


def check_float_to_fixed(src, code, dst, width, frac, signed, sr=None):
    x = S.SOURCES[src].decode(code)
    for mode in INT_MODES:
        for policy in POLICIES:
            for exact_flag in (False, True):
                ctx = Context(rounding=mode, invalid_int=policy, exact=exact_flag)
                want = expect_integer(x, width, frac, signed, mode, policy, exact_flag)
                got = convert(code, src, dst, ctx)
                assert got == want, (src, hex(code), dst, mode, policy, exact_flag, got, want)
                COUNTS["float -> int/fixed"] += 1
    if sr:
        mode, nbits, rand = sr
        ctx = Context(rounding=mode, sr_bits=nbits, invalid_int="saturate")
        want = expect_integer(x, width, frac, signed, mode, "saturate", False, rand, nbits)
        assert convert(code, src, dst, ctx, rand=rand) == want, (src, hex(code), dst, sr)
        COUNTS["float -> int/fixed, stochastic"] += 1


def _int_boundaries(width, signed, frac=0):
    """Magnitudes where float -> integer conversions turn: range ends, halves, small values."""
    top = 1 << (width - 1) if signed else 1 << width
    ms = [top - 1, top - Fraction(1, 2), top, top + Fraction(1, 2), top + 1, 2 * top,
          Fraction(1, 2), Fraction(3, 2), Fraction(5, 2), 1, 2, 3, Fraction(1, 4), Fraction(3, 4)]
    return [Fraction(m) / 2**frac for m in ms]


def _sr_choice():
    return st.tuples(st.sampled_from(S.STOCHASTIC_MODES), st.sampled_from([1, 4, 8, 13])).flatmap(
        lambda a: st.tuples(st.just(a[0]), st.just(a[1]), st.integers(0, (1 << a[1]) - 1)))


# -- float -> integer of every width -------------------------------------------------------------------

@SETTINGS
@given(data=st.data())
def test_float_to_integers_every_width(data):
    width = data.draw(st.integers(1, 64), label="width")
    signed = data.draw(st.booleans(), label="signed")
    src = data.draw(st.sampled_from(FLOAT_SOURCES), label="source")
    layout = S.SOURCES[src]
    code = data.draw(st.one_of(S.float_codes(layout), S.near(layout, _int_boundaries(width, signed), spread=3),
                               S.near(layout, [Fraction(k, 2) for k in range(1, 12, 2)], spread=1)), label="code")
    check_float_to_fixed(src, code, int_name(width, signed), width, 0, signed, data.draw(_sr_choice(), label="sr"))


@pytest.mark.parametrize("name", list(FIXED))
@SETTINGS
@given(data=st.data())
def test_float_to_fixed_point(name, data):
    width, frac, signed = FIXED[name]
    src = data.draw(st.sampled_from(FLOAT_SOURCES), label="source")
    layout = S.SOURCES[src]
    code = data.draw(st.one_of(S.float_codes(layout), S.near(layout, _int_boundaries(width, signed, frac), spread=3),
                               S.near(layout, [Fraction(k, 2**(frac + 1)) for k in range(1, 40, 3)], spread=1)),
                     label="code")
    check_float_to_fixed(src, code, name, width, frac, signed, data.draw(_sr_choice(), label="sr"))


def test_fixed_formats_are_what_the_test_assumes():
    for name, (width, frac, signed) in FIXED.items():
        fmt = lookup(name)
        assert (fmt.width, fmt.frac, fmt.signed) == (width, frac, signed), name


@pytest.mark.parametrize("name,mode", [("q3.4", "rto"), ("mxint8", "rne")])
def test_every_binary16_code_into_fixed_point(name, mode):
    """Exhaustive over binary16 for the 7- and 8-bit fixed formats (every mode and policy: -m slow)."""
    width, frac, signed = FIXED[name]
    ctx = Context(rounding=mode, exact=True)
    for code in range(0, 1 << 16):
        want = expect_integer(S.SOURCES["binary16"].decode(code), width, frac, signed, mode, "saturate", True)
        assert convert(code, "binary16", name, ctx) == want, (hex(code), name, mode)
    COUNTS["binary16 exhaustive -> fixed"] += 1 << 16


@pytest.mark.slow
@pytest.mark.parametrize("name", list(FIXED) + ["i8", "ui8", "i16", "ui16"])
def test_every_binary16_code_into_fixed_point_long(name):
    width, frac, signed = FIXED.get(name) or (int(name.lstrip("ui")), 0, not name.startswith("u"))
    for mode in INT_MODES:
        for policy in POLICIES:
            ctx = Context(rounding=mode, exact=True, invalid_int=policy)
            for code in range(0, 1 << 16):
                want = expect_integer(S.SOURCES["binary16"].decode(code), width, frac, signed, mode, policy, True)
                assert convert(code, "binary16", name, ctx) == want, (hex(code), name, mode, policy)
            COUNTS["binary16 exhaustive -> fixed"] += 1 << 16


# -- hand-worked rows of the SoftFloat table and TestFloat's odd note ------------------------------------

INVALID_ROWS = [
    # source code, source, target, {policy: expected code}
    (0x7FC00000, "binary32", "i32", dict(saturate=0x7FFFFFFF, x86=0x80000000, arm=0, wrap=0)),        # NaN
    (0x7F800000, "binary32", "i32", dict(saturate=0x7FFFFFFF, x86=0x80000000, arm=0x7FFFFFFF, wrap=0)),
    (0xFF800000, "binary32", "i32", dict(saturate=0x80000000, x86=0x80000000, arm=0x80000000, wrap=0)),
    (0x4F000000, "binary32", "i32", dict(saturate=0x7FFFFFFF, x86=0x80000000, arm=0x7FFFFFFF, wrap=0x80000000)),
    (0xCF300000, "binary32", "i32", dict(saturate=0x80000000, x86=0x80000000, arm=0x80000000, wrap=0x50000000)),
    (0x7FC00000, "binary32", "ui32", dict(saturate=0xFFFFFFFF, x86=0xFFFFFFFF, arm=0, wrap=0)),
    (0xBF800000, "binary32", "ui32", dict(saturate=0, x86=0xFFFFFFFF, arm=0, wrap=0xFFFFFFFF)),      # -1.0
    (0x7FF8000000000000, "binary64", "i64", dict(saturate=(1 << 63) - 1, x86=1 << 63, arm=0, wrap=0)),
    (0xC3E0000000000001, "binary64", "i64", dict(saturate=1 << 63, x86=1 << 63, arm=1 << 63,
                                                 wrap=((-(2**63 + 2**11)) & ((1 << 64) - 1)))),
    (0x7C00, "binary16", "ui64", dict(saturate=(1 << 64) - 1, x86=(1 << 64) - 1, arm=(1 << 64) - 1, wrap=0)),
    (0x4C00, "binary16", "i4", dict(saturate=7, x86=8, arm=7, wrap=0)),                                # 16 -> i4
    (0x7E00, "binary16", "q1.15", dict(saturate=0x7FFF, x86=0x8000, arm=0, wrap=0)),
    (0x3C00, "binary16", "q1.15", dict(saturate=0x7FFF, x86=0x8000, arm=0x7FFF, wrap=0x8000)),       # 1.0
]


@pytest.mark.parametrize("code,src,dst,row", INVALID_ROWS)
def test_invalid_results_from_the_specialization_table(code, src, dst, row):
    for policy, want in row.items():
        for exact_flag in (False, True):
            assert convert(code, src, dst, Context(invalid_int=policy, exact=exact_flag)) == (want, S.INVALID), \
                (hex(code), dst, policy)


@pytest.mark.parametrize("code,exact_flag,want", [
    (0x3800, True, (0x00000001, 0x01)), (0xB800, True, (0xFFFFFFFF, 0x01)),     # TestFloat -rodd -exact
    (0x3800, False, (0x00000001, 0x00)), (0x3E00, True, (0x00000001, 0x01)),    # 1.5 -> 1 (odd)
    (0x4100, True, (0x00000003, 0x01)), (0x4000, True, (0x00000002, 0x00)),     # 2.5 -> 3; 2 exact
])
def test_round_to_odd_integer(code, exact_flag, want):
    assert convert(code, "f16", "i32", Context.profile("riscv", rounding="rto", exact=exact_flag)) == want


def test_negative_to_unsigned_rounding_to_zero_is_not_invalid():
    """-0.3 and -0.5 round to 0 in rne: in range, so only inexact (SoftFloat f32_to_ui32)."""
    for value in ("-0.3", "-0.5"):
        assert from_value(value, "ui32", Context(exact=True)) == (0, S.INEXACT)
    assert from_value("-0.5", "ui32", Context(rounding="rto")) == (0, S.INVALID)   # -> -1: out of range, RISCV 0
    assert from_value("-0.5", "ui32", Context(rounding="rto", invalid_int="x86")) == (0xFFFFFFFF, S.INVALID)


# -- integers and fixed point into floats --------------------------------------------------------------------

INT_SOURCES = {"i64": (64, 0, True), "ui64": (64, 0, False), "i32": (32, 0, True), "i8": (8, 0, True),
               "q1.15": (16, 15, True), "mxint8": (8, 6, True), "uq4.4": (8, 4, False)}
INT_TARGETS = ["binary16", "bfloat16", "e4m3", "e5m2", "e2m1", "p3109_k8p4se", "e8m0", "binary32"]


def int_value(code, width, frac, signed):
    n = code - (1 << width) if signed and code >> (width - 1) else code
    return S.fin(Fraction(n, 2**frac))


@pytest.mark.parametrize("src", list(INT_SOURCES))
@settings(SETTINGS, max_examples=40)
@given(data=st.data())
def test_integers_into_floats(src, data):
    width, frac, signed = INT_SOURCES[src]
    code = data.draw(S.int_codes(width), label="code")
    x = int_value(code, width, frac, signed)
    for dst in INT_TARGETS:
        t = S.TARGETS[dst]
        for mode in INT_MODES:
            for sat in S.SATURATIONS:
                want = S.oracle_convert(x, t, mode, sat)
                got = convert(code, src, dst, Context(rounding=mode, saturation=sat))
                assert got == want, (src, hex(code), dst, mode, sat, got, want)
                COUNTS["int/fixed -> float"] += 1


@pytest.mark.parametrize("value,dst,ctx,want", [
    (65519, "binary16", Context(), (0x7BFF, 0x01)),                    # below 65520: rounds to max
    (65520, "binary16", Context(), (0x7C00, 0x05)),                    # the tie: overflow to Inf
    (65520, "binary16", Context(rounding="rtz"), (0x7BFF, 0x01)),
    (-(2**63), "bfloat16", Context(), (0xDF00, 0x00)),                 # -2**63 is exact in bf16
    (2**63 - 1, "bfloat16", Context(), (0x5F00, 0x01)),
    (464, "e4m3", Context(), (0x7E, 0x01)), (465, "e4m3", Context(), (0x7E, 0x25)),
    (465, "e4m3", Context(saturation="none"), (0x7F, 0x05)),
    (-(2**62), "e4m3", Context(saturation="none"), (0x7F, 0x05)),       # non-SAT: canonical NaN
])
def test_integer_anchors(value, dst, ctx, want):
    assert from_value(value, dst, ctx) == want
    assert S.oracle_convert(S.fin(value), S.TARGETS[dst], ctx.rounding, ctx.saturation) == want
    width = 64
    assert convert(value & ((1 << width) - 1), "i64", dst, ctx) == want
