"""Cross-check against gfloat 0.5.2 (graphcore-research/gfloat): P3109 K = 8, OCP formats, stochastic rounding.

gfloat is the oracle here.  Its scalar ``round_float(fi, v, rnd, sat, srbits,
srnumbits)`` followed by ``encode_float(fi, v)`` gives the expected code; a
``ValueError`` from gfloat is the expectation "raises".  refnum rounds the same
Python float (an exact binary64 value; gfloat also rounds once from binary64)
with ``from_value``.  Compared, per format:

* every code decoded (``decode_float`` against ``refnum.decode``: exact value,
  NaN, the sign of infinities and zeros), for every P3109 format gfloat builds
  with 3 <= K <= 8 and for the OCP formats;
* every binary16 code (every 61st by default, all 65,536 under ``slow``);
* the format's boundary set: every value, every midpoint of two neighbours, the
  phantom values above the largest finite value, each with its binary32 and
  binary64 neighbours, both signs;
* seeded random binary32 and binary64 values spread over the format's range;
* the stochastic modes on the sixteenths between neighbours, with N random bits
  from 1 to 12 and seeded R.

Formats: P3109 Binary8p{P}{s,u}{e,f} for every P gfloat 0.5.2 and P3109 v4.0
both define (signed 1..7, unsigned 1..8), and OCP E4M3, E5M2, E2M1, E2M3, E3M2,
E8M0 and the MX INT8 element.  Rounding modes: gfloat's TiesToEven, TiesToAway,
TowardZero, TowardPositive, TowardNegative = refnum rne, rna, rtz, rup, rdn;
StochasticFastest, StochasticFast, Stochastic = P3109 v4.0 §4.7.4 StochasticA,
B, C = refnum sr-a, sr-b, sr-c (ml-formats-spec.md §8; ``srbits`` = R,
``srnumbits`` = N).  gfloat's fourth stochastic mode, StochasticOdd, is not a
P3109 mode and has no refnum counterpart (row GF-8).

Saturation: gfloat's ``sat=True`` is refnum ``saturation="finite"``
(P3109 SatFinite, OFP8 SAT, MX clamp).  ``sat=False`` is reproduced by refnum
``saturation="none"`` on every format (overflow and Inf go to Inf, else NaN; the
directed modes that point inwards keep max).  gfloat 0.5.2 implements P3109
interim report v3, whose OvfInf was "an error" on Finite formats; gfloat gives
NaN there.  P3109 v4.0 renamed it SatNone and defined it on Finite formats as
saturating (§4.7.5): that is ``saturation="satnone"``, the p3109 profile's
setting, and it differs from ``sat=False`` exactly on P3109 Finite formats
(row GF-5).  The bias of P = 1 formats is no longer a version difference:
gfloat 0.5.2 uses 2**(K-P-1) = 64 for Binary8p1s*, as v4.0 does (v0.7.0 had 63).

The contexts are the profiles: ``Context.profile("ocp")`` (SatFinite) for the
OCP formats and ``Context.profile("p3109")`` (SatNone) for P3109, with only
``rounding``, ``sr_bits`` and, for the other gfloat ``sat`` setting,
``saturation`` changed.  Saturation only matters when the input is Inf or NaN
or beyond the largest finite magnitude (gfloat reads ``sat`` only in its
overflow branch), so only those inputs are compared under the other policies,
except in the ``slow`` boundary and stochastic sweeps, which compare every
input under every policy.  Negative inputs to unsigned formats are not compared in the
sweeps: gfloat 0.5.2 does not project them (row GF-3); a separate test checks
refnum's result for them against P3109 v4.0 §4.7.5, with gfloat rounding the
magnitude.

Codes must agree except at the differences listed in ``spec/differences.md``
(rows GF-n).  Every disagreement found is matched to a row by the row's own
rule, which checks both sides' results; a disagreement no row explains fails
the test.  One test per row asserts both sides' exact results.
"""

from __future__ import annotations

import math
import random
import struct
import zlib
from collections import Counter
from dataclasses import dataclass
from fractions import Fraction

import pytest

from refnum import PROFILES, Context, Flag, RefnumError, decode, from_value, lookup

gfloat = pytest.importorskip("gfloat", reason="gfloat is not installed: P3109/OCP cross-check skipped")
from gfloat import Domain, RoundMode, Signedness  # noqa: E402
from gfloat import formats as gff  # noqa: E402

