"""Per-tensor scaled quantization, as refnum's projection step does it, in bulk.

A tensor ``x`` quantized to a format F with clipping value ``c`` is rounded as
``y = x / s`` with the scale ``s = c / max(F)``, so that ``c`` lands exactly on F's
largest finite value (values beyond it saturate).  For a floating-point F this is
Kuzmin et al.'s flexible (real-valued) exponent bias: a bias ``b`` in place of the
integer bias ``B`` scales every value by ``2**(B - b)``; refnum models it as the
scaled format ``F@s`` (spec/encodings-generic.md).  The division by ``s`` is done
here on integers, and the result goes to the same rounder that :func:`refnum.project`
calls for ``F@s``; the tests check that the codes agree.
"""

from __future__ import annotations

from fractions import Fraction

from ..catalog import lookup
from ..context import Context
from ..rounding import rounder_for
from .tables import DyadicSum, difference

# Round to nearest even, saturate to the finite range (Kuzmin et al. clamp to +-maxval first,
# then round: the same result); an integer beyond its range saturates to it (two's complement,
# so INT8 is -128..127 with the clipping value at 127).
CONTEXT = Context(rounding="rne", saturation="finite", invalid_int="saturate")


def largest(fmt):
    """The largest finite value of a float or integer format, exactly."""
    if fmt.kind == "fixed":
        return Fraction(fmt.hi, 2**fmt.frac)
    return Fraction(fmt.smax) * Fraction(2) ** fmt.qmax


def parts(values):
    """``(sign, num, exp)`` of every nonzero exact Value (zeros carry no signal and no noise)."""
    return [(v.sign, v.num, v.exp) for v in values if not v.is_zero]


def _odd_and_twos(q):
    """``(odd, k)`` with ``q == odd * 2**k`` for a positive integer q."""
    k = (q & -q).bit_length() - 1
    return q >> k, k


class Quantizer:
    """One format under :data:`CONTEXT` with a clipping value; ``sqnr`` of a tensor."""

    def __init__(self, fmt, ctx=CONTEXT):
        self.fmt = lookup(fmt) if isinstance(fmt, str) else fmt
        self.ctx = ctx
        self.round = rounder_for(self.fmt)
        self.max = largest(self.fmt)
        self.values = {}

    def value(self, code):
        """``(signed num, exp)`` of a code (decoded once per code)."""
        got = self.values.get(code)
        if got is None:
            got = self.fmt.finite_parts(code)
            got = (0, 0) if got is None else ((-got[1] if got[0] else got[1]), got[2])
            self.values[code] = got
        return got

    def scale(self, clip):
        """The scale ``s = clip / max`` as ``(mul, shift, den)``: ``x / s == x * mul * 2**shift / den``
        with ``den`` odd."""
        q = self.max / clip
        num, num_twos = _odd_and_twos(q.numerator)
        den, den_twos = _odd_and_twos(q.denominator)
        return num, num_twos - den_twos, den

    def codes(self, tensor, clip):
        """The code of each ``(sign, num, exp)`` of ``tensor`` quantized with clipping value ``clip``."""
        mul, shift, den = self.scale(clip)
        fmt, ctx, rnd = self.fmt, self.ctx, self.round
        return [rnd(fmt, ctx, sign, num * mul, exp + shift, den, 0)[0] for sign, num, exp in tensor]

    def sqnr(self, tensor, clip):
        """Signal to quantization noise ratio ``sum x**2 / sum (x - s Q(x/s))**2``, exactly
        (None when there is no noise).

        In units of the scale, ``den * x / s`` and ``den * Q(x/s)`` are both dyadic, so the
        two sums are exact integer sums; ``den**2 s**2`` cancels in the ratio.
        """
        mul, shift, den = self.scale(clip)
        pairs = []
        for (sign, num, exp), code in zip(tensor, self.codes(tensor, clip)):
            v, v_exp = self.value(code)
            pairs.append(((-num * mul if sign else num * mul, exp + shift), (v * den, v_exp)))
        return noise_ratio(pairs)


def noise_ratio(pairs):
    """``sum x**2 / sum (x - q)**2`` over ``((x, x_exp), (q, q_exp))`` pairs of signed dyadic
    numbers ``x * 2**x_exp`` and their quantized ``q * 2**q_exp``, exactly (None: no noise)."""
    signal, noise = DyadicSum(), DyadicSum()
    for (x, x_exp), (q, q_exp) in pairs:
        d, d_exp = difference(x, x_exp, q, q_exp)
        signal.add(x * x, 2 * x_exp)
        noise.add(d * d, 2 * d_exp)
    return None if noise.num == 0 else signal.value() / noise.value()
