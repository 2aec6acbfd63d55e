"""Quantize, dequantize and requantize a block, exactly (OCP MX v1.0 §6.3; P3109 v4.0 §5).

``quantize`` chooses the scale by the scheme's rule (:mod:`refnum.blocks.scale`),
divides each element by it exactly and projects the quotient once into the
element format with :func:`refnum.rounding.project` (a recipe that multiplies by
an FP32 reciprocal first says so: that FP32 product is its named intermediate
rounding).  Flags come back per element and for the scale.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..catalog import lookup
from ..context import Context, Flag
from ..convert import exact
from ..errors import RefnumError
from ..rounding import project
from ..values import Value
from . import scale as rules
from .schemes import Scheme, scheme as lookup_scheme

_F32 = lookup("binary32")


@dataclass(frozen=True)
class Block:
    """One quantized block: the scale code, the element codes, the flags of each element and
    of the scale, and the FP32 code of the per-tensor scale of two-level schemes."""

    scheme: Scheme
    scale: int
    elements: tuple
    flags: tuple
    scale_flags: int = 0
    tensor_scale: int | None = None

    @property
    def all_flags(self):
        """The OR of every element's flags and the scale's."""
        out = self.scale_flags
        for f in self.flags:
            out |= f
        return out


def quantize(values, scheme, ctx=None, rand=None, tensor_scale=None):
    """Quantize one block of values (at most k) under ``scheme``: a :class:`Block`.

    ``ctx`` is the element projection's context (default: the scheme's rounding and
    clamp); ``rand`` one random integer per element for stochastic rounding;
    ``tensor_scale`` the FP32 code of a two-level scheme's per-tensor scale (default:
    computed from this block alone).

    >>> b = quantize(["7", "1.25", "-0.3"], "mxfp4")   # amax 7: X = 2**(2 - 2); 7 clamps to 6
    >>> hex(b.scale), [hex(c) for c in b.elements], b.flags
    ('0x7f', ['0x7', '0x2', '0x9'], (37, 1, 3))
    >>> [str(v) for v in dequantize(b)]
    ['6', '1', '-0.5']
    """
    s = lookup_scheme(scheme)
    vals = _values(values, s)
    ectx = _element_context(s, ctx)
    rand = _random(rand, ectx, len(vals))
    g = _tensor_scale(s, vals, tensor_scale)
    tcode = None if g is None else g[0]
    if any(not v.is_finite for v in vals) and s.nonfinite == "scale":
        return _nan_block(s, vals, tcode)
    amax = max((abs(v.to_fraction()) for v in vals if v.is_finite), default=Fraction(0))
    gval = g[1] if g is not None else (Fraction(1) if s.rule.startswith("nvfp4") else None)   # single level
    choice = rules.choose(s, amax, gval) if amax else rules.zero_choice(s, gval)
    codes, flags = zip(*(_element(s, v, choice, ectx, r) for v, r in zip(vals, rand)))
    return Block(s, choice.code, codes, flags, choice.flags, tcode)


def dequantize(block):
    """The exact values of a block: scale x tensor scale x element (a NaN scale makes every
    element NaN, OCP MX v1.0 §5.2); a list of :class:`refnum.Value`."""
    if not isinstance(block, Block):
        raise TypeError(f"block must be a refnum.blocks.Block, not {type(block).__name__}")
    s = block.scheme
    x = rules.scale_value(s, block.scale)
    if x is not None and block.tensor_scale is not None:
        t = _F32.decode(block.tensor_scale)
        x = x * t.to_fraction() if t.is_finite else None
    out = []
    for code in block.elements:
        v = s.element_format.decode(code)
        if x is None:
            out.append(Value.nan())
        elif v.is_finite and v.num:
            out.append(Value.from_fraction(v.to_fraction() * x))
        else:
            out.append(v)
    return out


def requantize(block, scheme, ctx=None, rand=None, tensor_scale=None):
    """A block re-expressed under another scheme: its exact values quantized once."""
    return quantize(dequantize(block), scheme, ctx, rand, tensor_scale)


def quantize_tensor(rows, scheme, ctx=None, rand=None):
    """Quantize a matrix (a list of equal-length rows) block by block: rows cut into k-element
    pieces, or ``scheme.tile`` (r, c) tiles read row-major; the per-tensor scale of a two-level
    scheme comes from the whole matrix's amax.  ``rand`` is a matrix of the same shape."""
    s = lookup_scheme(scheme)
    pieces = blocks_of(rows, s)
    rands = [None] * len(pieces)
    if rand is not None:
        rands = blocks_of(rand, s, "rand")
        if len(rands) != len(pieces) or any(len(r) != len(p) for r, p in zip(rands, pieces)):
            raise RefnumError("rand: give a matrix of random integers of the same shape as rows")
    tcode = None
    if s.tensor_scale:
        vals = [exact(x) for piece in pieces for x in piece]
        amax = max((abs(v.to_fraction()) for v in vals if v.is_finite), default=Fraction(0))
        tcode = rules.tensor_scale_of(s, amax)[0]
    return [quantize(p, s, ctx, r, tcode) for p, r in zip(pieces, rands)]


