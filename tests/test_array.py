"""refnum.array (the numpy path) equals the scalar core bit for bit: codes and flags.

The oracle is refnum.convert: ``convert`` code by code in the default suite, the
bound ``converter`` (itself checked against ``convert`` in test_converter.py) in
the slow exhaustive sweep.  Sources: every binary16 and bfloat16 code, seeded
random binary32/binary64 bit patterns, and every boundary set of
refnum.vectors.cases (bit patterns and the narrowing boundaries of every narrow
target).
"""

import zlib

import pytest

from refnum import Context, RefnumError, decode as scalar_decode
from refnum.catalog import CATALOG, lookup
from refnum.context import ROUNDINGS
from refnum.convert import convert as scalar_convert, converter
from refnum.vectors.cases import boundary_codes, narrow_targets, patterns

np = pytest.importorskip("numpy")
array = pytest.importorskip("refnum.array")

SMALL = [f.name for f in CATALOG.values() if f.k <= 16]
# family members that reach the other branches: precision 1, unsigned, no subnormals
# (fallback), a scaled and an integer format (fallback)
FAMILY = ["p3109_k8p1se", "p3109_k8p1ue", "p3109_k8p4ue", "p3109_k6p3sf", "e5m2_nosub", "e4m3@1/448", "int8"]
WIDE = [f.name for f in CATALOG.values() if 16 < f.k <= 64]
SATURATIONS = ("none", "finite", "propagate", "satnone")
SR_BITS = 5


def context(mode, **knobs):
    return Context(rounding=mode, sr_bits=SR_BITS if mode.startswith("sr-") else 0, **knobs)


def rand_for(ctx, n, seed):
    if not ctx.rounding.startswith("sr-"):
        return None
    return np.random.default_rng(seed).integers(0, 1 << ctx.sr_bits, n, dtype=np.uint64)


def check(codes, src, dst, ctx, oracle="convert", seed=0):
    """Assert array.convert equals the scalar oracle on every code; returns the count."""
    rand = rand_for(ctx, len(codes), seed)
    got, flags = array.convert(codes, src, dst, ctx, rand)
    rands = [0] * len(codes) if rand is None else rand.tolist()
    if oracle == "convert":
        expect = [scalar_convert(c, src, dst, ctx, r) for c, r in zip(codes.tolist(), rands)]
    else:
        bound = converter(src, dst, ctx)
        expect = [bound(c, r) for c, r in zip(codes.tolist(), rands)]
    pairs = list(zip(got.tolist(), flags.tolist()))
    bad = [(hex(c), r, p, e) for c, r, p, e in zip(codes.tolist(), rands, pairs, expect) if p != e]
    assert not bad, f"{src} -> {dst} {ctx}: {len(bad)} mismatches, first {bad[:3]}"
    return len(codes)


def sample16(n, seed):
    return np.sort(np.random.default_rng(seed).choice(1 << 16, n, replace=False)).astype(np.uint16)


# -- the default suite: a sample of every format -------------------------------------------------

@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
@pytest.mark.parametrize("dst", SMALL + FAMILY)
@pytest.mark.parametrize("mode", ["rne", "rdn", "sr-b"])
def test_16_bit_sources_sampled(src, dst, mode):
    check(sample16(3000, zlib.crc32(f"{src}{dst}{mode}".encode())), src, dst, context(mode))


@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
@pytest.mark.parametrize("dst", ["e4m3", "e5m2", "e2m1", "e8m0", "p3109_k8p4ue", "binary16"])
@pytest.mark.parametrize("knobs", [dict(saturation="none"), dict(saturation="satnone", rounding="rup"),
                                   dict(saturation="propagate", rounding="rtz"), dict(tininess="before"),
                                   dict(ftz=True, daz=True), dict(nan="payload", nan_sign=1),
                                   dict(nan_missing="negzero", zero_missing="nan", lowest_binade="subnormal",
                                        p1_parity="significand"),
                                   dict(rounding="rto", rto_overflow="inf", saturation="none")],
                         ids=lambda k: ",".join(f"{a}={b}" for a, b in k.items()))
def test_every_knob_sampled(src, dst, knobs):
    ctx = Context(**knobs)
    check(sample16(2000, zlib.crc32(f"{src}{dst}{ctx}".encode())), src, dst, ctx)


