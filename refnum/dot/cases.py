"""Dot-product cases: random and adversarial operand codes for a model (``refnum dot --gen``,
``refnum crosscheck mmasim``).

Five families in turn: ``raw`` (uniform codes: NaN, Inf, subnormals included), ``similar``
(products of similar magnitude with a comparable addend: cancellation), ``window`` (one
product at 2**0 and the rest near ``2**-F``, the edge of a fused block's alignment window),
``zeros`` (zeros beside tiny products: the zero exponent), ``overflow`` (values near the
largest finite magnitude).
"""

from __future__ import annotations

from ..catalog import lookup
from .models import result_format


def fraction_bits(model):
    """F of a fused model (of a GEMM's inner one), else the result format's fraction bits."""
    while hasattr(model, "inner"):
        model = model.inner
    return getattr(model, "F", None) or lookup(result_format(model)).m


def _code(fmt, rng, exponent=None, sign=None):
    """A code of ``fmt``: any bits, or a finite normal with the given unbiased exponent."""
    if exponent is None:
        return rng.randrange(fmt.ncodes)
    field = min(max(exponent + fmt.bias, 1), (1 << fmt.w) - 2)
    s = rng.randrange(2) if sign is None else sign
    code = (s << (fmt.k - 1)) | (field << fmt.m) | rng.randrange(1 << fmt.m)
    return code if fmt.finite_parts(code) else (s << (fmt.k - 1)) | (field << fmt.m)


def cases(model, operands, k, n, rng):
    """``n`` cases ``(family, a, b, c)`` of K = ``k`` products for ``model`` with operand formats
    ``operands`` (names), the five families in turn."""
    fa, fb, fc = (lookup(f) for f in operands)
    F = fraction_bits(model)
    out = []
    for i in range(n):
        family = ("raw", "similar", "window", "zeros", "overflow")[i % 5]
        if family == "raw":
            a = [_code(fa, rng) for _ in range(k)]
            b = [_code(fb, rng) for _ in range(k)]
            c = _code(fc, rng)
        elif family == "similar":
            e = rng.randrange(-4, 4)
            a = [_code(fa, rng, e + rng.randrange(-2, 3)) for _ in range(k)]
            b = [_code(fb, rng, rng.randrange(-2, 3)) for _ in range(k)]
            c = _code(fc, rng, 2 * e + rng.randrange(-3, 6)) if rng.randrange(3) else 0
        elif family == "window":
            a = [_code(fa, rng, 0)] + [_code(fa, rng, -(F // 2) - rng.randrange(-2, 3)) for _ in range(k - 1)]
            b = [_code(fb, rng, 0)] + [_code(fb, rng, -(F - F // 2) - rng.randrange(-2, 3)) for _ in range(k - 1)]
            c = _code(fc, rng, -F - rng.randrange(-2, 3)) if rng.randrange(2) else 0
        elif family == "zeros":
            tiny = fa.emin - fa.m
            a = [0 if rng.randrange(2) else _code(fa, rng, tiny // 2 + rng.randrange(3)) for _ in range(k)]
            b = [_code(fb, rng, fb.emin + rng.randrange(3)) for _ in range(k)]
            c = 0 if rng.randrange(2) else _code(fc, rng, fc.emin + rng.randrange(4))
        else:
            top = (fa.qmax + fa.m)
            a = [_code(fa, rng, top - rng.randrange(2), sign=0) for _ in range(k)]
            b = [_code(fb, rng, fb.qmax + fb.m - rng.randrange(2), sign=0) for _ in range(k)]
            c = _code(fc, rng, fc.qmax + fc.m - rng.randrange(3)) if rng.randrange(2) else 0
        out.append((family, a, b, c))
    return out
