"""An independent oracle for arithmetic on small formats (IEEE 754-2019 by definition).

Operands are decoded with :mod:`oracle`'s value tables (exact ``Fraction``s and
the markers ``NEG_ZERO POS_INF NEG_INF NAN SNAN``), each operation computes its
exact result with ``Fraction`` from the clause that defines it, and the result
code is picked by :func:`oracle.nearest` (rounding by enumeration, the overflow
policy, tininess).  Nothing here imports refnum.

Exact results
-------------
An operation returns ``(result, flags)``: ``result`` is a ``Fraction``, a
marker, or one of three stand-ins that :func:`settle` resolves once the
rounding mode and result format are known:

* :data:`INVALID_OP`: an invalid operation (§7.2): the default NaN, invalid;
* :data:`ZERO_SUM`: an exact zero sum of operands of opposite signs (§6.3):
  +0, or -0 when rounding toward negative;
* :class:`Root`: the positive square root of a non-square, an irrational
  number.  :func:`settle` never approximates it with floating point: it finds
  the integer ``t`` with ``t**2 <= x * 4**G < (t + 1)**2`` (a comparison of
  squares, ``math.isqrt``) and hands ``nearest`` the rational ``(t + 1/2) *
  2**-G``.  ``G`` is fixed per format, finer than every point at which the
  rounding of ``nearest`` can change (grid values, midpoints, the binade below
  the smallest normal that tininess-after uses, stochastic thresholds with
  ``sr_bits`` random bits), so the irrational root and its stand-in lie in the
  same open interval between such points and round alike.
  ``tests/test_arith_small.py`` checks this against a direct comparison of
  squares of neighbours and midpoints.

Decisions the standards leave open (each is refnum's documented choice, see
``refnum/arith.py`` and ``spec/profiles-and-flags.md``):

* minNum/maxNum (754-2008 §5.3.1) order -0 below +0, like minimum/maximum.
* totalOrder (§5.10) among NaNs of one sign: signalling below quiet, then the
  smaller payload (the trailing bits below the quiet bit) first; mirrored for
  negative NaNs.  The single NaN of FNUZ and signed P3109 formats (the -0 code)
  and the NaN of unsigned formats have no sign: they order as positive NaNs.
* Division by zero under P3109's rule (``div_by_zero="nan"``, P3109 v4.0:
  Divide(x, 0) = NaN): a finite nonzero dividend raises division by zero (the
  IEEE exception, §7.3) and delivers NaN; 0/0 and Inf/0 are invalid.
* roundToIntegral rounds in the context's mode and raises inexact only when
  ``exact`` (roundToIntegralExact, TestFloat ``-exact``); the integer is then
  projected into the result format (it may not be representable: E2M3 7.5 -> 8).
* negate, abs, copySign (§5.5.1) are bit operations on formats whose codes come
  in +/- pairs (a sign bit, NaN and zero in both halves): NaNs too, no flag,
  whatever the overflow policy.  Elsewhere (FNUZ, P3109, unsigned formats)
  they act on the value, which is then rounded like any result, and since the
  NaN of those formats has no sign, copySign(x, NaN) is NaN (P3109 v4.0
  CopySign; spec/arithmetic.md applies it to FNUZ and unsigned formats too).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from fractions import Fraction

import oracle
from oracle import DIVBYZERO, INEXACT, INVALID, NAN, NEG_INF, NEG_ZERO, OVERFLOW, POS_INF, SNAN, UNDERFLOW


class _Token(str):
    """A stand-in result resolved by :func:`settle`."""


INVALID_OP = _Token("invalid")
ZERO_SUM = _Token("zero-sum")
ZERO = Fraction(0)


@dataclass(frozen=True)
class Root:
    """sqrt(x) for a positive Fraction ``x`` that is not the square of a dyadic rational."""

    x: Fraction


# --------------------------------------------------------------------------------------------
# Operands
# --------------------------------------------------------------------------------------------

def _has_ieee_nans(fmt):
    return fmt.kind == "float" and fmt.specials == "ieee"


def operand(fmt, code, daz=False):
    """The exact value of ``code``: ``oracle.decode``, with IEEE-layout signalling NaNs
    (quiet bit, the first trailing bit, clear: §6.2.1) told apart as ``SNAN``, and
    subnormals read as zeros of their sign under ``daz``."""
    v = oracle.decode(fmt, code)
    if v is NAN and _has_ieee_nans(fmt) and not code >> (fmt.mbits - 1) & 1:
        return SNAN
    if daz and fmt.kind == "float" and isinstance(v, Fraction) and v != 0 and abs(v) < fmt.min_normal:
        return NEG_ZERO if v < 0 else ZERO
    return v


@functools.lru_cache(maxsize=None)
def operand_table(fmt, daz=False):
    """:func:`operand` of every code of ``fmt``, as a list indexed by code."""
    return [operand(fmt, c, daz) for c in range(1 << fmt.bits)]


def is_nan(v):
    return v is NAN or v is SNAN


def is_inf(v):
    return v is POS_INF or v is NEG_INF


def is_zero(v):
    return v is NEG_ZERO or (isinstance(v, Fraction) and v == 0)


def sign(v):
    """The sign bit of a non-NaN value."""
    return 1 if v is NEG_ZERO or v is NEG_INF or (isinstance(v, Fraction) and v < 0) else 0


def real(v):
    """The Fraction of a finite value (either zero is 0)."""
    return ZERO if v is NEG_ZERO else v


def signed_zero(s):
    return NEG_ZERO if s else ZERO


def signed_inf(s):
    return NEG_INF if s else POS_INF


def _nan_result(*values):
    """§6.2: a NaN operand gives a quiet NaN; a signalling one raises invalid."""
    return NAN, (INVALID if any(v is SNAN for v in values) else 0)


# --------------------------------------------------------------------------------------------
# The operations on exact values
# --------------------------------------------------------------------------------------------

def add(x, y):
    """§5.4.1 addition, §6.1 infinities, §6.3 signs of zero sums, §7.2(b) Inf - Inf."""
    if is_nan(x) or is_nan(y):
        return _nan_result(x, y)
    if is_inf(x) or is_inf(y):
        if is_inf(x) and is_inf(y) and x is not y:
            return INVALID_OP, 0
        return (x if is_inf(x) else y), 0
    if is_zero(x) and is_zero(y):
        return (x if sign(x) == sign(y) else ZERO_SUM), 0
    s = real(x) + real(y)
    if s == 0:
        return ZERO_SUM, 0          # x + (-x), both nonzero
    return s, 0


def _negate(v):
    if is_nan(v):
        return v
    if v is NEG_ZERO:
        return ZERO
    if v is POS_INF:
        return NEG_INF
    if v is NEG_INF:
        return POS_INF
    if v == 0:
        return NEG_ZERO
    return -v


def sub(x, y):
    return add(x, _negate(y))


def mul(x, y):
    """§5.4.1 multiplication; §7.2(b) 0 x Inf; the sign is the exclusive or (§6.3)."""
    if is_nan(x) or is_nan(y):
        return _nan_result(x, y)
    s = sign(x) ^ sign(y)
    if is_inf(x) or is_inf(y):
        if is_zero(x) or is_zero(y):
            return INVALID_OP, 0
        return signed_inf(s), 0
    if is_zero(x) or is_zero(y):
        return signed_zero(s), 0
    return x * y, 0


def div(x, y, div_by_zero="inf"):
    """§5.4.1 division; §7.2(d) 0/0 and Inf/Inf; §7.3 x/0 (P3109: NaN, see the module notes)."""
    if is_nan(x) or is_nan(y):
        return _nan_result(x, y)
    s = sign(x) ^ sign(y)
    if is_inf(x):
        if is_inf(y):
            return INVALID_OP, 0
        if is_zero(y) and div_by_zero == "nan":
            return INVALID_OP, 0
        return signed_inf(s), 0
    if is_inf(y):
        return signed_zero(s), 0
    if is_zero(y):
        if is_zero(x):
            return INVALID_OP, 0
        if div_by_zero == "nan":
            return NAN, DIVBYZERO
        return signed_inf(s), DIVBYZERO
    if is_zero(x):
        return signed_zero(s), 0
    return real(x) / real(y), 0


def fma(x, y, z):
    """§5.4.1 fusedMultiplyAdd: (x * y) + z with one rounding.  §7.2(c): Inf x 0 is
    invalid even when z is a quiet NaN (refnum's default ``inf_zero_nan``)."""
    if is_nan(x) or is_nan(y):
        return _nan_result(x, y, z)
    if (is_inf(x) and is_zero(y)) or (is_zero(x) and is_inf(y)):
        return INVALID_OP, (INVALID if z is SNAN else 0)
    if is_nan(z):
        return _nan_result(z)
    product, _ = mul(x, y)
    return add(product, z)


def sqrt(x):
    """§5.4.1 squareRoot: sqrt(-0) = -0; §7.2(g) a negative operand is invalid."""
    if is_nan(x):
        return _nan_result(x)
    if is_zero(x) or x is POS_INF:
        return x, 0
    if sign(x):
        return INVALID_OP, 0
    n, d = x.numerator, x.denominator
    rn, rd = math.isqrt(n), math.isqrt(d)
    if rn * rn == n and rd * rd == d:
        return Fraction(rn, rd), 0
    return Root(x), 0


def _round_half_even(q):
    fl = math.floor(q)
    d = q - fl
    return fl + 1 if d > Fraction(1, 2) or (d == Fraction(1, 2) and fl % 2) else fl


def rem(x, y):
    """§5.3.1 remainder: x - y*n, n the integer nearest x/y (ties to even); a zero result
    has the sign of x; §7.2(f) rem(Inf, y) and rem(x, 0) are invalid."""
    if is_nan(x) or is_nan(y):
        return _nan_result(x, y)
    if is_inf(x) or is_zero(y):
        return INVALID_OP, 0
    if is_inf(y) or is_zero(x):
        return x, 0
    r = real(x) - _round_half_even(real(x) / real(y)) * real(y)
    return (signed_zero(sign(x)) if r == 0 else r), 0


_INT64 = oracle.Fmt("int64", "fixed", 64, True)


def round_to_integral(x, mode, rand=0, sr_bits=0, exact=False):
    """§5.9 roundToIntegral in ``mode`` (the integer chosen by the oracle's fixed-point
    rounding by definition); inexact only for roundToIntegralExact; a zero keeps x's sign."""
    if is_nan(x):
        return _nan_result(x)
    if is_inf(x) or is_zero(x):
        return x, 0
    code, flags = oracle.nearest(x, _INT64, mode, rand=rand, sr_bits=sr_bits, exact=True)
    n = code - (1 << 64) if code >> 63 else code
    return (Fraction(n) if n else signed_zero(sign(x))), (INEXACT if flags & INEXACT and exact else 0)


def _order_key(v):
    """Numeric order of a non-NaN value, -0 just below +0."""
    if v is POS_INF:
        return (1, ZERO, 0)
    if v is NEG_INF:
        return (-1, ZERO, 0)
    if is_zero(v):
        return (0, ZERO, -1 if v is NEG_ZERO else 1)
    return (0, v, 0)


def min_max(x, y, pick_max, rule):
    """§9.6 minimum/maximum (rule "nan"), minimumNumber/maximumNumber ("number"),
    754-2008 §5.3.1 minNum/maxNum ("2008")."""
    if is_nan(x) or is_nan(y):
        flags = INVALID if x is SNAN or y is SNAN else 0
        numbers = [v for v in (x, y) if not is_nan(v)]
        number_wins = rule == "number" or (rule == "2008" and not flags)
        if numbers and number_wins:
            return numbers[0], flags
        return NAN, flags
    bigger = _order_key(y) > _order_key(x)
    return (y if bigger == pick_max else x), 0


def compare(x, y, relation, signaling):
    """§5.11: (0/1, flags); unordered when a NaN is involved (false), invalid for any NaN
    when signalling, for a signalling NaN when quiet; -0 == +0."""
    if is_nan(x) or is_nan(y):
        return 0, (INVALID if signaling or x is SNAN or y is SNAN else 0)
    kx, ky = _order_key(x)[:2], _order_key(y)[:2]
    return int({"eq": kx == ky, "lt": kx < ky, "le": kx <= ky}[relation]), 0


def nan_sign(fmt, code):
    """The sign of a NaN code: its sign bit where NaNs come in +/- pairs, else positive."""
    if fmt.signed and fmt.kind == "float" and fmt.specials in ("ieee", "top"):
        return code >> (fmt.bits - 1) & 1
    return 0


def total_order(fmt, x_code, y_code):
    """§5.10 totalOrder(x, y): 1 when x <= y in -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN."""
    def key(code):
        v = operand(fmt, code)
        if is_nan(v):
            quiet = int(v is NAN)
            payload = code & ((1 << (fmt.mbits - 1)) - 1) if _has_ieee_nans(fmt) else 0
            if nan_sign(fmt, code):
                return (-2, -quiet, -payload)
            return (2, quiet, payload)
        return (0,) + _order_key(v)
    return int(key(x_code) <= key(y_code))


def sign_symmetric(fmt):
    """Codes come in +/- pairs: a sign bit, and NaN/zero/Inf in both halves."""
    return fmt.signed and fmt.kind == "float" and fmt.specials in ("ieee", "top", "none")


# --------------------------------------------------------------------------------------------
# Settling an exact result into a code
# --------------------------------------------------------------------------------------------

def root_standin(x, fmt, sr_bits):
    """A rational in the same open interval between rounding decision points as sqrt(x)."""
    g = oracle.table(fmt).scale + sr_bits + 2
    scaled = x * 4**g
    t = math.isqrt(scaled.numerator // scaled.denominator)          # t**2 <= x * 4**g < (t+1)**2
    assert not (t * t == scaled), "a dyadic square root reaches Root"
    return Fraction(2 * t + 1, 2 ** (g + 1))


def settle(result, flags, fmt, mode="rne", policy=None, **knobs):
    """(code, IEEE flags) of an exact result in ``fmt`` (``knobs`` go to :func:`oracle.nearest`)."""
    if result is INVALID_OP:
        code, f = oracle.nearest(NAN, fmt, mode, policy, **knobs)
        return code, f | flags | INVALID
    if result is ZERO_SUM:
        result = NEG_ZERO if mode == "rdn" else ZERO
    elif isinstance(result, Root):
        result = root_standin(result.x, fmt, knobs.get("sr_bits", 0))
    code, f = oracle.nearest(result, fmt, mode, policy, **knobs)
    return code, f | flags


# --------------------------------------------------------------------------------------------
# Whole operations on codes
# --------------------------------------------------------------------------------------------

ROUNDED = ("add", "sub", "mul", "div", "rem", "mulAdd", "sqrt", "roundToInt")
MIN_MAX = {"minimum": (False, "nan"), "maximum": (True, "nan"),
           "minimumNumber": (False, "number"), "maximumNumber": (True, "number"),
           "minNum": (False, "2008"), "maxNum": (True, "2008")}
COMPARISONS = {"eq": ("eq", False), "le": ("le", True), "lt": ("lt", True),
               "eq_signaling": ("eq", True), "le_quiet": ("le", False), "lt_quiet": ("lt", False)}
SIGN_OPS = ("neg", "abs", "copySign")
ARITY = dict({"add": 2, "sub": 2, "mul": 2, "div": 2, "rem": 2, "mulAdd": 3, "sqrt": 1, "roundToInt": 1,
              "neg": 1, "abs": 1, "copySign": 2, "totalOrder": 2},
             **{n: 2 for n in MIN_MAX}, **{n: 2 for n in COMPARISONS})
OPERATIONS = tuple(ARITY)


def exact(op, values, div_by_zero="inf"):
    """The mode-independent exact result of a rounded or min/max operation on decoded values."""
    if op == "add":
        return add(*values)
    if op == "sub":
        return sub(*values)
    if op == "mul":
        return mul(*values)
    if op == "div":
        return div(*values, div_by_zero=div_by_zero)
    if op == "rem":
        return rem(*values)
    if op == "mulAdd":
        return fma(*values)
    if op == "sqrt":
        return sqrt(*values)
    if op in MIN_MAX:
        return min_max(*values, *MIN_MAX[op])
    raise ValueError(op)


def sign_op(op, codes, fmt):
    """§5.5.1 negate/abs/copySign: a code (bit operation) or an exact value to settle."""
    x = codes[0]
    if sign_symmetric(fmt):
        bit = 1 << (fmt.bits - 1)
        new = {"neg": (x & bit) ^ bit, "abs": 0, "copySign": codes[-1] & bit}[op]
        return (x & ~bit) | new
    vx = operand(fmt, x)
    if is_nan(vx):
        return NAN          # a quiet NaN (the sign of these formats' NaNs is not encoded)
    s = {"neg": sign(vx) ^ 1, "abs": 0}.get(op)
    if s is None:
        vy = operand(fmt, codes[1])
        if is_nan(vy):
            return NAN      # the NaN has no sign to copy: P3109 CopySign(x, NaN) = NaN
        s = sign(vy)
    return _negate(vx) if sign(vx) != s else vx


def expect(op, codes, fmt, mode="rne", policy=None, *, rand=0, sr_bits=0, exact_flag=False,
           div_by_zero="inf", daz=False, **knobs):
    """The oracle's ``(code, flags)`` for one operation on codes of ``fmt`` (result in ``fmt``)."""
    knobs = dict(knobs, rand=rand, sr_bits=sr_bits)
    if op in COMPARISONS:
        table = operand_table(fmt, daz)
        return compare(*(table[c] for c in codes), *COMPARISONS[op])
    if op == "totalOrder":
        return total_order(fmt, *codes), 0
    if op in SIGN_OPS:
        r = sign_op(op, codes, fmt)
        return (r, 0) if isinstance(r, int) else settle(r, 0, fmt, mode, policy, **knobs)
    table = operand_table(fmt, daz)
    values = [table[c] for c in codes]
    if op == "roundToInt":
        result, flags = round_to_integral(values[0], mode, rand, sr_bits, exact_flag)
    else:
        result, flags = exact(op, values, div_by_zero)
    return settle(result, flags, fmt, mode, policy, **knobs)


# --------------------------------------------------------------------------------------------
# IEEE 754 binary interchange formats too wide to enumerate (binary32 results)
# --------------------------------------------------------------------------------------------

def ieee_encode(x, w, m, mode="rne", tininess="after"):
    """``(code, IEEE flags)`` of ``x`` rounded into the binary format with ``w`` exponent and
    ``m`` trailing bits (§4.3 rounding directions and round to odd, §7.4 overflow by direction,
    §7.5 underflow; NaN results are the canonical quiet NaN, positive).  Computed on
    integers: the magnitude in units of the quantum of its binade (exponent range unbounded
    above), its integer part rounded by the mode."""
    bias = (1 << (w - 1)) - 1
    emin, emax = 1 - bias, bias
    inf_code = ((1 << w) - 1) << m
    if x is NAN or x is SNAN:
        return inf_code | 1 << (m - 1), INVALID if x is SNAN else 0
    if is_inf(x):
        return inf_code | sign(x) << (w + m), 0
    s = sign(x)
    signbit = s << (w + m)
    if is_zero(x):
        return signbit, 0
    num, den = abs(x.numerator), x.denominator
    e = _floor_log2(num, den)

    def rounded(q):
        """(n, inexact): |x| / 2**q rounded to an integer n by the mode."""
        a, b = (num << -q, den) if q < 0 else (num, den << q)
        n, r = divmod(a, b)
        if r and _away(mode, s, n, Fraction(r, b)):
            n += 1
        return n, r != 0

    q = max(e, emin) - m
    n, inexact = rounded(q)
    flags = INEXACT if inexact else 0
    # tiny: below 2**emin before rounding, or after rounding with an unbounded exponent
    tiny = e < emin and (tininess == "before" or _floor_log2(rounded(e - m)[0], 1) + e - m < emin)
    if tiny and inexact:
        flags |= UNDERFLOW
    if n >> (m + 1):                                # carried into the next binade
        n, q = n >> 1, q + 1
    if n and q + m > emax:
        flags |= OVERFLOW | INEXACT
        to_inf = mode in ("rne", "rna") or mode == ("rdn" if s else "rup")
        return signbit | (inf_code if to_inf else inf_code - 1), flags
    if n >> m:                                      # normal: E = q + m + bias, t = n - 2**m
        return signbit | (q + m + bias) << m | (n - (1 << m)), flags
    return signbit | n, flags                       # subnormal (q = emin - m) or zero


def _floor_log2(num, den):
    e = num.bit_length() - den.bit_length()
    return e if (num << max(0, -e)) >= (den << max(0, e)) else e - 1


def _away(mode, s, n, frac):
    """Round the magnitude n + frac (0 < frac < 1) up to n + 1?"""
    half = Fraction(1, 2)
    if mode == "rne":
        return frac > half or (frac == half and n % 2 == 1)
    if mode == "rna":
        return frac >= half
    if mode == "rtz":
        return False
    if mode == "rup":
        return not s
    if mode == "rdn":
        return bool(s)
    if mode == "rto":
        return n % 2 == 0
    raise ValueError(mode)


def ieee_fma(x, y, z, w, m, mode="rne", tininess="after"):
    """fusedMultiplyAdd of decoded values into a binary format (exact, then one rounding)."""
    result, flags = fma(x, y, z)
    if result is INVALID_OP:
        code, f = ieee_encode(NAN, w, m)
        return code, f | flags | INVALID
    if result is ZERO_SUM:
        result = NEG_ZERO if mode == "rdn" else ZERO
    code, f = ieee_encode(result, w, m, mode, tininess)
    return code, f | flags
