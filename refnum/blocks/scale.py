"""Scale rules: the scale of a block from its largest magnitude, exactly.

Power-of-two rules (OCP MX v1.0 §6.3 and its variants; BFP and DFP) give an
exponent E and the scale 2**E:

========  ======================================================================
floor     E = floor(log2 amax) - emax_elem (OCP MX §6.3; microxcaling, gfloat,
          torchao FLOOR); emax_elem = floor(log2 of the element's largest value)
ceil      E = ceil(log2 amax) - emax_elem (torchao CEIL)
even      amax's significand first rounded to the element's m bits, ties up
          (torchao EVEN): E = floor(log2 r(amax)) - emax_elem
rceil     E = ceil(log2(amax / max_elem)): amax / max_elem rounded up to a
          power of two (NVIDIA ``cvt.rp.satfinite.ue8m0``, cuBLAS, TE MXFP8,
          torchao RCEIL, DeepSeek-V3.1 ue8m0)
========  ======================================================================

plus the scheme's ``headroom``.  ``log2 = binary32 | binary64`` computes
floor/ceil of log2(amax) the way microxcaling (``torch.log2`` in float32) and
gfloat (numpy in float64) do: log2 rounded to nearest in that format first, so
an amax a few ulps below 2**n counts as 2**n.

General scales: ``amax`` (scale = RN32(amax / max_elem): per-tensor current
scaling, DeepSeek-V3 tiles), ``te_current`` (Transformer Engine: S = RN32(max /
amax), stored 1/S, elements x * S in FP32), and the NVFP4 two-level rules
``nvfp4`` (exact), ``nvfp4_te`` and ``nvfp4_torchao`` (each FP32 step of the
recipe rounded to nearest by refnum's projection step on binary32).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from ..catalog import lookup
from ..context import Context, Flag
from ..rounding import ilog2, project
from ..values import Value

_RN = Context()
_SAT = Context(saturation="finite")
_F32 = lookup("binary32")
OVERFLOW, UNDERFLOW, INEXACT, INVALID, SATURATED = (
    int(Flag.OVERFLOW), int(Flag.UNDERFLOW), int(Flag.INEXACT), int(Flag.INVALID), int(Flag.SATURATED))


RULES_POW2 = ("floor", "ceil", "even", "rceil")


@dataclass(frozen=True)
class ScaleChoice:
    """The scale a rule chose: its code, the flags of choosing it, the exact divisor of the
    elements (scale times tensor scale; None when the scale is NaN), or the FP32 factor
    a recipe multiplies the elements by instead (then each element is RN32(x * factor)
    before its projection, as the recipe computes it)."""

    code: int
    flags: int
    divisor: Fraction | None
    factor: Fraction | None = None


def max_value(fmt):
    """The largest finite value of an element format, exactly."""
    if fmt.kind == "fixed":
        return Fraction(fmt.hi, 1 << fmt.frac)
    return Fraction(fmt.smax) * Fraction(2) ** fmt.qmax


def floor_log2(q):
    """floor(log2 q) of a positive rational, exactly."""
    return ilog2(q.numerator, 0, q.denominator)


def ceil_log2(q):
    e = floor_log2(q)
    return e if q == Fraction(2) ** e else e + 1


def emax_elem(fmt):
    """Exponent of the largest power of two the element format holds (OCP MX §6.3)."""
    return floor_log2(max_value(fmt))


def fl32(q):
    """q rounded to nearest even in binary32 (one FP32 operation of a recipe), saturating
    to the largest finite value like the recipes' ``fminf(.., FLT_MAX)``."""
    code, _ = project(Value.from_fraction(q), _F32, _SAT)
    return _F32.decode(code).to_fraction()


FLT_MAX = max_value(_F32)
BELOW_EVERY_SCALE = -(1 << 64)        # the exponent of log2(0) = -Inf: clamps to the smallest scale


