"""Operand codes for testing a one-operand function (a conversion) from a source format.

Sources of at most 16 bits are enumerated: every code, in order.  That is both
cheaper and better than sampling (softfloat-testfloat notes §2.4, §3.4).

Wider sources get cases in the manner of Berkeley TestFloat 3e's generator,
restated for any float layout ``(w, m, bias)`` and for fixed point:

* **patterns** -- a float pattern is a sign, an exponent-field pattern and a
  trailing-significand pattern put together (the exponent patterns sit where
  conversions change behaviour: zero/subnormal, the smallest normal, around
  ``2**-p`` and 1, around the integer boundaries ``2**7 ... 2**64``, large
  exponents, the all-ones field).  A fixed-point pattern is a walking one or
  zero, a sign boundary, or a value near a power of two or a float precision
  limit.  Level 2 adds significand patterns (single set bits, runs of ones,
  one bit cleared), more integer neighbours, and ``±(2**i ± 2**j)``.
* **narrowing boundaries** -- for every catalog format of at most 16 bits (the
  targets a wide source is converted *to*): its largest finite value, the
  overflow threshold ``max + ulp/2``, its smallest subnormal and normal values
  and half of each, and the two ties above 1; each value is placed in the
  source format as its own code and the codes on either side when it is
  representable there, or as the two codes that bracket it when it is not.
* **random cases** -- after every bit pattern (not after the boundaries),
  random cases: level 1 draws two, level 2 one.  They alternate between a random significand on an exponent
  from the pattern table and a random significand on a random exponent
  weighted towards the bias (floats), or a random value of random bit length
  (fixed point).

Reproducibility.  Every random choice comes from one ``random.Random(seed)``
owned by the call; the stream is: pattern 0, its random cases, pattern 1, its
random cases, ..., the last pattern and its random cases, then the boundary
codes (those that are not patterns already).  A level's list is one pass of
its stream, and never shorter than the level below (formats with few
significand bits have little for level 2 to add, so their stream goes on).  ``count`` sets the length of the stream: fewer cases than
the level gives is a prefix of the level's list; more cycles through the
patterns again while the random draws continue (so no line repeats exactly,
much as TestFloat's ``-n`` does).  For sources of at most 16 bits ``count``
takes a seeded sample without replacement, in ascending code order
(``count >= 2**k`` gives the codes in order, cycled to length ``count``).
"""

from __future__ import annotations

import functools
import itertools
import random
from fractions import Fraction

from ..catalog import CATALOG, lookup
from ..context import Context
from ..errors import RefnumError
from ..rounding import project
from ..values import Value

EXHAUSTIVE_BITS = 16
LEVELS = (1, 2)
RANDOM_PER_PATTERN = {1: 2, 2: 1}

# Exponents (unbiased) where conversions to integers change behaviour: the
# signed and unsigned 8-, 16-, 32- and 64-bit ranges (TestFloat's QOut tables).
INTEGER_BOUNDARY_EXPONENTS = (7, 8, 15, 16, 31, 32, 63, 64)
# Precisions of common float formats: integers near 2**p and 2**(p+1) are where
# int -> float conversions start to round (ties live just above 2**p).
FLOAT_PRECISIONS = (2, 3, 4, 8, 11, 24, 53, 64, 113)

_DOWN = Context(rounding="rdn", saturation="finite")
_UP = Context(rounding="rup", saturation="finite")


# -- public interface -------------------------------------------------------------

def operands(fmt, *, level=1, seed=1, count=None):
    """Operand codes of ``fmt`` (a format or its name) for a one-operand function.

    >>> len(operands("e4m3")), operands("e4m3")[:3]
    (256, [0, 1, 2])
    >>> operands("f32", seed=7) == operands("f32", seed=7)
    True
    """
    return _operands(_as_format(fmt), level, count, random.Random(seed))


