"""An independent brute-force oracle for number formats of at most 8 bits.

Tests compare refnum against this module.  It is written from the
specification notes (``ml-formats-spec.md`` §1.1-1.3 for the encodings,
§4.2-4.3 for P3109 rounding and saturation, ``softfloat-testfloat.md``
§1.3-1.5 for IEEE flags and tininess) and imports nothing from refnum: formats
are plain parameter records written out from the spec tables, values come from
the decoding formulas, and rounding is done by *enumeration*: the sorted list
of a format's finite values, a bisection, and the choice between the two
neighbours made by the definition of each rounding mode.

Values
------
An exact value is a :class:`~fractions.Fraction` (zero means +0) or one of the
markers :data:`NEG_ZERO`, :data:`POS_INF`, :data:`NEG_INF`, :data:`NAN` (quiet)
and :data:`SNAN` (signalling; only ever an input).

Formats
-------
:class:`Fmt` is a plain description: ``kind`` (``"float"`` for IEEE/OCP-style
layouts decoded by the §1.2 table formula, ``"p3109"`` decoded by the P3109
v4.0 §4.7.2 formula, ``"e8m0"``, ``"fixed"`` for two's-complement/unsigned
integers times ``2**-frac``), the field widths, the bias and the special-code
layout.  Constructors:

``catalog_format(name)``        the named catalog formats of <= 8 bits (e4m3,
                                e5m2, e4m3fnuz, ..., e8m0, ue4m3, mxint8, int8,
                                uint8, int4), each written out from §1.1;
``p3109_format(k, p, signed, extended)``  P3109 Binary{K}p{P}{s|u}{e|f} (§1.3);
``exmy_format(name)``           refnum's generic ``e{W}m{M}[_b{B}][_ieee|_fn|
                                _fnuz|_fin][_nosub][_u]`` names, read as the
                                catalog module docstring defines them;
``oracle_format(name)``         any of the above by name.

Functions
---------
``small_float_values(fmt)``  {code: exact value} for every code.
``ieee_value(code, w, m)``   the exact value of an IEEE 754 interchange code
                             (binary16: ``w, m = 5, 10``; binary32: 8, 23).
``table(fmt)``               the cached :class:`Table` (sorted finite values,
                             value -> code maps) that ``nearest`` uses.
``nearest(x, fmt, mode="rne", saturation=None, *, rand=0, sr_bits=0,
tininess="after", ftz=False, zero_missing="min", p1_parity="code",
nan_missing="max", exact=False)`` -> ``(code, flags)``
    ``x`` rounded into ``fmt`` by definition.  ``mode`` is one of rne rna rtz
    rup rdn rto sr-a sr-b sr-c (stochastic modes take ``rand`` = R and
    ``sr_bits`` = N, P3109 v4.0 §4.7.4, with nu = (|x| - lo) / (hi - lo) of
    the two enumerated neighbours).  Ties (rne) go to the neighbour whose
    integral significand is even (P3109 CodeIsEven: zero is even; precision-1
    formats such as E8M0 and Binary8p1* use the parity of the code, or with
    ``p1_parity="significand"`` ties go up); rto keeps an odd neighbour and
    otherwise takes the other one (SoftFloat's jamming).  Values beyond the largest finite
    one are rounded as if the exponent range were unbounded above (phantom
    grid values continue the top binade's spacing and the binades after it),
    then the overflow policy is applied: ``none`` (IEEE 754 §7.4 by rounding
    direction; a format without Inf gives NaN, without NaN either max),
    ``finite``, ``propagate``, ``satnone`` (P3109 v4.0 §4.7.5 table).
    ``saturation=None`` takes ``fmt.saturation``, refnum's documented catalog
    default.  ``flags`` holds only the IEEE bits in TestFloat order
    (:data:`INEXACT` 1, :data:`UNDERFLOW` 2, :data:`OVERFLOW` 4,
    :data:`INVALID` 16).  For ``kind == "fixed"`` the float -> integer rules
    of TestFloat/RISC-V apply instead: invalid and a saturated result when
    the rounded value is out of range or NaN (NaN gives the largest code),
    inexact only when ``exact`` is true.

The choices the specs leave open and that this oracle makes are listed at
:func:`nearest`.  The oracle was written from the notes before reading
refnum's rounding code; where the two then disagreed on such an open choice
(flags of Inf clamped under "none", exact zero into E8M0, negative values into
unsigned formats, FTZ on exact subnormals) the choice refnum documents was
kept and is stated there; where refnum broke a rule the specs do fix, refnum
was changed (a NaN delivered for a negative value into an unsigned format kept
the underflow/overflow flags without inexact).

>>> e4m3 = catalog_format("e4m3")
>>> [hex(nearest(Fraction(v), e4m3, saturation="none")[0]) for v in (448, 464, 465)]
['0x7e', '0x7e', '0x7f']
>>> nearest(Fraction(61440), catalog_format("e5m2"), saturation="none")
(124, 5)
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from fractions import Fraction

INEXACT, UNDERFLOW, OVERFLOW, DIVBYZERO, INVALID = 1, 2, 4, 8, 16


class _Marker(str):
    """A named special value; compares by identity of its text."""


NEG_ZERO = _Marker("-0")
POS_INF = _Marker("+inf")
NEG_INF = _Marker("-inf")
NAN = _Marker("nan")
SNAN = _Marker("snan")

MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto", "sr-a", "sr-b", "sr-c")
POLICIES = ("none", "finite", "propagate", "satnone")


# --------------------------------------------------------------------------------------------
# Format descriptions
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Fmt:
    """A plain description of a format, written out from its spec.

    kind      "float" | "p3109" | "e8m0" | "fixed"
    bits      code width K
    signed    has a sign bit (the MSB)
    ebits, mbits, bias   exponent field width, trailing significand width, bias
    specials  float layouts: "ieee" (E all ones: t = 0 Inf, else NaN), "top"
              (the all-ones magnitude is NaN: OCP E4M3, UE4M3, "fn"),
              "negzero" (the -0 code is the only NaN, no -0: FNUZ), "none"
    subnormals  E = 0 is the subnormal binade; if False E = 0 codes are zeros
    extended  P3109 domain Extended (has +-Inf)
    frac      fixed: value = integer * 2**-frac
    saturation  refnum's documented default overflow policy for the format
    """

    name: str
    kind: str
    bits: int
    signed: bool = True
    ebits: int = 0
    mbits: int = 0
    bias: int = 0
    specials: str = "none"
    subnormals: bool = True
    extended: bool = False
    frac: int = 0
    saturation: str = "finite"

    @property
    def precision(self):
        return self.mbits + 1

    @property
    def min_normal(self):
        """Smallest positive normal value (spec table column minN)."""
        if self.kind == "e8m0":
            return Fraction(1, 2**127)
        return _pow2(1 - self.bias)


def _pow2(e):
    return Fraction(2) ** e


# ml-formats-spec.md §1.1 master table, row by row (S/E/M, bias, specials), and the
# refnum catalog's default saturation for each (design.md: saturate-finite unless the
# format follows IEEE rules).
_CATALOG = {
    "e4m3": Fmt("e4m3", "float", 8, True, 4, 3, 7, "top"),
    "e5m2": Fmt("e5m2", "float", 8, True, 5, 2, 15, "ieee"),
    "e4m3fnuz": Fmt("e4m3fnuz", "float", 8, True, 4, 3, 8, "negzero"),
    "e5m2fnuz": Fmt("e5m2fnuz", "float", 8, True, 5, 2, 16, "negzero"),
    "e4m3b11fnuz": Fmt("e4m3b11fnuz", "float", 8, True, 4, 3, 11, "negzero"),
    "float8_e4m3": Fmt("float8_e4m3", "float", 8, True, 4, 3, 7, "ieee", saturation="none"),
    "float8_e3m4": Fmt("float8_e3m4", "float", 8, True, 3, 4, 3, "ieee", saturation="none"),
    "e2m3": Fmt("e2m3", "float", 6, True, 2, 3, 1, "none"),
    "e3m2": Fmt("e3m2", "float", 6, True, 3, 2, 3, "none"),
    "e2m1": Fmt("e2m1", "float", 4, True, 2, 1, 1, "none"),
    "e8m0": Fmt("e8m0", "e8m0", 8, False, 8, 0, 127, "top", subnormals=False),
    "ue4m3": Fmt("ue4m3", "float", 7, False, 4, 3, 7, "top"),
    "mxint8": Fmt("mxint8", "fixed", 8, True, frac=6),
    "int8": Fmt("int8", "fixed", 8, True),
    "uint8": Fmt("uint8", "fixed", 8, False),
    "int4": Fmt("int4", "fixed", 4, True),
    "uint4": Fmt("uint4", "fixed", 4, False),
}

FLOAT_CATALOG = ("e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz", "e4m3b11fnuz", "float8_e4m3", "float8_e3m4",
                 "e2m3", "e3m2", "e2m1", "e8m0", "ue4m3")
FIXED_CATALOG = ("mxint8", "int8", "uint8", "int4")


def catalog_format(name):
    return _CATALOG[name]


def p3109_format(k, p, signed=True, extended=True):
    """P3109 v4.0 Binary{K}p{P}: bias 2**(K-P-1) signed, 2**(K-P) unsigned (§3.1)."""
    assert k >= 2 and (1 <= p < k if signed else 1 <= p <= k)
    bias = 2 ** (k - p - 1) if signed else 2 ** (k - p)
    ebits = k - p if signed else k - p + 1
    name = f"p3109_k{k}p{p}{'s' if signed else 'u'}{'e' if extended else 'f'}"
    return Fmt(name, "p3109", k, signed, ebits, p - 1, bias, subnormals=p > 1, extended=extended)


_EXMY = re.compile(r"^e(\d+)m(\d+)(?:_b(-?\d+))?(?:_(ieee|fn|fnuz|fin))?(_nosub)?(_u)?$")


def exmy_format(name):
    """refnum's generic ExMy names (catalog docstring): default bias 2**(W-1)-1,
    default specials ieee; fn: NaN at the top code, no Inf; fnuz: NaN at -0, no
    Inf; fin: neither; _nosub: no subnormals; _u: no sign bit.  Default
    saturation: none for IEEE specials, finite otherwise."""
    m = _EXMY.match(name)
    w, mm = int(m[1]), int(m[2])
    bias = int(m[3]) if m[3] is not None else 2 ** (w - 1) - 1
    specials = {"ieee": "ieee", "fn": "top", "fnuz": "negzero", "fin": "none", None: "ieee"}[m[4]]
    signed = not m[6]
    return Fmt(name, "float", w + mm + signed, signed, w, mm, bias, specials, subnormals=not m[5],
               saturation="none" if specials == "ieee" else "finite")


_P3109_NAME = re.compile(r"^p3109_k(\d+)p(\d+)([su])([ef])$")


def oracle_format(name):
    if name in _CATALOG:
        return _CATALOG[name]
    if m := _P3109_NAME.match(name):
        return p3109_format(int(m[1]), int(m[2]), m[3] == "s", m[4] == "e")
    return exmy_format(name)


# --------------------------------------------------------------------------------------------
# Decoding
# --------------------------------------------------------------------------------------------

def ieee_value(code, w, m):
    """Exact value of an IEEE 754 binary interchange code (IEEE 754-2019 §3.4)."""
    sign = code >> (w + m) & 1
    e = code >> m & ((1 << w) - 1)
    t = code & ((1 << m) - 1)
    bias = (1 << (w - 1)) - 1
    if e == (1 << w) - 1:
        if t == 0:
            return NEG_INF if sign else POS_INF
        return NAN if t >> (m - 1) else SNAN
    v = Fraction(t, 2**m) * _pow2(1 - bias) if e == 0 else (1 + Fraction(t, 2**m)) * _pow2(e - bias)
    if v == 0:
        return NEG_ZERO if sign else Fraction(0)
    return -v if sign else v


def _decode_float(fmt, code):
    """§1.2 table formula for IEEE-like and OCP layouts, then the special codes."""
    sign = code >> (fmt.bits - 1) & 1 if fmt.signed else 0
    mag = code & ((1 << (fmt.ebits + fmt.mbits)) - 1)
    e, t = mag >> fmt.mbits, mag & ((1 << fmt.mbits) - 1)
    e_top = (1 << fmt.ebits) - 1
    if fmt.specials == "ieee" and e == e_top:
        if t == 0:
            return NEG_INF if sign else POS_INF
        return NAN
    if fmt.specials == "top" and mag == (1 << (fmt.ebits + fmt.mbits)) - 1:
        return NAN
    if fmt.specials == "negzero" and sign and mag == 0:
        return NAN
    if e == 0:
        v = Fraction(t, 2**fmt.mbits) * _pow2(1 - fmt.bias) if fmt.subnormals else Fraction(0)
    else:
        v = (1 + Fraction(t, 2**fmt.mbits)) * _pow2(e - fmt.bias)
    if v == 0:
        return NEG_ZERO if sign else Fraction(0)
    return -v if sign else v


def _decode_p3109(fmt, x):
    """P3109 v4.0 §4.7.2 ωDecode, literally."""
    k, p, b = fmt.bits, fmt.precision, fmt.bias
    if fmt.signed:
        if x == 2 ** (k - 1):
            return NAN
        if fmt.extended and x == 2 ** (k - 1) - 1:
            return POS_INF
        if fmt.extended and x == 2**k - 1:
            return NEG_INF
        if x > 2 ** (k - 1):
            return -_decode_p3109(fmt, x - 2 ** (k - 1))
    else:
        if x == 2**k - 1:
            return NAN
        if fmt.extended and x == 2**k - 2:
            return POS_INF
    t, e = x % 2 ** (p - 1), x // 2 ** (p - 1)
    if e == 0:
        return t * _pow2(1 - p) * _pow2(1 - b)
    return (1 + t * _pow2(1 - p)) * _pow2(e - b)


def _decode_e8m0(fmt, c):
    """OCP MX E8M0: 2**(c - 127), 0xFF is NaN; no zero, no sign (§1.1)."""
    return NAN if c == 0xFF else _pow2(c - 127)


def _decode_fixed(fmt, c):
    q = c - (1 << fmt.bits) if fmt.signed and c >> (fmt.bits - 1) else c
    return Fraction(q, 2**fmt.frac)


_DECODERS = {"float": _decode_float, "p3109": _decode_p3109, "e8m0": _decode_e8m0, "fixed": _decode_fixed}


def decode(fmt, code):
    return _DECODERS[fmt.kind](fmt, code)


def small_float_values(fmt):
    """{code: exact value} for every code of ``fmt``."""
    return {c: decode(fmt, c) for c in range(1 << fmt.bits)}


# --------------------------------------------------------------------------------------------
# The enumerated value table
# --------------------------------------------------------------------------------------------

@dataclass
class Table:
    """Everything ``nearest`` needs, enumerated once from the decoded codes.

    Magnitudes are held as integers in units of 2**-scale, with ``scale``
    large enough that every grid value, every midpoint between neighbours and
    the grid one binade below the smallest normal are integers.
    """

    fmt: Fmt
    values: dict
    scale: int = 0
    grid: list = field(default_factory=list)        # sorted magnitudes (units), 0 first if present
    pos_code: dict = field(default_factory=dict)    # magnitude (units) -> code of +value
    neg_code: dict = field(default_factory=dict)    # magnitude (units) -> code of -value
    nan_code: int | None = None
    inf_code: dict = field(default_factory=dict)    # sign -> code
    negzero_code: int | None = None
    has_zero: bool = True
    emin: int = 0                                   # exponent of the smallest normal
    minn: int = 0                                   # the smallest normal (units)

    @property
    def max_units(self):
        return self.grid[-1]

    def units(self, q):
        """(floor(q * 2**scale), q * 2**scale is not an integer) for a Fraction q >= 0."""
        d = q.denominator
        if d == 1:
            return q.numerator << self.scale, False
        f, r = divmod(q.numerator << self.scale, d)
        return f, r != 0


_TABLES = {}


def table(fmt):
    """The enumerated :class:`Table` of ``fmt``, built once."""
    t = _TABLES.get(id(fmt))
    if t is None or t.fmt is not fmt:
        t = _TABLES[id(fmt)] = _build_table(fmt)
    return t


def _build_table(fmt):
    values = small_float_values(fmt)
    t = Table(fmt, values)
    finite = [v for v in values.values() if isinstance(v, Fraction) and not isinstance(v, _Marker)]
    if fmt.kind == "fixed":
        t.scale = fmt.frac + 1
    else:
        # the finest quantum needed: the unbounded grid of the binade below minN
        t.emin = _exp2(fmt.min_normal)
        t.scale = fmt.precision + 2 - t.emin
        t.minn = 1 << (t.emin + t.scale)
    mags = set()
    for c in sorted(values):            # lowest code first: canonical zero, canonical duplicates
        v = values[c]
        if v is NAN:
            if t.nan_code is None or _nan_rank(fmt, c) < _nan_rank(fmt, t.nan_code):
                t.nan_code = c
        elif v is POS_INF:
            t.inf_code[0] = c
        elif v is NEG_INF:
            t.inf_code[1] = c
        elif v is NEG_ZERO:
            if t.negzero_code is None:
                t.negzero_code = c
        else:
            u = abs(v) * 2**t.scale
            assert u.denominator == 1
            u = int(u)
            mags.add(u)
            (t.neg_code if v < 0 else t.pos_code).setdefault(u, c)
    t.has_zero = 0 in t.pos_code
    t.grid = sorted(m for m in mags if m in t.pos_code)     # magnitudes of nonnegative values
    assert finite
    return t


def _nan_rank(fmt, c):
    """Preference among NaN codes for the canonical quiet NaN: positive before
    negative, quiet (IEEE: MSB of t set) before signalling, then the smallest code."""
    negative = fmt.signed and c >> (fmt.bits - 1) & 1
    quiet = True
    if fmt.kind == "float" and fmt.specials == "ieee":
        quiet = bool(c >> (fmt.mbits - 1) & 1)
    return (negative, not quiet, c)


def _exp2(q):
    """floor(log2 q) for a positive Fraction."""
    n, d = q.numerator, q.denominator
    e = n.bit_length() - d.bit_length()
    if (n << max(0, -e)) < (d << max(0, e)):
        e -= 1
    return e


# --------------------------------------------------------------------------------------------
# Rounding by definition
# --------------------------------------------------------------------------------------------

def _next_phantom(t, u):
    """The next grid value above magnitude ``u`` (units) when the exponent range is
    unbounded above: the top binade's spacing continued (P3109 v4.0 §4.7.4)."""
    fmt = t.fmt
    if fmt.kind == "fixed":
        return u + 2
    e = u.bit_length() - 1                  # floor(log2 u) in units
    return u + (1 << max(0, e - (fmt.precision - 1)))


