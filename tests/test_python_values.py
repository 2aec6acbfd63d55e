"""from_value: Python ints, Fractions, floats and numeric strings, parsed exactly and rounded once.

The expected value of every input is built by the test itself from its parts
(``Fraction(mantissa) * 10**exponent``, ``int(hex digits, 16) * 2**p``, the
float's ``as_integer_ratio()``), never by refnum's parser, and is then rounded
by the independent oracle of ``strategies.py`` (MPFR / the P3109 definition).
The double-rounding test builds a decimal string whose nearest binary64 is a
bfloat16 tie while the string's exact value is not, and checks that refnum
rounds once from the exact value.
"""

from __future__ import annotations

import decimal
import math
import time
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import strategies as S

pytest.importorskip("gmpy2", reason="gmpy2 (MPFR) is the rounding oracle; pip install gmpy2")

from refnum import Context, RefnumError, exact, from_value  # noqa: E402

TARGET_NAMES = ["binary16", "bfloat16", "binary32", "binary64", "e4m3", "e5m2", "e2m1", "e8m0",
                "p3109_k8p4se", "e4m3@1/3", "e2m1@3/7", "ieee_k12p5"]
SETTINGS = settings(derandomize=True, max_examples=60, deadline=None, database=None)


def expect(x, name, mode="rne", sat=None):
    """The oracle's (code, flags) for the exact value x (a strategies.X)."""
    return S.oracle_convert(x, S.TARGETS[name], mode, sat)


def check_all_modes(value, x):
    """from_value(value) in every target and deterministic mode equals the oracle for x."""
    for name in TARGET_NAMES:
        for mode in S.DETERMINISTIC_MODES:
            got = from_value(value, name, Context(rounding=mode))
            assert got == expect(x, name, mode), (value, name, mode, got)


# -- hand-written inputs with their exact values ----------------------------------------------------

EXACT_INPUTS = [
    (0, S.fin(0)), (1, S.fin(1)), (-1, S.fin(-1)), (2**53 + 1, S.fin(2**53 + 1)),
    (-(2**64) - 3, S.fin(-(2**64) - 3)),
    (10**400, S.fin(10**400)), (Fraction(1, 3), S.fin(Fraction(1, 3))), (Fraction(-2, 7), S.fin(Fraction(-2, 7))),
    (Fraction(1, 10**50), S.fin(Fraction(1, 10**50))), (0.1, S.fin(Fraction(3602879701896397, 2**55))),
    (-0.0, S.fin(0, sign_of_zero=1)), (5e-324, S.fin(Fraction(1, 2**1074))),
    (1.7976931348623157e308, S.fin((2**53 - 1) * 2**971)), (math.inf, S.X("inf")), (-math.inf, S.X("inf", 1)),
    ("0.1", S.fin(Fraction(1, 10))), ("1e-40", S.fin(Fraction(1, 10**40))), ("-2.5e-3", S.fin(Fraction(-1, 400))),
    (".5", S.fin(Fraction(1, 2))), ("5.", S.fin(5)), ("+1.25E+2", S.fin(125)), ("007", S.fin(7)),
    ("1e400", S.fin(10**400)), ("-1e-400", S.fin(Fraction(-1, 10**400))), ("1e5000", S.fin(10**5000)),
    ("1e-5000", S.fin(Fraction(1, 10**5000))),
    ("65519.99999999999999999999", S.fin(65520 - Fraction(1, 10**20))),
    ("464", S.fin(464)), ("464.0000000000000000000001", S.fin(464 + Fraction(1, 10**22))),
    ("0x1.8p-3", S.fin(Fraction(3, 16))), ("-0x.8p1", S.fin(-1)), ("0x1p-1074", S.fin(Fraction(1, 2**1074))),
    ("0X1P+0", S.fin(1)), ("0x1.fffffffffffff8p1023", S.fin((2**54 - 1) * 2**970)),
    ("0x1.00000000000008p0", S.fin(1 + Fraction(1, 2**53))),
    ("0xABC.DEFp-20", S.fin(Fraction(0xABCDEF, 2**32))), ("-0x0p0", S.fin(0, sign_of_zero=1)),
    ("1/3", S.fin(Fraction(1, 3))), ("-1/3", S.fin(Fraction(-1, 3))), ("+10/4", S.fin(Fraction(5, 2))),
    ("-0", S.fin(0, sign_of_zero=1)), ("+0", S.fin(0)), ("-0.0e7", S.fin(0, sign_of_zero=1)), (" 0.75 ", S.fin(Fraction(3, 4))),
    ("inf", S.X("inf")), ("-Infinity", S.X("inf", 1)), ("+inf", S.X("inf")),
    ("nan", S.X("nan")), ("-NaN", S.X("nan", 1)), ("snan", S.X("nan", signaling=True)),
]


