"""Arithmetic on every format: decode exactly, compute exactly, project once.

Each operation decodes its operands to exact values (DAZ applies there),
settles NaN operands and the special cases of its clause (invalid operation,
division by zero, infinities, signed zeros), computes the exact result with
integers and hands it to :func:`refnum.rounding.project`, the one projection
step.  Operands may be in different formats and the result in another one
(e4m3 x e4m3 -> binary32 is exact; fma of two bfloat16 and a binary32 addend
rounds once into binary32), as accelerators do and as P3109 v4.0 defines them
(per-operand formats and a result format).

Operation names are TestFloat's (``add sub mul div rem mulAdd sqrt roundToInt
eq le lt eq_signaling le_quiet lt_quiet``) plus IEEE 754-2019's sign-bit
operations (§5.5.1 ``neg abs copySign``), minimum and maximum (§9.6
``minimum maximum minimumNumber maximumNumber``; 754-2008 §5.3.1 ``minNum
maxNum``) and ``totalOrder`` (§5.10).  Every function returns ``(code, flags)``;
comparisons and totalOrder return 0 or 1 as the code, in :data:`BOOL`.

NaN results follow the context: which NaN operand is propagated
(``ctx.nan_priority``) and how the result NaN is encoded (``ctx.nan``, applied
by the projection step).  Invalid operations return the default NaN, whose
sign is ``ctx.nan_sign``.  Formats without NaN receive ``ctx.nan_missing``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from fractions import Fraction
from math import isqrt

from . import arguments
from .context import DEFAULT, Flag
from .convert import value_of
from .errors import RefnumError
from .formats import FixedFormat
from .rounding import bound_rounder, ilog2, project, quantize
from .values import FINITE, INF, NAN, Value

INEXACT, DIVBYZERO, INVALID = int(Flag.INEXACT), int(Flag.DIVBYZERO), int(Flag.INVALID)

BOOL = FixedFormat("bool", 1, 0, signed=False)
"""The result format of comparisons and totalOrder: one bit, 1 for true."""


# -- exact arithmetic on finite parts ------------------------------------------------
#
# A nonzero finite operand is ``(sign, num, exp, den)``: ``(-1)**sign * num / den * 2**exp``
# with ``num > 0`` and ``den`` odd (1 for every decoded code; scaled formats give
# other denominators).  These kernels are exact; rounding happens after them.

def exact_sum(x, y):
    """``x + y`` as ``(sign, num, exp, den)``; ``num`` is 0 when they cancel."""
    sx, nx, ex, dx = x
    sy, ny, ey, dy = y
    if dx != 1 or dy != 1:
        nx, ny = nx * dy, ny * dx
    e = ex if ex < ey else ey
    a, b = nx << (ex - e), ny << (ey - e)
    if sx == sy:
        return sx, a + b, e, dx * dy
    if a >= b:
        return sx, a - b, e, dx * dy
    return sy, b - a, e, dx * dy


def exact_product(x, y):
    return x[0] ^ y[0], x[1] * y[1], x[2] + y[2], x[3] * y[3]


def exact_quotient(x, y):
    num, den = x[1] * y[3], x[3] * y[1]
    twos = (den & -den).bit_length() - 1            # keep the denominator odd
    return x[0] ^ y[0], num, x[2] - y[2] - twos, den >> twos


def sticky_sqrt(x, grid):
    """``sqrt(x)`` for positive ``x``, exact when it is dyadic at ``2**grid`` resolution,
    else a value strictly between the two neighbouring multiples of ``2**grid``.

    The projection only asks which side of its decision points (representable
    values, midpoints, stochastic thresholds) a value lies on.  When every such
    point is a multiple of ``2**grid`` they all lie outside the open interval
    ``(t, t + 1) * 2**grid`` that holds an inexact root, so its midpoint
    ``(2t + 1) * 2**(grid - 1)`` rounds exactly as the root does (the sticky-bit
    argument of IEEE 754 §5.4.1 squareRoot implementations, made explicit).
    """
    _, num, exp, den = x
    if exp & 1:
        num, exp = num << 1, exp - 1
    grid = min(grid, exp >> 1)
    y, r = divmod(num << (exp - 2 * grid), den)     # x * 4**-grid = y + r/den
    t = isqrt(y)
    if r == 0 and t * t == y:
        return 0, t, grid, 1
    return 0, 2 * t + 1, grid - 1, 1


def _sqrt_grid(out, x, ctx):
    """An exponent fine enough for :func:`sticky_sqrt` into ``out``: 2 bits below the
    finest quantum the projection can use at the root's magnitude (the unbounded-
    exponent precision-p grid that after-rounding tininess uses), and below every
    stochastic threshold."""
    e = ilog2(x[1], x[2], x[3]) >> 1                # floor(log2 sqrt(x))
    return _quantum_exponent(out, e) - ctx.sr_bits - 2


def _quantum_exponent(fmt, e):
    if fmt.kind == "float":
        return e - fmt.m
    if fmt.kind == "fixed":
        return -fmt.frac
    scale = fmt.scale
    if scale.numerator & (scale.numerator - 1) or scale.denominator & (scale.denominator - 1):
        raise RefnumError(f"sqrt into {fmt.name}: only power-of-two scales are supported")
    shift = scale.numerator.bit_length() - scale.denominator.bit_length()
    return _quantum_exponent(fmt.base, e - shift) + shift


# -- exact arithmetic on values (IEEE 754-2019 §5.4, §6.1, §6.3, §7.2, §7.3) ----------------
#
# Each returns (Value, flags) for non-NaN operands; the Value None stands for an
# invalid operation (§7.2), whose result is the default NaN.

def _parts(v):
    return v.sign, v.num, v.exp, v.den


def _from_parts(p):
    return Value.finite(*p)


def _exact_zero_sum(ctx):
    """§6.3: an exact zero sum of operands of opposite signs is +0, or -0 rounding down."""
    return Value.zero(1 if ctx.rounding == "rdn" else 0)


def exact_add(x, y, ctx=DEFAULT):
    if x.kind is INF or y.kind is INF:
        if x.kind is INF and y.kind is INF and x.sign != y.sign:
            return None, 0                          # §7.2(d): Inf - Inf
        return (x if x.kind is INF else y), 0
    if not y.num:
        if not x.num:
            return (x if x.sign == y.sign else _exact_zero_sum(ctx)), 0
        return x, 0
    if not x.num:
        return y, 0
    s = exact_sum(_parts(x), _parts(y))
    return (_from_parts(s) if s[1] else _exact_zero_sum(ctx)), 0


def exact_sub(x, y, ctx=DEFAULT):
    return exact_add(x, _negated(y), ctx)


def exact_mul(x, y, ctx=DEFAULT):
    sign = x.sign ^ y.sign
    if x.kind is INF or y.kind is INF:
        if x.is_zero or y.is_zero:
            return None, 0                          # §7.2(b): 0 x Inf
        return Value.inf(sign), 0
    if not x.num or not y.num:
        return Value.zero(sign), 0
    return _from_parts(exact_product(_parts(x), _parts(y))), 0


def exact_div(x, y, ctx=DEFAULT):
    sign = x.sign ^ y.sign
    if x.kind is INF:
        if y.kind is INF:
            return None, 0                          # §7.2(e): Inf / Inf
        if y.is_zero and ctx.div_by_zero == "nan":
            return None, 0
        return Value.inf(sign), 0
    if y.kind is INF:
        return Value.zero(sign), 0
    if not y.num:
        if not x.num:
            return None, 0                          # §7.2(e): 0 / 0
        if ctx.div_by_zero == "nan":                # P3109 v4.0: Divide(x, 0) = NaN
            return None, DIVBYZERO
        return Value.inf(sign), DIVBYZERO           # §7.3
    if not x.num:
        return Value.zero(sign), 0
    return _from_parts(exact_quotient(_parts(x), _parts(y))), 0


def exact_fma(x, y, z, ctx=DEFAULT):
    """§5.4.1 fusedMultiplyAdd: ``x * y + z`` computed exactly, rounded once by the caller."""
    product, flags = exact_mul(x, y, ctx)
    if product is None:
        return None, flags
    return exact_add(product, z, ctx)


def exact_sqrt(x, ctx=DEFAULT, out=None):
    """§5.4.1 squareRoot; the root of a non-square is :func:`sticky_sqrt`'s stand-in,
    fine enough for ``out`` under ``ctx``."""
    if x.kind is INF or x.is_zero:
        return (None if x.sign and x.kind is INF else x), 0
    if x.sign:
        return None, 0                              # §7.2(g): sqrt of a negative number
    p = _parts(x)
    return _from_parts(sticky_sqrt(p, _sqrt_grid(out, p, ctx))), 0


def exact_rem(x, y, ctx=DEFAULT):
    """§5.3.1 remainder: ``x - y * n``, ``n`` the integer nearest ``x / y`` (ties to even).

    An exact zero takes the sign of ``x``.
    """
    if x.kind is INF or y.is_zero:
        return None, 0                              # §7.2(f)
    if y.kind is INF or x.is_zero:
        return x, 0
    fx, fy = x.to_fraction(), y.to_fraction()
    r = fx - round(fx / fy) * fy                    # Fraction rounds half to even
    return Value.from_fraction(r, sign_of_zero=x.sign), 0


def exact_round_to_integral(x, ctx=DEFAULT, rand=0):
    """§5.3.1 roundToIntegralExact (inexact when ``ctx.exact``, TestFloat ``-exact``) or
    roundToIntegralTiesToEven and friends (no inexact), in the rounding mode of ``ctx``.
    A zero result keeps the operand's sign."""
    if x.kind is INF or x.is_zero:
        return x, 0
    s, inexact = quantize(ctx, x.sign, x.num, x.exp, x.den, 0, rand)
    flags = INEXACT if inexact and ctx.exact else 0
    return (Value.finite(x.sign, s, 0) if s else Value.zero(x.sign)), flags