RAISES = "ValueError"          # the expectation when gfloat refuses (no code for the result)
SEED = 3109

MODES = {"rne": RoundMode.TiesToEven, "rna": RoundMode.TiesToAway, "rtz": RoundMode.TowardZero,
         "rup": RoundMode.TowardPositive, "rdn": RoundMode.TowardNegative,
         "sr-a": RoundMode.StochasticFastest, "sr-b": RoundMode.StochasticFast, "sr-c": RoundMode.Stochastic}
DIRECTED = ("rne", "rna", "rtz", "rup", "rdn")
STOCHASTIC = ("sr-a", "sr-b", "sr-c")
SR_BITS = (1, 2, 3, 4, 5, 8, 12)

# gfloat sat flag <-> refnum saturation policy; the first entry is the profile's own setting.
POLICIES = {"ocp": (("finite", True), ("none", False)),
            "p3109": (("satnone", False), ("finite", True), ("none", False))}

# refnum's canonical NaN codes where gfloat's differ (row GF-1): E4M3 S.1111.111, E5M2 quiet S.11111.10.
OCP_CANONICAL_NAN = {"e4m3": 0x7F, "e5m2": 0x7E}


@dataclass(frozen=True)
class Spec:
    """A format as refnum names it and as gfloat describes it."""

    name: str
    fi: object
    profile: str

    @property
    def fmt(self):
        return lookup(self.name)

    def __str__(self):
        return self.name


def _p3109_specs(k):
    """Every P3109 Binary{k}p{P}{s|u}{e|f} that both gfloat 0.5.2 and v4.0 define (signed P < K)."""
    for signed in (True, False):
        for p in range(1, k if signed else k + 1):
            for extended in (True, False):
                fi = gff.format_info_p3109(k, p, Signedness.Signed if signed else Signedness.Unsigned,
                                           Domain.Extended if extended else Domain.Finite)
                yield Spec(fi.name, fi, "p3109")


OCP_SPECS = [Spec("e4m3", gff.format_info_ocp_e4m3, "ocp"), Spec("e5m2", gff.format_info_ocp_e5m2, "ocp"),
             Spec("e2m1", gff.format_info_ocp_e2m1, "ocp"), Spec("e2m3", gff.format_info_ocp_e2m3, "ocp"),
             Spec("e3m2", gff.format_info_ocp_e3m2, "ocp"), Spec("e8m0", gff.format_info_ocp_e8m0, "ocp"),
             Spec("mxint8", gff.format_info_ocp_int8, "ocp")]
SPECS = [*_p3109_specs(8), *OCP_SPECS]
DECODE_SPECS = [*(s for k in range(3, 8) for s in _p3109_specs(k)), *SPECS]
UNSIGNED_SPECS = [s for s in SPECS if not s.fi.is_signed]
BY_NAME = {s.name: s for s in SPECS}


# -- the two sides ----------------------------------------------------------------

def peer_code(spec, x, mode, sat, rand=-1, nbits=0):
    """gfloat's code for Python float ``x`` (or RAISES)."""
    try:
        return gfloat.encode_float(spec.fi, gfloat.round_float(spec.fi, x, MODES[mode], sat, rand, nbits))
    except ValueError:
        return RAISES


def peer_is_nan(spec, code):
    return code != RAISES and math.isnan(gfloat.decode_float(spec.fi, code).fval)


_CONTEXTS = {}


def context(spec, mode, policy, nbits=0):
    key = (spec.profile, mode, policy, nbits)
    if key not in _CONTEXTS:
        _CONTEXTS[key] = Context.profile(spec.profile, rounding=mode, saturation=policy, sr_bits=nbits)
    return _CONTEXTS[key]


def ours(spec, x, mode, policy, rand=0, nbits=0):
    return from_value(x, spec.fmt, context(spec, mode, policy, nbits), rand)[0]


# -- the documented differences (spec/differences.md), each checked by its own rule ----------

