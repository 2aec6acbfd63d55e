"""The single projection step: exact value -> code of a format, with flags.

Every refnum result passes through :func:`project` exactly once (a hardware
model that rounds in the middle calls it on a named intermediate format).
Rounding, the overflow/saturation policy, tininess, FTZ and every flag live
here and nowhere else.

The rounding rule is P3109 v4.0 §4.7.4, which is IEEE 754-2019 §4.3 stated on
integers: for finite nonzero X let ``Q = max(floor(log2|X|), emin) - (p - 1)``
(for formats without subnormals, values below ``2**emin`` use ``Q = emin``),
split ``|X| * 2**-Q`` into its integer part ``S0`` and fraction ``nu`` and round
``S0`` away from zero by one when the mode says so.  The exponent is unbounded
above, so rounding always happens before the overflow test (P3109 §4.7, OFP8:
E4M3 464 -> 448, 465 -> overflow).
"""

from __future__ import annotations

from . import arguments
from .context import DEFAULT, Context, Flag
from .errors import RefnumError
from .values import FINITE, INF, NAN, Value

INEXACT, UNDERFLOW, OVERFLOW, INVALID, SATURATED = (
    int(Flag.INEXACT), int(Flag.UNDERFLOW), int(Flag.OVERFLOW), int(Flag.INVALID), int(Flag.SATURATED))


def project(value, fmt, ctx=DEFAULT, rand=0):
    """The code of ``fmt`` that ``value`` rounds to under ``ctx``, and the flags raised.

    ``rand`` is the random integer R (0 <= R < 2**ctx.sr_bits) of a stochastic
    rounding; other modes ignore it.

    >>> from refnum.catalog import lookup
    >>> from refnum.values import parse
    >>> e4m3 = lookup("e4m3")
    >>> [hex(project(parse(x), e4m3)[0]) for x in ("464", "465", "-0.0009")]
    ['0x7e', '0x7e', '0x80']
    """
    if not (type(value) is Value and type(ctx) is Context and type(rand) is int
            and isinstance(fmt, arguments.FORMAT_TYPES)) or (rand < 0 or rand >> ctx.sr_bits):
        value, fmt, ctx = arguments.value(value), arguments.format_of(fmt), arguments.context(ctx)
        rand = arguments.rand(ctx, rand)
    if value.kind is FINITE and value.num:
        return round_finite(fmt, ctx, value.sign, value.num, value.exp, value.den, rand)
    while fmt.kind == "scaled":                   # zeros, Inf and NaN ignore a scale
        fmt = fmt.base
    if fmt.kind == "fixed":
        return _special_to_fixed(fmt, ctx, value)
    if value.kind is NAN:
        return _nan(fmt, ctx, value)
    if value.kind is INF:
        return _infinity(fmt, ctx, value.sign)
    return _exact_zero(fmt, ctx, value.sign)


def round_finite(fmt, ctx, sign, num, exp, den=1, rand=0):
    """:func:`project` of the nonzero finite value ``(-1)**sign * num / den * 2**exp``.

    The bulk paths (:func:`refnum.convert.converter`, floats in
    :func:`refnum.convert.from_value`) come here with a decoded value's integer
    parts, through :func:`rounder_for`, without building a :class:`Value`.
    """
    return _ROUNDERS[fmt.kind](fmt, ctx, sign, num, exp, den, rand)


def rounder_for(fmt):
    """The function ``(fmt, ctx, sign, num, exp, den, rand)`` that :func:`round_finite` uses for ``fmt``."""
    return _ROUNDERS[fmt.kind]


