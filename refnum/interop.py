"""The one door for Python floats: they enter and leave refnum as binary64 bit patterns.

The exact core never holds a ``float``; a test enforces that no other module
uses float arithmetic.
"""

from __future__ import annotations

import math
import struct

from .catalog import lookup
from .context import DEFAULT
from .rounding import project
from .values import FINITE, Value

BINARY64 = lookup("binary64")


def float_to_bits(x):
    """The binary64 code of a Python float (IEEE 754 §3.4)."""
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def bits_to_float(code):
    return struct.unpack("<d", struct.pack("<Q", code))[0]


def float_parts(x):
    """``(sign, num, exp)`` of a nonzero finite float, exactly ``(-1)**sign * num * 2**exp``; else None.

    ``as_integer_ratio`` is exact and its denominator a power of two; this is
    the hot path of rounding Python floats in bulk.
    """
    if x and math.isfinite(x):
        num, den = x.as_integer_ratio()
        return (1, -num, 1 - den.bit_length()) if num < 0 else (0, num, 1 - den.bit_length())
    return None


def float_to_value(x):
    """The exact value of a Python float (every float is a dyadic rational).

    Zeros, infinities and NaNs are read from their bits, which keep the sign and
    the NaN payload.
    """
    parts = float_parts(x)
    if parts is None:
        return BINARY64.decode(float_to_bits(x))
    return Value(FINITE, *parts)


def value_to_float(value, ctx=DEFAULT):
    """The nearest Python float to an exact value (rounded once, under ``ctx``)."""
    code, _ = project(value, BINARY64, ctx)
    return bits_to_float(code)
