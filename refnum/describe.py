"""Human-readable views of formats and codes: info, value tables, explain.

Shared by the command line (``refnum info/table/explain``) and the generated
tables of ``spec/``.
"""

from __future__ import annotations

from fractions import Fraction

from .catalog import aliases_of
from .context import DEFAULT, Flag
from .errors import RefnumError
from .formats import FloatFormat, ScaledFormat
from .rounding import project
from .values import Value, _digits, parse


def _base(fmt):
    """The format a scaled format scales (a format is its own base otherwise)."""
    return fmt.base if isinstance(fmt, ScaledFormat) else fmt


def bits_string(fmt, code):
    """The code's bits grouped as sign.exponent.trailing (or plain for fixed point)."""
    raw = format(code, f"0{fmt.k}b")
    fmt = _base(fmt)
    if not isinstance(fmt, FloatFormat):
        return raw
    s = 1 if fmt.signed else 0
    parts = [raw[:s], raw[s:s + fmt.w], raw[s + fmt.w:]]
    return ".".join(p for p in parts if p)


def classify(fmt, code):
    """IEEE 754 §5.7.2 class of a code: nan, inf, zero, subnormal, normal (fixed: integer)."""
    fmt = _base(fmt)
    if not isinstance(fmt, FloatFormat):
        return "fixed"
    v = fmt.decode(code)
    if v.is_nan:
        return "snan" if v.signaling else "nan"
    if v.is_inf:
        return "inf"
    if v.num == 0:
        return "zero"
    return "subnormal" if fmt.is_subnormal_code(code) else "normal"


def value_rows(fmt):
    """(hex code, bits, class, exact value) for every code of a format of at most 16 bits."""
    if fmt.k > 16:
        raise ValueError(f"{fmt.name} has 2**{fmt.k} codes; tables stop at 16 bits")
    width = fmt.hex_digits
    return [(f"{c:0{width}X}", bits_string(fmt, c), classify(fmt, c), _number_text(fmt.decode(c)))
            for c in range(fmt.ncodes)]


def markdown_table(fmt):
    lines = ["| code | bits | class | value |", "|---|---|---|---|"]
    lines += [f"| {h} | `{b}` | {k} | {v} |" for h, b, k, v in value_rows(fmt)]
    return "\n".join(lines) + "\n"


def info_lines(fmt):
    """Parameters, special codes and range of a format, one ``key: value`` per line."""
    if isinstance(fmt, ScaledFormat):
        return [f"name: {fmt.name}", f"scale: {fmt.scale} (every value of {fmt.base.name} times this)",
                f"bits: {fmt.k}", "base format:"] + ["  " + line for line in info_lines(fmt.base)]
    lines = [f"name: {fmt.name}", f"aliases: {' '.join(aliases_of(fmt.name)) or '-'}",
             f"spec: {fmt.spec}", f"bits: {fmt.k}"]
    if isinstance(fmt, FloatFormat):
        hexw = fmt.hex_digits
        lines += [f"sign bit: {'yes' if fmt.signed else 'no'}", f"exponent bits: {fmt.w}",
                  f"trailing significand bits: {fmt.m} (precision {fmt.p})", f"bias: {fmt.bias}",
                  f"emin: {fmt.emin}", f"subnormals: {'yes' if fmt.subnormals and fmt.m and fmt.zero else 'no'}",
                  f"negative zero: {'yes' if fmt.negzero else 'no'}",
                  f"infinity: {f'0x{fmt.inf_code:0{hexw}X}' if fmt.has_inf else 'none'} ({fmt.inf or 'no Inf'})",
                  f"NaN: {f'0x{fmt.canonical_nan:0{hexw}X}' if fmt.has_nan else 'none'} ({fmt.nan or 'no NaN'})",
                  f"max finite: {_decimal_text(fmt.decode(fmt.max_code()))} (0x{fmt.max_code():0{hexw}X})",
                  f"min normal: 2**{fmt.emin}",
                  f"default saturation: {fmt.saturation}"]
    else:
        lines += [f"signed: {'yes' if fmt.signed else 'no'}", f"fraction bits: {fmt.frac}",
                  f"range: {_decimal_text(fmt.decode(fmt.code_of(fmt.lo)))} .. {_decimal_text(fmt.decode(fmt.code_of(fmt.hi)))}"]
    return lines


