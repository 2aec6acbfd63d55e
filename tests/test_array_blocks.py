"""refnum.array.quantize_blocks equals the scalar block model bit for bit.

The oracle is :func:`refnum.blocks.quantize_tensor` (block by block through
:func:`refnum.blocks.quantize`) on the array's values read as Python floats
(exact for every source dtype), its rows the array's leading indices (1D
schemes) or the matrix itself (tile schemes).  Every scale code, element code,
scale flag and element flag is compared, and the per-tensor scale of two-level
schemes.  Inputs: seeded random float32 tensors with boundary values injected
(zero blocks, signed zeros, subnormals, an amax at, just below and just above a
power of two, the largest finite values, NaN and Inf), rows not a multiple of k,
edge tiles, float16, float64 and bfloat16 sources, and stochastic rounding with
an array of random integers.
"""

import pytest

from refnum import Context, RefnumError
from refnum.blocks import SCHEMES, quantize_tensor, scheme
from refnum.blocks.scale import RULES_POW2

np = pytest.importorskip("numpy")
array = pytest.importorskip("refnum.array")

MX = [name for name, s in SCHEMES.items() if s.scale == "e8m0"]
NVFP4 = [name for name in SCHEMES if name.startswith("nvfp4")]
BFP_DFP = [name for name, s in SCHEMES.items() if s.exponent_scale]
FP8_RECIPES = [name for name in SCHEMES if name.startswith("fp8_")]