def _negated(v):
    return Value(v.kind, v.sign ^ 1, v.num, v.exp, v.den, v.payload, v.payload_bits, v.signaling)


# -- NaN operands (IEEE 754-2019 §6.2) ------------------------------------------------------

def _propagated(nans, ctx):
    """The quiet NaN an operation returns for its NaN operands, before encoding."""
    chosen = nans[0]
    if ctx.nan_priority == "signaling":
        chosen = next((v for v in nans if v.signaling), chosen)
    return Value.nan(chosen.sign, chosen.payload, chosen.payload_bits)


def _signals(values):
    """§6.2, §7.2(a): an operation on a signalling NaN signals invalid."""
    return INVALID if any(v.kind is NAN and v.signaling for v in values) else 0


def _nan_result(nans, values, ctx):
    return _propagated(nans, ctx), _signals(values)


def _checked(value, flags, ctx):
    """An exact result, or for ``None`` the default NaN (sign ``ctx.nan_sign``): invalid
    (§7.2), or divide-by-zero alone when the context makes x / 0 a NaN (P3109)."""
    if value is None:
        return Value.nan(ctx.nan_sign), flags | (0 if flags & DIVBYZERO else INVALID)
    return value, flags


# -- unrounded results: (values, out, ctx, rand) -> (Value, flags) ----------------------------
#
# What each operation hands to the projection step: the exact result, or the NaN
# the result will be (propagated or default), and the flags raised so far.