# -- explain: one code or one value, for `refnum explain` ------------------------------

EXPLAIN_MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")


_CODE_BASES = {"0x": 16, "0b": 2}


def read_code_or_value(fmt, text):
    """``("code", int)`` or ``("value", Value)`` for the operand of ``refnum explain``.

    A code is written ``0x`` + hex digits (``0x7e``) or ``0b`` + binary digits
    (``0b01111110``, ``0b1``); everything else is a value: decimal (``465``,
    ``0.1``, ``1e+5``), hex float (``0x1.8p-3``), a rational (``1/3``), ``inf``,
    ``nan``.  So ``10`` is the value ten.  Bare hex digits are not a code
    (``7e`` is refused, naming ``0x7E``), and hex digits that also read as a
    decimal number (``1e2``: the value 100 or the code 0x1E2) are refused,
    naming both readings.
    """
    s = text.strip()
    low = s.lower()
    if low[:2] in _CODE_BASES and not (low[:2] == "0x" and ("p" in low or "." in low)):
        return "code", _checked_code(fmt, s[2:], _CODE_BASES[low[:2]], text)
    hex_digits = bool(s) and all(c in "0123456789abcdef" for c in low)
    try:
        value = parse(s)
    except ValueError:
        if hex_digits:
            raise RefnumError(f"'{text}' is not a value; a code is written with 0x or 0b: 0x{s.upper()}") from None
        raise RefnumError(f"'{text}' is neither a code (0x7E, 0b01111110) nor a value (465, 0.1, 1/3, "
                          "0x1.8p-3, inf)") from None
    if hex_digits and not low.isdigit():
        as_value = low.replace("e", "e+")
        raise RefnumError(f"'{text}' reads two ways: the value {as_value if _is_long(value) else _number_text(value)}"
                          f" or the code 0x{s.upper()}; write {as_value} for the value or 0x{s.upper()} for the code")
    return "value", value


def _checked_code(fmt, digits, base, text):
    allowed = "01" if base == 2 else "0123456789abcdefABCDEF"
    if not digits or any(c not in allowed for c in digits):
        raise RefnumError(f"malformed {'binary' if base == 2 else 'hex'} code '{text}'")
    code = int(digits, base)
    if code.bit_length() > fmt.k:
        raise RefnumError(f"code '{text if len(text) <= 40 else text[:40] + '...'}' is out of range for"
                          f" {fmt.name} ({fmt.k} bits)")
    return code


def code_text(fmt, code):
    return f"0x{code:0{fmt.hex_digits}X}"


def _smallest_gap(fmt):
    """A positive rational below every gap between adjacent values of ``fmt``."""
    base = _base(fmt)
    if isinstance(base, FloatFormat):
        gap = Fraction(1, 2) ** (base.m - base.emin + 1)     # 2**(emin - m - 1)
    else:
        gap = Fraction(1, 2 ** (base.frac + 1))
    return gap * getattr(fmt, "scale", 1)


def _neighbour_code(fmt, value, up):
    """nextUp / nextDown (IEEE 754-2019 §5.3.1) of a value of ``fmt``, as a code, or None.

    Found with the one projection step: move by less than any gap, then take the
    nearest value strictly beyond (see :func:`_strictly_beyond`).
    """
    if value.is_nan:
        return None
    if value.is_inf:
        base = _base(fmt)
        if bool(value.sign) == up and isinstance(base, FloatFormat) and (base.signed or not value.sign):
            return base.max_code(value.sign)                 # nextUp(-Inf) = -max, nextDown(+Inf) = max
        return None
    step = _smallest_gap(fmt)
    x = value.to_fraction()
    return _strictly_beyond(fmt, Value.from_fraction(x + step if up else x - step), up)