def _log2_rounded(q, fmt_name):
    """log2(q) rounded to nearest in a binary format (q first rounded to it): how
    ``torch.log2`` / ``numpy.log2`` see an amax (both correctly rounded here)."""
    import mpmath                                         # only for these peer knobs

    fmt = lookup(fmt_name)
    code, _ = project(Value.from_fraction(q), fmt, _RN)
    q = fmt.decode(code).to_fraction()
    if not q:                                             # underflowed to 0: log2 is -Inf
        return None
    with mpmath.workprec(fmt.p + 200):
        y = mpmath.log(mpmath.mpf(q.numerator) / q.denominator, 2)
        sign, man, exp, _ = y._mpf_
    if not man:
        return Fraction(0)                                # log2(1)
    code, _ = project(Value.finite(sign, int(man), exp), fmt, _RN)
    return fmt.decode(code).to_fraction()


def exponent_of(scheme, amax):
    """The unclamped exponent E of a power-of-two rule for a positive amax."""
    fmt = scheme.element_format
    rule = scheme.rule
    if rule == "rceil":
        q = amax / max_value(fmt)
        if scheme.log2 != "exact":                        # torchao's eager fallback: ceil(log2(fl32(q)))
            y = _log2_rounded(q, scheme.log2)
            return BELOW_EVERY_SCALE if y is None else -(-y.numerator // y.denominator) + scheme.headroom
        return ceil_log2(q) + scheme.headroom
    if rule == "even":
        m = fmt.m if fmt.kind == "float" else fmt.width - 2
        e = floor_log2(amax)
        if amax >= (2 - Fraction(1, 1 << (m + 1))) * Fraction(2) ** e:
            e += 1
        return e - emax_elem(fmt) + scheme.headroom
    if scheme.log2 != "exact":
        y = _log2_rounded(amax, scheme.log2)
        if y is None:
            return BELOW_EVERY_SCALE
        e = y.numerator // y.denominator if rule == "floor" else -(-y.numerator // y.denominator)
    else:
        e = floor_log2(amax) if rule == "floor" else ceil_log2(amax)
    return e - emax_elem(fmt) + scheme.headroom


def encode_exponent(scheme, e):
    """(code, flags) of the scale 2**e in the scheme's scale format, clamped to its range
    (flags underflow / overflow + saturated) or NaN (``scale_overflow = nan``)."""
    fmt = scheme.scale_format
    if scheme.exponent_scale:
        lo, hi = fmt.lo, fmt.hi
    else:
        lo, hi = fmt.qmin, fmt.qmax + fmt.smax.bit_length() - 1
    flags = 0
    if e < lo:
        e, flags = lo, UNDERFLOW | SATURATED
    elif e > hi:
        if scheme.scale_overflow == "nan" and not scheme.exponent_scale and fmt.has_nan:
            return fmt.nan_code_canonical(), OVERFLOW | INVALID
        e, flags = hi, OVERFLOW | SATURATED
    if scheme.exponent_scale:
        return fmt.code_of(e), flags
    code, _ = project(Value.finite(0, 1, e), fmt, _RN)
    return code, flags


def scale_value(scheme, code):
    """The exact value of a scale code (None for a NaN scale)."""
    fmt = scheme.scale_format
    if scheme.exponent_scale:
        return Fraction(2) ** fmt.integer_of(code)
    v = fmt.decode(code)
    return v.to_fraction() if v.is_finite else None


def zero_choice(scheme, tensor_scale):
    """The scale of a block without a nonzero finite element: the smallest power of two
    (MX: 2**-127, code 0x00, as torchao, gfloat, TE and TOSA), 1 for FP32-scaled recipes,
    the zero block scale of TE's NVFP4 (torchao's lower clamp gives it 2**-6)."""
    fmt = scheme.scale_format
    if scheme.rule == "nvfp4_torchao":
        return choose(scheme, Fraction(0), tensor_scale)
    if scheme.rule in ("nvfp4", "nvfp4_te"):
        return ScaleChoice(0, 0, None)
    if scheme.scale == "binary32":
        code, _ = project(Value.finite(0, 1, 0), fmt, _RN)
        return ScaleChoice(code, 0, Fraction(1), Fraction(1) if scheme.rule == "te_current" else None)
    code = fmt.code_of(fmt.lo) if scheme.exponent_scale else encode_exponent(scheme, fmt.qmin)[0]
    return ScaleChoice(code, 0, scale_value(scheme, code))


def choose(scheme, amax, tensor_scale):
    """The :class:`ScaleChoice` of a block whose largest finite magnitude is ``amax`` > 0;
    ``tensor_scale`` is the per-tensor scale (a Fraction) of two-level schemes."""
    rule = scheme.rule
    if rule in RULES_POW2:
        code, flags = encode_exponent(scheme, exponent_of(scheme, amax))
        s = scale_value(scheme, code)
        return ScaleChoice(code, flags, s)
    return _GENERAL[rule](scheme, amax, tensor_scale)


def _project_scale(scheme, q):
    code, flags = project(Value.from_fraction(q), scheme.scale_format, _SAT)
    return code, flags, scheme.scale_format.decode(code).to_fraction()


def _amax_rule(scheme, amax, tensor_scale):
    code, flags, s = _project_scale(scheme, amax / max_value(scheme.element_format))
    return ScaleChoice(code, flags, s if s else None)


def _te_current(scheme, amax, tensor_scale):
    s = fl32(max_value(scheme.element_format) / amax)      # an infinite quotient saturates to FLT_MAX
    code, flags, inv = _project_scale(scheme, 1 / s)
    return ScaleChoice(code, flags, inv, factor=s)


def _nvfp4_exact(scheme, amax, g):
    """s_b = RN_ue4m3(amax / (6 g)) (satfinite); elements x / (s_b g) exactly."""
    code, flags, s = _project_scale(scheme, amax / (max_value(scheme.element_format) * g))
    return ScaleChoice(code, flags, s * g if s else None)


def _nvfp4_te(scheme, amax, g):
    """TE (core_nvfp4.cuh, per the reference notes): S_enc = 1 / g, s_b = RN_e4m3(fl(amax *
    fl(S_enc * fl(1/6)))), factor = min(fl(1 / fl(s_b * g)), FLT_MAX), x_i * factor in FP32."""
    s_enc = fl32(1 / g)
    code, flags, s = _project_scale(scheme, fl32(amax * fl32(s_enc * fl32(Fraction(1, 6)))))
    factor = fl32(1 / fl32(s * g)) if s else FLT_MAX
    return ScaleChoice(code, flags, s * g if s else None, factor=factor)


def _nvfp4_torchao(scheme, amax, g):
    """torchao ``nvfp4_quantize``: s_b = e4m3(clamp(fl(fl(amax / 6) / g), 2**-6, 448)),
    factor = fl(fl(1 / g) / s_b), x_i * factor in FP32, then clamped to +-6 and RNE (single-level
    scaling is g = 1: the same operations, each exact where g = 1)."""
    q = fl32(fl32(amax / max_value(scheme.element_format)) / g)
    q = min(max(q, Fraction(1, 64)), Fraction(448))
    code, flags, s = _project_scale(scheme, q)
    return ScaleChoice(code, flags, s * g, factor=fl32(fl32(1 / g) / s))


_GENERAL = {"amax": _amax_rule, "te_current": _te_current, "nvfp4": _nvfp4_exact,
            "nvfp4_te": _nvfp4_te, "nvfp4_torchao": _nvfp4_torchao}


def tensor_scale_of(scheme, tensor_amax):
    """The FP32 per-tensor scale g (the decode multiplier) of a two-level scheme from the
    tensor's amax: RN32(amax / (448 * 6)) (NVFP4; TE stores 1 / RN32(2688 / amax));
    1 for a zero tensor.  Returns (binary32 code, exact value)."""
    top = max_value(lookup("ue4m3")) * max_value(scheme.element_format)
    if not tensor_amax:
        g = Fraction(1)
    elif scheme.rule == "nvfp4_te":
        g = fl32(1 / fl32(top / tensor_amax))
    else:
        g = fl32(tensor_amax / top)
    code, _ = project(Value.from_fraction(g), _F32, _RN)
    return code, g