def tensor(shape, seed, dtype=np.float32, nonfinite=True):
    """Seeded normal values at a few magnitudes, with boundary values injected: each case
    in 16 elements starting a block of 32 of its own (while the tensor has room)."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(shape) * np.exp2(rng.integers(-12, 12, shape))
    flat = x.reshape(-1, shape[-1])
    info = (np.finfo if np.dtype(dtype).kind == "f" else pytest.importorskip("ml_dtypes").finfo)(dtype)
    eps = float(info.eps)
    tiny = float(info.smallest_subnormal)
    cases = [
        [0.0] * 16,                                            # a zero block: the smallest scale
        [-0.0, 0.0, 1.5, -0.0] * 4,                            # signed zeros among values
        [tiny * (i + 1) for i in range(16)],                   # only subnormals
        [4.0, -1.0, 0.1, 3.0] * 4,                             # amax at a power of two
        [8.0 - 4 * eps, 1.0, -7.5, 0.3] * 4,                  # just below one
        [8.0 + 8 * eps, 1.0, -0.01, 2.0] * 4,                 # just above one
        [float(info.max), -float(info.max), 1.0, tiny] * 4,    # the largest finite values
    ]
    if nonfinite:
        cases += [[np.nan, 1.0, -2.0, 0.5] * 4, [np.inf, -np.inf, 3.0, 0.0] * 4]
    slots = [(row, col) for col in range(0, flat.shape[1], 32) for row in range(flat.shape[0])]
    for (row, col), case in zip(slots, cases):
        width = min(16, flat.shape[1] - col)
        flat[row, col:col + width] = case[:width]
    return x.astype(dtype)


def oracle(x, s, ctx=None, rand=None):
    """(scales, elements, scale flags, element flags, tensor scale) by the scalar block model."""
    s = scheme(s)
    tiled = bool(s.tile) and s.tile[0] > 1
    rows = x.astype(np.float64).reshape(-1, x.shape[-1])
    rand_rows = None if rand is None else rand.reshape(rows.shape).tolist()
    blocks = quantize_tensor(rows.tolist(), s, ctx, rand_rows)
    th, tw = s.tile if tiled else (1, s.k)
    th, tw = min(th, rows.shape[0]), min(tw, rows.shape[1])
    grid = (-(-rows.shape[0] // th), -(-rows.shape[1] // tw))
    elements = np.zeros(rows.shape, np.int64)
    flags = np.zeros(rows.shape, np.int64)
    for n, block in enumerate(blocks):
        bi, bj = divmod(n, grid[1])
        cells = [(i, j) for i in range(bi * th, min((bi + 1) * th, rows.shape[0]))
                 for j in range(bj * tw, min((bj + 1) * tw, rows.shape[1]))]
        assert len(cells) == len(block.elements)
        for (i, j), code, flag in zip(cells, block.elements, block.flags):
            elements[i, j], flags[i, j] = code, flag
    scale_shape = grid if tiled else x.shape[:-1] + (grid[1],)
    scales = np.array([b.scale for b in blocks]).reshape(scale_shape)
    scale_flags = np.array([b.scale_flags for b in blocks]).reshape(scale_shape)
    return scales, elements.reshape(x.shape), scale_flags, flags.reshape(x.shape), blocks[0].tensor_scale


def check(x, s, ctx=None, rand=None):
    """Assert quantize_blocks equals the oracle in every code and flag; returns the element count."""
    got = array.quantize_blocks(x, s, ctx, rand)
    expect = oracle(x, s, ctx, rand)
    names = ("scales", "elements", "scale flags", "element flags")
    for name, g, e in zip(names, got, expect):
        assert g.shape == e.shape, f"{s}: {name} shape {g.shape} != {e.shape}"
        bad = np.argwhere(g.astype(np.int64) != e)
        assert not bad.size, (f"{s} {ctx}: {name}: {len(bad)} mismatches, first at {bad[0].tolist()}: "
                              f"{g[tuple(bad[0])]} != {e[tuple(bad[0])]}")
    if scheme(s).tensor_scale:
        assert got[4] == expect[4]
    else:
        assert len(got) == 4
    return x.size


@pytest.mark.parametrize("name", MX)
@pytest.mark.parametrize("rule", RULES_POW2)
def test_mx_schemes_every_rule(name, rule):
    check(tensor((5, 100), 10), scheme(name, rule=rule))


@pytest.mark.parametrize("knobs", [{"log2": "binary32"}, {"log2": "binary64"}, {"headroom": 1},
                                   {"scale_overflow": "nan"}, {"k": 16}, {"nonfinite": "element"}])
def test_mx_scale_knobs(knobs):
    check(tensor((4, 70), 11), scheme("mxfp8_e4m3", **knobs))
    check(tensor((4, 70), 12), scheme("mxfp4", **knobs))


@pytest.mark.parametrize("ctx", [Context(rounding="rtz"), Context(rounding="rna"), Context(rounding="rup"),
                                 Context(saturation="none"), Context(saturation="none", ftz=True),
                                 Context(tininess="before"), Context(daz=True)], ids=str)
def test_element_contexts(ctx):
    check(tensor((4, 96), 13), "mxfp8_e5m2", ctx)
    check(tensor((4, 96), 14), "mxfp6_e3m2", ctx)


@pytest.mark.parametrize("mode", ["sr-a", "sr-b", "sr-c"])
def test_stochastic_rounding_with_a_rand_array(mode):
    ctx = Context(rounding=mode, sr_bits=6, saturation="finite")
    for name, seed in (("mxfp8_e4m3", 20), ("mxfp4", 21), ("nvfp4", 22), ("msfp16", 23), ("fp8_1x128_ue8m0", 24)):
        x = tensor((3, 64), seed)
        rand = np.random.default_rng(seed).integers(0, 1 << 6, x.shape, dtype=np.uint8)
        check(x, name, ctx, rand)


@pytest.mark.parametrize("name", NVFP4)
def test_nvfp4_recipes(name):
    shape = (20, 40) if scheme(name).tile else (4, 72)
    check(tensor(shape, 30, nonfinite=False), name)


def test_nvfp4_nan_block():
    check(tensor((3, 32), 31), "nvfp4")


@pytest.mark.parametrize("name", BFP_DFP)
def test_bfp_and_dfp(name):
    check(tensor((3, 40), 40), name)


@pytest.mark.parametrize("name", FP8_RECIPES)
def test_fp8_tile_recipes(name):
    shape = (130, 12) if scheme(name).tile == (128, 128) else (3, 300)
    check(tensor(shape, 50), name)


@pytest.mark.parametrize("dtype", ["float16", "float64", "bfloat16"])
def test_source_dtypes(dtype):
    if dtype == "bfloat16":
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    x = tensor((4, 40), 60, np.dtype(dtype).type)
    for name in ("mxfp8_e4m3", "mxfp4", "msfp16", "nvfp4"):
        check(x, name)


def test_float64_beyond_the_scale_range():
    """Magnitudes above 2**127 * 448 clamp the E8M0 scale (elements saturate), below
    2**-127 the smallest scale (elements underflow); the NaN-scale knob as well."""
    x = np.array([[1e300, -1e200, 1.0, 5e-324], [1e-300, 3e-310, -1e-305, 0.0]])
    for s in ("mxfp8_e4m3", "mxfp4", scheme("mxfp8_e4m3", scale_overflow="nan"), scheme("mxfp4", rule="rceil")):
        check(x, s)


@pytest.mark.parametrize("shape", [(70,), (2, 3, 40), (1, 1)])
def test_shapes(shape):
    check(tensor(shape, 70), "mxfp8_e4m3")


def test_power_of_two_blocks_run_vectorised(monkeypatch):
    """MX blocks without NaN/Inf never reach the scalar block fallback."""
    def refuse(*args):
        raise AssertionError("scalar block fallback taken")
    monkeypatch.setattr(array, "_block_scalar", refuse)
    x = tensor((8, 96), 80, nonfinite=False)
    for name in MX:
        if scheme(name).element_format.kind == "float":
            for rule in RULES_POW2:
                array.quantize_blocks(x, scheme(name, rule=rule))
    array.quantize_blocks(x, "msfp16")
    array.quantize_blocks(x, "fp8_1x128_ue8m0")


def test_bad_arguments():
    x = np.ones((4, 32), np.float32)
    with pytest.raises(RefnumError, match="x: scheme nvfp4_2d quantizes 16x16 tiles of a 2D array"):
        array.quantize_blocks(np.ones(32, np.float32), "nvfp4_2d")
    with pytest.raises(RefnumError, match="rand: only stochastic rounding"):
        array.quantize_blocks(x, "mxfp4", rand=np.zeros(x.shape, np.uint8))
    with pytest.raises(RefnumError, match="rand: stochastic rounding sr-a needs"):
        array.quantize_blocks(x, "mxfp4", Context(rounding="sr-a", sr_bits=4))
    with pytest.raises(RefnumError, match="x: give a nonempty array"):
        array.quantize_blocks(np.zeros((0, 32), np.float32), "mxfp4")
    with pytest.raises(TypeError, match="x must hold float16"):
        array.quantize_blocks(np.ones(4, np.int32), "mxfp4")
    with pytest.raises(RefnumError, match="unknown block scheme"):
        array.quantize_blocks(x, "mxfp9")


@pytest.mark.parametrize("rule", RULES_POW2)
def test_blocks_sharing_a_binade(rule):
    """Blocks whose amax share a binade, at and off its power of two (the scale is chosen
    once per binade where the rule allows it: these tell the cases apart)."""
    amaxes = [4.0, 5.0, 4.0 + 2.0 ** -21, 7.9, 0.0, 2.0 ** -140, 3 * 2.0 ** -140, 8.0, 4.0, 6.0]
    x = np.random.default_rng(90).uniform(-1, 1, (len(amaxes), 32)) * np.array(amaxes)[:, None] / 2
    x[:, 5] = amaxes
    x = x.astype(np.float32).reshape(1, -1)
    for name in ("mxfp8_e4m3", "mxfp4"):
        check(x, scheme(name, rule=rule))


# -- the slow sweep: larger tensors, every source dtype, every MX scheme, rule and mode ------------

@pytest.mark.slow
@pytest.mark.parametrize("dtype", ["float16", "float32", "float64", "bfloat16"])
def test_mx_sweep(dtype):
    if dtype == "bfloat16":
        dtype = pytest.importorskip("ml_dtypes").bfloat16
    x = tensor((16, 200), 100, np.dtype(dtype).type)
    for name in MX:
        for rule in RULES_POW2:
            check(x, scheme(name, rule=rule))
        for mode in ("rtz", "rna", "rup", "rdn", "rto"):
            check(x, name, Context(rounding=mode))
        ctx = Context(rounding="sr-b", sr_bits=8)
        check(x, name, ctx, np.random.default_rng(101).integers(0, 256, x.shape, dtype=np.uint16))