def _strictly_beyond(fmt, value, up):
    """The code of the nearest value of ``fmt`` at or above (below) a finite value that is
    not itself representable, or None: rounded with rup (rdn), non-saturating."""
    ctx = DEFAULT.replace(rounding="rup" if up else "rdn", saturation="none")
    code, flags = project(value, fmt, ctx)
    got = fmt.decode(code)
    base = _base(fmt)
    if flags & Flag.INVALID and not isinstance(base, FloatFormat):      # beyond an integer range
        below_range = value.sign == 1
        if up == below_range:
            return base.code_of(base.lo if below_range else base.hi)
        return None
    if got.is_nan or flags & Flag.INVALID:
        return None
    if got.is_inf:
        return code if bool(got.sign) != up else None
    q, x = got.to_fraction(), value.to_fraction()
    return code if (q > x if up else q < x) else None


_LONG_DECIMAL = 24
_SHORT_BITS = 400       # a value of more bits than this has a decimal expansion longer than _LONG_DECIMAL
_EXPANDED_BITS = 1 << 15


def _value_text(fmt, code):
    """The exact value of a code: decimal, or hex float when the decimal is very long."""
    return _number_text(fmt.decode(code))


def _number_text(value):
    """The exact value as text: its decimal expansion, or a hex float when that is longer
    than ``_LONG_DECIMAL`` characters and the value is dyadic; and for a value of more than
    ``_SHORT_BITS`` bits an exact short form: scientific notation (``1e-4400``,
    ``1.5e+999999``), a hex float (``0x1p-1000000``) or an odd fraction times a power of two.

    Long forms are never expanded first, so a value of a million digits costs no more
    than a short one.
    """
    if not value.is_finite or value.num == 0:
        return str(value)
    if not _is_long(value):
        text = str(value)
        return value.hex() if len(text) > _LONG_DECIMAL and value.den == 1 else text
    sign = "-" if value.sign else ""
    odd, e2 = _odd_part(value.num, value.exp)
    decimal = _short_decimal(odd, e2, value.den)
    if decimal is not None:
        return sign + decimal
    if value.den == 1:
        return value.hex()
    return f"{sign}{_digits(odd)}/{_digits(value.den)} * 2**{e2}"


def _decimal_text(value):
    """The exact decimal expansion of a value of at most ``_EXPANDED_BITS`` bits (every value of
    binary128: up to 11,500 digits); the short form of :func:`_number_text` beyond."""
    return _number_text(value) if value.is_finite and _is_long(value, _EXPANDED_BITS) else str(value)


def _odd_part(num, exp):
    """``(odd, e)`` with ``num * 2**exp == odd * 2**e`` and odd odd (zero: ``(0, 0)``)."""
    if num == 0:
        return 0, 0
    twos = (num & -num).bit_length() - 1
    return num >> twos, exp + twos


def _is_long(value, bits=_SHORT_BITS):
    odd, e2 = _odd_part(value.num, value.exp)
    return odd.bit_length() + value.den.bit_length() + abs(e2) > bits


_LOG2_5 = (2321928094887, 10**12)       # log2(5) = 2.321928094887..., for estimates only


def _short_decimal(odd, e2, den):
    """``d.ddde±N`` of ``odd * 2**e2 / den`` when that is a decimal of few digits, else None.

    With odd = r * 5**jn and den = 5**jd the value is r * 5**f * 2**e2 (f = jn - jd),
    that is N * 10**E with E = min(f, e2) and N = r * 5**(f - E) * 2**(e2 - E).
    """
    split_num, split_den = _split_five(odd), _split_five(den)
    if split_num is None or split_den is None or split_den[0] != 1:
        return None
    r, f = split_num[0], split_num[1] - split_den[1]
    e10 = min(f, e2)
    if abs(f - e2) * _LOG2_5[0] // _LOG2_5[1] > _SHORT_BITS:
        return None
    digits = _digits(r * 5 ** (f - e10) << (e2 - e10))
    stripped = digits.rstrip("0")
    mantissa = stripped[0] + ("." + stripped[1:] if len(stripped) > 1 else "")
    return f"{mantissa}e{e10 + len(digits) - 1:+d}"


