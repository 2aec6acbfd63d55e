"""Conversions: between any two formats, to and from integers and Python values.

Each conversion decodes its operand to the exact value and projects it once
(IEEE 754-2019 §5.4.2 formatOf-convertFormat, §5.8 convertToInteger,
§5.12 convertFromDecimalCharacter; P3109 v4.0 §4.9 Convert).  Nothing here
rounds: that is :func:`refnum.rounding.project`'s job.
"""

from __future__ import annotations

from fractions import Fraction

from . import arguments
from .context import DEFAULT
from .errors import RefnumError
from .interop import float_parts, float_to_value
from .rounding import INEXACT, bound_rounder, project, round_away, rounder_for
from .values import Value, parse


def as_format(fmt, argument="fmt"):
    return arguments.format_of(fmt, argument)


def decode(code, fmt, ctx=DEFAULT):
    """The exact value of ``code`` in ``fmt``; subnormals read as zero under ``ctx.daz``."""
    return value_of(arguments.code(code), as_format(fmt), arguments.context(ctx))


def value_of(code, fmt, ctx):
    """:func:`decode` of an int code of a format object, arguments unchecked: the core's own calls."""
    v = fmt.decode(code)
    if ctx.daz and fmt.kind == "float" and fmt.is_subnormal_code(code):
        return Value.zero(v.sign)
    return v


def convert(code, src, dst, ctx=DEFAULT, rand=0):
    """Convert a code of ``src`` to ``dst``: ``(code, flags)``, one rounding from the exact value.

    >>> convert(0x3C01, "f16", "e4m3")          # 1 + 2**-10 rounds to 1.0, inexact
    (56, 1)
    """
    src, dst, ctx = as_format(src, "src"), as_format(dst, "dst"), arguments.context(ctx)
    return project(value_of(arguments.code(code), src, ctx), dst, ctx, arguments.rand(ctx, rand))


def converter(src, dst, ctx=DEFAULT):
    """``f(code, rand=0) -> (code, flags)``: :func:`convert` from ``src`` to ``dst`` bound once.

    The bulk path of ``refnum run/gen/verify`` and the benchmarks: a normal float
    code with a normal result is converted on its fields (:func:`_by_fields`); any
    other nonzero finite code goes straight from its integer parts to the
    projection step; every other code (zeros, specials, DAZ inputs, scaled formats)
    takes :func:`decode`.  Narrowing float conversions also remember results by
    the bits that decide them (:func:`_deciding_bits`).  The random value is not
    range-checked here: callers validate their input.
    """
    src, dst, ctx = as_format(src, "src"), as_format(dst, "dst"), arguments.context(ctx)
    finite_parts = _no_parts if ctx.daz else src.finite_parts
    round_parts = bound_rounder(dst, ctx)         # arguments checked just above

    def convert_code(code, rand=0):
        parts = finite_parts(code)
        if parts is None:
            return project(value_of(code, src, ctx), dst, ctx, rand)
        return round_parts(parts[0], parts[1], parts[2], 1, rand)

    shift = _deciding_bits(src, dst, ctx)
    if shift is not None:
        convert_code = _remembering(convert_code, src, shift)
    return _by_fields(src, dst, ctx, convert_code)


def _by_fields(src, dst, ctx, convert_code):
    """``convert_code`` with the common case of a float-to-float conversion done on the code's fields.

    A normal source code ``(E, t)`` is ``(2**m_src + t) * 2**(E - bias_src - m_src)``.
    When its exponent ``e = E - bias_src`` is at least the destination's ``emin``,
    :func:`refnum.rounding.bound_rounder` rounds it at ``shift = m_src - m_dst``
    bits below its significand and encodes ``((e + bias_dst) << m_dst) + s - 2**m_dst``
    with ``s = (2**m_src + t) >> shift`` (plus one if it rounds away); that sum is
    ``(mag >> shift) + ((bias_dst - bias_src) << m_dst)``, the source's exponent and
    leading trailing bits moved in place.  The same conditions apply as there: a
    deterministic rounding, a destination with a trailing field, a result at most
    the largest finite magnitude, no negative value into an unsigned format; the
    source has a zero, so its normal codes are ``2**m_src <= mag <= max_mag``.  Every
    other code goes to ``convert_code``; tests/test_fast_paths.py compares both.
    """
    if (src.kind != "float" or dst.kind != "float" or not src.zero or not dst.m
            or ctx.rounding.startswith("sr-")):
        return convert_code
    shift, k, sign_bit, mag_mask, max_mag = src.m - dst.m, src.k, src.sign_bit, src.mag_mask, src.max_mag
    lowest = max(1 << src.m, (dst.emin + src.bias) << src.m)     # normal, and e >= emin of dst
    offset, dst_max, dst_sign = (dst.bias - src.bias) << dst.m, dst.max_mag, dst.sign_bit
    widen, low = max(-shift, 0), (1 << max(shift, 0)) - 1
    half = (low + 1) >> 1
    mode = ctx.rounding
    rne = mode == "rne"

    def convert_fields(code, rand=0):
        mag = code & mag_mask
        sign = code & sign_bit
        if code >> k or not lowest <= mag <= max_mag or (sign and not dst_sign):
            return convert_code(code, rand)
        s, r = (mag >> shift, mag & low) if shift > 0 else (mag << widen, 0)
        if r and ((r > half or (r == half and s & 1)) if rne            # rne inline, as bound_rounder
                  else round_away(mode, sign, not s & 1, r, low + 1, 0, 0)):
            s += 1
        mag = s + offset
        if mag > dst_max:
            return convert_code(code, rand)
        return (mag | dst_sign if sign else mag), (INEXACT if r else 0)
    return convert_fields