def bound_rounder(fmt, ctx):
    """``f(sign, num, exp, den=1, rand=0) -> (code, flags)``: :func:`round_finite` into ``fmt``
    under ``ctx``, bound once (the bulk paths of ``refnum run/gen/verify``; arguments
    already validated by the caller, so nothing is checked here).

    For a float format with a trailing field (m >= 1) and a deterministic rounding
    it computes the common case inline: a dyadic value (``den == 1``) whose
    magnitude is at least ``2**emin`` and whose rounded result is at most the
    largest finite value.  There no tininess, FTZ, overflow or sign policy
    applies, the only flag is inexact, the rounding exponent is ``e - m`` as in
    :func:`_round_float`, and the code is :meth:`encode_finite` written as one
    sum: ``((e + bias) << m) + s - 2**m``, where a significand that carried to
    ``2**p`` steps into the next exponent field, the next binade's code.  Every
    other value goes to :func:`_round_float` unchanged.  tests/test_fast_paths.py
    compares both on every case they can enumerate.
    """
    rounder = _ROUNDERS[fmt.kind]

    def general(sign, num, exp, den=1, rand=0):
        return rounder(fmt, ctx, sign, num, exp, den, rand)
    if fmt.kind != "float" or not fmt.m or ctx.rounding.startswith("sr-"):
        return general
    m, p, emin, max_mag, sign_bit, signed = fmt.m, fmt.p, fmt.emin, fmt.max_mag, fmt.sign_bit, fmt.signed
    base, mode = (fmt.bias << m) - (1 << m), ctx.rounding
    rne = mode == "rne"

    def round_normal(sign, num, exp, den=1, rand=0):
        shift = num.bit_length() - p                # the bits below the significand's last
        e = exp + shift + m                         # floor(log2 |x|)
        if e < emin or den != 1 or (sign and not signed):
            return general(sign, num, exp, den, rand)
        if shift <= 0:
            s, r = num << -shift, 0
        else:
            s, r = num >> shift, num & ((1 << shift) - 1)
            if r and ((r > 1 << (shift - 1) or (r == 1 << (shift - 1) and s & 1)) if rne   # rne inline
                      else round_away(mode, sign, not s & 1, r, 1 << shift, 0, 0)):
                s += 1
        mag = (e << m) + s + base
        if mag > max_mag:
            return general(sign, num, exp, den, rand)
        return (mag | sign_bit if sign else mag), (INEXACT if r else 0)
    return round_normal


def _round_scaled(fmt, ctx, sign, num, exp, den, rand):
    v = Value.from_fraction(Value.finite(sign, num, exp, den).to_fraction() / fmt.scale)
    return round_finite(fmt.base, ctx, sign, v.num, v.exp, v.den, rand)


# -- the rounding decision ----------------------------------------------------

def ilog2(num, exp, den=1):
    """floor(log2(num / den * 2**exp)) for num > 0."""
    if den == 1:
        return num.bit_length() - 1 + exp
    a = num.bit_length() - den.bit_length()
    ge = num >= den << a if a >= 0 else num << -a >= den
    return exp + (a if ge else a - 1)


def split(num, exp, den, q):
    """(S0, r, d): ``num/den * 2**(exp - q) = S0 + r/d`` with ``0 <= r < d``."""
    shift = exp - q
    if den == 1:
        if shift >= 0:
            return num << shift, 0, 1
        return num >> -shift, num & ((1 << -shift) - 1), 1 << -shift
    if shift >= 0:
        s0, r = divmod(num << shift, den)
        return s0, r, den
    d = den << -shift
    s0, r = divmod(num, d)
    return s0, r, d


def round_away(mode, sign, even, r, d, rand, nbits):
    """Whether a value with fraction ``nu = r/d > 0`` rounds away from zero (P3109 §4.7.4).

    ``even`` says whether the truncated candidate's code is even.
    """
    if mode == "rne":
        twice = r << 1
        return twice > d or (twice == d and not even)
    if mode == "rtz":
        return False
    if mode == "rna":
        return r << 1 >= d
    if mode == "rup":
        return not sign
    if mode == "rdn":
        return bool(sign)
    if mode == "rto":
        return even
    one = 1 << nbits
    if mode == "sr-a":                       # floor(nu * 2**N) + R >= 2**N
        return (r << nbits) // d + rand >= one
    if mode == "sr-b":                       # floor(nu * 2**(N+1)) + 2R + 1 >= 2**(N+1)
        return (r << (nbits + 1)) // d + 2 * rand + 1 >= one << 1
    q, rem = divmod(r << nbits, d)           # sr-c: RNITE(nu * 2**N) + R >= 2**N
    if rem << 1 > d or (rem << 1 == d and q & 1):
        q += 1
    return q + rand >= one


