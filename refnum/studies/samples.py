"""Seeded samples as exact values: no Python float is ever made.

A study's data must be the same bits on every machine for a seed, and enter
refnum as exact values (design.md principle 2).  So the generator is built from
integers only:

* a uniform deviate is ``U = (k + 1) / 2**53`` with ``k = getrandbits(53)`` of
  Python's ``random.Random(seed)`` (a Mersenne Twister whose integer stream is
  the same on every platform and Python version), so ``0 < U <= 1`` exactly;
* the transforms (Box-Muller, the inverse CDF of the exponential, the
  chi-squared of even degrees of freedom) run in mpmath at a fixed 53-bit
  working precision, whose integer algorithms give the same result everywhere;
* every sample is that mpmath number, a dyadic rational with at most 53
  significant bits, returned as an exact :class:`refnum.values.Value`.

So the samples are binary64-representable, like data read from a float tensor,
without a float ever existing.
"""

from __future__ import annotations

import random

import mpmath

from ..values import Value

PRECISION = 53                 # bits of every sample (binary64's precision)


class Sampler:
    """Exact deviates from ``random.Random(seed)``'s integer stream."""

    def __init__(self, seed):
        self.rng = random.Random(seed)

    def uniform(self):
        """``(k + 1) / 2**53``, exactly uniform on the 2**53 points of (0, 1]."""
        return mpmath.mpf(self.rng.getrandbits(PRECISION) + 1) / 2**PRECISION

    def symmetric_uniform(self):
        """Uniform on (-1, 1): ``2U - 1``, exact."""
        with mpmath.workprec(PRECISION):
            return 2 * self.uniform() - 1

    def gaussian(self):
        """Standard normal, Box-Muller: ``sqrt(-2 ln U1) cos(2 pi U2)``."""
        with mpmath.workprec(PRECISION):
            u1, u2 = self.uniform(), self.uniform()
            return mpmath.sqrt(-2 * mpmath.log(u1)) * mpmath.cos(2 * mpmath.pi * u2)

    def laplace(self):
        """Laplace with scale 1: a random sign times an exponential ``-ln U``."""
        negative = self.rng.getrandbits(1)
        with mpmath.workprec(PRECISION):
            magnitude = -mpmath.log(self.uniform())
        return -magnitude if negative else magnitude

    def student_t(self, nu):
        """Student's t with an even ``nu`` degrees of freedom: ``Z / sqrt(V / nu)`` with
        ``V = -2 ln(U_1 ... U_{nu/2})``, a chi-squared of ``nu`` degrees (a sum of
        ``nu/2`` exponentials of mean 2); the product of the uniforms is exact."""
        if nu < 2 or nu % 2:
            raise ValueError(f"student_t needs an even nu >= 2, got {nu}")
        z = self.gaussian()
        product = mpmath.mpf(1)
        with mpmath.workprec(10 * PRECISION * nu):             # wide enough to hold the product exactly
            for _ in range(nu // 2):
                product *= self.uniform()
        with mpmath.workprec(PRECISION):
            return z / mpmath.sqrt(-2 * mpmath.log(product) / nu)


def exact(x):
    """The exact Value of an mpmath number: its sign, and ``|x| = man * 2**exp`` (mpmath's
    ``man_exp`` is of the magnitude)."""
    man, exp = x.man_exp
    if not man:
        return Value.zero()
    return Value.finite(int(x < 0), int(man), int(exp))


# From the lightest tails to the heaviest (excess kurtosis -1.2, 0, 1.5, 3, infinite, undefined).
DISTRIBUTIONS = {
    "uniform": lambda s: s.symmetric_uniform(),
    "gaussian": lambda s: s.gaussian(),
    "student-t(8)": lambda s: s.student_t(8),
    "laplace": lambda s: s.laplace(),
    "student-t(4)": lambda s: s.student_t(4),
    "student-t(2)": lambda s: s.student_t(2),
}


def sample(distribution, n, seed):
    """``n`` exact samples of ``distribution`` (a key of DISTRIBUTIONS) from ``seed``.

    Each distribution draws from its own generator, seeded from ``seed`` and its
    name, so adding a distribution never changes another's data.

    >>> [v.hex() for v in sample("laplace", 2, seed=1)]
    ['-0x1.fe17d3f9acff4p+0', '-0x1.557475965ddc2p-5']
    """
    sampler = Sampler(f"{seed}:{distribution}")
    draw = DISTRIBUTIONS[distribution]
    return [exact(draw(sampler)) for _ in range(n)]