def _arithmetic(exact):
    """An operation whose NaN operands propagate (§6.2) and which is otherwise exact."""
    def unrounded(values, out, ctx, rand):
        nans = [v for v in values if v.kind is NAN]
        if nans:
            return _nan_result(nans, values, ctx)
        return _checked(*exact(*values, ctx=ctx), ctx)
    return unrounded


def _fma_unrounded(values, out, ctx, rand):
    """fusedMultiplyAdd's NaN rules (SoftFloat ``softfloat_mulAddF*``): a NaN factor
    propagates; an invalid product ``Inf x 0`` is invalid even when the addend is a
    quiet NaN (``ctx.inf_zero_nan``, §7.2(c) lets either happen), and the default NaN
    then competes with the addend for propagation.  The factors' NaN is chosen first and
    quieted, so under ``nan_priority="signaling"`` a signalling addend beats it (SoftFloat
    ARM-VFPv2: ``propagateNaN(propagateNaN(a, b), c)``).  Under ``fma_nan_order="addend"``
    the three operands are ranked at once, the addend first (Arm FPMulAdd:
    ``FPProcessNaNs3(typeA, type1, type2)``, then a quiet addend with ``Inf x 0`` gives the
    default NaN)."""
    x, y, z = values
    invalid_product = (x.kind is INF and y.is_zero) or (y.kind is INF and x.is_zero)
    if ctx.fma_nan_order == "addend" and NAN in (x.kind, y.kind, z.kind) and not invalid_product:
        return _nan_result([v for v in (z, x, y) if v.kind is NAN], values, ctx)
    nans = [v for v in (x, y) if v.kind is NAN]
    if nans:                                    # the product's NaN, quieted, then against the addend
        product_nan = _propagated(nans, ctx)
        return _propagated([product_nan] + ([z] if z.kind is NAN else []), ctx), _signals(values)
    if invalid_product and (z.kind is not NAN or ctx.inf_zero_nan == "invalid"):
        if z.kind is NAN:
            value, flags = _nan_result([Value.nan(ctx.nan_sign), z], values, ctx)
            return value, flags | INVALID
        return _checked(None, 0, ctx)
    if z.kind is NAN:
        return _nan_result([z], values, ctx)
    return _checked(*exact_fma(x, y, z, ctx), ctx)