@pytest.mark.parametrize("profile", ["ml_dtypes", "p3109", "ocp", "x86", "arm", "avx512_bf16", "arm_bf16"])
def test_profiles_every_binary16_code_to_e4m3_and_bf16(profile):
    codes = np.arange(1 << 16, dtype=np.uint16)
    for dst in ("e4m3", "e8m0", "bfloat16"):
        check(codes, "binary16", dst, Context.profile(profile), oracle="converter")


@pytest.mark.parametrize("src", ["binary32", "binary64"])
@pytest.mark.parametrize("mode", ["rne", "rup", "sr-c"])
def test_wide_sources_random_and_boundaries(src, mode):
    fmt = lookup(src)
    rng = np.random.default_rng(zlib.crc32(f"{src}{mode}".encode()))
    dtype = np.uint32 if fmt.k == 32 else np.uint64
    random_bits = rng.integers(0, np.iinfo(dtype).max, 1500, dtype=dtype, endpoint=True)
    # values near 1 (normal distribution-like magnitudes), where most data lies
    near_one = np.abs(rng.standard_normal(1500)).astype(np.float32 if fmt.k == 32 else np.float64).view(dtype)
    edges = np.array(list(patterns(fmt, level=2)) + list(boundary_codes(fmt)), dtype)
    codes = np.concatenate([random_bits, near_one, edges])
    for dst in SMALL + FAMILY + WIDE:
        check(codes, src, dst, context(mode), oracle="converter")


def test_quantize_a_tensor_of_normal_values_to_e4m3():
    """What a new user tries first: float32 randn values into E4M3, and bfloat16 and binary16."""
    x = np.random.default_rng(10).standard_normal(100_000).astype(np.float32) * 100
    for fmt in ("e4m3", "bfloat16", "binary16"):
        codes, flags = array.quantize(x, fmt)
        bound = converter("binary32", fmt)
        assert list(zip(codes.tolist(), flags.tolist())) == [bound(int(c)) for c in x.view(np.uint32)]


def test_quantize_reads_every_source_dtype_and_keeps_the_shape():
    values = np.array([[0.1, -3.5], [65504.0, 1e-8]])
    for dtype, src in ((np.float16, "binary16"), (np.float32, "binary32"), (np.float64, "binary64")):
        x = values.astype(dtype)
        codes, flags = array.quantize(x, "e5m2")
        assert codes.shape == flags.shape == (2, 2) and codes.dtype == np.uint8 and flags.dtype == np.uint8
        bits = x.view({2: np.uint16, 4: np.uint32, 8: np.uint64}[x.itemsize])
        assert [scalar_convert(int(c), src, "e5m2") for c in bits.reshape(-1)] == \
            list(zip(codes.reshape(-1).tolist(), flags.reshape(-1).tolist()))
    assert array.quantize(values, "binary32")[0].dtype == np.uint32
    assert array.quantize(values, "tf32")[0].dtype == np.uint32


def test_quantize_any_layout():
    """Byte order, strides and shapes do not change the values read."""
    x = np.random.default_rng(5).standard_normal(64).astype(np.float32)
    expect = array.quantize(x, "e4m3")
    for variant, pick in ((x.astype(">f4"), slice(None)), (x[::-1], slice(None, None, -1)),
                          (x[::3], slice(None, None, 3))):
        codes, flags = array.quantize(variant, "e4m3")
        assert codes.tolist() == expect[0][pick].tolist() and flags.tolist() == expect[1][pick].tolist()
    codes, flags = array.quantize(np.array(1.0625, np.float32), "e4m3")
    assert codes.shape == () and (int(codes), int(flags)) == scalar_convert(0x3F880000, "f32", "e4m3")
    assert [a.shape for a in array.quantize(np.zeros((0, 3)), "e4m3")] == [(0, 3), (0, 3)]


def test_quantize_reads_ml_dtypes_bfloat16():
    ml_dtypes = pytest.importorskip("ml_dtypes")
    x = np.arange(1 << 16, dtype=np.uint16).view(ml_dtypes.bfloat16)
    codes, flags = array.quantize(x, "e4m3")
    bound = converter("bfloat16", "e4m3")
    assert list(zip(codes.tolist(), flags.tolist())) == [bound(c) for c in range(1 << 16)]