def operands_with_random(fmt, nbits, *, level=1, seed=1, count=None):
    """``(code, R)`` pairs for stochastic rounding, ``0 <= R < 2**nbits``.

    Draw order: one ``random.Random(seed)`` first produces the operand codes
    exactly as :func:`operands` does (no draws at all for an exhaustive
    source), then the same generator draws ``R = getrandbits(nbits)`` once per
    case, in case order.
    """
    if not isinstance(nbits, int) or nbits < 1:
        raise RefnumError(f"stochastic rounding needs at least 1 random bit, got {nbits!r}")
    rng = random.Random(seed)
    codes = _operands(_as_format(fmt), level, count, rng)
    return [(code, rng.getrandbits(nbits)) for code in codes]


def patterns(fmt, level=1):
    """The deterministic cases of a wide source: its bit patterns, then the narrowing
    boundaries that are not patterns already."""
    fmt = _as_format(fmt)
    return _bit_patterns(fmt, level) + _extra_boundaries(fmt, level)


def _bit_patterns(fmt, level):
    _check_level(level)
    base = _base(fmt)
    pats = _float_patterns(base, level) if base.kind == "float" else _fixed_patterns(base, level)
    return list(dict.fromkeys(pats))


def _extra_boundaries(fmt, level):
    seen = set(_bit_patterns(fmt, level))
    return [c for c in boundary_codes(fmt) if c not in seen]


def operand_tuples(formats, *, level=1, seed=1, count=None, random_bits=0):
    """Operand code tuples for an operation whose operands have ``formats``.

    When there are at most 2**16 tuples (every pair of 8-bit operands) they are
    all enumerated, in order (``count`` then takes a seeded sample, in order, as
    for one operand).  Otherwise the cases follow TestFloat 3e's multi-operand
    generator (softfloat-testfloat notes §2.4), restated for any layout: every
    tuple of *operand patterns* (:func:`operand_patterns`) -- all pairs for two
    operands; for three, every pair of the first two with the third cycling
    through its patterns -- each preceded by the cases of a fixed cycle that
    replace some operands by random ones (two operands: (R,R) (A,R) (R,R) (R,B)
    (R,R), then (A,B); three: eight mixes, then (A,B,C)).  Random operands are
    drawn as for one operand.  ``count`` cuts or cycles the stream as for
    :func:`operands`.  With ``random_bits`` N, each tuple ends with the random integer
    R of a stochastic rounding, drawn after all operands as :func:`operands_with_random` does.
    """
    rng = random.Random(seed)
    cases = _operand_tuples(tuple(_as_format(f) for f in formats), level, count, rng)
    if random_bits:
        return [case + (rng.getrandbits(random_bits),) for case in cases]
    return cases


def _operand_tuples(fmts, level, count, rng):
    _check_level(level)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise RefnumError(f"count must be a positive integer, got {count!r}")
    total = functools.reduce(lambda n, f: n * f.ncodes, fmts, 1)
    if total <= 1 << EXHAUSTIVE_BITS:
        every = list(itertools.product(*(range(f.ncodes) for f in fmts)))
        if count is None:
            return every
        if count < total:
            return [every[i] for i in sorted(rng.sample(range(total), count))]
        return [every[i % total] for i in range(count)]
    pats = [operand_patterns(f, level) for f in fmts]
    mixes = _MIXES[len(fmts)]
    natural = len(pats[0]) * len(pats[1]) * len(mixes)
    return list(itertools.islice(_tuple_stream(fmts, pats, mixes, rng), count or natural))


# Which operands of a pattern tuple a case keeps (1) or replaces by a random operand (0);
# the last entry of each cycle is the pattern tuple itself (TestFloat genCases *_ab_next, *_abc_next).
_MIXES = {
    1: ((1,),),
    2: ((0, 0), (1, 0), (0, 0), (0, 1), (0, 0), (1, 1)),
    3: ((0, 0, 0), (1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 1, 0), (1, 0, 1), (0, 1, 1), (0, 0, 0), (1, 1, 1)),
}