def _sqrt_unrounded(values, out, ctx, rand):
    (x,) = values
    if x.kind is NAN:
        return _nan_result([x], values, ctx)
    return _checked(*exact_sqrt(x, ctx, out), ctx)


def _round_to_int_unrounded(values, out, ctx, rand):
    (x,) = values
    if x.kind is NAN:
        return _nan_result([x], values, ctx)
    return exact_round_to_integral(x, ctx, rand)


def _projected(unrounded):
    """The evaluator of an operation: its unrounded result, then the one projection step."""
    def evaluate(values, out, ctx, rand):
        value, flags = unrounded(values, out, ctx, rand)
        code, f = project(value, out, ctx, rand)
        return code, f | flags
    evaluate.unrounded = unrounded
    return evaluate


# §5.5.1 negate, abs, copySign: quiet, sign-bit operations.  On a format whose
# codes come in +/- pairs (sign bit, NaN and zero in both halves) they are bit
# operations and touch NaNs too, without a flag.  Elsewhere (FNUZ and signed
# P3109 keep their NaN where -0 would be; unsigned formats have no sign) and
# for a result in another format they act on the value and project it.

def _sign_bit_operation(new_sign):
    def evaluate(codes, formats, out, ctx, rand):
        fmt = formats[0]
        if out is fmt and _sign_symmetric(fmt):
            sign = new_sign(*(1 if c & fmt.sign_bit else 0 for c in codes))
            return (codes[0] & ~fmt.sign_bit) | (fmt.sign_bit if sign else 0), 0
        x, *rest = [value_of(c, f, ctx) for c, f in zip(codes, formats)]
        if any(v.kind is NAN and not _nan_has_sign(f) for v, f in zip(rest, formats[1:])):
            return project(Value.nan(), out, ctx, rand)     # P3109 wCopySign(x, NaN) = NaN
        sign = new_sign(x.sign, *(v.sign for v in rest))
        return project(Value(x.kind, sign, x.num, x.exp, x.den, x.payload, x.payload_bits, False), out, ctx, rand)
    return evaluate


def _nan_has_sign(fmt):
    """Whether the format's NaN codes carry a sign (IEEE and OCP layouts); the NaN of FNUZ and
    P3109 formats has none, so copying its sign yields NaN (P3109 v4.0 CopySign)."""
    return fmt.kind == "float" and fmt.signed and fmt.nan in ("ieee", "top")


def _sign_symmetric(fmt):
    return fmt.kind == "float" and fmt.signed and fmt.nan != "negzero" and fmt.negzero


# §9.6 minimum/maximum (754-2019) and §5.3.1 minNum/maxNum (754-2008).  -0 < +0 in all of
# them (754-2019 requires it for minimum/maximum(Number); for 754-2008's minNum/maxNum,
# which allow either zero, refnum chooses the same order, as RISC-V and Arm do).

def _order_key(v):
    """Numeric order of a non-NaN value, -0 before +0."""
    if v.kind is INF:
        return (1 if not v.sign else -1, 0, 0)
    return (0, v.to_fraction(), 0 if v.num else (-1 if v.sign else 1))


