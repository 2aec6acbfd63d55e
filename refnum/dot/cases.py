"""Dot-product cases: random and adversarial operand codes for a model (``refnum dot --gen``,
``refnum crosscheck mmasim``).

Five families in turn: ``raw`` (uniform codes: NaN, Inf, subnormals included), ``similar``
(products of similar magnitude with a comparable addend: cancellation), ``window`` (one
product at 2**0 and the rest near ``2**-F``, the edge of a fused block's alignment window),
``zeros`` (zeros beside tiny products: the zero exponent), ``overflow`` (values near the
largest finite magnitude).  Integer models have their own four (:func:`integer_cases`):
``raw``, ``extremes``, ``edge`` (wrap and saturate edges at the model's check points) and
``transient`` (an excursion past the range that the end undoes).
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


INTEGER_FAMILIES = ("raw", "extremes", "edge", "transient")


def integer_cases(model, k, n, rng):
    """``n`` cases ``(family, a, b, c)`` of K = ``k`` products (codes) for the integer model
    ``model`` (:class:`refnum.dot.integer.IntegerDot`), four families in turn: ``raw`` (uniform
    codes), ``extremes`` (operands and addend at the ends of their ranges, 0 and +-1),
    ``edge`` (the addend that puts the first check point of the model's granularity at the
    accumulator's largest or smallest value (the end the products point to), one less or one
    past it: where it wraps or saturates) and
    ``transient`` (the addend near one end, products that leave the range at a product or
    group check point and come back by the end: where the granularities part ways)."""
    fa, fb, acc = model.formats
    out = []
    for i in range(n):
        family = INTEGER_FAMILIES[i % len(INTEGER_FAMILIES)]
        if family == "raw":
            a, b, c = _uniform(fa, k, rng), _uniform(fb, k, rng), rng.randrange(acc.ncodes)
        elif family == "extremes":
            a, b = _extremes(fa, k, rng), _extremes(fb, k, rng)
            c = acc.code_of(rng.choice(_ends(acc)))
        elif family == "edge":
            a, b = _uniform(fa, k, rng), _uniform(fb, k, rng)
            first = _first_check(model, [fa.integer_of(x) * fb.integer_of(y) for x, y in zip(a, b)])
            ends = (acc.hi, acc.hi + 1) if first > 0 else (acc.lo, acc.lo - 1) if first < 0 else (acc.hi, acc.lo)
            target = rng.choice(ends) + rng.randrange(-1, 2)
            c = acc.code_of(min(max(target - first, acc.lo), acc.hi))
        else:
            up = rng.randrange(2)                           # 1: over the top first, 0: under the bottom
            xs = [rng.choice((fa.hi, fa.lo)) for _ in range(k)]
            a = [fa.code_of(x) for x in xs]
            b = [fb.code_of(_toward(x, up == (j < k // 2), fb, rng)) for j, x in enumerate(xs)]
            end = acc.hi if up else acc.lo
            c = acc.code_of(end - (1 if up else -1) * rng.randrange(1 << min(8, acc.k - 2)))
        out.append((family, a, b, c))
    return out


def _uniform(fmt, k, rng):
    return [rng.randrange(fmt.ncodes) for _ in range(k)]


def _ends(fmt):
    """The integer values at the ends of ``fmt`` and around 0."""
    return sorted({v for v in (fmt.lo, fmt.lo + 1, -1, 0, 1, fmt.hi - 1, fmt.hi) if fmt.lo <= v <= fmt.hi})


def _extremes(fmt, k, rng):
    return [fmt.code_of(rng.choice(_ends(fmt))) for _ in range(k)]


def _toward(x, positive, fmt, rng):
    """An end of ``fmt`` whose product with ``x`` is positive (or negative), else either end."""
    ends = [v for v in (fmt.hi, fmt.lo) if v and (x * v > 0) == positive]
    return rng.choice(ends or [fmt.hi, fmt.lo])


def _first_check(model, products):
    """What the accumulator receives at its first check point (exact)."""
    if model.granularity == "product":
        return products[0]
    return sum(products if model.granularity == "end" else products[:model.group])
