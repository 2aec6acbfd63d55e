"""Operand codes for testing a unary function (a conversion) from a source format.

Preliminary version: exhaustive for formats of <= 16 bits, seeded random codes
otherwise.  Boundary patterns follow.
"""

from __future__ import annotations

import random

EXHAUSTIVE_BITS = 16
_LEVEL_COUNTS = {1: 2000, 2: 40000}


def operands(fmt, *, level=1, seed=1, count=None):
    """Operand codes of ``fmt``: every code when ``fmt.k <= 16``, else seeded random codes."""
    rng = random.Random(seed)
    if fmt.k <= EXHAUSTIVE_BITS and count is None:
        return list(range(1 << fmt.k))
    n = count if count is not None else _LEVEL_COUNTS.get(level, _LEVEL_COUNTS[2])
    return [rng.getrandbits(fmt.k) for _ in range(n)]


def operands_with_random(fmt, nbits, *, level=1, seed=1, count=None):
    """``(code, R)`` pairs for stochastic rounding, R uniform in [0, 2**nbits)."""
    codes = operands(fmt, level=level, seed=seed, count=count)
    rng = random.Random(seed)
    return [(c, rng.getrandbits(nbits)) for c in codes]
