"""Number formats as data: float-like, fixed point (integers included), scaled.

One frozen dataclass per kind; the catalog (:mod:`refnum.catalog`) names the
instances.  Everything the rounding step needs (precision, minimum exponent,
largest finite value, special codes) is derived once, here, from a handful of
fields.

Float-like layout (IEEE 754-2019 §3.4 generalised): an optional sign bit, ``w``
exponent bits, ``m`` trailing significand bits, an integer ``bias``.

* Exponent field E = 0 holds zero and the subnormals ``t * 2**(1 - bias - m)``
  when ``subnormals``; when not, E = 0 codes are zeros (any trailing field:
  refnum reads them as non-canonical zeros, like DAZ hardware); and when the
  format has no zero at all (``zero=False``, E8M0) E = 0 is an ordinary binade.
* Every other field is normal: ``(1 + t / 2**m) * 2**(E - bias)``.
* Special codes then override finite ones, assigned from the top of the
  magnitude range: ``nan`` is ``"ieee"`` (E all ones, t != 0, quiet bit = MSB of
  t), ``"top"`` (the largest magnitude code of each sign: OCP E4M3, E8M0,
  unsigned P3109), ``"negzero"`` (the code of -0: FNUZ, signed P3109) or None;
  ``inf`` is ``"ieee"`` (E all ones, t = 0), ``"top"`` (the largest magnitude
  code not taken by NaN: P3109 extended) or None.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from .errors import RefnumError
from .values import FINITE, Value

NAN_LAYOUTS = ("ieee", "top", "negzero", None)
# refnum's limits on a format (spec/encodings-generic.md, "Limits"): every value of a format
# within them is an int of at most about 2**21 bits, so info, explain and rounding stay quick.
# binary256 (19 exponent bits, 256 bits in all) is the widest IEEE 754 format inside them.
MAX_EXPONENT_BITS = 20
MAX_BITS = 256
MAX_BIAS = 1 << 20
MAX_FIXED_BITS = 128
MAX_SCALE_BITS = 4096           # numerator and denominator of a ScaledFormat's scale
INF_LAYOUTS = ("ieee", "top", None)
SATURATIONS = ("none", "finite", "propagate", "satnone")


@dataclass(frozen=True)
class FloatFormat:
    """A binary floating-point format with a fixed bias (IEEE 754 §3.3 parameters)."""

    name: str
    w: int                      # exponent field width
    m: int                      # trailing significand field width (precision p = m + 1)
    bias: int
    signed: bool = True
    nan: str | None = "ieee"
    inf: str | None = "ieee"
    subnormals: bool = True
    zero: bool = True
    saturation: str = "none"    # default overflow policy, see refnum.rounding
    spec: str = ""

    kind = "float"

    def __post_init__(self):
        self._validate()
        k = int(self.signed) + self.w + self.m
        p = self.m + 1
        emin = 1 - self.bias if self.zero else -self.bias
        mag_codes = 1 << (self.w + self.m)
        if self.nan == "ieee" or self.inf == "ieee":
            max_mag = (((1 << self.w) - 1) << self.m) - 1
        else:
            max_mag = mag_codes - 1 - (self.nan == "top") - (self.inf == "top")
        sign_bit = (1 << (k - 1)) if self.signed else 0
        d = dict(k=k, p=p, emin=emin, sign_bit=sign_bit, ncodes=1 << k,
                 mag_mask=mag_codes - 1, max_mag=max_mag,
                 nan_at_negzero=sign_bit if self.nan == "negzero" else -1,
                 qmin=emin - self.m if self.subnormals else emin,
                 negzero=self.signed and self.nan != "negzero" and self.zero)
        for key, value in d.items():                    # derived once; frozen afterwards
            object.__setattr__(self, key, value)
        smax, qmax = self._decode_magnitude(max_mag)    # max finite = smax * 2**qmax
        object.__setattr__(self, "smax", smax)
        object.__setattr__(self, "qmax", qmax)
        # the constants of the hot paths, read in one go (rounding.py, encode_finite)
        object.__setattr__(self, "grid", (self.m, p, emin, d["qmin"], qmax, smax))
        object.__setattr__(self, "layout", (self.m, emin, self.bias, sign_bit))
        object.__setattr__(self, "canonical_nan", self._canonical_nan())
        object.__setattr__(self, "inf_code", self._inf_code())

    def _validate(self):
        if self.w < 1 or self.m < 0:
            raise RefnumError(f"format {self.name}: need at least one exponent bit and m >= 0")
        if self.w > MAX_EXPONENT_BITS:
            raise RefnumError(f"format {self.name}: {self.w} exponent bits; refnum's limit is {MAX_EXPONENT_BITS}")
        if int(self.signed) + self.w + self.m > MAX_BITS:
            raise RefnumError(f"format {self.name}: {int(self.signed) + self.w + self.m} bits; "
                              f"refnum's limit is {MAX_BITS}")
        if abs(self.bias) > MAX_BIAS:
            raise RefnumError(f"format {self.name}: bias {self.bias}; refnum's limit is |bias| <= 2**20")
        if self.nan not in NAN_LAYOUTS or self.inf not in INF_LAYOUTS:
            raise RefnumError(f"format {self.name}: unknown special-code layout")
        if self.nan == "ieee" and self.m == 0:
            raise RefnumError(f"format {self.name}: IEEE NaNs need a trailing field (m >= 1)")
        if self.nan == "negzero" and not self.signed:
            raise RefnumError(f"format {self.name}: NaN at -0 needs a sign bit")
        if self.saturation not in SATURATIONS:
            raise RefnumError(f"format {self.name}: unknown saturation {self.saturation!r}")
        if not self.zero and self.subnormals and self.m:
            raise RefnumError(f"format {self.name}: a format without zero has no subnormals")

    @property
    def has_nan(self):
        return self.nan is not None

    @property
    def has_inf(self):
        return self.inf is not None

    @property
    def hex_digits(self):
        return (self.k + 3) // 4

    # -- special codes ------------------------------------------------------
    def _canonical_nan(self):
        if self.nan == "ieee":
            return (((1 << self.w) - 1) << self.m) | (1 << (self.m - 1))
        if self.nan == "top":
            return (1 << (self.w + self.m)) - 1
        if self.nan == "negzero":
            return self.sign_bit
        return None

    def _inf_code(self):
        if self.inf == "ieee":
            return ((1 << self.w) - 1) << self.m
        if self.inf == "top":
            return (1 << (self.w + self.m)) - 1 - (self.nan == "top")
        return None

    def nan_code(self, sign=0, payload=0, payload_bits=0):
        """A quiet NaN code: the canonical one, with the sign and payload given where
        the layout has room for them (IEEE layouts keep both, "top" keeps the sign)."""
        if self.nan == "negzero" or (self.nan == "top" and not self.signed):
            return self.nan_code_canonical()
        code = self.nan_code_canonical() | (self.sign_bit if sign else 0)
        if self.nan == "ieee" and payload_bits:
            # the payload lies just below the quiet bit in both formats: keep its
            # leading bits (SoftFloat's common NaN, x86 SSE cvtss2sd/cvtsd2ss)
            shift = self.m - 1 - payload_bits
            t = payload << shift if shift >= 0 else payload >> -shift
            code |= t & ((1 << self.m) - 1)
        return code

    def nan_code_canonical(self):
        if self.canonical_nan is None:
            raise RefnumError(f"format {self.name} has no NaN")
        return self.canonical_nan

    def is_nan_code(self, code):
        mag = code & self.mag_mask
        if self.nan == "ieee":
            return mag >> self.m == (1 << self.w) - 1 and mag & ((1 << self.m) - 1) != 0
        if self.nan == "top":
            return mag == self.mag_mask
        if self.nan == "negzero":
            return code == self.sign_bit
        return False

    # -- decoding -----------------------------------------------------------
    def _decode_magnitude(self, mag):
        """(integer significand, exponent) of a finite magnitude code."""
        e_field, t = mag >> self.m, mag & ((1 << self.m) - 1)
        if e_field == 0 and self.zero:
            if not self.subnormals:
                return 0, self.emin
            return t, self.emin - self.m
        return t | (1 << self.m), e_field - self.bias - self.m

    def decode(self, code):
        """The exact value of ``code`` (IEEE 754 §3.4; P3109 v4.0 §4.7.2 ωDecode).

        Special codes sit above the largest finite magnitude, except the NaN in
        the -0 slot; everything else is the finite formula.
        """
        if not 0 <= code < self.ncodes:
            self.check_code(code)
        sign = 1 if code & self.sign_bit else 0
        mag = code & self.mag_mask
        if mag <= self.max_mag and code != self.nan_at_negzero:
            num, exp = self._decode_magnitude(mag)
            return Value(FINITE, sign, num, exp)
        if self.is_nan_code(code):
            if self.nan == "ieee":
                t = code & ((1 << self.m) - 1)
                quiet = t >> (self.m - 1)
                return Value.nan(sign, t & ~(1 << (self.m - 1)), self.m - 1, signaling=not quiet)
            return Value.nan(sign if self.nan == "top" else 0)
        return Value.inf(sign)

    def finite_parts(self, code):
        """``(sign, num, exp)`` of a nonzero finite code, else None (zeros, specials, bad codes).

        The bulk conversion path: the value without building a :class:`Value`.
        """
        if 0 <= code < self.ncodes:
            mag = code & self.mag_mask
            if mag <= self.max_mag and code != self.nan_at_negzero:
                num, exp = self._decode_magnitude(mag)
                if num:
                    return (1 if code & self.sign_bit else 0), num, exp
        return None

    def check_code(self, code):
        if not 0 <= code < self.ncodes:
            raise RefnumError(f"code 0x{code:X} is out of range for {self.name} ({self.k} bits)")

    def is_subnormal_code(self, code):
        mag = code & self.mag_mask
        return (self.zero and self.subnormals and mag >> self.m == 0 and mag != 0
                and not self.is_nan_code(code))

    # -- encoding a rounded finite value ------------------------------------
    def encode_finite(self, sign, s, q):
        """Code of ``(-1)**sign * s * 2**q``, which the caller guarantees is representable."""
        m, emin, bias, sign_bit = self.layout
        if s == 0:
            return sign_bit if (sign and self.negzero) else 0
        bl = s.bit_length()
        e = q + bl - 1
        if e >= emin:
            mag = ((e + bias) << m) | ((s << (m + 1 - bl)) - (1 << m))
        else:
            mag = s << (q - (emin - m))
        return mag | (sign_bit if sign else 0)

    def max_code(self, sign=0):
        return self.max_mag | (self.sign_bit if sign else 0)

    def lowest_code(self):
        """The most negative finite code (signed: -max; unsigned: the smallest value)."""
        return self.max_code(1) if self.signed else 0


@dataclass(frozen=True)
class FixedFormat:
    """Two's-complement (or unsigned) integer ``q`` of ``width`` bits meaning ``q * 2**-frac``.

    Integers are ``frac == 0``; ``Qm.n`` fixed point and the OCP MX INT8 element
    (int8 x 2**-6, OCP MX v1.0 §5.3.4) are ``frac > 0``.
    """

    name: str
    width: int
    frac: int = 0
    signed: bool = True
    spec: str = ""

    kind = "fixed"

    def __post_init__(self):
        if not 1 <= self.width <= MAX_FIXED_BITS:
            raise RefnumError(f"format {self.name}: {self.width} bits; the width must be 1..{MAX_FIXED_BITS}")

    @property
    def k(self):
        return self.width

    @property
    def hex_digits(self):
        return (self.width + 3) // 4

    @property
    def ncodes(self):
        return 1 << self.width

    @property
    def lo(self):
        return -(1 << (self.width - 1)) if self.signed else 0

    @property
    def hi(self):
        return (1 << (self.width - 1)) - 1 if self.signed else (1 << self.width) - 1

    def check_code(self, code):
        if not 0 <= code < (1 << self.width):
            raise RefnumError(f"code 0x{code:X} is out of range for {self.name} ({self.width} bits)")

    def integer_of(self, code):
        """The signed integer a code stands for (two's complement when signed)."""
        self.check_code(code)
        if self.signed and code >> (self.width - 1):
            return code - (1 << self.width)
        return code

    def code_of(self, q):
        return q & ((1 << self.width) - 1)

    def decode(self, code):
        q = self.integer_of(code)
        return Value.finite(int(q < 0), abs(q), -self.frac)

    def finite_parts(self, code):
        """``(sign, num, exp)`` of a nonzero code, else None (see FloatFormat.finite_parts)."""
        if 0 < code < (1 << self.width):
            q = self.integer_of(code)
            return int(q < 0), abs(q), -self.frac
        return None

    def is_nan_code(self, code):
        return False


@dataclass(frozen=True)
class ScaledFormat:
    """A format whose every value is multiplied by an exact positive rational ``scale``.

    This is how refnum models a flexible (real-valued) exponent bias: a bias of
    ``b`` instead of the integer ``B`` of ``base`` multiplies every value by
    ``2**(B - b)``; that factor must be given exactly, as a rational.  Per-tensor
    scales of FP8 recipes are the same construction.
    """

    name: str
    base: FloatFormat | FixedFormat
    scale: Fraction
    spec: str = "refnum: base format times an exact rational scale"

    kind = "scaled"

    def __post_init__(self):
        if self.scale <= 0:
            raise RefnumError(f"format {self.name}: scale must be positive")
        if max(self.scale.numerator.bit_length(), self.scale.denominator.bit_length()) > MAX_SCALE_BITS:
            raise RefnumError(f"format {self.name}: the scale's numerator and denominator must be below"
                              f" 2**{MAX_SCALE_BITS}")

    def __getattr__(self, name):
        return getattr(object.__getattribute__(self, "base"), name)

    def decode(self, code):
        v = self.base.decode(code)
        if not v.is_finite or v.num == 0:
            return v
        return Value.from_fraction(v.to_fraction() * self.scale)

    def finite_parts(self, code):
        """None: a scaled value is rational, so the bulk path takes :meth:`decode` instead."""
        return None


def p3109(k, p, signed=True, extended=True, name=None):
    """IEEE P3109 Binary{K}p{P}{s|u}{e|f} (interim report v4.0 §3.1, §4.7.2, Annex B)."""
    if k < 2 or not (1 <= p < k if signed else 1 <= p <= k):
        raise RefnumError(f"P3109 needs K >= 2 and 1 <= P < K (signed) or P <= K (unsigned); got K={k}, P={p}")
    w = k - p + (0 if signed else 1)
    if w > MAX_EXPONENT_BITS:
        raise RefnumError(f"P3109 K={k}, P={p}: {w} exponent bits; refnum's limit is {MAX_EXPONENT_BITS}")
    name = name or f"p3109_k{k}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    bias = 1 << (k - p - 1) if signed else 1 << (k - p)
    return FloatFormat(name, w=w, m=p - 1, bias=bias, signed=signed,
                       nan="negzero" if signed else "top", inf="top" if extended else None,
                       saturation="finite",
                       spec="IEEE P3109 interim report v4.0 §3.1 (parameters), §4.7.2 (decode), Annex B")