def _code_is_even(fmt, ctx, s0, q):
    """P3109 CodeIsEven: the significand's LSB, or for precision 1 the code's parity."""
    if fmt.m:
        return not s0 & 1
    if s0 == 0:
        return True
    return ctx.p1_parity == "code" and not (q + fmt.bias) & 1


def guard_round_sticky(value, fmt):
    """``(g, r, s)`` of a finite nonzero exact value at ``fmt``'s rounding position: the first
    and second bits below the last kept bit and whether anything lower is nonzero; None for
    zeros, Inf and NaN.  What a hardware unit holds just before it rounds (for debugging a
    unit that disagrees; the rounding decision itself is :func:`project`'s)."""
    if value.kind is not FINITE or not value.num:
        return None
    num, exp, den = value.num, value.exp, value.den
    while fmt.kind == "scaled":
        v = Value.from_fraction(Value.finite(0, num, exp, den).to_fraction() / fmt.scale)
        num, exp, den, fmt = v.num, v.exp, v.den, fmt.base
    if fmt.kind == "fixed":
        q = -fmt.frac
    else:
        e = ilog2(num, exp, den)
        q = (e if e >= fmt.emin else fmt.emin) - fmt.m
    _, r, d = split(num, exp, den, q)
    four = r << 2
    return int(four >= d << 1), int(four // d & 1), int(four % d != 0)


# -- floating-point targets -----------------------------------------------------

def _round_float(fmt, ctx, sign, num, exp, den, rand):
    m, p, emin, qmin, qmax, smax = fmt.grid
    if sign and _by_magnitude(fmt, ctx):
        sign = 0
    if den == 1:                              # a dyadic value (every decoded code): ilog2 and split inline
        e = num.bit_length() - 1 + exp
        q = e - m if e >= emin else qmin
        if q > exp:
            d = 1 << (q - exp)
            s, r = num >> (q - exp), num & (d - 1)
        else:
            s, r, d = num << (exp - q), 0, 1
    else:
        e = ilog2(num, exp, den)
        q = e - m if e >= emin else qmin
        s, r, d = split(num, exp, den, q)
    flags = 0
    if r:
        flags = INEXACT
        if e == emin and _lowest_binade_as_subnormal(fmt, ctx):   # between "0" (the lowest code) and 2**(emin+1)
            q += 1
            s, r, d = split(num, exp, den, q)
        even = not s & 1 if m else _code_is_even(fmt, ctx, s, q)
        if round_away(ctx.rounding, sign, even, r, d, rand, ctx.sr_bits):
            s += 1
            if s >> p:                        # carried into the next binade
                s >>= 1
                q += 1
    if e < emin:
        tiny = _is_tiny(fmt, ctx, e, sign, num, exp, den, rand)
        if tiny and ctx.ftz:
            return _zero(fmt, sign), flags | UNDERFLOW | INEXACT
        if tiny and r:
            flags |= UNDERFLOW
        if s == 0:
            return _underflow_to_zero(fmt, ctx, sign, flags)
    elif q > qmax or (q == qmax and s > smax):
        return _overflow(fmt, ctx, sign, flags)
    if sign and not fmt.signed:
        return _below_lowest(fmt, ctx, flags)
    return fmt.encode_finite(sign, s, q), flags


def _is_tiny(fmt, ctx, e, sign, num, exp, den, rand):
    """IEEE 754 §7.5: nonzero and below 2**emin, before or after rounding (unbounded exponent)."""
    if ctx.tininess == "before" or e < fmt.emin - 1:
        return True
    q = e - fmt.m                             # round at precision p, exponent unbounded
    s, r, d = split(num, exp, den, q)
    if r and round_away(ctx.rounding, sign, _code_is_even(fmt, ctx, s, q), r, d, rand, ctx.sr_bits):
        s += 1
    return s >> fmt.p == 0


def _lowest_binade_as_subnormal(fmt, ctx):
    """Whether ``ctx.lowest_binade == "subnormal"`` applies to an inexact value in the
    lowest binade [2**emin, 2**(emin+1)) of a precision-1 format without zero (E8M0):
    ml_dtypes rounds it like an IEEE subnormal binade whose only value, code 0,
    stands for zero; the result keeps the real meaning of the code (2**emin)."""
    return ctx.lowest_binade == "subnormal" and not fmt.zero and fmt.m == 0


def _by_magnitude(fmt, ctx):
    """Whether a negative value into ``fmt`` is projected as its magnitude (``unsigned_negative``)."""
    return ctx.unsigned_negative == "magnitude" and not fmt.signed


def _negative_clamps(fmt, ctx, infinite):
    """Whether a negative value (``infinite``: -Inf) below an unsigned format's lowest value
    gives that lowest value rather than NaN: ``ctx.unsigned_negative``, or by default the
    P3109 v4.0 §4.7.5 rows "X < M_lo" and "-Inf" (the lowest value when saturating, and for a
    finite X also toward zero and toward +Inf; NaN otherwise)."""
    policy = ctx.unsigned_negative
    if policy is None:
        policy = "clamp" if (ctx.saturation_for(fmt) in ("finite", "propagate")
                             or (not infinite and ctx.rounding in ("rtz", "rup"))) else "nan"
    return policy == "clamp" or not fmt.has_nan


def _zero(fmt, sign):
    return fmt.sign_bit if sign and fmt.negzero else 0


def _exact_zero(fmt, ctx, sign):
    if fmt.zero:
        return _zero(fmt, sign), 0
    if ctx.zero_missing == "nan":                 # ml_dtypes: 0 -> E8M0 NaN
        return fmt.nan_code_canonical(), INVALID
    return fmt.encode_finite(0, 1, fmt.emin), INEXACT   # the smallest value, 2**emin


def _underflow_to_zero(fmt, ctx, sign, flags):
    if fmt.zero:
        return _zero(fmt, sign), flags
    flags |= UNDERFLOW | INEXACT
    if sign and not fmt.signed:       # no zero to land on: -2**emin is below the lowest value
        return _below_lowest(fmt, ctx, flags)
    return fmt.encode_finite(0, 1, fmt.emin), flags


def _saturated(fmt, sign, flags):
    if sign and not fmt.signed:
        return fmt.lowest_code(), flags | SATURATED
    return fmt.max_code(sign), flags | SATURATED


def _inf(fmt, sign):
    return fmt.inf_code | (fmt.sign_bit if sign else 0)


def _quiet_nan(fmt, ctx, sign):
    """The canonical NaN of ``fmt`` with ``sign``, its trailing field as ``ctx.nan_fill`` says."""
    code = fmt.nan_code(sign)
    if ctx.nan_fill == "ones" and fmt.nan == "ieee":
        code |= (1 << fmt.m) - 1
    return code


def _nan_code(fmt, ctx, sign):
    """The NaN of a value that overflows, or of an infinity, into a format whose only non-finite code is NaN."""
    if ctx.overflow_nan == "sign" or ctx.nan != "canonical":
        return _quiet_nan(fmt, ctx, sign)
    return _quiet_nan(fmt, ctx, ctx.nan_sign)


def _overflow(fmt, ctx, sign, flags):
    """A finite value rounded beyond the largest finite magnitude."""
    flags |= OVERFLOW | INEXACT
    sat, mode = ctx.saturation_for(fmt), ctx.rounding
    if sign and not fmt.signed:
        return _below_lowest(fmt, ctx, flags)
    if sat in ("finite", "propagate"):
        return _saturated(fmt, sign, flags)
    inward = mode == "rtz" or (mode == "rto" and ctx.rto_overflow == "max") or mode == ("rdn", "rup")[sign]
    if sat == "none":
        if inward:
            return fmt.max_code(sign), flags
        if fmt.has_inf:
            return _inf(fmt, sign), flags
        if fmt.has_nan:
            return _nan_code(fmt, ctx, sign), flags
        return _saturated(fmt, sign, flags)
    # P3109 v4.0 §4.7.5 SatNone, rows "X > M_hi" and "X < M_lo"
    if mode == "rtz" or mode == ("rdn", "rup")[sign] or not fmt.has_inf or (mode == "rto" and not fmt.signed):
        return _saturated(fmt, sign, flags)
    return _inf(fmt, sign), flags


def _below_lowest(fmt, ctx, flags):
    """A negative value, rounded nonzero, projected into an unsigned format (P3109 "X < M_lo")."""
    if _negative_clamps(fmt, ctx, False):
        return fmt.lowest_code(), flags | INEXACT | SATURATED
    return fmt.nan_code_canonical(), INVALID     # an invalid operation signals nothing else


def _infinity(fmt, ctx, sign):
    sat = ctx.saturation_for(fmt)
    if sign and _by_magnitude(fmt, ctx):
        sign = 0
    if sign and not fmt.signed:                   # -Inf into an unsigned format
        if _negative_clamps(fmt, ctx, True):
            return fmt.lowest_code(), SATURATED | (0 if sat in ("finite", "propagate") else INVALID)
        return fmt.nan_code_canonical(), INVALID
    if sat == "finite":
        return fmt.max_code(sign), SATURATED
    if fmt.has_inf:
        return _inf(fmt, sign), 0
    if sat == "none":                             # OFP8 non-SAT: Inf -> NaN; no NaN either: max
        if fmt.has_nan:
            return _nan_code(fmt, ctx, sign), INVALID
        return fmt.max_code(sign), INVALID | SATURATED
    return fmt.max_code(sign), SATURATED          # P3109 propagate/satnone on a finite format


def _nan(fmt, ctx, v):
    flags = INVALID if v.signaling else 0
    if fmt.has_nan:
        if ctx.nan == "canonical":
            return _quiet_nan(fmt, ctx, ctx.nan_sign), flags
        if ctx.nan == "sign":
            return _quiet_nan(fmt, ctx, v.sign), flags
        return fmt.nan_code(v.sign, v.payload, v.payload_bits), flags
    flags |= INVALID
    policy = ctx.nan_missing
    if policy == "max":
        return fmt.max_code(0), flags | SATURATED
    if policy == "zero":
        return 0, flags
    if policy == "negzero":
        return (0 if v.sign else fmt.sign_bit), flags
    raise RefnumError(f"NaN has no encoding in {fmt.name} (nan_missing=error)")


# -- fixed-point and integer targets ------------------------------------------------

def quantize(ctx, sign, num, exp, den, q, rand=0):
    """``(S, inexact)``: ``num/den * 2**exp`` rounded under ``ctx`` to an integer multiple
    ``S * 2**q`` of ``2**q`` (exponent and range unbounded).

    The rounding of fixed-point and integer targets (IEEE 754 §5.8) and of
    roundToIntegral (§5.9, ``q = 0``); evenness is the parity of ``S``.
    """
    s, r, d = split(num, exp, den, q)
    if r and round_away(ctx.rounding, sign, not s & 1, r, d, rand, ctx.sr_bits):
        s += 1
    return s, r != 0


def _round_fixed(fmt, ctx, sign, num, exp, den, rand):
    """Round to a multiple of 2**-frac, then range-check (IEEE 754 §5.8 for integers)."""
    s, inexact = quantize(ctx, sign, num, exp, den, -fmt.frac, rand)
    q = -s if sign else s
    if not fmt.lo <= q <= fmt.hi:
        return _invalid_integer(fmt, ctx, False, sign, q)
    return fmt.code_of(q), (INEXACT if inexact and ctx.exact else 0)


def _special_to_fixed(fmt, ctx, v):
    if v.kind is FINITE:                          # a zero of either sign
        return 0, 0
    return _invalid_integer(fmt, ctx, v.kind is NAN, v.sign, None)


def _invalid_integer(fmt, ctx, nan, sign, q):
    """NaN, Inf or out of range: invalid, with the result of ``ctx.invalid_int``."""
    policy = ctx.invalid_int
    if policy == "wrap":
        return fmt.code_of(q if q is not None else 0), INVALID
    if policy == "x86":
        return fmt.code_of(fmt.lo if fmt.signed else fmt.hi), INVALID
    if nan:
        return fmt.code_of(fmt.hi if policy == "saturate" else 0), INVALID
    return fmt.code_of(fmt.lo if sign else fmt.hi), INVALID


_ROUNDERS = {"float": _round_float, "fixed": _round_fixed, "scaled": _round_scaled}