def _split_five(n):
    """``(r, j)`` with ``n == r * 5**j``, j as large as can be and r below 2**_SHORT_BITS, else None.

    j is at most bit_length / log2(5), and at least that less _SHORT_BITS / log2(5):
    a few hundred divisions whatever the size of n.
    """
    top = n.bit_length() * _LOG2_5[1] // _LOG2_5[0] + 1
    low = max(0, top - _SHORT_BITS * _LOG2_5[1] // _LOG2_5[0] - 2)
    power = 5 ** top
    for j in range(top, low - 1, -1):
        r, rest = divmod(n, power)
        if rest == 0:
            return (r, j) if r.bit_length() <= _SHORT_BITS else None
        power //= 5
    return None


def _exact_text(value):
    """Decimal and hex-float forms of a finite value (a rational that is not dyadic has no hex form)."""
    text = _number_text(value)
    if value.den == 1:
        if _odd_part(value.num, value.exp)[0].bit_length() > _SHORT_BITS:    # a hex form of 1e+999999 is long
            return text
        hex_text = value.hex()
        return text if text == hex_text else f"{text} = {hex_text}"
    if _is_long(value):
        return f"{text} (not a binary fraction)"
    q = value.to_fraction()
    return f"{text} = {q.numerator}/{q.denominator} (not a binary fraction)" if text != str(q) \
        else f"{text} (not a binary fraction)"


def _field_lines(fmt, code):
    """The bit fields of a float code and the formula they give (IEEE 754 §3.4)."""
    s = 1 if fmt.signed and code >> (fmt.k - 1) else 0
    e_field = (code >> fmt.m) & ((1 << fmt.w) - 1)
    t = code & ((1 << fmt.m) - 1)
    lines = []
    if fmt.signed:
        lines.append(f"sign: {s} ({'-' if s else '+'})")
    lines.append(f"exponent field: {format(e_field, f'0{fmt.w}b')} = {e_field} (bias {fmt.bias})")
    if fmt.m:
        lines.append(f"trailing significand: {format(t, f'0{fmt.m}b')} = {t} (of {1 << fmt.m})")
    kind = classify(fmt, code)
    sign = "-" if s else ""
    if kind == "normal":
        significand = f"(1 + {t}/{1 << fmt.m})" if fmt.m else "1"
        lines.append(f"formula: {sign}{significand} * 2**({e_field} - {fmt.bias}) = "
                     f"{sign}{significand} * 2**{e_field - fmt.bias}")
    elif kind == "subnormal":
        lines.append(f"formula: {sign}{t}/{1 << fmt.m} * 2**{fmt.emin} (subnormal: no implicit 1)")
    return lines


def explain_code_lines(fmt, code):
    """What one code of ``fmt`` means: bits, fields, class, exact value, neighbours."""
    fmt.check_code(code)
    base = _base(fmt)
    value = fmt.decode(code)
    lines = [f"{fmt.name} code {code_text(fmt, code)}", f"bits: {bits_string(base, code)}"]
    if isinstance(base, FloatFormat):
        lines += _field_lines(base, code)
        lines.append(f"class: {classify(base, code)}")
    else:
        q = base.integer_of(code)
        lines.append(f"integer: {q}" + (f" (two's complement, {base.width} bits)" if base.signed else ""))
        if base.frac:
            lines.append(f"formula: {q} * 2**-{base.frac}")
    if getattr(fmt, "scale", 1) != 1:
        lines.append(f"scale: {fmt.scale} (value = base value * scale)")
    lines.append(f"value: {_exact_text(value) if value.is_finite else value}")
    lines += _neighbour_lines(fmt, value)
    return lines


def _neighbour_lines(fmt, value):
    lines = []
    for label, up in (("next down", False), ("next up", True)):
        code = _neighbour_code(fmt, value, up)
        if code is None:
            lines.append(f"{label}: none")
        else:
            lines.append(f"{label}: {code_text(fmt, code)} = {_value_text(fmt, code)}")
    return lines


def explain_value_lines(fmt, value, ctx=DEFAULT):
    """How ``value`` lands in ``fmt``: bracketing codes, and the result of each rounding mode.

    ``ctx`` supplies everything but the rounding mode (saturation, tininess,
    NaN policy ...); the modes are IEEE 754 §4.3's five plus round to odd.
    """
    lines = [f"{fmt.name} value {_number_text(value)}"]
    if value.is_finite:
        lines.append(f"exact value: {_exact_text(value)}")
    lines += _bracket_lines(fmt, value)
    if isinstance(_base(fmt), FloatFormat):
        saturation = ctx.saturation or f"{ctx.saturation_for(fmt)} (the {fmt.name} default)"
        policy = f"saturation {saturation}, tininess {ctx.tininess}"
    else:
        inexact = "raised" if ctx.exact else "not raised (see --exact)"
        policy = f"out of range: invalid_int {ctx.invalid_int}; inexact {inexact}"
    lines.append(f"rounding ({policy}; profile {ctx.name}):")
    for mode in EXPLAIN_MODES:
        code, flags = project(value, fmt, ctx.replace(rounding=mode))
        note = "  (saturated)" if flags & Flag.SATURATED else ""
        lines.append(f"  {mode}  {code_text(fmt, code)}  {Flag.letters(flags)}  {_value_text(fmt, code)}{note}")
    return lines


def _bracket_lines(fmt, value):
    """The representable values just below and above a value (or the code it is)."""
    if not value.is_finite:
        return []
    code, flags = project(value, fmt, DEFAULT.replace(rounding="rtz", saturation="none"))
    got = fmt.decode(code)
    if got.is_finite and not flags & Flag.INVALID and got.to_fraction() == value.to_fraction():
        if got.sign != value.sign:                           # -0 into a format without -0
            return [f"representable: as {got}, code {code_text(fmt, code)} ({fmt.name} has no {_number_text(value)})"]
        return [f"representable: yes, code {code_text(fmt, code)}"]
    lines = ["representable: no"]
    below = _strictly_beyond(fmt, value, up=False)
    above = _strictly_beyond(fmt, value, up=True)
    lines.append("below: " + (f"{code_text(fmt, below)} = {_value_text(fmt, below)}" if below is not None
                              else "none (below the lowest value)"))
    lines.append("above: " + (f"{code_text(fmt, above)} = {_value_text(fmt, above)}" if above is not None
                              else "none (above the largest finite value)"))
    if below is not None and above is not None:
        lo, hi = fmt.decode(below), fmt.decode(above)
        if lo.is_finite and hi.is_finite:
            mid = Value.from_fraction((lo.to_fraction() + hi.to_fraction()) / 2)
            lines.append(f"midpoint: {_number_text(mid)} (ties between the two)")
    lines += _overflow_lines(fmt, value)
    return lines


def _overflow_lines(fmt, value):
    """For a magnitude beyond the largest finite value: where rounding to nearest overflows.

    The exponent is unbounded while rounding (IEEE 754 §7.4, OFP8 v1.0 §5), so
    the threshold is max + ulp(max)/2: E4M3 448 + 16 = 464, binary16 65520.
    """
    base = _base(fmt)
    if not isinstance(base, FloatFormat):
        return []
    scale = getattr(fmt, "scale", 1)
    top = Fraction(base.smax) * Fraction(2) ** base.qmax * scale
    if abs(value.to_fraction()) <= top:
        return []
    threshold = (Fraction(2 * base.smax + 1, 2)) * Fraction(2) ** base.qmax * scale
    if base.smax & 1:        # the tie's even neighbour is the next power of two: rne overflows at the tie
        rne = "rne and rna overflow from it on (its tie goes to the even neighbour beyond max)"
    else:
        rne = "rna overflows from it on, rne only above it (its tie goes to the even max)"
    return [f"largest finite magnitude: {_number_text(Value.from_fraction(top))}; "
            f"max + ulp/2 = {_number_text(Value.from_fraction(threshold))}: {rne}"]
