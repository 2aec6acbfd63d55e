"""Exact values: the extended reals that every refnum operation works on.

A :class:`Value` is one of

* a finite number ``(-1)**sign * num / den * 2**exp`` with integers ``num >= 0``,
  ``den >= 1`` odd, ``exp`` any integer (``num == 0`` is a signed zero);
* an infinity of either sign;
* a NaN, which remembers its sign, whether it was signalling and its payload
  (the trailing significand field of the code it was decoded from, as
  ``payload`` over ``payload_bits`` bits) so that profiles which propagate NaN
  payloads (x86) can do so.

Values decoded from any format are dyadic (``den == 1``); rationals only enter
through Python values such as ``Fraction(1, 3)`` or the string ``"0.1"`` and
through scaled formats.  No Python ``float`` is ever stored here: floats come in
and go out through :mod:`refnum.interop`, as bit patterns.
"""

from __future__ import annotations

import re
from fractions import Fraction

from .errors import wrong_type

FINITE, INF, NAN = "finite", "inf", "nan"


class Value:
    """An exact extended-real value (IEEE 754-2019 §3.2 level 1 plus NaN)."""

    __slots__ = ("kind", "sign", "num", "exp", "den", "payload", "payload_bits", "signaling")

    def __init__(self, kind, sign=0, num=0, exp=0, den=1, payload=0, payload_bits=0, signaling=False):
        self.kind = kind
        self.sign = sign
        self.num = num
        self.exp = exp
        self.den = den
        self.payload = payload
        self.payload_bits = payload_bits
        self.signaling = signaling

    # -- constructors -------------------------------------------------------
    @classmethod
    def finite(cls, sign, num, exp=0, den=1):
        return cls(FINITE, sign, num, exp, den)

    @classmethod
    def zero(cls, sign=0):
        return cls(FINITE, sign)

    @classmethod
    def inf(cls, sign=0):
        return cls(INF, sign)

    @classmethod
    def nan(cls, sign=0, payload=0, payload_bits=0, signaling=False):
        return cls(NAN, sign, payload=payload, payload_bits=payload_bits, signaling=signaling)

    @classmethod
    def from_fraction(cls, q, sign_of_zero=0):
        """The exact value of a rational; den is reduced to its odd part."""
        try:
            q = Fraction(q)
        except (TypeError, ValueError):
            raise wrong_type("q", q, "a rational number (int, Fraction or a string like '1/3')") from None
        if q == 0:
            return cls.zero(sign_of_zero)
        num, den = abs(q.numerator), q.denominator
        twos = (den & -den).bit_length() - 1
        return cls.finite(int(q < 0), num, -twos, den >> twos)

    # -- predicates ---------------------------------------------------------
    @property
    def is_nan(self):
        return self.kind is NAN

    @property
    def is_inf(self):
        return self.kind is INF

    @property
    def is_finite(self):
        return self.kind is FINITE

    @property
    def is_zero(self):
        return self.kind is FINITE and self.num == 0

    def to_fraction(self):
        """The finite value as a Fraction (ValueError for Inf and NaN)."""
        if self.kind is not FINITE:
            raise ValueError(f"{self} has no rational value")
        q = Fraction(self.num, self.den)
        q = q * 2**self.exp if self.exp >= 0 else q / 2**-self.exp
        return -q if self.sign else q

    def key(self):
        """A hashable identity: equal keys mean the same value (NaN payloads included)."""
        if self.kind is FINITE:
            if self.num == 0:
                return (FINITE, self.sign, 0)
            return (FINITE, self.to_fraction())
        if self.kind is INF:
            return (INF, self.sign)
        return (NAN, self.sign, self.signaling)

    def __eq__(self, other):
        return isinstance(other, Value) and self.key() == other.key()

    def __hash__(self):
        return hash(self.key())

    def __repr__(self):
        return f"Value({self})"

    def __str__(self):
        sign = "-" if self.sign else ""
        if self.kind is NAN:
            return sign + ("sNaN" if self.signaling else "NaN")
        if self.kind is INF:
            return sign + "Inf"
        return sign + exact_decimal(abs(self.to_fraction()))

    def hex(self):
        """C99 hexadecimal-significand form, exact: ``0x1.8p-3``."""
        if self.kind is not FINITE:
            return str(self)
        sign = "-" if self.sign else ""
        if self.num == 0:
            return sign + "0x0p+0"
        if self.den != 1:
            raise ValueError(f"{self} is not dyadic and has no hexadecimal form")
        num, exp = self.num, self.exp
        shift = (num & -num).bit_length() - 1
        num, exp = num >> shift, exp + shift
        frac_bits = num.bit_length() - 1
        exp += frac_bits
        frac = num - (1 << frac_bits)
        digits = (frac_bits + 3) // 4
        frac <<= 4 * digits - frac_bits
        body = "1" if digits == 0 else f"1.{frac:0{digits}x}"
        return f"{sign}0x{body}p{exp:+d}"


