"""Checking the arguments of refnum's public functions: one place, one message shape.

Every public function of the Python interface (``refnum.convert``, ``refnum.arith``,
``lookup``, ``project`` ...) passes its arguments through these checks before doing
anything with them, so a wrong type is an :class:`ArgumentTypeError` and a value out
of range a :class:`~refnum.errors.RefnumError`, each naming the argument, never an
``AttributeError`` from deep inside the core:

>>> from refnum import convert
>>> convert("3C00", "f16", "e4m3")
Traceback (most recent call last):
...
refnum.errors.ArgumentTypeError: code must be an integer code, not str '3C00'
>>> convert(0x3C00, "f16", "e4m3", ctx="riscv")
Traceback (most recent call last):
...
refnum.errors.ArgumentTypeError: ctx must be a refnum.Context (e.g. Context.profile('riscv')), not str 'riscv'

The bulk paths (:func:`refnum.convert.converter`, :func:`refnum.arith.evaluator`) check
their formats and context once, when they are bound, and not each code.
"""

from __future__ import annotations

from .catalog import FORMAT_TYPES, lookup
from .context import Context
from .errors import RefnumError, wrong_type
from .values import Value


def integer(argument, value, wanted="an integer"):
    """``value`` as a Python int: an int or any integer type with ``__index__`` (NumPy's), never a bool."""
    if type(value) is int:
        return value
    if isinstance(value, bool) or not hasattr(type(value), "__index__"):
        raise wrong_type(argument, value, wanted)
    return value.__index__()


def code(value, argument="code"):
    """An operand code: a non-negative int (its range is the format's business)."""
    return integer(argument, value, "an integer code")


def text(argument, value, wanted="a string"):
    if not isinstance(value, str):
        raise wrong_type(argument, value, wanted)
    return value


def format_of(value, argument="fmt"):
    """A format object, or the format a catalogue name stands for."""
    if isinstance(value, str):
        return lookup(value)
    if not isinstance(value, FORMAT_TYPES):
        raise wrong_type(argument, value, "a format or a format name such as 'e4m3'")
    return value


def context(value, argument="ctx"):
    if not isinstance(value, Context):
        raise wrong_type(argument, value, "a refnum.Context (e.g. Context.profile('riscv'))")
    return value


def value(v, argument="value"):
    if not isinstance(v, Value):
        raise wrong_type(argument, v, "a refnum.Value (see refnum.exact)")
    return v


def rand(ctx, r, argument="rand"):
    """The random integer R of a stochastic rounding: ``0 <= R < 2**ctx.sr_bits`` (P3109 v4.0
    §4.7.4); other roundings ignore it, but it must still be an integer."""
    r = integer(argument, r)
    if ctx.rounding.startswith("sr-") and not 0 <= r < (1 << ctx.sr_bits):
        raise RefnumError(f"random value {r} is out of range for {ctx.sr_bits} random bits")
    return r