def blocks_of(rows, scheme, name="rows"):
    """The blocks of a matrix: 1D rows of at most k, or (r, c) tiles flattened row-major
    (edge tiles smaller)."""
    if not isinstance(rows, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in rows):
        raise TypeError(f"{name} must be a list of rows (lists of values)")
    if len({len(r) for r in rows}) > 1:
        raise RefnumError(f"{name}: every row must have the same length")
    scheme = lookup_scheme(scheme)
    th, tw = scheme.tile or (1, scheme.k)
    ncols = len(rows[0]) if rows else 0
    return [[x for row in rows[i:i + th] for x in row[j:j + tw]]
            for i in range(0, len(rows), th) for j in range(0, ncols, tw)]


# -- the pieces of quantize --------------------------------------------------------

def _values(values, s):
    if isinstance(values, (str, bytes)) or not hasattr(values, "__len__"):
        raise TypeError(f"values must be a sequence of numbers, not {type(values).__name__}")
    if not 1 <= len(values) <= s.k:
        raise RefnumError(f"values: a block of {s.name} holds 1 to {s.k} values, got {len(values)}")
    return [exact(v) for v in values]


def _element_context(s, ctx):
    if ctx is None:
        return s.context()
    if not isinstance(ctx, Context):
        raise TypeError(f"ctx must be a refnum.Context, not {type(ctx).__name__}")
    return ctx if ctx.saturation is not None else ctx.replace(saturation=s.saturation)


def _random(rand, ctx, n):
    """One random integer per element, each in [0, 2**sr_bits) (P3109 v4.0 §4.7.4)."""
    stochastic = ctx.rounding.startswith("sr-")
    if rand is None:
        if stochastic:
            raise RefnumError(f"rand: {ctx.rounding} needs one random integer per element")
        return [0] * n
    if not stochastic:
        raise RefnumError(f"rand: only stochastic rounding takes random integers (rounding is {ctx.rounding})")
    if isinstance(rand, (str, bytes)) or not hasattr(rand, "__len__") or len(rand) != n:
        raise RefnumError(f"rand: give a sequence of {n} random integers, one per element")
    for r in rand:
        if type(r) is not int:
            raise TypeError(f"rand: random values must be int, not {type(r).__name__}")
        if not 0 <= r < 1 << ctx.sr_bits:
            raise RefnumError(f"rand: random value {r} is out of range for {ctx.sr_bits} random bits")
    return list(rand)


def _tensor_scale(s, vals, code):
    """(code, value) of the per-tensor FP32 scale of a two-level scheme, else None."""
    if not s.tensor_scale:
        if code is not None:
            raise RefnumError(f"tensor_scale: scheme {s.name} has no per-tensor scale")
        return None
    if code is None:
        amax = max((abs(v.to_fraction()) for v in vals if v.is_finite), default=Fraction(0))
        return rules.tensor_scale_of(s, amax)
    if type(code) is not int:
        raise TypeError(f"tensor_scale must be an int (a binary32 code), not {type(code).__name__}")
    _F32.check_code(code)
    v = _F32.decode(code)
    if not v.is_finite or v.num == 0 or v.sign:
        raise RefnumError(f"tensor_scale: 0x{code:08X} is not a positive finite binary32 value")
    return code, v.to_fraction()


def _nan_block(s, vals, tcode):
    """A block holding NaN or Inf under ``nonfinite = scale``: the NaN scale (MX: 0xFF)."""
    fmt = s.scale_format
    if not getattr(fmt, "has_nan", False):
        raise RefnumError(f"scheme {s.name}: the scale format {fmt.name} has no NaN (use nonfinite='element')")
    n = len(vals)
    return Block(s, fmt.nan_code_canonical(), (0,) * n, (0,) * n, int(Flag.INVALID), tcode)


def _element(s, v, choice, ctx, r):
    """(code, flags) of one element: x / divisor (or RN32(x * factor)) projected once."""
    fmt = s.element_format
    if not v.is_finite:
        return project(v, fmt, ctx, r)
    if v.num == 0 or choice.divisor is None:
        flags = 0 if v.num == 0 else int(Flag.UNDERFLOW | Flag.INEXACT)
        return project(Value.zero(v.sign), fmt, ctx)[0], flags
    x = v.to_fraction()
    q = rules.fl32(x * choice.factor) if choice.factor is not None else x / choice.divisor
    return project(Value.from_fraction(q, v.sign), fmt, ctx, r)
