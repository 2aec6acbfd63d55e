"""Bit-pattern strategies and an independent exact oracle for refnum's conversions.

Nothing here imports refnum.  Formats are described by the parameters their
specifications give (IEEE 754-2019 §3.3/§3.4 fields, the OFP8/MX/P3109 tables
in ``ml-formats-spec.md`` §1.1), values are ``fractions.Fraction``, and the
rounding is done twice, independently:

* by MPFR (gmpy2), with an explicit context per target (precision p, emin, a
  huge emax so that overflow is decided afterwards on the rounded value, and
  ``subnormalize``) for the four modes MPFR has: rne, rtz, rup, rdn;
* by the P3109 v4.0 §4.7.4 definition written out on rationals (``Q``, ``S0``,
  ``nu`` and the RoundAway table) for every mode, which is the only route for
  rna, rto, the stochastic modes and precision-1 ties (MPFR has no ties-away,
  no round-to-odd, and at precision 1 breaks ties upwards).

``test_wide_hypothesis.test_oracle_routes_agree`` checks the two routes against
each other.  Specials, overflow/saturation and NaN policies are written by hand
from the spec tables (ml-formats-spec §2.1 OFP8, §4.3 P3109 saturation) and
refnum's documented knob meanings (``Context`` docstring); flags follow
TestFloat (underflow = tiny and inexact; softfloat-testfloat §1.5).

The strategies draw *codes*, never floats, weighted to the places where
conversions go wrong: signed zeros, the smallest subnormal, the
subnormal/normal edge, the largest finite value, the target's overflow
threshold and its neighbours, exact ties for the target's precision (discarded
bits 100..0, in the normal and in the subnormal range), NaNs (quiet and
signalling, with payloads) and infinities.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from fractions import Fraction

from hypothesis import strategies as st

try:                                    # optional: the MPFR route of the oracle
    import gmpy2
except ImportError:                     # pragma: no cover - the tests importorskip it
    gmpy2 = None

INEXACT, UNDERFLOW, OVERFLOW, DIVBYZERO, INVALID, SATURATED = 0x01, 0x02, 0x04, 0x08, 0x10, 0x20
DETERMINISTIC_MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")
MPFR_MODES = ("rne", "rtz", "rup", "rdn")
STOCHASTIC_MODES = ("sr-a", "sr-b", "sr-c")
SATURATIONS = (None, "none", "finite", "propagate", "satnone")


def pow2(e):
    return Fraction(1 << e) if e >= 0 else Fraction(1, 1 << -e)


def floor_log2(a):
    """floor(log2(a)) for a rational a > 0, exactly."""
    n, d = a.numerator, a.denominator
    e = n.bit_length() - d.bit_length()
    if (n << max(-e, 0)) < (d << max(e, 0)):
        e -= 1
    return e


# -- exact values ------------------------------------------------------------------

@dataclass(frozen=True)
class X:
    """An exact extended real: kind 'fin' (sign, magnitude), 'inf' or 'nan'."""

    kind: str
    sign: int = 0
    mag: Fraction = Fraction(0)
    signaling: bool = False
    payload: int = 0          # NaN trailing field below the quiet bit
    payload_bits: int = 0

    @property
    def value(self):
        return -self.mag if self.sign else self.mag


def fin(q, sign_of_zero=0):
    q = Fraction(q)
    return X("fin", int(q < 0) if q else sign_of_zero, abs(q))


# -- IEEE-layout sources ------------------------------------------------------------

@dataclass(frozen=True)
class Layout:
    """An IEEE 754 §3.4 binary interchange layout: 1 sign bit, w exponent bits, m trailing bits."""

    name: str
    w: int
    m: int

    @property
    def k(self):
        return 1 + self.w + self.m

    @property
    def bias(self):
        return (1 << (self.w - 1)) - 1

    @property
    def emin(self):
        return 1 - self.bias

    @property
    def inf_code(self):
        return ((1 << self.w) - 1) << self.m

    @property
    def sign_bit(self):
        return 1 << (self.k - 1)

    def decode(self, code):
        """§3.4: the exact value of a code."""
        sign = code >> (self.k - 1)
        e = (code >> self.m) & ((1 << self.w) - 1)
        t = code & ((1 << self.m) - 1)
        if e == (1 << self.w) - 1:
            if t == 0:
                return X("inf", sign)
            quiet = t >> (self.m - 1)
            return X("nan", sign, signaling=not quiet, payload=t & ((1 << (self.m - 1)) - 1),
                     payload_bits=self.m - 1)
        if e == 0:
            return X("fin", sign, t * pow2(self.emin - self.m))
        return X("fin", sign, ((1 << self.m) + t) * pow2(e - self.bias - self.m))

    def code_toward_zero(self, sign, mag):
        """The code of the largest magnitude <= mag (Inf when mag reaches 2**(emax+1))."""
        s = self.sign_bit if sign else 0
        if mag <= 0:
            return s
        e = floor_log2(mag)
        if e > self.bias:
            return s | self.inf_code
        if e < self.emin:
            t = int(mag / pow2(self.emin - self.m))           # floor: subnormal units
            return s | t
        t = int(mag / pow2(e - self.m)) - (1 << self.m)
        return s | ((e + self.bias) << self.m) | t


SOURCES = {
    "binary16": Layout("binary16", 5, 10),
    "bfloat16": Layout("bfloat16", 8, 7),
    "binary32": Layout("binary32", 8, 23),
    "binary64": Layout("binary64", 11, 52),
    "binary128": Layout("binary128", 15, 112),
}


# -- targets: every float-like format of the tests, from its spec table ------------------

@dataclass(frozen=True)
class Target:
    """A float-like target described by its spec parameters (not by refnum's objects).

    ``max_finite`` is the table value; ``nan`` is the canonical quiet NaN code
    with sign 0 (None: the format has no NaN); ``inf`` the +Inf code (None: no
    Inf; -Inf is the code with the sign bit).  ``scale`` multiplies every value
    (a ScaledFormat: refnum rounds x / scale in the base format).
    """

    name: str
    w: int
    m: int
    bias: int
    max_finite: Fraction
    nan: int | None
    inf: int | None
    signed: bool = True
    negzero: bool = True
    zero: bool = True
    subnormals: bool = True
    saturation: str = "none"
    scale: Fraction = Fraction(1)
    nan_layout: str = "ieee"
    base: str = ""

    @property
    def p(self):
        return self.m + 1

    @property
    def k(self):
        return int(self.signed) + self.w + self.m

    @property
    def emin(self):
        return 1 - self.bias if self.zero else -self.bias

    @property
    def sign_bit(self):
        return 1 << (self.k - 1) if self.signed else 0

    @property
    def min_positive(self):
        return pow2(self.emin - self.m) if self.subnormals else pow2(self.emin)

    def max_code(self, sign=0):
        return self.encode(sign, self.max_finite)

    def lowest_code(self):
        return self.max_code(1) if self.signed else self.encode(0, self.min_positive if not self.zero else Fraction(0))

    def inf_code(self, sign):
        return self.inf | (self.sign_bit if sign else 0)

    def nan_code(self, sign=0, payload=0, payload_bits=0, keep_payload=False):
        """Quiet NaN: canonical, with the sign where the layout has a NaN of each sign."""
        if self.nan_layout != "ieee" and not (self.nan_layout == "top" and self.signed):
            return self.nan
        code = self.nan | (self.sign_bit if sign else 0)
        if keep_payload and self.nan_layout == "ieee" and payload_bits:
            # x86 / SoftFloat 8086-SSE: the trailing field's top bits, quiet bit forced
            shift = (self.m - 1) - payload_bits
            t = payload << shift if shift >= 0 else payload >> -shift
            code |= t
        return code

    @functools.lru_cache(maxsize=1 << 14)
    def encode(self, sign, mag):
        """The code of an exactly representable magnitude (IEEE-like fields)."""
        s = self.sign_bit if sign else 0
        if mag == 0:
            assert self.zero
            return s if self.negzero else 0
        if mag < pow2(self.emin):
            assert self.subnormals
            t = mag / pow2(self.emin - self.m)
            assert t.denominator == 1 and 0 < t < (1 << self.m), (self.name, mag)
            return s | int(t)
        e = floor_log2(mag)
        t = mag / pow2(e - self.m) - (1 << self.m)
        assert t.denominator == 1 and 0 <= e + self.bias < (1 << self.w), (self.name, mag)
        return s | ((e + self.bias) << self.m) | int(t)


def ieee_target(name, w, m, **kw):
    bias = (1 << (w - 1)) - 1
    inf = ((1 << w) - 1) << m
    return Target(name, w, m, bias, max_finite=(2 - pow2(-m)) * pow2(bias),
                  nan=inf | (1 << (m - 1)), inf=inf, **kw)


def scaled(target, scale_text):
    return Target(**{**target.__dict__, "name": f"{target.name}@{scale_text}",
                     "scale": Fraction(scale_text), "base": target.name})


E4M3 = Target("e4m3", 4, 3, 7, Fraction(448), nan=0x7F, inf=None, saturation="finite", nan_layout="top")
E2M1 = Target("e2m1", 2, 1, 1, Fraction(6), nan=None, inf=None, saturation="finite", nan_layout=None)
TARGETS = {t.name: t for t in (
    ieee_target("binary16", 5, 10),
    ieee_target("bfloat16", 8, 7),
    ieee_target("tf32", 8, 10),
    ieee_target("binary32", 8, 23),
    ieee_target("binary64", 11, 52),
    ieee_target("ieee_k12p5", 7, 4),              # generic K=12, P=5: w = 7, m = 4, bias 63
    ieee_target("e5m2", 5, 2, saturation="finite"),
    E4M3,
    E2M1,
    Target("e8m0", 8, 0, 127, pow2(127), nan=0xFF, inf=None, signed=False, negzero=False, zero=False,
           subnormals=False, saturation="finite", nan_layout="top"),
    Target("p3109_k8p4se", 4, 3, 8, Fraction(224), nan=0x80, inf=0x7F, negzero=False, saturation="finite",
           nan_layout="negzero"),
    scaled(E4M3, "1/3"),
    scaled(E2M1, "3/7"),
)}


# -- the oracle: rounding ----------------------------------------------------------------

_MPFR_ROUND = {}


def _mpfr_round(y, p, emin, mode):
    """MPFR: y rounded to p bits with subnormals below 2**emin (emin None: unbounded)."""
    if not _MPFR_ROUND:
        _MPFR_ROUND.update(rne=gmpy2.RoundToNearest, rtz=gmpy2.RoundToZero,
                           rup=gmpy2.RoundUp, rdn=gmpy2.RoundDown)
    if emin is None:
        ctx = gmpy2.context(precision=p, emin=gmpy2.get_emin_min(), emax=gmpy2.get_emax_max(),
                            round=_MPFR_ROUND[mode])
    else:   # MPFR writes 0.1xxx * 2**e: the smallest subnormal 2**(emin-p+1) has e = emin-p+2
        ctx = gmpy2.context(precision=p, emin=emin - p + 2, emax=gmpy2.get_emax_max(),
                            subnormalize=True, round=_MPFR_ROUND[mode])
    with ctx:
        r = gmpy2.mpfr(gmpy2.mpq(y.numerator, y.denominator))
    return Fraction(*r.as_integer_ratio())


def _round_away(mode, sign, even, nu, rand, nbits):
    """P3109 v4.0 §4.7.4 RoundAway table (nu > 0 is the discarded fraction)."""
    if mode == "rne":
        return nu > Fraction(1, 2) or (nu == Fraction(1, 2) and not even)
    if mode == "rna":
        return nu >= Fraction(1, 2)
    if mode == "rtz":
        return False
    if mode == "rup":
        return not sign
    if mode == "rdn":
        return bool(sign)
    if mode == "rto":
        return even
    n = 1 << nbits
    if mode == "sr-a":
        return int(nu * n) + rand >= n
    if mode == "sr-b":
        return int(nu * 2 * n) + 2 * rand + 1 >= 2 * n
    if mode == "sr-c":
        return round(nu * n) + rand >= n          # round() on a Fraction: nearest, ties to even
    raise AssertionError(mode)


def round_by_definition(y, p, emin, mode, rand=0, nbits=0, bias=0, p1_parity="code"):
    """P3109 §4.7.4 on rationals: y != 0 rounded to p bits; emin None = exponent unbounded.

    Below 2**emin the quantum stays 2**(emin - p + 1) (subnormals; for p = 1 that
    is the one step between 0 and 2**emin of formats without subnormals).
    """
    sign, a = int(y < 0), abs(y)
    e = floor_log2(a)
    q = (e if emin is None else max(e, emin)) - p + 1
    scaled_a = a / pow2(q)
    s0 = int(scaled_a)
    nu = scaled_a - s0
    if p > 1:
        even = s0 % 2 == 0
    else:                                                    # CodeIsEven for P = 1
        even = s0 == 0 or (p1_parity == "code" and (q + bias) % 2 == 0)
    if nu and _round_away(mode, sign, even, nu, rand, nbits):
        s0 += 1
    r = s0 * pow2(q)
    return -r if sign else r


def round_oracle(y, p, emin, mode, rand=0, nbits=0, bias=0, p1_parity="code", route="auto"):
    """y rounded to the target grid: MPFR where it has the mode (p > 1), else the definition."""
    if route == "mpfr" or (route == "auto" and mode in MPFR_MODES and p > 1 and gmpy2 is not None):
        return _mpfr_round(y, p, emin, mode)
    return round_by_definition(y, p, emin, mode, rand, nbits, bias, p1_parity)


@dataclass
class Rounded:
    """The rounding stage of a conversion: what every policy then works from."""

    x: X
    r: Fraction = Fraction(0)       # signed result with exponent unbounded above
    inexact: bool = False
    tiny_after: bool = False
    tiny_before: bool = False
    notes: dict = field(default_factory=dict)


def round_stage(x, t, mode, rand=0, nbits=0, p1_parity="code"):
    """Round a finite nonzero exact value into target t (value / scale, one rounding)."""
    y = x.value / t.scale
    kw = dict(rand=rand, nbits=nbits, bias=t.bias, p1_parity=p1_parity)
    r = round_oracle(y, t.p, t.emin, mode, **kw)
    out = Rounded(x, r, r != y)
    if abs(y) < pow2(t.emin):
        out.tiny_before = True
        out.tiny_after = abs(round_oracle(y, t.p, None, mode, **kw)) < pow2(t.emin)
    return out


def finish(rd, t, mode, sat=None, tininess="after", nan_policy="canonical", nan_missing="max",
           zero_missing="min"):
    """Specials, overflow/saturation, unsigned and NaN policies by hand: (code, flags)."""
    sat = sat or t.saturation
    x = rd.x
    if x.kind == "nan":
        flags = INVALID if x.signaling else 0
        if t.nan is None:                                     # Context.nan_missing
            flags |= INVALID
            return {"max": (t.max_code(0), flags | SATURATED), "zero": (0, flags),
                    "negzero": (0 if x.sign else t.sign_bit, flags)}[nan_missing]
        if nan_policy == "canonical":
            return t.nan_code(0), flags
        return t.nan_code(x.sign, x.payload, x.payload_bits, keep_payload=nan_policy == "payload"), flags
    if x.kind == "inf":
        return _infinity(t, x.sign, sat)
    if x.mag == 0:
        if t.zero:
            return (t.sign_bit if x.sign and t.negzero else 0), 0
        if zero_missing == "nan":
            return t.nan, INVALID
        return t.encode(0, pow2(t.emin)), INEXACT
    sign = x.sign
    tiny = rd.tiny_before if tininess == "before" else rd.tiny_after
    flags = (INEXACT if rd.inexact else 0) | (UNDERFLOW if tiny and rd.inexact else 0)
    r = rd.r
    if r == 0:                                                # underflow to zero
        if t.zero:
            return (t.sign_bit if sign and t.negzero else 0), flags
        flags |= UNDERFLOW | INEXACT                          # no zero: the smallest value instead,
        if sign and not t.signed:                             # which for a negative value is -2**emin
            return _below_lowest(t, sat, mode, flags)
        return t.encode(0, pow2(t.emin)), flags
    if abs(r) > t.max_finite:
        return _overflow(t, sign, sat, mode)
    if r < 0 and not t.signed:
        return _below_lowest(t, sat, mode, flags)
    return t.encode(int(r < 0), abs(r)), flags


def _infinity(t, sign, sat):
    if sign and not t.signed:                                 # P3109 §4.3 row -Inf, unsigned
        if sat in ("finite", "propagate") or t.nan is None:
            return t.lowest_code(), SATURATED | (0 if sat in ("finite", "propagate") else INVALID)
        return t.nan, INVALID
    if sat == "finite":                                       # OFP8 SAT, SatFinite: Inf -> max
        return t.max_code(sign), SATURATED
    if t.inf is not None:
        return t.inf_code(sign), 0
    if sat == "none":                                         # OFP8 non-SAT: Inf -> NaN
        if t.nan is not None:
            return t.nan_code(0), INVALID
        return t.max_code(sign), INVALID | SATURATED
    return t.max_code(sign), SATURATED                        # P3109 finite formats: M_hi / M_lo


def _overflow(t, sign, sat, mode):
    """The rounded (unbounded-exponent) magnitude exceeds the largest finite value."""
    flags = OVERFLOW | INEXACT
    if sign and not t.signed:
        return _below_lowest(t, sat, mode, flags)
    clamp = t.max_code(sign), flags | SATURATED
    if sat in ("finite", "propagate"):
        return clamp
    inward = mode in ("rtz", "rto") or mode == ("rdn", "rup")[sign]
    if sat == "none":                          # IEEE 754 §7.4 by rounding direction, then OFP8 non-SAT
        if inward:
            return t.max_code(sign), flags
        if t.inf is not None:
            return t.inf_code(sign), flags
        if t.nan is not None:
            return t.nan_code(0), flags
        return clamp
    # P3109 v4.0 §4.7.5 SatNone: rows X > M_hi and X < M_lo
    if mode == "rtz" or mode == ("rdn", "rup")[sign] or t.inf is None or (mode == "rto" and not t.signed):
        return clamp
    return t.inf_code(sign), flags


def _below_lowest(t, sat, mode, flags):
    """P3109 §4.3 row X < M_lo for an unsigned target; IEEE 7.2: a NaN result raises invalid only."""
    if sat in ("finite", "propagate") or mode in ("rtz", "rup") or t.nan is None:
        return t.lowest_code(), flags | INEXACT | SATURATED
    return t.nan, INVALID


def oracle_convert(x, t, mode, sat=None, tininess="after", rand=0, nbits=0, **policy):
    """The whole conversion of an exact value x into target t by the oracle: (code, flags)."""
    rd = Rounded(x)
    if x.kind == "fin" and x.mag:
        rd = round_stage(x, t, mode, rand, nbits, policy.pop("p1_parity", "code"))
    policy.pop("p1_parity", None)
    return finish(rd, t, mode, sat, tininess, **policy)


# -- strategies -------------------------------------------------------------------------------

def _trailing_patterns(m):
    """TestFloat-like trailing significands: 0, all ones, one bit, leading/trailing runs, random."""
    ones = (1 << m) - 1
    return st.one_of(
        st.sampled_from([0, ones, 1, ones - 1, 1 << (m - 1), ones >> 1]),
        st.integers(0, m - 1).map(lambda i: 1 << i),
        st.integers(0, m).map(lambda i: ones ^ ((1 << i) - 1)),     # leading ones
        st.integers(0, m).map(lambda i: (1 << i) - 1),              # trailing ones
        st.integers(0, ones),
    )


def special_codes(src):
    """Zeros, Inf, quiet and signalling NaNs (with and without payload), both signs."""
    m, inf = src.m, src.inf_code
    quiet = 1 << (m - 1)
    top_payload = quiet >> 1
    nans = [inf | quiet, inf | quiet | 1, inf | 1, inf | top_payload, inf | (quiet - 1),
            inf | quiet | top_payload, inf | ((1 << m) - 1)]
    base = [0, inf] + nans
    return st.sampled_from(base).flatmap(lambda c: st.sampled_from([c, c | src.sign_bit]))


def edge_codes(src):
    """Sign x (exponent field at an edge or anywhere) x (trailing significand pattern)."""
    top = (1 << src.w) - 2
    edges = [0, 1, 2, src.bias - 1, src.bias, src.bias + 1, top - 1, top]
    exp = st.one_of(st.sampled_from(edges), st.integers(0, top))
    return st.tuples(st.integers(0, 1), exp, _trailing_patterns(src.m)).map(
        lambda s: (s[0] << (src.k - 1)) | (s[1] << src.m) | s[2])


def target_boundaries(t):
    """Magnitudes (in source units, scale applied) where conversions into t turn."""
    mx = t.max_finite
    ulp_max = pow2(floor_log2(mx) - t.m)
    lo = pow2(t.emin)
    step = t.min_positive
    ys = [mx, mx + ulp_max / 2, mx + ulp_max, 2 * pow2(floor_log2(mx)), 2 * mx,
          lo, lo - step / 2, lo + step / 2, step, step / 2, step * 3 / 2, step / 4, 3 * step / 4,
          Fraction(1), Fraction(3, 2)]
    return [y * t.scale for y in ys if y > 0]


def near(src, magnitudes, spread=2):
    """Codes at and around (+-spread codes) the truncations of the given magnitudes, both signs."""
    return st.tuples(st.sampled_from(magnitudes), st.integers(-spread, spread), st.integers(0, 1)).map(
        lambda a: _nudge(src, src.code_toward_zero(a[2], a[0]), a[1]))


def _nudge(src, code, delta):
    mag = (code & (src.sign_bit - 1)) + delta
    mag = min(max(mag, 0), src.inf_code)
    return (code & src.sign_bit) | mag


def ties(src, t):
    """Source codes at (or next to, when not representable) exact midpoints of t's grid.

    Normal binades: (S + 1/2) * 2**(E - m) for S in [2**m, 2**(m+1)); the subnormal
    range (and precision-1 grids): (T + 1/2) * 2**(emin - m) for T in [0, 2**m).
    """
    shift = floor_log2(t.scale)                  # keep the midpoints inside the source's range
    lo = max(t.emin - 2, src.emin - src.m - 1 - shift)
    hi = min(floor_log2(t.max_finite) + 1, src.bias - shift)
    if lo > hi:
        lo, hi = t.emin - 2, floor_log2(t.max_finite) + 1

    def midpoint(a):
        e, frac, delta, sign = a
        if e < t.emin:
            q = t.emin - t.m
            s = frac % (1 << t.m) if t.m else 0
        else:
            q = e - t.m
            s = (1 << t.m) | (frac % (1 << t.m)) if t.m else 1
        y = (2 * s + 1) * pow2(q - 1) * t.scale
        return _nudge(src, src.code_toward_zero(sign, y), delta)

    return st.tuples(st.integers(lo, hi), st.integers(0, (1 << 64) - 1),
                     st.sampled_from([0, 0, 0, -1, 1]), st.integers(0, 1)).map(midpoint)


def float_codes(src, target=None):
    """Codes of ``src`` weighted to boundaries (of ``src`` itself and of ``target``)."""
    parts = [special_codes(src), st.integers(0, (1 << src.k) - 1), edge_codes(src),
             near(src, [pow2(src.emin - src.m), pow2(src.emin), (2 - pow2(-src.m)) * pow2(src.bias)])]
    if target is not None:
        parts += [near(src, target_boundaries(target)), ties(src, target), ties(src, target)]
    return st.one_of(*parts)


def int_codes(width, precisions=(2, 3, 4, 8, 11, 24, 53)):
    """Two's-complement / unsigned codes of a ``width``-bit integer, weighted to edges and to exact
    ties for floats of the given precisions (an odd (p+1)-bit significand, shifted, negated or not)."""
    top = (1 << width) - 1
    edges = sorted(c for c in {0, 1, 2, top, top - 1, top >> 1, (top >> 1) + 1, (top >> 1) - 1} if 0 <= c <= top)
    walking = st.integers(0, width - 1).map(lambda i: 1 << i)
    runs = st.integers(0, width).map(lambda i: (1 << i) - 1)

    def tie(a):
        p, bits, shift, negate, delta = a
        v = ((((1 << p) | (bits % (1 << p))) << 1 | 1) << shift) + delta
        return (-v if negate else v) & top

    ties = st.tuples(st.sampled_from(precisions), st.integers(0, (1 << 64) - 1), st.integers(0, width),
                     st.booleans(), st.sampled_from([0, 0, 0, -1, 1])).map(tie)
    return st.one_of(st.sampled_from(edges), walking, runs, runs.map(lambda c: top ^ c),
                     st.integers(0, top), ties, ties)


# -- seeded lists (no hypothesis): TestFloat-like boundary codes for bulk cross-checks ----------

def significand_patterns(m, rng, randoms=2):
    """TestFloat-style trailing fields: 0, 1, all ones, single bits at both ends, runs, random."""
    ones = (1 << m) - 1
    pats = {0, 1, 2, 3, ones, ones - 1, 1 << (m - 1), (1 << (m - 1)) | 1, ones >> 1, ones ^ 1}
    pats |= {ones ^ ((1 << i) - 1) for i in range(0, m + 1, max(1, m // 8))}     # leading ones
    pats |= {(1 << i) - 1 for i in range(0, m + 1, max(1, m // 8))}              # trailing ones
    pats |= {rng.getrandbits(m) for _ in range(randoms)}
    return sorted(pats)


def tie_patterns(m, narrow_ms):
    """Trailing fields that are exact ties (discarded bits 100..0) or one unit off, for each narrower m."""
    pats = set()
    for mt in narrow_ms:
        if mt >= m:
            continue
        half = 1 << (m - mt - 1)
        for kept in (0, 1, (1 << mt) - 1, (1 << mt) - 2):
            base = kept << (m - mt)
            pats |= {base | half, base | (half - 1), base | (half + 1) if half > 1 else base | half}
    return sorted(p for p in pats if 0 <= p < (1 << m))


def boundary_code_list(src, exponents, rng, narrow_ms=(), randoms=2):
    """Both signs x the given unbiased exponents (clipped to the source) x significand patterns.

    Exponent ``src.emin - 1`` stands for the subnormal field, ``src.bias + 1`` for Inf/NaN.
    """
    codes = set()
    pats = set(significand_patterns(src.m, rng, randoms)) | set(tie_patterns(src.m, narrow_ms))
    for e in sorted(set(exponents)):
        if not src.emin - 1 <= e <= src.bias + 1:
            continue
        field_ = 0 if e < src.emin else e + src.bias
        for t in pats:
            for sign in (0, 1):
                codes.add((sign << (src.k - 1)) | (field_ << src.m) | t)
    return sorted(codes)


def exponent_windows(src, targets=(), int_widths=()):
    """Unbiased exponents where conversions from ``src`` change behaviour.

    ``targets`` are (p, emin, emax) triples of the float targets; ``int_widths`` the
    integer widths (values near 2**(width-1) and 2**width).
    """
    es = set(range(src.emin - 1, src.emin + 3)) | set(range(src.bias - 2, src.bias + 2)) | set(range(-3, 4))
    for p, emin, emax in targets:
        es |= set(range(emin - p - 2, emin + 2)) | set(range(emax - 1, emax + 2))
    for w in int_widths:
        es |= set(range(w - 3, w + 2))
    return sorted(e for e in es if src.emin - 1 <= e <= src.bias + 1)


def int_code_list(width, rng, precisions=(), randoms=200):
    """Codes of a width-bit integer: edges, walking ones/zeros, runs, exact ties for each float
    precision p (an odd (p+1)-bit significand shifted left, so the discarded bits are 100..0)
    and their neighbours, both signs (two's complement), and seeded random codes."""
    top = (1 << width) - 1
    vals = {0, 1, 2, 3, top, top - 1, top >> 1, (top >> 1) + 1, (top >> 1) - 1}
    vals |= {1 << i for i in range(width)} | {top ^ (1 << i) for i in range(width)}
    vals |= {(1 << i) - 1 for i in range(width + 1)} | {top ^ ((1 << i) - 1) for i in range(width + 1)}
    for p in precisions:
        for shift in range(0, max(0, width - p - 1)):
            for sig in ((1 << p) + 1, (1 << (p + 1)) - 1, (1 << p) | 3, rng.getrandbits(p) | (1 << p) | 1):
                v = sig << shift
                vals |= {v - 1, v, v + 1}
    vals |= {rng.getrandbits(width) for _ in range(randoms)}
    vals = {v & top for v in vals} | {(-v) & top for v in vals}
    return sorted(vals)


# -- operand tuples for arithmetic (issue 3) ---------------------------------------------------
#
# An operation goes wrong where its *result* lands on a boundary: an exact tie of the
# result grid, the subnormal edge, the overflow threshold, a cancellation to zero.  The
# operand codes alone seldom put it there, so these helpers *aim*: all operands but one
# are drawn freely and the remaining one (the dividend for div and rem, else the last)
# is the code (truncated, then nudged by a few codes) that puts the exact result at a
# chosen value r of the result grid.  Truncation and nudging
# keep r - x, r / x, ... representable only sometimes, so exact ties, near ties and
# sticky patterns below the half-ulp all occur.  `aim` is the one construction; the
# hypothesis strategy `op_operands` and the seeded list `op_operand_list` only draw its
# ingredients differently.

ARITH_OPS = ("add", "sub", "mul", "div", "mulAdd", "sqrt", "rem", "roundToInt")
COMPARISONS = ("eq", "le", "lt", "eq_signaling", "le_quiet", "lt_quiet")
ARITY = {**dict.fromkeys(("add", "sub", "mul", "div", "rem") + COMPARISONS, 2), "mulAdd": 3,
         "sqrt": 1, "roundToInt": 1}


def value_of(layout, code):
    """The exact value of a finite code as a Fraction (None for Inf and NaN; -0 reads as 0)."""
    x = layout.decode(code)
    return x.value if x.kind == "fin" else None


def toward(layout, v, delta=0):
    """The code of v truncated into layout (Inf beyond its range), moved by delta codes."""
    return _nudge(layout, layout.code_toward_zero(int(v < 0), abs(v)), delta)


def grid_point(layout, e, sig, half=True):
    """A point of layout's grid in binade e (subnormal spacing below emin): the midpoint
    above significand index sig when half, else the grid value itself."""
    q = max(e, layout.emin) - layout.m
    s = sig % (1 << layout.m) + ((1 << layout.m) if e >= layout.emin else 0)
    return (2 * s + 1) * pow2(q - 1) if half else s * pow2(q)


def midpoint_near(layout, v, steps=0):
    """The midpoint of layout's grid just above |v| (then ``steps`` grid steps further), signed like v
    (the subnormal spacing below 2**emin)."""
    a = abs(v)
    e = floor_log2(a) if a else layout.emin
    q = pow2(max(e, layout.emin) - layout.m)
    mid = ((a // q) + steps) * q + q / 2
    return -mid if v < 0 else mid


def result_magnitudes(layout):
    """Where results turn in layout: its overflow and subnormal boundaries (``target_boundaries``),
    and values just below the smallest normal 2**emin that round up to it (after-rounding
    tininess differs from before-rounding tininess only there)."""
    lo, step = pow2(layout.emin), pow2(layout.emin - layout.m)
    below = [lo - step * Fraction(k, 16) for k in (1, 2, 4, 6, 7, 8, 9)]
    return target_boundaries(ieee_target(layout.name, layout.w, layout.m)) + below


def aim(op, layouts, free, r, delta=0):
    """Operand codes for ``op`` whose exact result is (near) r.

    ``free`` holds the codes of the operands drawn freely (:func:`free_layouts`: the divisor
    for div and rem, none for sqrt and roundToInt, else all but the last); r is the target
    result (for rem, the target quotient x / y).
    Free operands that are not finite (or zero where a division would follow) make the
    last operand aim at r on its own.
    """
    last = layouts[-1]
    vals = [value_of(lay, c) for lay, c in zip(free_layouts(op, layouts), free)]
    if op in ("sqrt", "roundToInt"):     # sqrt aims at r * r (negative operands come from free draws)
        return (toward(last, r * r if op == "sqrt" else r, delta),)
    if op in COMPARISONS:        # y = x moved by delta codes; with delta 0 and r < 0, x with its sign flipped
        x = free[0]
        return (x, x ^ last.sign_bit if delta == 0 and r < 0 else _nudge(last, x, delta))
    x = vals[0]
    if op == "add" and x is not None:
        return (*free, toward(last, r - x, delta))
    if op == "sub" and x is not None:
        return (*free, toward(last, x - r, delta))
    if op == "mul" and x:
        return (*free, toward(last, r / x, delta))
    if op in ("div", "rem") and x is not None:      # free is y here: x = y * r (r: the quotient)
        return (toward(layouts[0], x * r, delta), free[0])
    if op == "mulAdd" and x is not None and vals[1] is not None:
        return (*free, toward(last, r - x * vals[1], delta))
    return (*free, toward(last, r, delta))


def free_layouts(op, layouts):
    """The layouts of the operands :func:`aim` takes as drawn: none for sqrt and roundToInt,
    the divisor for div and rem, all but the last otherwise."""
    if op in ("sqrt", "roundToInt"):
        return ()
    return layouts[1:] if op in ("div", "rem") else layouts[:-1]


@functools.lru_cache(maxsize=None)
def quotients(p):
    """Targets for rem's quotient and roundToInt's argument: n + f with ties f = 1/2."""
    return st.tuples(st.one_of(st.integers(0, 8), st.integers(0, 1 << (p + 2))),
                     st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(1, 4), Fraction(3, 4)]),
                     st.integers(0, 1)).map(lambda a: (-1) ** a[2] * (a[0] + a[1]))


@functools.lru_cache(maxsize=None)
def result_values(result):
    """Target results: boundaries of the result format, grid midpoints and values at any
    exponent, zero; and the marker None, which asks :func:`aimed` for a midpoint next to
    the free operands' value."""
    lo, hi = result.emin - result.m - 2, result.bias + 1
    return st.one_of(st.sampled_from(result_magnitudes(result)),
                     st.tuples(st.integers(lo, hi), st.integers(0, (1 << 64) - 1), st.booleans()).map(
                         lambda a: grid_point(result, *a)),
                     st.just(Fraction(0)), st.none(), st.none())


@functools.lru_cache(maxsize=None)
def free_codes(layout):
    """Codes of a freely drawn operand: finite ones weighted to edges (``edge_codes``), or any
    boundary-weighted code (``float_codes``)."""
    return st.one_of(edge_codes(layout), float_codes(layout))


NUDGES = st.sampled_from([0, 0, 0, 1, -1, 2, -2])


@st.composite
def aimed(draw, op, layouts, result=None):
    """One aimed operand tuple (see :func:`aim`), drawn by hypothesis."""
    result = result or layouts[0]
    lays = free_layouts(op, layouts)
    free = tuple(draw(free_codes(lay)) for lay in lays)
    if op in ("rem", "roundToInt"):
        r = draw(quotients(result.m + 1))
    else:
        r = draw(result_values(result))
        near = _near(op, lays, free)
        if r is None:
            r = abs(midpoint_near(result, near, draw(st.integers(-2, 2)))) if near is not None else Fraction(1)
        r = -r if draw(st.booleans()) else r
    return aim(op, layouts, free, r, draw(NUDGES))


def _near(op, lays, free):
    """The value next to which ties of the result are worth aiming: x for add/sub, x*y for fma."""
    vals = [value_of(lay, c) for lay, c in zip(lays, free)]
    if op == "mulAdd" and None not in vals:
        return vals[0] * vals[1]
    if op in ("add", "sub") and vals[0] is not None:
        return vals[0]
    return None


@functools.lru_cache(maxsize=None)
def op_operands(op, layouts, result=None):
    """Operand code tuples for ``op``: independent boundary-weighted codes, or aimed."""
    free = st.tuples(*(float_codes(lay) for lay in layouts))
    aimed_ = aimed(op, layouts, result)
    return st.one_of(free, aimed_, aimed_)


def op_operand_list(op, layouts, n, rng, result=None, exponents=None, randoms=4):
    """n seeded operand tuples (no hypothesis): a third TestFloat-like boundary codes
    (``boundary_code_list`` over ``exponents`` or each layout's windows), a third uniformly
    random codes, a third aimed at boundaries, midpoints and quotient ties of the result."""
    result = result or layouts[0]
    pools = [boundary_code_list(lay, exponents or exponent_windows(lay, [(lay.m + 1, lay.emin, lay.bias)]),
                                rng, randoms=randoms) for lay in layouts]
    bounds = result_magnitudes(result)
    out = []
    for i in range(n):
        kind = i % 3
        if kind < 2:
            out.append(tuple(rng.choice(pool) if kind == 0 else rng.getrandbits(lay.k)
                             for pool, lay in zip(pools, layouts)))
            continue
        lays = free_layouts(op, layouts)
        free = tuple(rng.choice(pools[layouts.index(lay)]) if rng.random() < 0.7 else rng.getrandbits(lay.k)
                     for lay in lays)
        if op in ("rem", "roundToInt"):
            n_ = rng.randint(0, 8) if rng.random() < 0.5 else rng.getrandbits(result.m + 3)
            r = n_ + rng.choice([Fraction(0), Fraction(1, 2), Fraction(1, 4), Fraction(3, 4)])
        else:
            pick = rng.random()
            near = _near(op, lays, free)
            if pick < 0.3:
                r = rng.choice(bounds)
            elif pick < 0.4:
                r = Fraction(0)
            elif near is not None and pick < 0.7:
                r = abs(midpoint_near(result, near, rng.randint(-2, 2)))
            else:
                r = grid_point(result, rng.randint(result.emin - result.m - 2, result.bias + 1),
                               rng.getrandbits(64), rng.random() < 0.7)
        r = -r if rng.random() < 0.5 else r
        out.append(aim(op, layouts, free, r, rng.choice([0, 0, 0, 1, -1, 2, -2])))
    return out