def _ilog2(q):
    """floor(log2(q)) for a positive Fraction."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def sum_rounds_to_one(spec, x, mode, rand, nbits):
    """Row GF-6: gfloat decides TiesToAway, StochasticFastest and StochasticFast by a binary64 sum
    ``delta + c >= 1.0``; true when that sum rounds up to 1 although the exact sum is below 1.

    ``delta`` is the fraction nu of P3109 §4.7.4 (|x| * 2**-Q minus its floor, with
    Q = max(floor(log2|x|), 1 - bias) - P + 1 where the format has subnormals); it is an exact
    binary64 number, as is c, so Python's float addition is gfloat's addition.
    """
    if mode not in ("rna", "sr-a", "sr-b") or not math.isfinite(x) or x == 0:
        return False
    fi = spec.fi
    a = abs(Fraction(x))
    e = _ilog2(a)
    if fi.has_subnormals:
        e = max(e, 1 - fi.bias)
    s = a / Fraction(2) ** (e - fi.precision + 1)
    nu = s - math.floor(s)
    c = {"rna": Fraction(1, 2), "sr-a": Fraction(rand, 2 ** nbits),
         "sr-b": Fraction(2 * rand + 1, 2 ** (nbits + 1))}[mode]
    return nu + c < 1 <= float(nu) + float(c)


def documented(spec, x, mode, policy, sat, rand, nbits, g, r):
    """The GF row explaining gfloat code ``g`` != refnum code ``r``, or None.

    A row applies only when both codes are what its rule says, computed from the
    input and from gfloat's own results in other settings.
    """
    name = spec.name
    if math.isnan(x):
        if spec.fi.num_nans == 0:       # GF-2: FP4/FP6/INT8 have no NaN; gfloat raises, refnum gives +max
            return "GF-2" if g == RAISES and r == spec.fi.code_of_max else None
        if name in OCP_CANONICAL_NAN:   # GF-1: gfloat's NaN is 0xFF
            return "GF-1" if g == 0xFF and r == OCP_CANONICAL_NAN[name] else None
        return None
    if g == RAISES:                     # GF-2: overflow or Inf, no Inf/NaN code, sat=False
        return "GF-2" if spec.fi.num_nans == 0 and r == peer_code(spec, x, mode, True, rand, nbits) else None
    if sum_rounds_to_one(spec, x, mode, rand, nbits):   # GF-6
        inward = peer_code(spec, x, "rtz", sat)
        outward = peer_code(spec, x, "rup" if x > 0 else "rdn", sat)
        return "GF-6" if g == outward and r == inward else None
    if name in OCP_CANONICAL_NAN and peer_is_nan(spec, g):   # GF-1 (overflow under sat=False)
        return "GF-1" if g == 0xFF and r == OCP_CANONICAL_NAN[name] else None
    if name == "e8m0" and x == 0:       # GF-4: zero into E8M0
        return "GF-4" if g == 0xFF and r == 0x00 else None
    if name == "e8m0" and 0 < x < 2.0 ** -127:   # GF-7: below E8M0's smallest value
        return "GF-7" if g == 0xFF and r == 0x00 else None
    if (spec.profile == "p3109" and spec.fi.domain == Domain.Finite and policy == "satnone"
            and peer_is_nan(spec, g)):  # GF-5: v3 OvfInf (NaN) vs v4.0 SatNone (saturate)
        return "GF-5" if r == peer_code(spec, x, mode, True, rand, nbits) else None
    return None


# -- inputs -------------------------------------------------------------------------

def f16(code):
    return struct.unpack("<e", struct.pack("<H", code))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def is_f32(x):
    try:
        return f32(f32_bits(x)) == x
    except OverflowError:
        return False


def positive_values(spec):
    """The format's finite values >= 0 as Fractions, from gfloat's decoder, sorted."""
    vals = set()
    for c in range(1 << spec.fi.k):
        v = gfloat.decode_float(spec.fi, c).fval
        if math.isfinite(v) and v >= 0:
            vals.add(Fraction(v))
    return sorted(vals)


def boundary_points(spec, full=True):
    """Positive floats: every value, every midpoint of neighbours, the phantom grid above the largest
    value (its midpoint 464-style, the next value, twice max), quarters below the smallest nonzero
    value; each with its binary32 neighbours where it is a binary32 number.  Midpoints and phantoms
    also come with their binary64 neighbours (when not ``full``: only the lowest three midpoints and
    the phantoms, where binary64's longer fraction matters, row GF-6)."""
    vals = positive_values(spec)
    gap = vals[-1] - vals[-2]
    mids = [(a + b) / 2 for a, b in zip(vals, vals[1:])]
    phantoms = [vals[-1] + gap / 2, vals[-1] + gap, 2 * vals[-1], vals[1] / 2, vals[1] / 4, vals[1] * 3 / 4]
    f64_mids = mids if full else mids[:3]
    out = set()
    for points, f64_neighbours in ((vals, ()), (mids, set(f64_mids)), (phantoms, set(phantoms))):
        for q in points:
            x = float(q)
            if q <= 0 or Fraction(x) != q:
                continue
            out.add(x)
            if is_f32(x):
                b = f32_bits(x)
                out.update((f32(b - 1), f32(b + 1)))
            if q in f64_neighbours:
                out.update((math.nextafter(x, 0), math.nextafter(x, math.inf)))
    return sorted(x for x in out if x > 0 and math.isfinite(x))


def random_points(spec, count, seed):
    """Seeded binary32 and binary64 values, magnitudes spread from a few binades below the smallest
    value to two above the largest, random sign in signed formats."""
    vals = positive_values(spec)
    lo, hi = _ilog2(vals[1]) - 3, _ilog2(vals[-1]) + 2
    rng = random.Random(seed)
    out = []
    for i in range(count):
        e = rng.randint(lo, hi)
        if i % 2:
            x = math.ldexp(1 + rng.getrandbits(52) / 2 ** 52, e)
        else:
            x = f32(f32_bits(math.ldexp(1 + rng.getrandbits(23) / 2 ** 23, min(e, 127))))
        out.append(-x if spec.fi.is_signed and rng.getrandbits(1) else x)
    return out


def sixteenths(spec, pairs, seed):
    """Positive values a + k(b - a)/16, k = 1..15, for neighbours a < b: ``pairs`` seeded pairs plus the
    bottom pair and the top one (max and the phantom value above it); all pairs when pairs is None."""
    vals = positive_values(spec)
    grid = list(zip(vals, vals[1:])) + [(vals[-1], 2 * vals[-1] - vals[-2])]
    chosen = grid if pairs is None else [grid[0], grid[-1], *random.Random(seed).sample(grid, min(pairs, len(grid)))]
    out = []
    for a, b in chosen:
        for k in range(1, 16):
            x = float(a + (b - a) * k / 16)
            if math.isfinite(x):
                out.append(x)
    return out


def signed(spec, xs):
    """Both signs for a signed format; unsigned formats keep the positive values (negatives: GF-3)."""
    return [s for x in xs for s in ((x, -x) if spec.fi.is_signed else (x,))]


SPECIALS = [0.0, -0.0, math.inf, -math.inf, math.nan]


def saturation_matters(spec, x):
    """Whether the saturation policy can change the result (gfloat reads ``sat`` only on overflow)."""
    return not math.isfinite(x) or abs(x) > spec.fi.max


# -- the comparison engine -------------------------------------------------------------

def compare(spec, cases, all_policies=False):
    """Compare gfloat and refnum on ``cases`` = (x, mode, R, N) under the policies of the spec's profile.

    Returns (number of comparisons, Counter of GF rows met); fails on any unexplained difference.
    """
    failures, rows, n = [], Counter(), 0
    policies = POLICIES[spec.profile]
    for x, mode, rand, nbits in cases:
        if x < 0 and not spec.fi.is_signed:
            continue                                    # GF-3: compared in test_gf3_*
        use = policies if all_policies or saturation_matters(spec, x) else policies[:1]
        for policy, sat in use:
            g = peer_code(spec, x, mode, sat, rand if nbits else -1, nbits)
            r = ours(spec, x, mode, policy, rand, nbits)
            n += 1
            if g == r:
                continue
            row = documented(spec, x, mode, policy, sat, rand, nbits, g, r)
            if row is None:
                failures.append(f"{x!r} ({x.hex()}) {mode} N={nbits} R={rand} {policy}/sat={sat}: "
                                f"gfloat {g}, refnum {r}")
            else:
                rows[row] += 1
    assert not failures, f"{spec}: {len(failures)} unexplained differences, e.g.\n" + "\n".join(failures[:10])
    return n, rows


def deterministic_cases(xs, modes=DIRECTED):
    return [(x, m, 0, 0) for x in xs for m in modes]


def stochastic_cases(xs, seed, exhaustive_r=False, bits=SR_BITS):
    """Each value under each of A, B, C; N cycles through ``bits``; R seeded (or every R when asked)."""
    rng = random.Random(seed)
    out = []
    for i, x in enumerate(xs):
        for j, m in enumerate(STOCHASTIC):
            nbits = bits[(i + j) % len(bits)]
            rs = range(1 << nbits) if exhaustive_r else (rng.randrange(1 << nbits),)
            out.extend((x, m, r, nbits) for r in rs)
    return out


def report(spec, what, n, rows):
    print(f"gfloat {what} {spec}: {n} comparisons, documented differences {dict(rows) or 'none'}")


# -- decoding --------------------------------------------------------------------------

@pytest.mark.parametrize("spec", DECODE_SPECS, ids=str)
def test_decode_every_code(spec):
    """gfloat decode_float of every code against refnum.decode: exact value, NaN, signs of Inf and 0."""
    fmt = lookup(spec.name)
    assert fmt.k == spec.fi.k
    bad = []
    for c in range(1 << spec.fi.k):
        g = gfloat.decode_float(spec.fi, c).fval
        v = decode(c, fmt)
        if math.isnan(g):
            ok = v.is_nan
        elif math.isinf(g):
            ok = v.is_inf and v.sign == (g < 0)
        else:
            ok = v.is_finite and v.to_fraction() == Fraction(g) and v.sign == (math.copysign(1, g) < 0)
        if not ok:
            bad.append((hex(c), g, v))
    assert not bad, bad[:10]


def test_p3109_names_and_biases_agree():
    """gfloat's P3109 names are refnum's catalog names; the P = 1 biases are v4.0's (64 and 128)."""
    for spec in DECODE_SPECS:
        if spec.profile == "p3109":
            assert spec.fi.bias == lookup(spec.name).bias, spec
    assert gff.format_info_p3109(8, 1, Signedness.Signed, Domain.Extended).bias == 64 == lookup("p3109_k8p1se").bias
    assert gff.format_info_p3109(8, 1, Signedness.Unsigned, Domain.Extended).bias == 128


# -- rounding sweeps -----------------------------------------------------------------------

def _binary16_inputs(stride):
    return [f16(c) for c in range(0, 1 << 16, stride)] + SPECIALS


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_binary16_codes_strided(spec):
    """Every 61st binary16 code (and the specials) in the five directed/nearest modes."""
    n, rows = compare(spec, deterministic_cases(_binary16_inputs(61)))
    report(spec, "binary16/61", n, rows)
    assert n > 2000


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_binary16_every_code(spec):
    """All 65,536 binary16 codes, five modes; the other saturation policies where they matter."""
    n, rows = compare(spec, deterministic_cases(_binary16_inputs(1)))
    report(spec, "binary16 all", n, rows)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_boundaries(spec):
    """Values, midpoints, phantoms above max and their binary32/binary64 neighbours, five modes."""
    xs = signed(spec, boundary_points(spec, full=False)) + SPECIALS
    n, rows = compare(spec, deterministic_cases(xs))
    report(spec, "boundaries", n, rows)
    assert n > 500


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_boundaries_full(spec):
    """The boundary set with binary64 neighbours of every midpoint, every policy on every input."""
    xs = signed(spec, boundary_points(spec)) + SPECIALS
    n, rows = compare(spec, deterministic_cases(xs), all_policies=True)
    report(spec, "boundaries full", n, rows)


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_random_binary32_and_binary64(spec):
    xs = random_points(spec, 400, SEED + zlib.crc32(spec.name.encode()))
    n, rows = compare(spec, deterministic_cases(xs))
    report(spec, "random", n, rows)
    assert n > 1000


@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_stochastic(spec):
    """A, B, C on the sixteenths between sampled neighbours (and at the top), N in 1..12, seeded R;
    plus random binary32/binary64 values."""
    xs = signed(spec, sixteenths(spec, 24, SEED)) + random_points(spec, 150, SEED + 1)
    n, rows = compare(spec, stochastic_cases(xs, SEED))
    report(spec, "stochastic", n, rows)
    assert n > 1000


@pytest.mark.slow
@pytest.mark.parametrize("spec", SPECS, ids=str)
def test_stochastic_exhaustive(spec):
    """A, B, C on the sixteenths of every pair of neighbours with every R (N cycling 1..3), every
    policy; and every 5th binary16 code with seeded R and N cycling 1..12."""
    xs = signed(spec, sixteenths(spec, None, SEED))
    cases = stochastic_cases(xs, SEED, exhaustive_r=True, bits=(1, 2, 3))
    cases += stochastic_cases(_binary16_inputs(5), SEED + 2)
    n, rows = compare(spec, cases, all_policies=True)
    report(spec, "stochastic all", n, rows)


# -- GF-3: negative values into unsigned formats (v4.0 §4.7.5 rows "-inf" and "X < M_lo") -----------

MIRROR = {"rne": "rne", "rna": "rna", "rtz": "rtz", "rup": "rtz", "rdn": "rup"}


def _magnitude(spec, a, mode):
    """gfloat's rounding of a > 0, or its truncation where row GF-6 makes gfloat round away wrongly."""
    return peer_code(spec, a, "rtz" if sum_rounds_to_one(spec, a, mode, 0, 0) else mode, True)


def v4_negative_into_unsigned(spec, x, mode):
    """{policy: code} by P3109 v4.0 §4.7.5 for x < 0 into an unsigned format; gfloat rounds |x|
    (corrected by row GF-6 where its binary64 sum misleads it).

    RoundToPrecision works on X itself: on a negative value TowardPositive truncates the magnitude
    and TowardNegative rounds it up (MIRROR).  A result of 0 is in range.  Otherwise X < M_lo:
    SatFinite gives M_lo (code 0); SatNone gives M_lo under TowardZero/TowardPositive, else NaN;
    and -inf gives M_lo under SatFinite, NaN under SatNone.  refnum applies the SatNone rows to
    its "none" policy too.
    """
    nan = spec.fi.code_of_nan
    if math.isinf(x):
        satnone = nan
    elif spec.fi.has_zero and _magnitude(spec, -x, MIRROR[mode]) == 0:
        return {"finite": 0, "satnone": 0, "none": 0}
    else:
        satnone = 0 if mode in ("rtz", "rup") else nan
    return {"finite": 0, "satnone": satnone, "none": satnone}


def check_negative_into_unsigned(spec, stride, boundary_stride):
    xs = [f16(c) for c in range(0x8001, 0xFC00, stride)] + [-math.inf]
    xs += [-x for x in boundary_points(spec, full=False)[::boundary_stride]]
    bad, n = [], 0
    for x in xs:
        for mode in DIRECTED:
            for policy, code in v4_negative_into_unsigned(spec, x, mode).items():
                got = ours(spec, x, mode, policy)
                n += 1
                if got != code:
                    bad.append((x, mode, policy, code, got))
    print(f"gfloat GF-3 {spec}: {n} negative inputs checked against v4.0 §4.7.5")
    assert not bad, bad[:10]


@pytest.mark.parametrize("spec", UNSIGNED_SPECS, ids=str)
def test_gf3_negative_into_unsigned_follows_v4(spec):
    check_negative_into_unsigned(spec, 47, 11)


@pytest.mark.slow
@pytest.mark.parametrize("spec", UNSIGNED_SPECS, ids=str)
def test_gf3_every_negative_binary16_into_unsigned(spec):
    check_negative_into_unsigned(spec, 1, 1)


# -- one test per row of spec/differences.md ---------------------------------------------------------

def test_gf1_ocp_nan_code():
    e4m3, e5m2 = BY_NAME["e4m3"], BY_NAME["e5m2"]
    for spec in (e4m3, e5m2):
        for sat in (True, False):
            assert peer_code(spec, math.nan, "rne", sat) == 0xFF
    assert peer_code(e4m3, 465.0, "rne", False) == 0xFF        # OFP8 non-SAT overflow -> NaN
    ocp = Context.profile("ocp")
    assert from_value(math.nan, "e4m3", ocp) == (0x7F, 0)
    assert from_value(math.nan, "e5m2", ocp) == (0x7E, 0)
    assert from_value(465.0, "e4m3", ocp.replace(saturation="none"))[0] == 0x7F
    # the sign of refnum's generated NaN is a knob: nan_sign=1 reproduces gfloat for E4M3 (not E5M2)
    assert from_value(math.nan, "e4m3", ocp.replace(nan_sign=1))[0] == 0xFF
    assert from_value(math.nan, "e5m2", ocp.replace(nan_sign=1))[0] == 0xFE


def test_gf2_formats_without_nan_or_inf():
    e2m1, int8 = BY_NAME["e2m1"], BY_NAME["mxint8"]
    for sat in (True, False):
        assert peer_code(e2m1, math.nan, "rne", sat) == RAISES
        assert peer_code(int8, math.nan, "rne", sat) == RAISES
    assert peer_code(e2m1, 7.0, "rne", False) == RAISES
    assert peer_code(e2m1, math.inf, "rne", False) == RAISES
    assert peer_code(e2m1, 7.0, "rne", True) == 0x7
    assert peer_code(int8, 2.5, "rne", False) == RAISES
    ocp = Context.profile("ocp")
    none = ocp.replace(saturation="none")
    assert from_value(math.nan, "e2m1", ocp) == (0x7, Flag.INVALID | Flag.SATURATED)
    assert from_value(7.0, "e2m1", none) == (0x7, Flag.OVERFLOW | Flag.INEXACT | Flag.SATURATED)
    assert from_value(-math.inf, "e2m1", none)[0] == 0xF
    assert from_value(math.nan, "mxint8", ocp) == (0x7F, Flag.INVALID)
    assert from_value(2.5, "mxint8", none) == (0x7F, Flag.INVALID)
    with pytest.raises(RefnumError):
        from_value(math.nan, "e2m1", ocp.replace(nan_missing="error"))


def test_gf3_negative_into_unsigned_examples():
    ue, uf, e8m0 = BY_NAME["p3109_k8p4ue"], BY_NAME["p3109_k8p4uf"], BY_NAME["e8m0"]
    for sat in (True, False):
        assert peer_code(ue, -1.0, "rne", sat) == RAISES          # asks encode_float for a -Inf code
        assert peer_code(uf, -1.0, "rne", sat) == 0xFF            # below fi.min: NaN
        assert peer_code(e8m0, -1.0, "rne", sat) == 0xFF
    assert peer_code(ue, -math.inf, "rne", True) == 0xFD          # the sign is dropped: +max
    assert peer_code(ue, -math.inf, "rne", False) == 0xFE         # +Inf
    assert peer_code(BY_NAME["p3109_k8p5ue"], -2.0 ** -12, "rna", False) == 0x00   # unprojected: lands on 0
    p = Context.profile("p3109")
    for name in ("p3109_k8p4ue", "p3109_k8p4uf"):
        assert from_value(-1.0, name, p) == (0xFF, Flag.INVALID)
        assert from_value(-1.0, name, p.replace(saturation="finite"))[0] == 0x00
        assert from_value(-1.0, name, p.replace(rounding="rtz"))[0] == 0x00
        assert from_value(-math.inf, name, p) == (0xFF, Flag.INVALID)
        assert from_value(-math.inf, name, p.replace(saturation="finite"))[0] == 0x00
    # -2**-12 is a tie at half the smallest subnormal of Binary8p5ue: TiesToAway gives -2**-11 < 0: NaN
    assert from_value(-2.0 ** -12, "p3109_k8p5ue", p.replace(rounding="rna"))[0] == 0xFF
    assert from_value(-1.0, "e8m0", Context.profile("ocp"))[0] == 0x00


def test_gf4_zero_into_e8m0():
    e8m0 = BY_NAME["e8m0"]
    for sat in (True, False):
        assert peer_code(e8m0, 0.0, "rne", sat) == 0xFF
        assert peer_code(e8m0, -0.0, "rne", sat) == 0xFF
    ocp = Context.profile("ocp")
    assert from_value(0.0, "e8m0", ocp) == (0x00, Flag.INEXACT)
    assert from_value(0.0, "e8m0", ocp.replace(zero_missing="nan")) == (0xFF, Flag.INVALID)


def test_gf5_p3109_finite_formats_sat_false():
    sf = BY_NAME["p3109_k8p4sf"]
    assert sf.fi.max == 240
    for x in (300.0, math.inf):
        assert peer_code(sf, x, "rne", False) == 0x80                # NaN (v3: OvfInf on Finite is an error)
        assert peer_code(sf, -x, "rne", False) == 0x80
        assert peer_code(sf, x, "rne", True) == 0x7F
    p = Context.profile("p3109")
    assert from_value(300.0, "p3109_k8p4sf", p) == (0x7F, Flag.OVERFLOW | Flag.INEXACT | Flag.SATURATED)
    assert from_value(-300.0, "p3109_k8p4sf", p)[0] == 0xFF
    assert from_value(math.inf, "p3109_k8p4sf", p) == (0x7F, Flag.SATURATED)
    assert from_value(300.0, "p3109_k8p4sf", p.replace(saturation="none"))[0] == 0x80


def test_gf6_binary64_sum_in_the_rounding_decision():
    """nu = 1/2 - 2**-54 (TiesToAway, A with N = 1, R = 1) and nu = 1/4 - 2**-54 (B, N = 1, R = 1)
    at E4M3's subnormal quantum 2**-9: the exact rules truncate, gfloat's float sums reach 1.0."""
    e4m3 = BY_NAME["e4m3"]
    cases = [(Fraction(1, 2) - Fraction(1, 2 ** 54), "rna", 0, 0),
             (Fraction(1, 2) - Fraction(1, 2 ** 54), "sr-a", 1, 1),
             (Fraction(1, 4) - Fraction(1, 2 ** 54), "sr-b", 1, 1)]
    for nu, mode, rand, nbits in cases:
        x = math.ldexp(float(nu), -9)
        assert Fraction(x) == nu / 2 ** 9                            # an exact binary64 input
        assert sum_rounds_to_one(e4m3, x, mode, rand, nbits)
        if mode == "rna":
            assert nu < Fraction(1, 2)                               # below the midpoint: round to 0
        assert peer_code(e4m3, x, mode, True, rand if nbits else -1, nbits) == 0x01
        code, flags = from_value(x, "e4m3", Context.profile("ocp", rounding=mode, sr_bits=nbits), rand)
        assert code == 0x00 and flags & Flag.UNDERFLOW


def test_gf7_below_e8m0_smallest_value():
    e8m0 = BY_NAME["e8m0"]
    assert peer_code(e8m0, math.ldexp(1.25, -128), "rne", True) == 0xFF
    assert peer_code(e8m0, 2.0 ** -130, "rne", True) == 0xFF
    assert peer_code(e8m0, math.ldexp(1.75, -128), "rne", True) == 0x00   # rounds up to 2**-127 in gfloat too
    ocp = Context.profile("ocp")
    assert from_value(math.ldexp(1.25, -128), "e8m0", ocp) == (0x00, Flag.UNDERFLOW | Flag.INEXACT)
    assert from_value(2.0 ** -130, "e8m0", ocp) == (0x00, Flag.UNDERFLOW | Flag.INEXACT)


def test_gf8_stochastic_odd_is_not_a_p3109_mode():
    """gfloat StochasticOdd = C with nu * 2**N rounded to nearest, ties to odd.  Against refnum sr-c
    it differs exactly where nu * 2**N is an odd multiple of 1/2 and R sits at the threshold the two
    roundings of it straddle."""
    for name in ("e4m3", "p3109_k8p3se"):
        spec = BY_NAME[name]
        xs = [x for x in sixteenths(spec, None, SEED) if x < spec.fi.max]   # above, both saturate
        nbits = 3
        predicted, found = set(), set()
        for x in xs:
            a = Fraction(x)
            e = max(_ilog2(a), 1 - spec.fi.bias) - spec.fi.precision + 1
            y = (a / Fraction(2) ** e - math.floor(a / Fraction(2) ** e)) * 2 ** nbits
            if y.denominator == 2:                                  # a tie for RNITE
                lo = math.floor(y)
                even, odd = (lo, lo + 1) if lo % 2 == 0 else (lo + 1, lo)
                predicted.add((x, (1 << nbits) - max(even, odd)))
            for rand in range(1 << nbits):
                try:
                    g = gfloat.encode_float(spec.fi, gfloat.round_float(
                        spec.fi, x, RoundMode.StochasticOdd, True, rand, nbits))
                except ValueError:
                    g = RAISES
                if g != ours(spec, x, "sr-c", "finite", rand, nbits):
                    found.add((x, rand))
        assert found and found == predicted, name


def test_gf9_signed_precision_equal_to_width():
    fi = gff.format_info_p3109(8, 8, Signedness.Signed, Domain.Finite)   # gfloat builds it
    assert fi.name == "p3109_k8p8sf" and fi.expBits == 0
    for name in ("p3109_k8p8se", "p3109_k8p8sf"):
        with pytest.raises(RefnumError):
            lookup(name)


# -- the profiles this file pins ---------------------------------------------------------------------

def test_profiles_are_the_ones_compared():
    """The sweeps above run under these profiles; gfloat's sat=True is the ocp profile's SatFinite,
    gfloat's default sat=False is the p3109 profile's SatNone (apart from GF-5 on Finite formats)."""
    ocp, p3109 = Context.profile("ocp"), Context.profile("p3109")
    assert (ocp.saturation, ocp.nan, ocp.nan_sign, ocp.nan_missing, ocp.zero_missing, ocp.p1_parity) == (
        "finite", "canonical", 0, "max", "min", "code")
    assert (p3109.saturation, p3109.nan, p3109.p1_parity, p3109.rounding) == ("satnone", "canonical", "code", "rne")
    assert POLICIES["ocp"][0] == (PROFILES["ocp"]["saturation"], True)
    assert POLICIES["p3109"][0] == (PROFILES["p3109"]["saturation"], False)
