"""Blocks against peers: torchao's MX and NVFP4 reference code (CPU torch) and gfloat 0.5's MX
block functions, per scheme and scale rule.  Every disagreement is a row of
spec/differences.md (TA-*, GFB-*) with its reproducer here.  Skipped when a peer is absent.
"""

import logging
from fractions import Fraction

import pytest

from refnum.blocks import dequantize, quantize, quantize_tensor, scheme

np = pytest.importorskip("numpy")

MX = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4")


def sample(n, seed):
    """n rows of 32 float32 values across the E8M0 range, every seventh row with an amax just
    below a power of two (where the float-log2 computations differ)."""
    rng = np.random.default_rng(seed)
    e = rng.integers(-140, 126, size=(n, 1)).astype(np.float64)
    x = (rng.random((n, 32)) * rng.choice([1, -1], size=(n, 32)) * np.exp2(e)).astype(np.float32)
    x[::7, 3] = (np.exp2(e[::7, 0] + 1) * (1 - 2.0 ** -24)).astype(np.float32)
    return x[np.isfinite(x).all(axis=1)]


def values(row):
    return [float(v) for v in row]


# -- torchao ----------------------------------------------------------------------------

@pytest.fixture(scope="module")
def torchao_mx():
    torch = pytest.importorskip("torch")
    logging.disable(logging.WARNING)                       # torchao's missing-CUDA-kernel notices
    try:
        mx_tensor = pytest.importorskip("torchao.prototype.mx_formats.mx_tensor")
        from torchao.prototype.mx_formats import constants
        from torchao.prototype.mx_formats.config import ScaleCalculationMode
    finally:
        logging.disable(logging.NOTSET)
    dtypes = {"mxfp8_e4m3": torch.float8_e4m3fn, "mxfp8_e5m2": torch.float8_e5m2,
              "mxfp6_e2m3": constants.DTYPE_FP6_E2M3, "mxfp6_e3m2": constants.DTYPE_FP6_E3M2,
              "mxfp4": torch.float4_e2m1fn_x2}

    def to_mx(x, name, rule):
        scale, data = mx_tensor.to_mx(torch.from_numpy(np.ascontiguousarray(x)), dtypes[name], 32,
                                      getattr(ScaleCalculationMode, rule.upper()))
        codes = data.view(torch.uint8).numpy()
        if name == "mxfp4":                                # two codes a byte, element 0 in the low nibble
            codes = np.stack([codes & 0xF, codes >> 4], axis=-1).reshape(x.shape)
        return scale.view(torch.uint8).numpy().reshape(-1), codes
    return to_mx


def torchao_scheme(name, rule):
    """refnum's reproduction of torchao's rule: RCEIL's eager fallback takes ceil(torch.log2) of
    fl32(amax / max) (TA-2); the other rules read exponent bits, which is exact."""
    return scheme(name, rule=rule, log2="binary32" if rule == "rceil" else "exact")


def torchao_agrees(torchao_mx, name, rule, x):
    """How many blocks torchao and refnum agree on, scale and every element (TA-1 blocks: scale only)."""
    scales, codes = torchao_mx(x, name, rule)
    s = torchao_scheme(name, rule)
    checked = 0
    for row, sc, cs in zip(x, scales, codes):
        b = quantize(values(row), s)
        assert b.scale == sc, row
        if b.scale == 0:                                   # TA-1: torchao divides by 2**-126 there
            continue
        assert b.elements == tuple(int(c) for c in cs), row
        checked += 1
    return checked


@pytest.mark.parametrize("name", MX)
@pytest.mark.parametrize("rule", ("floor", "ceil", "even", "rceil"))
def test_torchao_mx(torchao_mx, name, rule):
    assert torchao_agrees(torchao_mx, name, rule, sample(120, 1)) > 60


@pytest.mark.slow
@pytest.mark.parametrize("name", MX)
@pytest.mark.parametrize("rule", ("floor", "ceil", "even", "rceil"))
def test_torchao_mx_bulk(torchao_mx, name, rule):
    """2,000 seeded blocks of 32 per scheme and rule (about 3 s each; 40,000 blocks in all)."""
    assert torchao_agrees(torchao_mx, name, rule, sample(2000, 7)) > 1000


@pytest.mark.parametrize("rule", ("floor", "even", "ceil"))
def test_torchao_smallest_scale_divides_by_min_normal(torchao_mx, rule):
    """TA-1: with scale code 0 (2**-127) torchao divides by 2**-126 (its clamp to the smallest
    normal FP32): its elements are refnum's elements of x / 2."""
    x = np.array([[2.0 ** -126 * 1.5] + [2.0 ** -127] * 31], dtype=np.float32)
    scales, codes = torchao_mx(x, "mxfp8_e4m3", rule)
    b = quantize(values(x[0]), "mxfp8_e4m3")
    half = quantize([Fraction(v) / 2 for v in values(x[0])], "mxfp8_e4m3")
    assert scales[0] == b.scale == half.scale == 0
    assert tuple(int(c) for c in codes[0]) == half.elements != b.elements


def test_torchao_rceil_log2_off_by_one(torchao_mx):
    """TA-2: torchao's eager RCEIL rounds log2(amax / max) to binary32 before ceil: an amax / 448
    just above 2**20 gets 2**20, and the top element clamps; the exact rule gives 2**21."""
    x = np.zeros((1, 32), dtype=np.float32)
    x[0, 0] = np.float32(448 * 2.0 ** 20 * (1 + 2.0 ** -21))
    scales, _ = torchao_mx(x, "mxfp8_e4m3", "rceil")
    assert scales[0] == quantize(values(x[0]), torchao_scheme("mxfp8_e4m3", "rceil")).scale == 127 + 20
    assert quantize(values(x[0]), scheme("mxfp8_e4m3", rule="rceil")).scale == 127 + 21