def exact_decimal(q):
    """The exact decimal expansion of a nonnegative rational, or ``n/d`` if none exists."""
    if not isinstance(q, (int, Fraction)) or isinstance(q, bool):
        raise wrong_type("q", q, "a nonnegative int or Fraction")
    num, den = q.numerator, q.denominator
    d = den
    twos = fives = 0
    while d % 2 == 0:
        d //= 2
        twos += 1
    while d % 5 == 0:
        d //= 5
        fives += 1
    if d != 1:
        return f"{num}/{den}"
    places = max(twos, fives)
    scaled = num * 10**places // den
    if places == 0:
        return _digits(scaled)
    digits = _digits(scaled).rjust(places + 1, "0")
    return (digits[:-places] + "." + digits[-places:]).rstrip("0").rstrip(".")


def _digits(n):
    """Decimal digits of an int >= 0, also past Python's int-to-str limit of 4300 digits
    (binary128 has such values): split by a power of ten until each part is short."""
    if n.bit_length() < 12000:                   # < 3613 digits: str() is allowed
        return str(n)
    half = n.bit_length() * 3 // 20              # about half the number of digits
    high, low = divmod(n, 10**half)
    return _digits(high) + _digits(low).rjust(half, "0")


_DECIMAL = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$", re.I | re.A)
_HEXFLOAT = re.compile(r"^([+-]?)0x([0-9a-f]*)\.?([0-9a-f]*)p([+-]?\d+)$", re.I | re.A)
_RATIONAL = re.compile(r"^[+-]?\d+/\d+$", re.A)
# refnum's limit on a written exponent: 10**(10**6) still builds in a fraction of a second and
# lies far beyond every catalog format; 1e99999999 would take minutes to hold exactly.
_MAX_EXPONENT = 10**6
_SPECIAL = {"inf": Value.inf(0), "+inf": Value.inf(0), "-inf": Value.inf(1),
            "infinity": Value.inf(0), "+infinity": Value.inf(0), "-infinity": Value.inf(1),
            "nan": Value.nan(0), "+nan": Value.nan(0), "-nan": Value.nan(1),
            "snan": Value.nan(0, signaling=True), "-snan": Value.nan(1, signaling=True)}


def parse(text):
    """Parse a number written as text, exactly.

    Accepts decimal (``0.1``, ``-2.5e-3``), rationals (``1/3``), C99 hex floats
    (``0x1.8p-3``), ``inf``/``nan``/``snan`` with optional sign.  Raises
    ValueError with a one-line message otherwise.

    >>> str(parse("0.1")), parse("0x1.8p-3").to_fraction(), str(parse("-0"))
    ('0.1', Fraction(3, 16), '-0')
    """
    if not isinstance(text, str):
        raise wrong_type("text", text, "a string")
    s = text.strip()
    low = s.lower()
    if low in _SPECIAL:
        return _SPECIAL[low]
    negative = s.startswith("-")
    m = _HEXFLOAT.match(s)
    if m:
        sign, whole, frac, exp = m.groups()
        if not whole and not frac:
            raise ValueError(f"malformed hexadecimal number {text!r}")
        _check_exponent(exp, text)
        num = int((whole or "0") + frac, 16)
        return Value.from_fraction(_scale2(Fraction(-num if sign == "-" else num), int(exp) - 4 * len(frac)),
                                   sign_of_zero=int(negative))
    decimal = _DECIMAL.match(s)
    if decimal:
        whole, _, frac = decimal[1].partition(".")
        exp = _check_exponent(decimal[2][1:], text) if decimal[2] else 0
        q = _int_of_digits(whole + frac) * Fraction(10) ** (exp - len(frac))
        return Value.from_fraction(-q if negative else q, sign_of_zero=int(negative))
    if _RATIONAL.match(s):
        num, den = s.lstrip("+-").split("/")
        if _int_of_digits(den) == 0:
            raise ValueError(f"zero denominator in {text!r}")
        q = Fraction(_int_of_digits(num), _int_of_digits(den))
        return Value.from_fraction(-q if negative else q, sign_of_zero=int(negative))
    raise ValueError(f"not a number: {text!r}")


def _int_of_digits(digits):
    """int() of a decimal digit string, also past Python's 4300-digit limit (the exact
    decimal forms of binary128 subnormals have over 16000 digits): split until short."""
    if len(digits) <= 4000:
        return int(digits or "0")
    half = len(digits) // 2
    return _int_of_digits(digits[:-half]) * 10**half + _int_of_digits(digits[-half:])


def _check_exponent(digits, text):
    """The exponent written as ``digits`` (optional sign), refused beyond ``_MAX_EXPONENT``."""
    if len(digits.lstrip("+-0")) > len(str(_MAX_EXPONENT)) or abs(int(digits)) > _MAX_EXPONENT:
        raise ValueError(f"exponent of {text!r} is out of range (|exponent| <= {_MAX_EXPONENT})")
    return int(digits)


def _scale2(q, e):
    return q * 2**e if e >= 0 else q / 2**-e