def _tuple_stream(fmts, pats, mixes, rng):
    bases = [_base(f) for f in fmts]
    draws = [_float_random if b.kind == "float" else _fixed_random for b in bases]
    k = 0
    while True:
        for i, a in enumerate(pats[0]):
            for j, b in enumerate(pats[1]):
                chosen = (a, b) if len(fmts) == 2 else (a, b, pats[2][(i * len(pats[1]) + j) % len(pats[2])])
                for mix in mixes:
                    case = []
                    for keep, code, base, draw, table in zip(mix, chosen, bases, draws, pats):
                        if keep:
                            case.append(code)
                        else:
                            case.append(draw(base, table, rng, table_exponent=k % 2 == 0))
                            k += 1
                    yield tuple(case)


def operand_patterns(fmt, level=1):
    """The patterns of one operand of a multi-operand operation (TestFloat's QIn x P1,
    level 2 QIn x P2): both signs of the exponent fields of zero and subnormals, the
    smallest normal, ``2**-p``, the five binades around 1, ``2**p``, the largest binade and
    the all-ones field, each with the significand
    patterns of the level.  For binary16 and binary32 the exponents are exactly TestFloat's
    (``f16QIn``, ``f32QIn``: subnormal, emin, -p, -2 ... 2, p, emax, Inf/NaN).  Fixed point
    takes its one-operand patterns."""
    base = _base(_as_format(fmt))
    _check_level(level)
    if base.kind != "float":
        return list(dict.fromkeys(_fixed_patterns(base, level)))
    top = (1 << base.w) - 1
    normal_lo = 1 if base.zero else 0
    normal_hi = top - 1 if "ieee" in (base.nan, base.inf) else top
    p = base.m + 1
    wanted = [0, normal_lo, base.bias - p, base.bias - 2, base.bias - 1, base.bias, base.bias + 1,
              base.bias + 2, base.bias + p, normal_hi, top]
    fields = sorted({e for e in wanted if 0 <= e <= top})
    sigs = _significand_patterns(base.m, level)
    return list(dict.fromkeys(sign | (e << base.m) | t for e in fields for t in sigs for sign in _signs(base)))


# -- the stream ---------------------------------------------------------------------

def _operands(fmt, level, count, rng):
    _check_level(level)
    if count is not None and (not isinstance(count, int) or count < 1):
        raise RefnumError(f"count must be a positive integer, got {count!r}")
    if fmt.k <= EXHAUSTIVE_BITS:
        return _exhaustive(fmt, count, rng)
    pats, bounds = _bit_patterns(fmt, level), _extra_boundaries(fmt, level)
    per = RANDOM_PER_PATTERN[level]
    n = count if count is not None else max(_natural_length(fmt, lv) for lv in LEVELS if lv <= level)
    return list(itertools.islice(_stream(_base(fmt), pats, bounds, per, rng), n))


def _natural_length(fmt, level):
    """One pass of the stream: every pattern with its random cases, then the boundaries."""
    return len(_bit_patterns(fmt, level)) * (1 + RANDOM_PER_PATTERN[level]) + len(_extra_boundaries(fmt, level))


def _stream(base, pats, bounds, per, rng):
    """Each pattern followed by ``per`` random cases, then the boundaries; over and over."""
    draw = _float_random if base.kind == "float" else _fixed_random
    k = 0
    while True:
        for code in pats:
            yield code
            for _ in range(per):
                yield draw(base, pats, rng, table_exponent=k % 2 == 0)
                k += 1
        yield from bounds


def _exhaustive(fmt, count, rng):
    n = fmt.ncodes
    if count is None:
        return list(range(n))
    if count < n:
        return sorted(rng.sample(range(n), count))
    return [i % n for i in range(count)]


# -- float patterns -------------------------------------------------------------------