def test_torchao_inf_block_floor(torchao_mx):
    """TA-3: an Inf in a block gives torchao's FLOOR the exponent of Inf's bits (128 - emax),
    not the NaN scale; refnum (nonfinite=scale) gives 0xFF."""
    x = np.ones((1, 32), dtype=np.float32)
    x[0, 5] = np.inf
    scales, _ = torchao_mx(x, "mxfp8_e4m3", "floor")
    assert scales[0] == 127 + 128 - 8
    assert quantize(values(x[0]), "mxfp8_e4m3").scale == 0xFF


@pytest.fixture(scope="module")
def torchao_nvfp4():
    torch = pytest.importorskip("torch")
    logging.disable(logging.WARNING)
    try:
        nv = pytest.importorskip("torchao.prototype.mx_formats.nvfp4_tensor")
    finally:
        logging.disable(logging.NOTSET)

    def quant(x, per_tensor_scale):
        t = torch.from_numpy(np.ascontiguousarray(x))
        pts = None if per_tensor_scale is None else torch.tensor(per_tensor_scale, dtype=torch.float32)
        scales, data = nv.nvfp4_quantize(t, 16, pts)
        data = data.numpy()
        codes = np.stack([data & 0xF, data >> 4], axis=-1).reshape(x.shape)
        return scales.view(torch.uint8).numpy(), codes
    return quant


def test_torchao_nvfp4(torchao_nvfp4):
    """torchao's two-level NVFP4: per-tensor scale amax / 2688 in FP32, block scales and elements
    reproduced by the nvfp4_torchao recipe, every block scale and element code."""
    rng = np.random.default_rng(3)
    for trial in range(6):
        x = (rng.standard_normal((8, 64)) * 2.0 ** rng.integers(-20, 20)).astype(np.float32)
        x[1, 3:7] = 0
        blocks = quantize_tensor([values(r) for r in x], "nvfp4_torchao")
        pts = float(np.float32(np.abs(x).max()) / np.float32(2688.0))       # torchao's per_tensor_amax_to_scale
        assert {b.tensor_scale for b in blocks} == {int(np.float32(pts).view(np.uint32))}
        scales, codes = torchao_nvfp4(x, pts)
        assert [b.scale for b in blocks] == [int(c) for c in scales.reshape(-1)]
        assert [b.elements for b in blocks] == [tuple(int(c) for c in codes[i, j:j + 16])
                                                for i in range(8) for j in range(0, 64, 16)]


# -- gfloat -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def gfloat():
    return pytest.importorskip("gfloat")


GFLOAT_MX = {"mxfp8_e4m3": "format_info_mxfp8_e4m3", "mxfp8_e5m2": "format_info_mxfp8_e5m2",
             "mxfp6_e2m3": "format_info_mxfp6_e2m3", "mxfp6_e3m2": "format_info_mxfp6_e3m2",
             "mxfp4": "format_info_mxfp4_e2m1", "mxint8": "format_info_mxint8"}


@pytest.mark.parametrize("name", sorted(GFLOAT_MX))
def test_gfloat_quantize_block(gfloat, name):
    """gfloat.quantize_block with compute_scale_amax (FLOOR, float64 log2, RNE, saturating) gives
    refnum's dequantized values for float32 data (exact there: log2="binary64" changes nothing)."""
    import gfloat.formats
    fi = getattr(gfloat.formats, GFLOAT_MX[name])
    x = sample(80, 2).astype(np.float64)
    for row in x:
        got = gfloat.quantize_block(fi, row, gfloat.compute_scale_amax)
        want = dequantize(quantize(values(row), scheme(name, log2="binary64")))
        assert [Fraction(float(g)) for g in got] == [v.to_fraction() for v in want], row


def test_gfloat_float64_log2_off_by_one(gfloat):
    """GFB-1: for float64 data gfloat's log2 rounds an amax within an ulp of 2**n up to n: the scale
    is twice the spec's, reproduced by log2="binary64"."""
    import gfloat.formats
    amax = 2.0 ** 10 * (1 - 2.0 ** -53)
    row = np.array([amax] + [1.0] * 31)
    got = gfloat.quantize_block(gfloat.formats.format_info_mxfp8_e4m3, row, gfloat.compute_scale_amax)
    knob = dequantize(quantize(values(row), scheme("mxfp8_e4m3", log2="binary64")))
    spec = dequantize(quantize(values(row), "mxfp8_e4m3"))
    assert [Fraction(float(g)) for g in got] == [v.to_fraction() for v in knob] != [v.to_fraction() for v in spec]


def test_torchao_nvfp4_single_level(torchao_nvfp4):
    """torchao without a per-tensor scale: s_b = e4m3(clamp(amax / 6, 2**-6, 448)), x * fl(1 / s_b);
    the nvfp4_torchao_1level scheme, every block scale and element (zero and tiny blocks included)."""
    rng = np.random.default_rng(4)
    x = (rng.standard_normal((16, 64)) * np.exp2(rng.integers(-12, 8, size=(16, 1)))).astype(np.float32)
    x[2, :16] = 0
    x[3, :16] *= np.float32(2.0 ** -20)
    scales, codes = torchao_nvfp4(x, None)
    blocks = quantize_tensor([values(r) for r in x], "nvfp4_torchao_1level")
    assert [b.scale for b in blocks] == [int(c) for c in scales.reshape(-1)]
    assert [b.elements for b in blocks] == [tuple(int(c) for c in codes[i, j:j + 16])
                                            for i in range(16) for j in range(0, 64, 16)]
