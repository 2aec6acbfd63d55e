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


def float_to_value(x):
    """The exact value of a Python float (every float is a dyadic rational).

    Finite floats go through ``as_integer_ratio`` (exact, and the hot path of
    bulk rounding); zeros, infinities and NaNs through their bits, which keep
    the sign and the NaN payload.
    """
    if x and math.isfinite(x):
        num, den = x.as_integer_ratio()
        sign = num < 0
        return Value(FINITE, int(sign), -num if sign else num, 1 - den.bit_length())
    return BINARY64.decode(float_to_bits(x))


def value_to_float(value, ctx=DEFAULT):
    """The nearest Python float to an exact value (rounded once, under ``ctx``)."""
    code, _ = project(value, BINARY64, ctx)
    return bits_to_float(code)
