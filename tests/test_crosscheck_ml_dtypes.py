"""Cross-check of ``Context.profile("ml_dtypes")`` against ml_dtypes 0.6.0 ``astype`` (issue 2 §3, §7).

ml_dtypes is the oracle here: every expectation is the code numpy + ml_dtypes
produce, read back as raw bits (``.view(uint8)``; the 4- and 6-bit types hold
one value per byte, in the low bits).  For every ml_dtypes 8-, 6- and 4-bit
type and bfloat16:

* decode: every code -> float32 through ml_dtypes, against ``refnum.decode``
  (the exact value, NaN class and sign) and against refnum's conversion to
  binary32 under the profile (raw bits);
* every binary16 code and every bfloat16 code (65,536 each) -> the type;
* the float32 boundary set of the type (every value, every midpoint, their
  float32 neighbours, overflow thresholds, tiny values, float32 subnormals,
  infinities and NaNs with payloads) and 100,000 seeded random float32 bit
  patterns -> the type.

Raw codes must agree everywhere except at the differences listed in
``spec/differences.md`` (ids MLD-n); each comparison asserts that the set of
disagreements is exactly the documented one, and one test per row asserts
both sides' exact results.  float64 is never fed to ml_dtypes as an oracle: it
rounds float64 through float32 (row MLD-1).

Two tests at the end need neither numpy nor ml_dtypes: they pin, against a
brute-force grid, the E8M0 behaviours this profile needs from the core (the
``lowest_binade`` knob and negative tiny values into a format without zero).
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from refnum import Context, convert, decode, from_value, lookup

ML = Context.profile("ml_dtypes")

ML_TYPES = ("float8_e3m4", "float8_e4m3", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e4m3b11fnuz",
            "float8_e5m2", "float8_e5m2fnuz", "float8_e8m0fnu", "float6_e2m3fn", "float6_e3m2fn",
            "float4_e2m1fn", "bfloat16")
FNUZ = ("float8_e4m3fnuz", "float8_e4m3b11fnuz", "float8_e5m2fnuz")
RANDOM_PER_TYPE = 100_000
SEED = 20240602


def _modules():
    np = pytest.importorskip("numpy", reason="numpy is needed for the ml_dtypes cross-check")
    mld = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed: cross-check skipped")
    return np, mld


def _code_dtype(np, name):
    return np.uint16 if name == "bfloat16" else np.uint8


def _ml_cast(np, mld, src, name):
    """Raw codes of ``src`` (a numpy array) cast to ml_dtypes type ``name`` by ``astype``."""
    with np.errstate(invalid="ignore", over="ignore"):
        out = src.astype(getattr(mld, name))
    return out.view(_code_dtype(np, name)).tolist()


def _mismatches(src_codes, src_fmt, name, ml_codes):
    """{source code: (ml_dtypes code, refnum code)} wherever the two differ."""
    dst = lookup(name)
    out = {}
    for c, expected in zip(src_codes, ml_codes):
        got = convert(c, src_fmt, dst, ML)[0]
        if got != expected:
            out[c] = (expected, got)
    return out


def _is_nan16(code, w, m):
    mag = code & 0x7FFF
    return mag >> m == (1 << w) - 1 and mag & ((1 << m) - 1) != 0


# -- the documented differences (spec/differences.md), computed from their definitions ---------------

def _mld2_bf16_copy(src_codes):
    """MLD-2: bfloat16 -> bfloat16 is a bit copy in numpy; refnum converts (canonical NaN, sign kept)."""
    return {c: (c, 0x7FC0 | (c & 0x8000)) for c in src_codes
            if _is_nan16(c, 8, 7) and c & 0x7FFF != 0x7FC0}


def test_ml_dtypes_version():
    _, mld = _modules()
    assert mld.__version__.startswith("0.6."), (
        f"spec/differences.md was measured with ml_dtypes 0.6.0; found {mld.__version__}")


# -- decode ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", ML_TYPES)
def test_decode_every_code(name):
    np, mld = _modules()
    fmt = lookup(name)
    codes = np.arange(1 << fmt.k, dtype=np.uint32).astype(_code_dtype(np, name))
    with np.errstate(invalid="ignore"):
        as_f32 = codes.view(getattr(mld, name)).astype(np.float32)
    bits = as_f32.view(np.uint32).tolist()
    values = as_f32.tolist()
    bad_value, bad_bits = [], {}
    for c, x, b in zip(range(1 << fmt.k), values, bits):
        v = decode(c, fmt)
        ml_sign = b >> 31
        if x != x:
            ok = v.is_nan and (v.sign == ml_sign or (name in FNUZ and c == 0x80))   # MLD-4
        elif v.is_nan:
            ok = False
        elif v.is_inf:
            ok = x in (float("inf"), float("-inf")) and v.sign == ml_sign
        else:
            ok = v.is_finite and v.to_fraction() == Fraction(x) and v.sign == ml_sign
        if not ok:
            bad_value.append(c)
        got = convert(c, fmt, "binary32", ML)[0]
        if got != b:
            bad_bits[c] = (b, got)
    assert bad_value == []
    if name in FNUZ:
        expected = {0x80: (0xFFC00000, 0x7FC00000)}                                  # MLD-4
    elif name == "bfloat16":
        expected = {c: (c << 16, 0x7FC00000 | (c & 0x8000) << 16) for c in range(1 << 16)
                    if _is_nan16(c, 8, 7) and c & 0x7FFF != 0x7FC0}                  # MLD-3
    else:
        expected = {}
    assert bad_bits == expected


# -- exhaustive from binary16 and from bfloat16 ----------------------------------------------------------

@pytest.mark.parametrize("name", ML_TYPES)
@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
def test_every_16_bit_code(src, name):
    np, mld = _modules()
    codes = np.arange(1 << 16, dtype=np.uint32).astype(np.uint16)
    src_dtype = np.float16 if src == "binary16" else mld.bfloat16
    ml_codes = _ml_cast(np, mld, codes.view(src_dtype), name)
    bad = _mismatches(range(1 << 16), src, name, ml_codes)
    expected = _mld2_bf16_copy(range(1 << 16)) if (src, name) == ("bfloat16", "bfloat16") else {}
    assert bad == expected


# -- float32 boundaries and random float32 bit patterns ---------------------------------------------------

def _f32_boundaries(np, mld, name):
    """float32 bit patterns around every rounding boundary of ``name`` (built with numpy only)."""
    fmt = lookup(name)
    codes = np.arange(1 << fmt.k, dtype=np.uint32).astype(_code_dtype(np, name))
    with np.errstate(invalid="ignore"):
        vals = codes.view(getattr(mld, name)).astype(np.float64)
    finite = np.unique(vals[np.isfinite(vals)])                     # sorted, -0 and +0 merged
    mids = (finite[:-1] + finite[1:]) / 2                            # exact in float64
    top = finite[-1]
    ulp_top = top - finite[-2]
    beyond = np.array([top + ulp_top / 2, top + ulp_top, 2 * top, -(top + ulp_top / 2), 4 * top])
    tiny_pos = finite[finite > 0][0]
    tiny = np.array([tiny_pos / 2, tiny_pos / 4, tiny_pos * 0.75, tiny_pos * 1.25, tiny_pos * 1.5])
    tiny = np.concatenate([tiny, -tiny])
    cand = np.concatenate([finite, mids, beyond, tiny])
    cand = cand[np.abs(cand) <= np.finfo(np.float32).max]
    f32 = cand.astype(np.float32)
    f32 = f32[f32.astype(np.float64) == cand]                       # keep only exact float32 values
    around = np.concatenate([f32, np.nextafter(f32, np.float32(np.inf)), np.nextafter(f32, np.float32(-np.inf))])
    bits = around.view(np.uint32)
    sub = np.array([1, 2, 3, 0x1FF, 0x200000, 0x3FFFFF, 0x400000, 0x400001, 0x5FFFFF, 0x600000,
                    0x600001, 0x7FFFFF, 0x800000], dtype=np.uint32)  # float32 subnormals, 2**-126
    special = np.array([0x7F800000, 0x7F800001, 0x7FA00000, 0x7FC00000, 0x7FC00001, 0x7FFFFFFF,
                        0x7F7FFFFF, 0x00000000], dtype=np.uint32)   # Inf, sNaN, qNaN, payloads, max
    bits = np.concatenate([bits, sub, special])
    bits = np.concatenate([bits, bits ^ np.uint32(0x80000000)])
    return sorted(set(bits.tolist()))


@pytest.mark.parametrize("name", ML_TYPES)
def test_float32_boundaries(name):
    np, mld = _modules()
    bits = _f32_boundaries(np, mld, name)
    ml_codes = _ml_cast(np, mld, np.array(bits, dtype=np.uint32).view(np.float32), name)
    assert len(bits) > 100
    assert _mismatches(bits, "binary32", name, ml_codes) == {}


@pytest.mark.parametrize("name", ML_TYPES)
def test_float32_random(name):
    np, mld = _modules()
    rng = np.random.default_rng([SEED, ML_TYPES.index(name)])
    bits = rng.integers(0, 1 << 32, size=RANDOM_PER_TYPE, dtype=np.uint64).astype(np.uint32)
    ml_codes = _ml_cast(np, mld, bits.view(np.float32), name)
    assert _mismatches(bits.tolist(), "binary32", name, ml_codes) == {}


# -- the profile's points, one by one (ml-formats-spec.md §5 rows) ---------------------------------------

@pytest.mark.parametrize("name, x, code", [
    ("float8_e4m3fn", 464.0, 0x7E),             # rounds to 448 (tie to even), not overflow
    ("float8_e4m3fn", 465.0, 0x7F),             # non-saturating: NaN
    ("float8_e4m3fn", float("-inf"), 0xFF),     # Inf -> NaN, sign kept
    ("float8_e5m2", 61440.0, 0x7C),             # E5M2 overflow threshold: Inf
    ("float4_e2m1fn", float("nan"), 0x8),       # NaN -> the -0 code
    ("float4_e2m1fn", -float("nan"), 0x0),      # -NaN -> +0
    ("float6_e2m3fn", float("nan"), 0x20),
    ("float4_e2m1fn", float("inf"), 0x7),       # no Inf, no NaN: max
    ("float8_e8m0fnu", 0.0, 0xFF),              # no zero: NaN
    ("float8_e8m0fnu", 3.0, 0x81),              # tie goes up: 4
    ("float8_e8m0fnu", 0.75, 0x7F),             # tie goes up: 1
    ("float8_e8m0fnu", -4.0, 0xFF),             # negative: NaN
    ("float8_e8m0fnu", 1.4 * 2.0 ** -127, 0x01),    # the lowest binade rounds up: 2**-126
    ("float8_e8m0fnu", 2.0 ** -128, 0x00),
])
def test_profile_points(name, x, code):
    np, mld = _modules()
    assert _ml_cast(np, mld, np.array([x], dtype=np.float32), name) == [code]
    bits = int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    assert convert(bits, "binary32", name, ML)[0] == code


# -- one test per row of spec/differences.md ------------------------------------------------------------

def test_mld1_float64_is_rounded_twice():
    """MLD-1: float64 1 + 2**-8 + 2**-40 -> bfloat16."""
    np, mld = _modules()
    x = 1 + 2.0 ** -8 + 2.0 ** -40
    assert _ml_cast(np, mld, np.array([x], dtype=np.float64), "bfloat16") == [0x3F80]       # 1.0
    assert from_value(x, "bfloat16", ML) == (0x3F81, 0x01)                                  # 1.0078125
    # ml_dtypes' result is exactly float64 -> float32 -> bfloat16, each step rounded
    f32 = int(np.array([x], dtype=np.float32).view(np.uint32)[0])
    assert convert(f32, "binary32", "bfloat16", ML) == (0x3F80, 0x01)


def test_mld2_bfloat16_to_bfloat16_copies_nans():
    """MLD-2: bfloat16 sNaN 0x7F81 and quiet NaN with payload 0xFFC1 -> bfloat16."""
    np, mld = _modules()
    src = np.array([0x7F81, 0xFFC1], dtype=np.uint16)
    assert _ml_cast(np, mld, src.view(mld.bfloat16), "bfloat16") == [0x7F81, 0xFFC1]
    assert convert(0x7F81, "bfloat16", "bfloat16", ML) == (0x7FC0, 0x10)      # quiet, invalid
    assert convert(0xFFC1, "bfloat16", "bfloat16", ML) == (0xFFC0, 0x00)
    assert len(_mld2_bf16_copy(range(1 << 16))) == 252


def test_mld3_bfloat16_to_float32_widens_bits():
    """MLD-3: bfloat16 sNaN 0x7F81 and quiet NaN with payload 0xFFC1 -> float32."""
    np, mld = _modules()
    src = np.array([0x7F81, 0xFFC1], dtype=np.uint16).view(mld.bfloat16)
    assert src.astype(np.float32).view(np.uint32).tolist() == [0x7F810000, 0xFFC10000]
    assert convert(0x7F81, "bfloat16", "binary32", ML) == (0x7FC00000, 0x10)
    assert convert(0xFFC1, "bfloat16", "binary32", ML) == (0xFFC00000, 0x00)


@pytest.mark.parametrize("name", FNUZ)
def test_mld4_fnuz_nan_decodes_negative(name):
    """MLD-4: the FNUZ NaN code 0x80 -> float32."""
    np, mld = _modules()
    got = np.array([0x80], dtype=np.uint8).view(getattr(mld, name)).astype(np.float32)
    assert got.view(np.uint32).tolist() == [0xFFC00000]
    v = decode(0x80, name)
    assert v.is_nan and v.sign == 0
    assert convert(0x80, name, "binary32", ML) == (0x7FC00000, 0x00)


# -- the core behaviours the profile relies on (no numpy, no ml_dtypes) ---------------------------------

def _e8m0_grid_oracle(x, lowest_as_zero):
    """Round x > 0 to nearest into E8M0 by enumeration; ties go up (p1_parity="significand"),
    except that with ``lowest_as_zero`` the lowest code stands for 0 while rounding (ml_dtypes)."""
    lowest = Fraction(0) if lowest_as_zero else Fraction(1, 2 ** 127)
    grid = [(lowest, 0)] + [(Fraction(2) ** (c - 127), c) for c in range(1, 255)]
    if x == Fraction(1, 2 ** 127):
        return 0                                              # exactly representable
    below = max((g for g in grid if g[0] <= x), default=grid[0])
    above = min((g for g in grid if g[0] >= x), default=below)
    if below == above:
        return below[1]
    lo, hi = x - below[0], above[0] - x
    if lo < hi:
        return below[1]
    if hi < lo:
        return above[1]
    return below[1] if below[0] == 0 else above[1]            # tie: 0 is even, 2**k is odd


@pytest.mark.parametrize("knob", ["exact", "subnormal"])
def test_e8m0_lowest_binade_knob(knob):
    ctx = Context(saturation="none", p1_parity="significand", lowest_binade=knob)
    for j in range(1, 4 * 64 + 1):                            # (0, 4 * 2**-127] in steps of 2**-133
        x = Fraction(j, 2 ** 133)
        assert from_value(x, "e8m0", ctx)[0] == _e8m0_grid_oracle(x, knob == "subnormal"), x
    assert from_value(Fraction(1, 2 ** 127), "e8m0", ctx) == (0x00, 0)     # exact stays exact
    assert Context().lowest_binade == "exact" and ML.lowest_binade == "subnormal"


def test_negative_tiny_into_e8m0_is_below_the_lowest_value():
    """E8M0 has no zero: a negative value rounds to at best -2**-127, below the lowest value 2**-127,
    so it takes the "X < M_lo" row whatever its size (NaN non-saturating, 2**-127 saturating)."""
    for j in (1, 2 ** 5, 2 ** 6, 2 ** 7, 2 ** 12):           # -2**-140 ... -2**-128 ... -2**-127
        x = -Fraction(j, 2 ** 140)
        code, flags = from_value(x, "e8m0", Context(saturation="none"))
        assert code == 0xFF and flags & 0x10, x
        code, flags = from_value(x, "e8m0", Context(saturation="finite"))
        assert code == 0x00 and flags & 0x20, x