def _exponent_fields(f, level):
    """Biased exponent fields worth hitting, ascending (TestFloat QOut, generalised)."""
    top = (1 << f.w) - 1
    normal_lo = 1 if f.zero else 0
    normal_hi = top - 1 if "ieee" in (f.nan, f.inf) else top      # the all-ones field holds Inf/NaN
    emax = normal_hi - f.bias
    p = f.m + 1
    unbiased = [-p - 1, -p, -p + 1, -2, -1, 0, 1, 2, f.m - 1, f.m, f.m + 1,
                f.emin // 2, emax // 2, emax - 1, emax]
    unbiased += [b + d for b in INTEGER_BOUNDARY_EXPONENTS for d in (-1, 0, 1)]
    if level >= 2:
        unbiased += [f.emin + 1, f.emin + 2, -p - 2, 3, emax - 2]
    fields = {0, normal_lo, top} | {e + f.bias for e in unbiased if normal_lo <= e + f.bias <= normal_hi}
    return sorted(fields)


def _significand_patterns(m, level):
    """Trailing-significand patterns: 0, 1, all ones, all ones - 1; level 2 adds bit walks."""
    ones = (1 << m) - 1
    pats = [0, 1, ones, ones - 1] if m else [0]
    if level >= 2:
        pats += [1 << i for i in range(m)]                          # single set bits
        pats += [ones ^ ((1 << (m - j)) - 1) for j in range(1, m)]  # runs of ones from the MSB
        pats += [(1 << j) - 1 for j in range(2, m)]                 # runs of ones from the LSB
        pats += [ones ^ (1 << i) for i in range(m)]                 # all ones but one bit
    return list(dict.fromkeys(p for p in pats if 0 <= p <= ones))


def _signs(f):
    return (0, f.sign_bit) if f.signed else (0,)


def _float_patterns(f, level):
    sigs = _significand_patterns(f.m, level)
    pats = [sign | (e << f.m) | t
            for e in _exponent_fields(f, level) for t in sigs for sign in _signs(f)]
    if f.has_nan:                                   # the canonical quiet NaN, both signs
        pats += [f.canonical_nan | sign for sign in _signs(f)]
    return pats


def _weighted_field(f, rng):
    """An exponent field near the bias: spread of 0..w bits, chosen uniformly."""
    spread = rng.randrange(f.w + 1)
    offset = rng.getrandbits(spread)
    field = f.bias - offset if rng.getrandbits(1) else f.bias + offset
    if 0 <= field < 1 << f.w:
        return field
    return rng.randrange(1 << f.w)


def _float_random(f, pats, rng, table_exponent):
    if table_exponent:
        field = (rng.choice(pats) & f.mag_mask) >> f.m
    else:
        field = _weighted_field(f, rng)
    sign = f.sign_bit if f.signed and rng.getrandbits(1) else 0
    return sign | (field << f.m) | rng.getrandbits(f.m)


# -- fixed-point patterns ---------------------------------------------------------------

def _fixed_patterns(f, level):
    width = f.width
    mask = (1 << width) - 1
    ints = [0, 1, f.hi, f.hi - 1, f.lo, f.lo + 1, -1, -2]
    near = (-1, 1) if level == 1 else (-3, -2, -1, 1, 2, 3)
    for i in range(1, width):
        ints += [(1 << i) + d for d in near] + [-(1 << i) + d for d in near] + [-(1 << i)]
    for p in FLOAT_PRECISIONS:
        for d in range(-3, 4):
            ints += [(1 << p) + d, (1 << (p + 1)) + d, -(1 << p) - d, -(1 << (p + 1)) - d]
    if level >= 2:                                  # two bits set, or a run of ones in the middle
        pairs = [(1 << i) + s * (1 << j) for i in range(1, width) for j in range(i) for s in (1, -1)]
        ints += pairs + [-q for q in pairs]
    codes = [f.code_of(q) for q in ints if f.lo <= q <= f.hi]
    codes += [1 << i for i in range(width)] + [mask ^ (1 << i) for i in range(width)]   # walking 1s, 0s
    if level >= 2:
        codes += [mask ^ ((1 << (width - j)) - 1) for j in range(1, width)]   # runs of ones from the MSB
        codes += [(1 << j) - 1 for j in range(2, width)]                     # runs of ones from the LSB
    return codes


def _fixed_random(f, pats, rng, table_exponent):
    """A value of random bit length (0..magnitude width), random sign when signed."""
    magnitude_bits = f.width - 1 if f.signed else f.width
    length = rng.randrange(magnitude_bits + 1)
    q = rng.getrandbits(length) | (1 << (length - 1)) if length else 0
    if f.signed and rng.getrandbits(1):
        q = -q
    return f.code_of(q)


# -- narrowing boundaries ------------------------------------------------------------------

def narrow_targets():
    """Every catalog format of at most 16 bits that a wide source is converted to:
    the named catalogue, the P3109 K=8 family, and 8- and 16-bit integers."""
    named = [f for f in CATALOG.values() if f.k <= EXHAUSTIVE_BITS]
    p3109 = [lookup(f"p3109_k8p{p}{s}{d}") for s, ps in (("s", range(1, 8)), ("u", range(1, 9)))
             for p in ps for d in "ef"]
    ints = [lookup(n) for n in ("i8", "ui8", "i16", "ui16")]
    return named + p3109 + ints


def boundary_values(target):
    """Positive values where a conversion to ``target`` changes behaviour (exact Fractions)."""
    base = _base(target)
    scale = Fraction(getattr(target, "scale", 1))
    if base.kind == "float":
        two = Fraction(2)
        top = base.smax * two ** base.qmax
        half_ulp_at_top = two ** (base.qmax - 1)
        tiny = [two ** base.qmin, two ** base.emin]
        half_ulp_of_one = two ** (-base.m - 1)
        ties = [1 + half_ulp_of_one, 1 + 3 * half_ulp_of_one]
    else:
        ulp = Fraction(1, 1 << base.frac)
        top = base.hi * ulp
        half_ulp_at_top = ulp / 2
        tiny = [ulp]
        ties = [ulp / 2 * 3]
        if base.signed:
            ties += [-base.lo * ulp, -base.lo * ulp + ulp / 2]
    values = [top, top + half_ulp_at_top] + tiny + [t / 2 for t in tiny] + ties
    return [v * scale for v in values]


@functools.lru_cache(maxsize=None)
def boundary_codes(fmt):
    """Codes of ``fmt`` at and around every narrowing boundary of every narrow target."""
    values = dict.fromkeys(v for t in narrow_targets() for v in boundary_values(t))
    signed = _base(fmt).signed
    eps = _below_every_gap(fmt)
    codes = []
    for v in values:
        for x in ((v, -v) if signed else (v,)):
            codes += _codes_near(fmt, x, eps)
    return tuple(dict.fromkeys(codes))


def _below_every_gap(fmt):
    """A positive value smaller than a quarter of every gap between neighbours of ``fmt``."""
    base = _base(fmt)
    q = base.qmin if base.kind == "float" else -base.frac
    return Fraction(2) ** q * Fraction(getattr(fmt, "scale", 1)) / 4


def _place(fmt, x, ctx):
    return project(Value.from_fraction(x), fmt, ctx)[0]


def _codes_near(fmt, x, eps):
    """``x``'s code and both neighbours when ``fmt`` holds ``x``, else the two codes around it."""
    down, up = _place(fmt, x, _DOWN), _place(fmt, x, _UP)
    if down != up:
        return [down, up]
    return [_place(fmt, x - eps, _DOWN), down, _place(fmt, x + eps, _UP)]


# -- helpers -----------------------------------------------------------------------------------

def _as_format(fmt):
    return lookup(fmt) if isinstance(fmt, str) else fmt


def _base(fmt):
    while getattr(fmt, "kind", None) == "scaled":
        fmt = fmt.base
    return fmt


def _check_level(level):
    if level not in LEVELS:
        raise RefnumError(f"level must be 1 or 2, got {level!r}")
