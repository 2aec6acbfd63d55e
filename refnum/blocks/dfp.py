"""Dynamic fixed-point arithmetic (Das et al. 2018, arXiv:1802.00930 §3; hardware-accumulators
notes §1.3): a tensor of integers I_n sharing one exponent Es, value_n = I_n * 2**Es.

Quantize with the ``dfp16`` scheme (``Es = floor(log2 amax) - (P - 2) + headroom``,
:mod:`refnum.blocks.scale`); the products and sums here are exact integer algebra,
and the one rounding of a result is the projection step (:func:`to_format`).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import lookup
from ..context import DEFAULT, Context
from ..errors import RefnumError
from ..rounding import project, quantize
from ..values import Value
from .quantize import Block


@dataclass(frozen=True)
class DFP:
    """Integers sharing the exponent ``exponent`` (unbounded: products need 2P - 1 bits)."""

    integers: tuple
    exponent: int

    def values(self):
        """The exact values I_n * 2**Es."""
        return [Value.finite(int(i < 0), abs(i), self.exponent) if i else Value.zero() for i in self.integers]


def from_block(block):
    """The DFP tensor of a block of an integer-element, exponent-scale scheme (dfp16, bfp8)."""
    if not isinstance(block, Block):
        raise TypeError(f"block must be a refnum.blocks.Block, not {type(block).__name__}")
    s = block.scheme
    if not s.exponent_scale or s.element_format.kind != "fixed":
        raise RefnumError(f"block: scheme {s.name} is not a fixed-point block (dfp16, bfp8)")
    fmt = s.element_format
    e = s.scale_format.integer_of(block.scale) - fmt.frac
    return DFP(tuple(fmt.integer_of(c) for c in block.elements), e)


def multiply(a, b):
    """Elementwise product: the integers multiply exactly, the exponents add (Das et al. §3.1)."""
    _check_pair(a, b)
    return DFP(tuple(x * y for x, y in zip(a.integers, b.integers)), a.exponent + b.exponent)


def add(a, b, ctx=None):
    """Elementwise sum after alignment.  ``ctx=None``: exact (both shifted to the smaller
    exponent); with a context, the operand with the smaller exponent is shifted right to the
    larger one and rounded by ``ctx.rounding`` (the paper's right shift is ``rdn``, an
    arithmetic shift), then added (Das et al. §3.1)."""
    _check_pair(a, b)
    if ctx is not None and not isinstance(ctx, Context):
        raise TypeError(f"ctx must be a refnum.Context, not {type(ctx).__name__}")
    if ctx is None:
        e = min(a.exponent, b.exponent)
        return DFP(tuple((x << (a.exponent - e)) + (y << (b.exponent - e)) for x, y in zip(a.integers, b.integers)), e)
    hi, lo = (a, b) if a.exponent >= b.exponent else (b, a)
    shift = hi.exponent - lo.exponent
    aligned = [_shift_round(y, shift, ctx) for y in lo.integers]
    return DFP(tuple(x + y for x, y in zip(hi.integers, aligned)), hi.exponent)


def to_format(d, fmt="binary32", ctx=DEFAULT):
    """Each I_n * 2**Es projected once into ``fmt`` (DFP -> FP32: ``cvtdq2ps`` then the exact
    power-of-two scale, one rounding): a list of (code, flags)."""
    f = lookup(fmt) if isinstance(fmt, str) else fmt
    return [project(v, f, ctx) for v in d.values()]


def _shift_round(y, shift, ctx):
    if y == 0 or shift == 0:
        return y
    s, _ = quantize(ctx, int(y < 0), abs(y), 0, 1, shift)
    return -s if y < 0 else s


def _check_pair(a, b):
    for name, d in (("a", a), ("b", b)):
        if not isinstance(d, DFP):
            raise TypeError(f"{name} must be a refnum.blocks.dfp.DFP, not {type(d).__name__}")
    if len(a.integers) != len(b.integers):
        raise RefnumError(f"a and b hold {len(a.integers)} and {len(b.integers)} integers; they must match")