def test_the_fallback_rule():
    assert array.vectorised("f32", "e4m3") and array.vectorised("f64", "e8m0")
    assert array.vectorised("f16", "e4m3", Context(rounding="sr-a", sr_bits=60))
    assert not array.vectorised("f16", "e4m3", Context(rounding="sr-a", sr_bits=61))
    for dst in ("int8", "mxint8", "e4m3@1/448", "e5m2_nosub"):
        assert not array.vectorised("f16", dst)
    assert not array.vectorised("f64", "ieee_k64p60")             # more than 53 significant bits
    assert array.vectorised("f32", "f64") and not array.vectorised("f64", "f64")   # int64 codes of step 4
    codes = sample16(500, 3)
    check(codes, "binary16", "e4m3", Context(rounding="sr-a", sr_bits=61))


def test_stochastic_rounding_with_many_random_bits():
    codes = sample16(3000, 4)
    for nbits in (1, 9, 20, 40, 60):
        ctx = Context(rounding="sr-c", sr_bits=nbits)
        rand = np.random.default_rng(nbits).integers(0, 1 << nbits, len(codes), dtype=np.uint64)
        got, flags = array.convert(codes, "binary16", "e4m3", ctx, rand)
        expect = [scalar_convert(int(c), "binary16", "e4m3", ctx, int(r)) for c, r in zip(codes, rand)]
        assert list(zip(got.tolist(), flags.tolist())) == expect


def test_decode_is_exact():
    """Every binary16, bfloat16 and E4M3 code read back as float64 against Fraction -> float
    (Python's float of a Fraction is correctly rounded, so exact where representable)."""
    for fmt, dtype in (("binary16", np.uint16), ("bfloat16", np.uint16), ("e4m3", np.uint8), ("e2m1", np.uint8)):
        codes = np.arange(1 << lookup(fmt).k, dtype=dtype)
        got = array.decode(codes, fmt)
        for code, x in zip(codes.tolist(), got.tolist()):
            v = scalar_decode(code, fmt)
            if v.is_nan:
                assert x != x and np.signbit(got[code]) == bool(v.sign)
            elif v.is_inf:
                assert x == (-1) ** v.sign * float("inf")
            else:
                assert x == float(v.to_fraction()) and np.signbit(got[code]) == bool(v.sign)
    assert array.decode(np.array([0xFF, 0x80], np.uint8), "int8").tolist() == [-1.0, -128.0]


def test_decode_refuses_formats_beyond_binary64():
    with pytest.raises(RefnumError, match="not every value of e4m3@1/3"):
        array.decode(np.zeros(2, np.uint8), "e4m3@1/3")
    with pytest.raises(RefnumError, match="at most 64 bits"):
        array.decode(np.zeros(2, np.uint64), "binary128")


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="x must be a numpy array"):
        array.quantize([1.0], "e4m3")
    with pytest.raises(TypeError, match="x must hold float16"):
        array.quantize(np.arange(3), "e4m3")
    with pytest.raises(TypeError, match="codes must be a numpy array of integers"):
        array.convert(np.zeros(2), "f16", "e4m3")
    with pytest.raises(RefnumError, match="codes: 0x100 is out of range for e4m3"):
        array.convert(np.array([1, 256]), "e4m3", "f16")
    sr = Context(rounding="sr-a", sr_bits=4)
    with pytest.raises(RefnumError, match="rand: stochastic rounding sr-a needs"):
        array.convert(np.zeros(2, np.uint16), "f16", "e4m3", sr)
    with pytest.raises(RefnumError, match="rand: random value 16 is out of range for 4 random bits"):
        array.convert(np.zeros(2, np.uint16), "f16", "e4m3", sr, np.array([3, 16]))
    with pytest.raises(TypeError, match="rand must be a numpy integer array of shape"):
        array.convert(np.zeros(2, np.uint16), "f16", "e4m3", sr, np.array([3]))
    with pytest.raises(RefnumError, match="unknown format 'fp9'"):
        array.convert(np.zeros(2, np.uint16), "f16", "fp9")


# -- the slow sweep: every code, every mode, every policy ---------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
@pytest.mark.parametrize("dst", SMALL)
def test_every_16_bit_code_every_mode_and_policy(src, dst):
    codes = np.arange(1 << 16, dtype=np.uint16)
    for mode in ROUNDINGS:
        for saturation in SATURATIONS:
            check(codes, src, dst, context(mode, saturation=saturation), oracle="converter",
                  seed=zlib.crc32(f"{src}{dst}{mode}".encode()))


@pytest.mark.slow
@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
def test_every_16_bit_code_into_the_narrow_families(src):
    codes = np.arange(1 << 16, dtype=np.uint16)
    for dst in narrow_targets():
        if dst.name in SMALL:
            continue
        for mode in ROUNDINGS:
            check(codes, src, dst, context(mode), oracle="converter")