def _neighbours(t, f):
    """Grid values lo <= x < hi around magnitude floor ``f`` (units), phantoms included."""
    grid = t.grid
    if f >= grid[-1]:
        lo = grid[-1]
        if f >= 4 * lo:             # far above: the grid of f's own binade (same spacing rule)
            quantum = 1 << max(0, f.bit_length() - 1 - (t.fmt.precision - 1))
            lo = f - f % quantum
        hi = _next_phantom(t, lo)
        while hi <= f:
            lo, hi = hi, _next_phantom(t, hi)
        return lo, hi
    i = bisect.bisect_right(grid, f)
    if i == 0:                              # below the smallest value: a format without zero
        return 0, grid[0]
    return grid[i - 1], grid[i]


def _is_even(t, u, p1_parity):
    """Does the grid value ``u`` (units) have an even significand (P3109 CodeIsEven)?

    Zero is even.  For precision > 1 the integral significand S = u / quantum
    (quantum fixed below the smallest normal); for precision 1 (E8M0, Binary8p1*)
    the parity of the biased exponent, i.e. of the code (p1_parity "code"), or
    every nonzero value is odd (p1_parity "significand": the implicit bit is
    the LSB)."""
    if u == 0:
        return True
    fmt = t.fmt
    if fmt.kind == "fixed":
        return (u // 2) % 2 == 0
    e = u.bit_length() - 1 - t.scale                       # floor(log2 value)
    if fmt.precision == 1:
        if p1_parity == "significand":
            return False
        return (e + fmt.bias) % 2 == 0
    qexp = max(e, t.emin) - (fmt.precision - 1) + t.scale
    return (u >> qexp) % 2 == 0


def _round_away(mode, lo, hi, f, rem, xs, negative, is_even, rand, sr_bits):
    """Choose hi (True) or lo for an inexact magnitude strictly between them.

    ``is_even(u)`` says whether grid value ``u`` has an even significand."""
    if mode == "rtz":
        return False
    if mode == "rup":
        return not negative
    if mode == "rdn":
        return negative
    if mode == "rto":                                       # SoftFloat: jam the LSB to 1
        return is_even(lo)
    if mode in ("rne", "rna"):
        twice, mid = 2 * f, lo + hi                         # midpoints are integers in units
        if twice < mid:
            return False
        if twice > mid or rem:
            return True
        if mode == "rna":
            return True
        if lo == 0:                                         # zero is even (P3109: floor(S~) = 0)
            return False
        lo_even, hi_even = is_even(lo), is_even(hi)
        if lo_even == hi_even:                              # p1_parity "significand": ties up
            return True
        return hi_even
    # P3109 v4.0 §4.7.4: nu = (x - lo) / (hi - lo), R in [0, 2**N)
    nu = (xs - lo) / (hi - lo) if rem else Fraction(f - lo, hi - lo)
    n = sr_bits
    if mode == "sr-a":
        return (nu * 2**n).__floor__() + rand >= 2**n
    if mode == "sr-b":
        return (nu * 2 ** (n + 1)).__floor__() + 2 * rand + 1 >= 2 ** (n + 1)
    if mode == "sr-c":
        return round(nu * 2**n) + rand >= 2**n           # Fraction.__round__: ties to even
    raise ValueError(mode)


def _round_magnitude(t, q, f, rem, negative, mode, rand, sr_bits, p1_parity):
    """(rounded magnitude in units, inexact) of the exact magnitude q > 0 (= f, rem in units)."""
    lo, hi = _neighbours(t, f)
    if f == lo and not rem:
        return lo, False
    xs = q * 2**t.scale if rem else None
    away = _round_away(mode, lo, hi, f, rem, xs, negative, lambda u: _is_even(t, u, p1_parity),
                       rand, sr_bits)
    return (hi if away else lo), True


def _tiny_after(t, q, f, rem, negative, mode, rand, sr_bits, p1_parity):
    """Tininess after rounding (IEEE 754 §7.5): rounding q with an unbounded exponent
    range (precision p only) gives a magnitude below the smallest normal."""
    if f >= t.minn:
        return False
    if f < t.minn // 2:
        return True
    # binade [minN/2, minN): quantum minN * 2**-p, an integer number of units by the choice of scale
    step = t.minn >> t.fmt.precision
    lo = f // step * step
    hi = lo + step
    if lo == f and not rem:
        return True
    xs = q * 2**t.scale if rem else None
    # parity on the unbounded grid: significand lo/step (p > 1); biased exponent (p = 1)
    if t.fmt.precision == 1:
        lo_even = p1_parity == "code" and (t.emin - 1 + t.fmt.bias) % 2 == 0
        is_even = {lo: lo_even, hi: p1_parity == "code" and not lo_even}.__getitem__
    else:
        def is_even(u):
            return (u // step) % 2 == 0
    away = _round_away(mode, lo, hi, f, rem, xs, negative, is_even, rand, sr_bits)
    return not (away and hi == t.minn)


def nearest(x, fmt, mode="rne", saturation=None, *, rand=0, sr_bits=0, tininess="after", ftz=False,
            zero_missing="min", p1_parity="code", nan_missing="max", exact=False):
    """Round the exact value ``x`` into ``fmt`` by definition: ``(code, flags)``.

    Choices where the specs are silent (each one a documented refnum knob or
    its stated default):

    * NaN results use the canonical quiet NaN: the positive, quiet NaN code
      with the smallest bit pattern (IEEE layouts: E all ones and the quiet bit
      only; E4M3 0x7F; FNUZ/P3109 signed 0x80; unsigned 0x7F/0xFF).  A NaN
      input raises invalid only when signalling; a NaN input into a format
      without NaN gives ``nan_missing`` ("max": +max, "zero": +0) and invalid.
    * A result that is NaN although the input is not (Inf into a format with
      NaN but no Inf under "none", a negative value into an unsigned format
      under "none"/"satnone") raises invalid and nothing else (as an invalid
      float -> integer conversion does); so does Inf clamped to max because a
      format has neither Inf nor NaN under "none" (non-saturating asked for).
    * -0 into a format without -0 is +0.  An exact zero into a format without
      zero (E8M0) is ``zero_missing``: "min" (the smallest value, inexact: the
      delivered value differs) or "nan" (invalid).  A nonzero value that
      rounds to zero there delivers the smallest value (underflow, inexact)
      when positive; when negative, see the next rule.
    * Unsigned formats: the magnitude is rounded first (sign-symmetric), a
      negative result that rounded to zero is +0, a nonzero negative result
      (or a negative one without a zero to land on) is the P3109 row
      "X < MinFinite": MinFinite (= 0, E8M0: 2**-127) under finite/propagate,
      and under satnone and none when rounding toward zero or +inf (the
      direction points inwards, as for IEEE overflow), with inexact plus
      the flags of rounding the magnitude (overflow, underflow); NaN
      otherwise.
    * Overflow (the rounded value exceeds max) raises overflow and inexact in
      every policy; Inf input raises no flag unless it becomes NaN.
    * ftz: a result that is tiny (by the ``tininess`` rule, exact or not)
      becomes a zero of the same sign (+0 without -0), with underflow and
      inexact.
    """
    if fmt.kind == "fixed":
        return _nearest_fixed(x, fmt, mode, rand, sr_bits, exact)
    t = table(fmt)
    policy = saturation or fmt.saturation
    if x is NAN or x is SNAN:
        flags = INVALID if x is SNAN else 0
        if t.nan_code is not None:
            return t.nan_code, flags
        return _missing_nan(t, nan_missing), INVALID
    if x is POS_INF or x is NEG_INF:
        return _infinity(t, int(x is NEG_INF), policy)
    if x is NEG_ZERO or x == 0:
        return _exact_zero(t, int(x is NEG_ZERO), zero_missing)

    negative = x.numerator < 0
    q = -x if negative else x
    f, rem = t.units(q)
    r, inexact = _round_magnitude(t, q, f, rem, negative, mode, rand, sr_bits, p1_parity)
    flags = INEXACT if inexact else 0
    tiny = f < t.minn if tininess == "before" else _tiny_after(
        t, q, f, rem, negative, mode, rand, sr_bits, p1_parity)
    if tiny and ftz:
        return _signed_zero(t, int(negative)), flags | UNDERFLOW | INEXACT
    if tiny and inexact:
        flags |= UNDERFLOW
    if r == 0 and t.has_zero:
        return _signed_zero(t, int(negative)), flags
    if r == 0 and not negative:                 # no zero (E8M0): the smallest value
        return _lowest_code(t), flags | UNDERFLOW | INEXACT
    if r > t.max_units:
        flags |= OVERFLOW | INEXACT
    if negative and not fmt.signed:
        return _below_lowest(t, mode, policy, flags)
    if r > t.max_units:
        return _overflow(t, int(negative), mode, policy, flags)
    return (t.neg_code if negative else t.pos_code)[r], flags


def _missing_nan(t, nan_missing):
    if nan_missing == "max":
        return t.pos_code[t.max_units]
    if nan_missing == "zero":
        return t.pos_code[0]
    raise ValueError(nan_missing)


def _max_code(t, sign):
    return (t.neg_code if sign else t.pos_code)[t.max_units]


def _lowest_code(t):
    """MinFinite of an unsigned format: its smallest value (0, or E8M0's 2**-127)."""
    return t.pos_code[t.grid[0]]


def _signed_zero(t, sign):
    if sign and t.negzero_code is not None:
        return t.negzero_code
    return t.pos_code[0] if t.has_zero else _lowest_code(t)


def _exact_zero(t, sign, zero_missing):
    if t.has_zero:
        return _signed_zero(t, sign), 0
    if zero_missing == "nan":
        return t.nan_code, INVALID
    return _lowest_code(t), INEXACT


def _infinity(t, sign, policy):
    fmt = t.fmt
    if sign and not fmt.signed:                         # -Inf into an unsigned format
        if policy in ("finite", "propagate"):
            return _lowest_code(t), 0
        if t.nan_code is None:
            return _lowest_code(t), INVALID
        return t.nan_code, INVALID
    if policy == "finite" or not t.inf_code:
        if policy == "none" and not t.inf_code:         # OFP8 non-SAT: Inf -> NaN (or max)
            return (t.nan_code if t.nan_code is not None else _max_code(t, sign)), INVALID
        return _max_code(t, sign), 0
    return t.inf_code[sign], 0


def _overflow(t, sign, mode, policy, flags):
    """The rounded finite value exceeds max (P3109 v4.0 §4.7.5; IEEE 754 §7.4)."""
    fmt = t.fmt
    if policy in ("finite", "propagate"):
        return _max_code(t, sign), flags
    if policy == "satnone":
        if mode in ("rtz", "rdn" if not sign else "rup"):
            return _max_code(t, sign), flags
        if not fmt.signed and t.inf_code and mode == "rto":
            return _max_code(t, sign), flags
        if t.inf_code:
            return t.inf_code[sign], flags
        return _max_code(t, sign), flags
    # none: by rounding direction
    to_inf = mode in ("rne", "rna", "sr-a", "sr-b", "sr-c") or mode == ("rdn" if sign else "rup")
    if not to_inf:
        return _max_code(t, sign), flags
    if t.inf_code:
        return t.inf_code[sign], flags
    if t.nan_code is not None:
        return t.nan_code, flags
    return _max_code(t, sign), flags


def _below_lowest(t, mode, policy, flags):
    """A nonzero negative rounded value in an unsigned format (P3109 row X < M_lo)."""
    if policy in ("finite", "propagate") or mode in ("rtz", "rup"):
        return _lowest_code(t), flags | INEXACT
    if t.nan_code is None:
        return _lowest_code(t), flags | INEXACT
    return t.nan_code, INVALID


# --------------------------------------------------------------------------------------------
# Fixed point and integers: TestFloat / RISC-V float -> integer semantics
# --------------------------------------------------------------------------------------------

def _nearest_fixed(x, fmt, mode, rand, sr_bits, exact):
    lo_q = -(1 << (fmt.bits - 1)) if fmt.signed else 0
    hi_q = (1 << (fmt.bits - 1)) - 1 if fmt.signed else (1 << fmt.bits) - 1
    code_of = lambda q: q & ((1 << fmt.bits) - 1)      # noqa: E731
    if x is NAN or x is SNAN:
        return code_of(hi_q), INVALID
    if x is POS_INF or x is NEG_INF:
        return code_of(lo_q if x is NEG_INF else hi_q), INVALID
    if x is NEG_ZERO:
        x = Fraction(0)
    negative = x < 0
    scaled = abs(x) * 2**fmt.frac                       # the integer grid, unbounded
    lo = scaled.__floor__()
    inexact = lo != scaled
    mag = lo
    if inexact:
        two_f, rem = divmod(2 * scaled.numerator, scaled.denominator)
        # reuse the float decision on a grid with units of 1/2
        away = _round_away(mode, 2 * lo, 2 * lo + 2, two_f, rem != 0, 2 * scaled, negative,
                           lambda u: u // 2 % 2 == 0, rand, sr_bits)
        mag = lo + 1 if away else lo
    q = -mag if negative else mag
    if not lo_q <= q <= hi_q:
        return code_of(hi_q if q > hi_q else lo_q), INVALID
    return code_of(q), INEXACT if (inexact and exact) else 0