@pytest.mark.parametrize("value,x", EXACT_INPUTS, ids=[repr(v)[:32] for v, _ in EXACT_INPUTS])
def test_hand_written_inputs(value, x):
    v = exact(value)                                     # the exact value itself, not only its roundings
    if x.kind == "fin":
        assert v.is_finite and v.to_fraction() == x.value and v.sign == x.sign
    else:
        assert (v.is_nan, v.is_inf, v.sign, v.signaling if v.is_nan else False) == (
            x.kind == "nan", x.kind == "inf", x.sign, x.signaling)
    check_all_modes(value, x)


def test_float_nan():
    """A Python NaN is a quiet NaN: every target gets its canonical NaN, no flag (FP4: +max, invalid)."""
    for name in TARGET_NAMES:
        assert from_value(math.nan, name) == expect(S.X("nan"), name)


def test_scaled_rational_is_exact():
    """1/3 at scale 1/3 is exactly 1.0 of E4M3: no rounding happens at all."""
    assert from_value("1/3", "e4m3@1/3") == (0x38, 0)
    assert from_value(Fraction(3, 7), "e2m1@3/7") == (0x2, 0)


# -- generated strings and numbers ---------------------------------------------------------------------

@st.composite
def decimal_strings(draw):
    """(text, exact value) of a decimal numeral, in the spellings refnum accepts."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.integers(0, 10**30))
    frac_digits = draw(st.integers(0, 25))
    frac = draw(st.integers(0, 10**frac_digits - 1)) if frac_digits else 0
    exp = draw(st.integers(-420, 420))
    e_char = draw(st.sampled_from(["e", "E"]))
    text = f"{sign}{whole}" + (f".{frac:0{frac_digits}d}" if frac_digits else draw(st.sampled_from(["", "."])))
    if exp or draw(st.booleans()):
        text += f"{e_char}{exp:+d}" if draw(st.booleans()) else f"{e_char}{exp}"
    else:
        exp = 0
    q = (whole + Fraction(frac, 10**frac_digits)) * Fraction(10) ** exp
    return text, S.fin(-q if sign == "-" else q, sign_of_zero=int(sign == "-"))


@st.composite
def hex_strings(draw):
    """(text, exact value) of a C99 hexadecimal floating constant."""
    sign = draw(st.sampled_from(["", "-", "+"]))
    whole = draw(st.integers(0, 16**20))
    n_frac = draw(st.integers(0, 30))
    frac = draw(st.integers(0, 16**n_frac - 1)) if n_frac else 0
    if not whole and not n_frac:
        whole = 1
    p = draw(st.integers(-1200, 1200))
    text = (f"{sign}0{draw(st.sampled_from('xX'))}" + (f"{whole:x}" if whole or not n_frac else "")
            + (f".{frac:0{n_frac}x}" if n_frac else "") + f"p{p}")
    q = (whole * 16**n_frac + frac) * Fraction(2) ** (p - 4 * n_frac)
    return text, S.fin(-q if sign == "-" else q, sign_of_zero=int(sign == "-"))


def _check_one(value, x, name, mode):
    got = from_value(value, name, Context(rounding=mode))
    assert got == expect(x, name, mode), (value, name, mode, got)


@SETTINGS
@given(case=decimal_strings(), name=st.sampled_from(TARGET_NAMES), mode=st.sampled_from(S.DETERMINISTIC_MODES))
def test_decimal_strings(case, name, mode):
    _check_one(case[0], case[1], name, mode)


@SETTINGS
@given(case=hex_strings(), name=st.sampled_from(TARGET_NAMES), mode=st.sampled_from(S.DETERMINISTIC_MODES))
def test_hex_strings(case, name, mode):
    _check_one(case[0], case[1], name, mode)


@SETTINGS
@given(q=st.one_of(st.integers(-(2**1100), 2**1100), st.fractions(max_denominator=10**30)),
       name=st.sampled_from(TARGET_NAMES), mode=st.sampled_from(S.DETERMINISTIC_MODES))
def test_ints_and_fractions(q, name, mode):
    _check_one(q, S.fin(q), name, mode)
    _check_one(f"{q.numerator}/{q.denominator}" if isinstance(q, Fraction) else str(q), S.fin(q), name, mode)


@SETTINGS
@given(f=st.floats(allow_nan=False), name=st.sampled_from(TARGET_NAMES), mode=st.sampled_from(S.DETERMINISTIC_MODES))
def test_python_floats(f, name, mode):
    """A float is its exact binary64 value (as_integer_ratio), -0.0 included."""
    if math.isinf(f):
        x = S.X("inf", int(f < 0))
    else:
        x = S.fin(Fraction(*f.as_integer_ratio()), sign_of_zero=int(math.copysign(1, f) < 0))
    _check_one(f, x, name, mode)


# -- one rounding from the exact value ------------------------------------------------------------------

def _double_rounding_trap(tie, direction):
    """A decimal string just off a bfloat16 tie, so close that its nearest binary64 IS the tie."""
    offset = Fraction(direction, 10**25)
    v = tie + offset
    assert Fraction(float(v)) == tie                      # binary64 rounding lands exactly on the tie
    digits = v * 10**25
    assert digits.denominator == 1
    return f"{digits.numerator}e-25", v


@pytest.mark.parametrize("tie,direction", [
    (1 + Fraction(1, 2**8), +1),      # between 1 (even) and 1 + 2**-7: the tie alone rounds down
    (1 + Fraction(3, 2**8), -1),      # between 1 + 2**-7 (odd) and 1 + 2**-6: the tie alone rounds up
    (-(2**100) * (1 + Fraction(5, 2**8)), -1),
])
def test_single_rounding_not_double(tie, direction):
    text, v = _double_rounding_trap(tie, direction)
    t = S.TARGETS["bfloat16"]
    once = S.oracle_convert(S.fin(v), t, "rne")
    twice = S.oracle_convert(S.fin(Fraction(float(v))), t, "rne")
    assert once != twice                                   # the trap is real
    assert from_value(text, "bfloat16") == once
    assert from_value(v, "bfloat16") == once
    assert from_value(float(v), "bfloat16") == twice       # a float input *is* the binary64 value


# -- long and huge numerals --------------------------------------------------------------------------------

def test_exact_decimal_of_binary128_subnormal():
    """The exact decimal expansion of 2**-16494 (16,494 fraction digits) parses back exactly."""
    with decimal.localcontext(decimal.Context(prec=20000)):
        text = str(decimal.Decimal(1).scaleb(0) / decimal.Decimal(2) ** 16494)
    assert "E" in text.upper() and len(text) > 11000
    assert from_value(text, "binary128") == (1, 0)
    assert from_value("-" + text, "binary64") == (1 << 63, 0x03)


def test_huge_exponents_round_or_are_refused_quickly():
    assert from_value("1e1000000", "binary128") == (0x7FFF << 112, 0x05)          # overflow to +Inf
    assert from_value("-1e-1000000", "binary16") == (0x8000, 0x03)
    assert from_value("0x1p-1000000", "e8m0") == (0x00, 0x03)
    for text in ("1e99999999", "-1e-99999999", "0x1p99999999999", "1e1000001", "1e" + "7" * 5000):
        start = time.perf_counter()
        with pytest.raises(RefnumError) as err:
            from_value(text, "binary64")
        assert time.perf_counter() - start < 1.0
        assert "\n" not in str(err.value) and "exponent" in str(err.value)


# -- bad input ---------------------------------------------------------------------------------------------

MALFORMED = ["", " ", "abc", "0x", "0x1.8", "0x1p", "0x.p1", "0x1.gp3", "1e", "e5", ".", "--1", "1..2", "1.2.3",
             "1/0", "0/0", "-7/0", "1/-3", "1 / 3", "nan(1)", "1_000", "0x1.8p+", "1e5.5", "inf1", "1,5", "½",
             "0b101", "1e+-3", "++1", "\u0663", "1\u0660"]


@pytest.mark.parametrize("text", MALFORMED)
def test_malformed_strings(text):
    with pytest.raises(RefnumError) as err:
        from_value(text, "binary16")
    message = str(err.value)
    assert message and "\n" not in message


@pytest.mark.parametrize("value", [True, None, 1j, [1], b"1"])
def test_other_python_types_are_refused(value):
    with pytest.raises(RefnumError) as err:
        exact(value)
    assert "\n" not in str(err.value)