def _min_max(pick_max, nan_rule):
    """nan_rule: "nan" (any NaN gives NaN: minimum/maximum), "number" (a number beats a NaN,
    even a signalling one: minimumNumber/maximumNumber), "2008" (a signalling NaN gives
    NaN, a quiet one loses to a number: minNum/maxNum)."""
    def unrounded(values, out, ctx, rand):
        x, y = values
        nans = [v for v in values if v.kind is NAN]
        if nans:
            numbers = [v for v in values if v.kind is not NAN]
            quiet_loses = nan_rule == "number" or (nan_rule == "2008" and not _signals(values))
            if not numbers or not quiet_loses:
                return _nan_result(nans, values, ctx)
            return numbers[0], _signals(values)
        return (y if (_order_key(y) > _order_key(x)) == pick_max else x), 0
    return unrounded


# §5.11 comparisons: quiet predicates signal invalid for signalling NaNs only, signalling
# predicates for every NaN.  Results are 0/1 codes of BOOL.

def _compare(relation, signaling):
    def evaluate(values, out, ctx, rand):
        x, y = values
        if x.kind is NAN or y.kind is NAN:
            flags = INVALID if signaling else _signals(values)
            return 0, flags
        kx, ky = _order_key(x)[:2], _order_key(y)[:2]       # -0 == +0
        return int(relation(kx, ky)), 0
    return evaluate


def _total_order_key(v):
    """§5.10 totalOrder: -NaN < -Inf < ... < -0 < +0 < ... < +Inf < +NaN; among NaNs of
    one sign, signalling below quiet and smaller payloads first (mirrored when negative)."""
    if v.kind is NAN:
        inner = (not v.signaling, v.payload)
        return (-2, tuple(-i for i in inner)) if v.sign else (2, inner)
    return (0, _order_key(v))


def _evaluate_total_order(values, out, ctx, rand):
    x, y = values
    return int(_total_order_key(x) <= _total_order_key(y)), 0


@dataclass(frozen=True)
class Operation:
    """One operation: its name, number of operands, evaluator and clause."""

    name: str
    arity: int
    evaluate: object
    clause: str
    on_codes: bool = False          # the evaluator reads codes (sign-bit operations), not values
    boolean: bool = False           # the result is BOOL


def _op(name, arity, evaluate, clause, **kw):
    return name, Operation(name, arity, evaluate, clause, **kw)


OPERATIONS = dict((
    _op("add", 2, _projected(_arithmetic(exact_add)), "IEEE 754-2019 §5.4.1 addition"),
    _op("sub", 2, _projected(_arithmetic(exact_sub)), "IEEE 754-2019 §5.4.1 subtraction"),
    _op("mul", 2, _projected(_arithmetic(exact_mul)), "IEEE 754-2019 §5.4.1 multiplication"),
    _op("div", 2, _projected(_arithmetic(exact_div)), "IEEE 754-2019 §5.4.1 division"),
    _op("rem", 2, _projected(_arithmetic(exact_rem)), "IEEE 754-2019 §5.3.1 remainder"),
    _op("mulAdd", 3, _projected(_fma_unrounded), "IEEE 754-2019 §5.4.1 fusedMultiplyAdd"),
    _op("sqrt", 1, _projected(_sqrt_unrounded), "IEEE 754-2019 §5.4.1 squareRoot"),
    _op("roundToInt", 1, _projected(_round_to_int_unrounded), "IEEE 754-2019 §5.3.1 roundToIntegral[Exact]"),
    _op("neg", 1, _sign_bit_operation(lambda s: s ^ 1), "IEEE 754-2019 §5.5.1 negate", on_codes=True),
    _op("abs", 1, _sign_bit_operation(lambda s: 0), "IEEE 754-2019 §5.5.1 abs", on_codes=True),
    _op("copySign", 2, _sign_bit_operation(lambda s, t: t), "IEEE 754-2019 §5.5.1 copySign",
        on_codes=True),
    _op("minimum", 2, _projected(_min_max(False, "nan")), "IEEE 754-2019 §9.6 minimum"),
    _op("maximum", 2, _projected(_min_max(True, "nan")), "IEEE 754-2019 §9.6 maximum"),
    _op("minimumNumber", 2, _projected(_min_max(False, "number")), "IEEE 754-2019 §9.6 minimumNumber"),
    _op("maximumNumber", 2, _projected(_min_max(True, "number")), "IEEE 754-2019 §9.6 maximumNumber"),
    _op("minNum", 2, _projected(_min_max(False, "2008")), "IEEE 754-2008 §5.3.1 minNum"),
    _op("maxNum", 2, _projected(_min_max(True, "2008")), "IEEE 754-2008 §5.3.1 maxNum"),
    _op("eq", 2, _compare(lambda a, b: a == b, False), "IEEE 754-2019 §5.11 compareQuietEqual",
        boolean=True),
    _op("le", 2, _compare(lambda a, b: a <= b, True), "IEEE 754-2019 §5.11 compareSignalingLessEqual",
        boolean=True),
    _op("lt", 2, _compare(lambda a, b: a < b, True), "IEEE 754-2019 §5.11 compareSignalingLess",
        boolean=True),
    _op("eq_signaling", 2, _compare(lambda a, b: a == b, True),
        "IEEE 754-2019 §5.11 compareSignalingEqual", boolean=True),
    _op("le_quiet", 2, _compare(lambda a, b: a <= b, False), "IEEE 754-2019 §5.11 compareQuietLessEqual",
        boolean=True),
    _op("lt_quiet", 2, _compare(lambda a, b: a < b, False), "IEEE 754-2019 §5.11 compareQuietLess",
        boolean=True),
    _op("totalOrder", 2, _evaluate_total_order, "IEEE 754-2019 §5.10 totalOrder", boolean=True),
))