def _no_parts(code):
    return None


_MEMO_LIMIT = 1 << 20          # results kept per converter; beyond that, computed every time


def _deciding_bits(src, dst, ctx):
    """How many low trailing bits of a normal ``src`` code cannot change the result, or None.

    A normal source value is ``(1 + t / 2**m_src) * 2**e``.  The destination's
    quantum at that magnitude is at least ``2**(e - m_dst)`` (fewer bits when
    subnormal), so a deterministic rounding (IEEE 754 §4.3, round to odd included),
    tininess and overflow see only the sign, the exponent field, the top
    ``m_dst + 1`` trailing bits (kept bits and the round bit) and whether any
    lower bit is set.  The lower ``m_src - m_dst - 1`` bits fold into one sticky
    bit.  Stochastic rounding reads every bit; subnormal and special source codes
    are not covered by the argument and are never remembered.
    """
    if ctx.rounding.startswith("sr-") or src.kind != "float" or dst.kind != "float" or not remembers(dst):
        return None
    shift = src.m - dst.m - 1
    return shift if shift > 0 else None


def remembers(dst):
    """Whether bulk paths remember results for ``dst``: when it has at most 8 significant
    bits (FP8, FP6, FP4, E8M0, bfloat16), many inputs share a result and remembering
    pays; for wider results (binary16 and up) looking up costs more than computing."""
    return dst.kind == "float" and dst.p <= 8


def _remembering(convert_code, src, shift):
    memo = {}
    low = (1 << shift) - 1
    ncodes, mag_mask, max_mag = src.ncodes, src.mag_mask, src.max_mag
    lowest_normal = (1 << src.m) if src.zero else 0

    def convert_remembered(code, rand=0):
        if not (0 <= code < ncodes and lowest_normal <= code & mag_mask <= max_mag):
            return convert_code(code, rand)
        key = (code >> shift) << 1 | (code & low != 0)
        result = memo.get(key)
        if result is None:
            result = convert_code(code, rand)
            if len(memo) < _MEMO_LIMIT:
                memo[key] = result
        return result
    return convert_remembered


def exact(x):
    """The exact value of a Python number or numeric string.

    int, Fraction, float (exactly, via its bits), decimal or hex-float strings,
    "1/3", "inf", "nan", or a :class:`Value`.
    """
    if type(x) is float:                       # the bulk path: checked first
        return float_to_value(x)
    if isinstance(x, Value):
        return x
    if isinstance(x, bool):
        raise arguments.wrong_type("x", x, "a number (a bool is not one here)")
    if isinstance(x, int):
        return Value.from_fraction(Fraction(x))
    if isinstance(x, Fraction):
        return Value.from_fraction(x)
    if isinstance(x, float):
        return float_to_value(x)
    if isinstance(x, str):
        try:
            return parse(x)
        except ValueError as err:
            raise RefnumError(str(err)) from None
    raise arguments.wrong_type("x", x, "an int, Fraction, float, numeric string or Value")


def from_value(x, dst, ctx=DEFAULT, rand=0):
    """Round a Python value (see :func:`exact`) into ``dst``: ``(code, flags)``.

    >>> from_value("0.1", "bf16")
    (15821, 1)
    """
    fmt, ctx = as_format(dst, "dst"), arguments.context(ctx)
    rand = arguments.rand(ctx, rand)
    if type(x) is float and (parts := float_parts(x)) is not None:     # the bulk path: no Value built
        return rounder_for(fmt)(fmt, ctx, parts[0], parts[1], parts[2], 1, rand)
    return project(exact(x), fmt, ctx, rand)