# -- public interface ----------------------------------------------------------------------

def operation(name):
    try:
        return OPERATIONS[arguments.text("name", name, "an operation name such as 'add'")]
    except KeyError:
        raise RefnumError(f"unknown operation '{name}'; choose from {', '.join(OPERATIONS)}") from None


def operand_formats(fmt, arity):
    """One format per operand: ``fmt`` is a format, a name, or a sequence of either."""
    if isinstance(fmt, (list, tuple)):
        if len(fmt) != arity:
            raise RefnumError(f"{arity} operand formats expected, got {len(fmt)}")
        return tuple(arguments.format_of(f) for f in fmt)
    return (arguments.format_of(fmt),) * arity


def compute(name, codes, fmt, ctx=DEFAULT, *, out=None, rand=0):
    """``(code, flags)`` of operation ``name`` on operand ``codes``.

    ``fmt`` gives the operand formats (one for all, or one each); ``out`` the result
    format (default: the first operand's; comparisons always give :data:`BOOL`).

    >>> code, flags = compute("add", (0x3C00, 0x1400), "f16")   # 1 + 2**-10, exact
    >>> hex(code), flags
    ('0x3c01', 0)
    >>> code, flags = compute("mul", (0x7E, 0x7E), "e4m3", out="f32")   # 448 * 448 = 200704
    >>> hex(code), flags
    ('0x48440000', 0)
    """
    ctx = arguments.context(ctx)
    evaluate, formats = _bound(arguments.text("name", name, "an operation name such as 'add'"),
                               _format_key(fmt), _format_key(out, "out"), ctx)
    return evaluate(*_checked_codes(name, codes, formats), arguments.rand(ctx, rand))


def _format_key(fmt, argument="fmt"):
    """``fmt`` (a format, a name, a sequence of them, or None for ``out``) as a cache key, its
    type checked here and its names looked up on a cache miss."""
    if type(fmt) is str or (fmt is None and argument == "out"):
        return fmt
    if isinstance(fmt, (list, tuple)) and argument == "fmt":
        return tuple(_format_key(f) for f in fmt)
    if not isinstance(fmt, _FORMAT_OR_NAME):
        raise arguments.wrong_type(argument, fmt, "a format or a format name such as 'e4m3'"
                                   + (" (or a sequence of them, one per operand)" if argument == "fmt" else ""))
    return fmt


_FORMAT_OR_NAME = (str,) + arguments.FORMAT_TYPES


def _checked_codes(name, codes, formats):
    """The operand codes as ints, each in its format's range."""
    if not isinstance(codes, (list, tuple)):
        raise arguments.wrong_type("codes", codes, "a sequence of operand codes")
    if len(codes) != len(formats):
        raise RefnumError(f"{name} takes {len(formats)} operands, got {len(codes)}")
    for c, f in zip(codes, formats):
        if type(c) is not int or not 0 <= c < f.ncodes:      # the common case passes at once
            codes = [arguments.code(c, f"operand {i}") for i, c in enumerate(codes, 1)]
            for c, f in zip(codes, formats):
                f.check_code(c)
            return codes
    return codes


@functools.lru_cache(maxsize=256)
def _bound(name, fmt, out, ctx):
    """(:func:`evaluator`, operand formats) of one call signature, bound once."""
    formats = operand_formats(fmt, operation(name).arity)
    return evaluator(name, formats, out, ctx), formats


def unrounded(name, codes, fmt, ctx=DEFAULT, *, out=None, rand=0):
    """``(Value, flags)``: what operation ``name`` hands to the projection step -- its exact
    result (or the NaN it returns) and the flags raised before rounding; None for the
    operations that do not round (comparisons, totalOrder, sign-bit operations).

    >>> value, flags = unrounded("mul", (0x3C01, 0x3C01), "f16")     # (1 + 2**-10)**2
    >>> str(value), flags
    ('1.00195407867431640625', 0)
    """
    op, ctx = operation(name), arguments.context(ctx)
    step = getattr(op.evaluate, "unrounded", None)
    if step is None:
        return None
    formats = operand_formats(fmt, op.arity)
    codes, rand = _checked_codes(name, codes, formats), arguments.rand(ctx, rand)
    return step([value_of(c, f, ctx) for c, f in zip(codes, formats)], _result_format(out, formats), ctx, rand)


def _result_format(out, formats):
    if out is None:
        return formats[0]
    return arguments.format_of(out, "out")


def _named(name):
    def call(*args, ctx=DEFAULT, out=None, rand=0):
        op = OPERATIONS[name]
        if len(args) != op.arity + 1:
            raise RefnumError(f"{name}: expected {op.arity} operand codes and their format(s)")
        return compute(name, args[:-1], args[-1], ctx, out=out, rand=rand)
    call.__name__ = call.__qualname__ = name
    call.__doc__ = (f"{OPERATIONS[name].clause}: ``{name}(*codes, fmt, ctx=DEFAULT, out=None, rand=0)``"
                    " -> ``(code, flags)``; see :func:`compute`.")
    return call


add, sub, mul, div, rem, mulAdd, sqrt, roundToInt = map(
    _named, ("add", "sub", "mul", "div", "rem", "mulAdd", "sqrt", "roundToInt"))
fma = mulAdd


# -- the bulk path ------------------------------------------------------------------------------

_KERNELS = {"add": exact_sum, "mul": exact_product, "div": exact_quotient}


def evaluator(name, formats, out, ctx=DEFAULT):
    """``f(*codes, rand) -> (code, flags)``: :func:`compute` bound once, for ``refnum run/gen/verify``.

    add, sub, mul and div of nonzero finite operands go straight from the operands'
    integer parts (a table for formats of at most 16 bits) through the exact kernels
    to the projection step; every other case takes the operation's general path
    through decoded values.  Codes are not range-checked here.
    """
    op, ctx = operation(name), arguments.context(ctx)
    formats = operand_formats(formats, op.arity)
    out = BOOL if op.boolean else _result_format(out, formats)

    def general(*args):
        *codes, rand = args
        if op.on_codes:
            return op.evaluate(tuple(codes), formats, out, ctx, rand)
        return op.evaluate([value_of(c, f, ctx) for c, f in zip(codes, formats)], out, ctx, rand)

    kernel = _KERNELS.get("add" if name == "sub" else name)
    if kernel is None or out.kind == "scaled" or any(f.kind == "scaled" for f in formats):
        return general
    parts_x, parts_y = (_parts_table(f, ctx.daz) for f in formats)
    round_parts = bound_rounder(out, ctx)         # ctx checked above; formats by operand_formats
    negate = name == "sub"

    def fast(x, y, rand=0):
        px, py = parts_x(x), parts_y(y)
        if px is None or py is None:
            return general(x, y, rand)
        if negate:
            py = (py[0] ^ 1,) + py[1:]
        sign, num, exp, den = kernel(px, py)
        if not num:
            return general(x, y, rand)
        return round_parts(sign, num, exp, den, rand)
    return fast


@functools.lru_cache(maxsize=64)
def _parts_table(fmt, daz):
    """``code -> (sign, num, exp, 1)`` of nonzero finite codes (None otherwise, and for
    subnormals under DAZ): a list lookup for formats of at most 16 bits."""
    def parts(code):
        p = fmt.finite_parts(code)
        if p is None or (daz and fmt.kind == "float" and fmt.is_subnormal_code(code)):
            return None
        return p + (1,)
    if fmt.k <= 16:
        return [parts(c) for c in range(fmt.ncodes)].__getitem__
    return parts
