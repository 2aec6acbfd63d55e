"""The hardware conversion profiles ``cuda`` and ``torch`` and the knobs they need (issue 8 §4).

The oracles:

* the brute-force enumerator of ``tests/oracle.py`` for the knobs ``unsigned_negative``
  and ``overflow_nan`` (a negative value rounds to minus the magnitude rounded in the
  mirrored direction; the oracle's NaN is the canonical positive one);
* what an NVIDIA H200 returned (``cuda-conversions.npz``, ``torch-casts.npz``, read from
  ``$REFNUM_H200_DATA``, by default ``/work/shared/data/h200``; the tests skip when it is
  absent): every binary16 and bfloat16 code through CUDA 13's conversion intrinsics and
  through torch 2.11's casts on the GPU and the CPU, and every 8-bit code decoded;
* the live torch (CPU), where it is installed.

Each column's context comes from the column's documented meaning in the data's README:
``__NV_SATFINITE`` is ``saturation="finite"``, ``__NV_NOSAT`` is ``"none"``,
``cudaRoundZero`` / ``cudaRoundPosInf`` are ``rtz`` / ``rup``, decoding takes the
profile as it is.
"""

from __future__ import annotations

import io
import os
import random
import sys
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction
from pathlib import Path

import pytest

import oracle
from refnum import Context, Flag, convert, decode, lookup
from refnum.cli import main
from refnum.convert import converter

H200 = Path(os.environ.get("REFNUM_H200_DATA", "/work/shared/data/h200"))

SATURATION = {"SATFINITE": "finite", "NOSAT": "none"}
ROUNDING = {"rn": "rne", "cudaRoundZero": "rtz", "cudaRoundPosInf": "rup"}

# cuda-conversions.npz, as its README documents the columns: (source, target, rounding, saturation)
F16_TO_FP8 = [("binary16", dst, "rn", sat) for dst in ("e4m3", "e5m2") for sat in ("SATFINITE", "NOSAT")]
BF16_TO_FP8_E8M0 = ([("bfloat16", dst, "rn", sat) for dst in ("e4m3", "e5m2") for sat in ("SATFINITE", "NOSAT")]
                    + [("bfloat16", "e8m0", rnd, sat) for rnd in ("cudaRoundZero", "cudaRoundPosInf")
                       for sat in ("SATFINITE", "NOSAT")])
# small_to_16: (source, target, how many low bits of the row index are the code)
SMALL_TO_16 = [("e4m3", "binary16", 8), ("e5m2", "binary16", 8), ("e8m0", "bfloat16", 8),
               ("e2m3", "binary16", 6), ("e3m2", "binary16", 6), ("e2m1", "binary16", 4)]
TORCH_DTYPES = {"float8_e4m3fn": "e4m3", "float8_e5m2": "e5m2", "float8_e4m3fnuz": "e4m3fnuz",
                "float8_e5m2fnuz": "e5m2fnuz", "float8_e8m0fnu": "e8m0"}
TORCH_SOURCES = {"f16": "binary16", "bf16": "bfloat16"}


def _npz(name):
    np = pytest.importorskip("numpy")
    path = H200 / name
    if not path.exists():
        pytest.skip(f"{path} is absent (the H200 measurements; set REFNUM_H200_DATA)")
    return np.load(path)


def _column_context(profile, rounding, saturation):
    return Context.profile(profile, rounding=ROUNDING[rounding], saturation=SATURATION[saturation])


def _mismatches(results, src, dst, ctx, codes=None):
    """Every ``(code, refnum, measured)`` where refnum's convert differs from ``results[code]``."""
    f = converter(src, dst, ctx)
    codes = range(len(results)) if codes is None else codes
    return [(c, f(c)[0], results[c]) for c in codes if f(c)[0] != results[c]]


# -- the knobs against the brute-force oracle --------------------------------------------------

UNSIGNED = ("e8m0", "ue4m3", "p3109_k8p3ue", "p3109_k8p4uf")
MODES = ("rne", "rna", "rtz", "rup", "rdn")
MIRROR = {"rne": "rne", "rna": "rna", "rtz": "rtz", "rup": "rdn", "rdn": "rup"}


def _negative_binary16(step):
    """Every ``step``-th negative finite nonzero binary16 value (exact), and -Inf."""
    values = [(c, -oracle.ieee_value(c & 0x7FFF, 5, 10)) for c in range(0x8001, 0xFC00, step)]
    return values + [(0xFC00, oracle.NEG_INF)]


@pytest.mark.parametrize("name", UNSIGNED)
def test_unsigned_negative_magnitude_rounds_the_magnitude(name):
    """``unsigned_negative="magnitude"``: -x gives exactly what +x gives, code and flags, in
    every rounding direction and overflow policy (CUDA's and torch's E8M0 conversions)."""
    ofmt = oracle.oracle_format(name)
    for mode in MODES:
        for policy in ("none", "finite", "satnone"):
            ctx = Context(rounding=mode, saturation=policy, unsigned_negative="magnitude")
            f = converter("binary16", name, ctx)
            for code, x in _negative_binary16(13):
                magnitude = oracle.POS_INF if x is oracle.NEG_INF else -x
                got, flags = f(code)
                assert (got, Flag.ieee(flags)) == oracle.nearest(magnitude, ofmt, mode, policy), (
                    name, mode, policy, hex(code))


@pytest.mark.parametrize("name", UNSIGNED)
@pytest.mark.parametrize("knob", ("clamp", "nan"))
def test_unsigned_negative_clamp_or_nan_whatever_the_policy(name, knob):
    """``clamp`` / ``nan``: a negative value that does not round to zero (its magnitude rounded
    in the mirrored direction is not 0) gives the lowest value (saturated) or NaN (invalid),
    under every overflow policy and rounding; one that rounds to zero is +0; -Inf likewise."""
    ofmt = oracle.oracle_format(name)
    t = oracle.table(ofmt)
    lowest, nan = oracle._lowest_code(t), t.nan_code
    for mode in MODES:
        for policy in ("none", "finite", "satnone"):
            f = converter("binary16", name, Context(rounding=mode, saturation=policy, unsigned_negative=knob))
            for code, x in _negative_binary16(17):
                got, flags = f(code)
                if x is not oracle.NEG_INF and t.has_zero and oracle.nearest(-x, ofmt, MIRROR[mode], policy)[0] == 0:
                    assert got == 0 and not flags & Flag.INVALID, (name, mode, policy, hex(code))
                elif knob == "clamp":
                    assert (got, bool(flags & Flag.SATURATED)) == (lowest, True), (name, mode, policy, hex(code))
                else:
                    assert (got, flags) == (nan, Flag.INVALID), (name, mode, policy, hex(code))


def test_unsigned_negative_default_is_the_overflow_policy():
    """The default (None) keeps P3109 v4.0 §4.7.5's rows, decided by the overflow policy."""
    assert Context().unsigned_negative is None
    assert [convert(0xBC00, "f16", "e8m0", Context(saturation=s))[0] for s in ("finite", "none")] == [0x00, 0xFF]
    assert convert(0xBC00, "f16", "e8m0", Context(saturation="none", rounding="rtz"))[0] == 0x00


def test_cli_unsigned_negative_option():
    """``--unsigned-negative`` sets the knob (``default`` restores the policy's rule, even over a
    profile); a bad choice is one line on stderr and exit 2."""
    e8m0 = oracle.catalog_format("e8m0")
    codes = (0xBC00, 0xC200, 0xFC00)                                  # -1, -3, -Inf
    magnitudes = (Fraction(1), Fraction(3), oracle.POS_INF)
    for argv, want in (
            (["--unsigned-negative", "magnitude"], [oracle.nearest(m, e8m0, "rne", "none")[0] for m in magnitudes]),
            (["--unsigned-negative", "clamp"], [0x00] * 3),
            (["--profile", "cuda", "--unsigned-negative", "default"], [0xFF] * 3)):
        lines = "".join(f"{c:04X}\n" for c in codes)
        rc, out, err = _cli("run", "f16_to_e8m0", "--saturate", "none", *argv, stdin=lines)
        assert (rc, err) == (0, "") and [int(line.split()[1], 16) for line in out.splitlines()] == want, argv
    rc, out, err = _cli("run", "f16_to_e8m0", "--unsigned-negative", "abs", stdin="BC00\n")
    assert rc == 2 and out == "" and err.startswith("refnum: ") and err.count("\n") == 1


def _cli(*argv, stdin=""):
    out, err, saved = io.StringIO(), io.StringIO(), sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main(list(argv))
    finally:
        sys.stdin = saved
    return rc, out.getvalue(), err.getvalue()


def test_overflow_nan_sign_keeps_the_sign_of_the_overflowing_value():
    """``overflow_nan="sign"``: OFP8 E4M3 without saturation, every binary16 code: an overflow
    or an infinity gives the NaN with the value's sign, a NaN operand the canonical NaN 0x7F
    (the oracle's), everything else the oracle's code."""
    e4m3 = oracle.catalog_format("e4m3")
    f = converter("binary16", "e4m3", Context(saturation="none", overflow_nan="sign"))
    for code in range(0x10000):
        x = _binary16(code)
        want = oracle.nearest(x, e4m3, "rne", "none")[0]
        if want == 0x7F and x not in (oracle.NAN, oracle.SNAN) and code >> 15:
            want = 0xFF
        assert f(code)[0] == want, hex(code)


def _binary16(code):
    if code & 0x7C00 == 0x7C00:
        if code & 0x3FF:
            return oracle.NAN if code & 0x200 else oracle.SNAN
        return oracle.NEG_INF if code >> 15 else oracle.POS_INF
    if code == 0x8000:
        return oracle.NEG_ZERO
    return oracle.ieee_value(code, 5, 10)


def test_nan_fill_ones_sets_every_trailing_bit():
    """``nan_fill="ones"``: the NaN of an IEEE-layout format is S.1...1.1...1 (E5M2 0x7F,
    binary16 0x7FFF, bfloat16 0x7FFF); a payload that ``nan="payload"`` keeps is kept."""
    ones = Context(nan_fill="ones")
    assert [convert(0x7E00, "f16", dst, ones)[0] for dst in ("e5m2", "f16", "bf16", "e4m3")] == [
        0x7F, 0x7FFF, 0x7FFF, 0x7F]
    assert convert(0x7E00, "f16", "e5m2", ones.replace(nan="sign", nan_sign=1))[0] == 0x7F
    assert convert(0xFE00, "f16", "e5m2", ones.replace(nan="sign"))[0] == 0xFF
    assert convert(0x7F812345, "f32", "f16", ones.replace(nan="payload")) == (0x7E09, Flag.INVALID)


# -- cuda: every code the H200 converted ---------------------------------------------------------

def test_cuda_reproduces_every_h200_conversion():
    """``--profile cuda`` against every row and column of cuda-conversions.npz:
    65,536 x 4 binary16 conversions, 65,536 x 8 bfloat16 conversions, 256 x 6 decodings."""
    data = _npz("cuda-conversions.npz")
    checked, bad = 0, []
    for key, columns in (("f16_to_fp8", F16_TO_FP8), ("bf16_to_fp8_e8m0", BF16_TO_FP8_E8M0)):
        table = data[key]
        assert table.shape == (65536, len(columns))
        for j, (src, dst, rounding, saturation) in enumerate(columns):
            results = table[:, j].tolist()
            bad += [(key, j, *m) for m in _mismatches(results, src, dst, _column_context("cuda", rounding, saturation))]
            checked += len(results)
    small = data["small_to_16"]
    assert small.shape == (256, len(SMALL_TO_16))
    for j, (src, dst, bits) in enumerate(SMALL_TO_16):
        f = converter(src, dst, Context.profile("cuda"))
        bad += [("small_to_16", j, i, f(i % (1 << bits))[0], int(small[i, j]))
                for i in range(256) if f(i % (1 << bits))[0] != small[i, j]]
        checked += 256
    assert checked == 65536 * 4 + 65536 * 8 + 256 * 6
    assert bad == []


def test_cuda_through_convert_itself():
    """The same columns through :func:`refnum.convert` (decode, then the one projection step; no
    bound converter and no remembered results) on a stratified sample: every code whose low
    trailing bits are a boundary pattern (all zeros, all ones, the half-way bit alone) and a
    seeded 2,000 more."""
    data = _npz("cuda-conversions.npz")
    rng = random.Random(8)
    codes = sorted({c for c in range(0x10000) if c & 0x1F in (0x00, 0x1F, 0x10, 0x0F)}
                   | {rng.randrange(0x10000) for _ in range(2000)})
    for key, columns in (("f16_to_fp8", F16_TO_FP8), ("bf16_to_fp8_e8m0", BF16_TO_FP8_E8M0)):
        table = data[key].tolist()                      # an npz array is read again at each data[key]
        for j, (src, dst, rounding, saturation) in enumerate(columns):
            ctx = _column_context("cuda", rounding, saturation)
            bad = [c for c in codes if convert(c, src, dst, ctx)[0] != table[c][j]]
            assert bad == [], (key, j, [hex(c) for c in bad[:5]])


def test_ocp_profile_differs_from_the_h200_where_the_cuda_profile_says():
    """Without the cuda knobs the ocp profile misses exactly the documented cases: the E5M2
    NaN (0x7E, H200 0x7F), the sign of E4M3's non-saturating overflow, negative values into
    E8M0, and 16-bit NaNs (0x7E00 / 0x7FC0, H200 0x7FFF)."""
    data = _npz("cuda-conversions.npz")
    ocp = Context.profile("ocp", saturation="none")
    e5m2_nan = _mismatches(data["f16_to_fp8"][:, 3].tolist(), "binary16", "e5m2", ocp)
    assert {(got, want) for _, got, want in e5m2_nan} == {(0x7E, 0x7F)} and len(e5m2_nan) == 2046
    e4m3_neg = _mismatches(data["f16_to_fp8"][:, 1].tolist(), "binary16", "e4m3", ocp)
    assert {(got, want) for _, got, want in e4m3_neg} == {(0x7F, 0xFF)}
    assert all(decode(c, "binary16").sign for c, _, _ in e4m3_neg)


def test_cli_runs_the_cuda_profile():
    """One CLI path: ``refnum run --profile cuda f16_to_e4m3 --saturate none`` on a sample of
    binary16 codes (the NOSAT column), and ``bf16_to_e8m0 -r rup --saturate finite``."""
    data = _npz("cuda-conversions.npz")
    for function, key, column, options in (
            ("f16_to_e4m3", "f16_to_fp8", 1, ["--saturate", "none"]),
            ("bf16_to_e8m0", "bf16_to_fp8_e8m0", 6, ["-r", "rup", "--saturate", "finite"])):
        codes = list(range(0, 0x10000, 251)) + [0x7C00, 0xFC00, 0xFE00, 0xDF41, 0x8081]
        rc, out, err = _cli("run", "--profile", "cuda", function, *options, stdin="".join(f"{c:04X}\n" for c in codes))
        assert (rc, err) == (0, "")
        measured = data[key][:, column].tolist()
        assert [int(line.split()[1], 16) for line in out.splitlines()] == [measured[c] for c in codes]


# -- torch: the H200's torch casts and the live one ------------------------------------------------

def _torch_keys(data):
    for key in data.files:
        src, dtype, device = key.split("__")
        yield key, TORCH_SOURCES[src], TORCH_DTYPES[dtype], device


def test_torch_reproduces_every_h200_cpu_cast():
    """``Context.profile("torch")`` against every ``*__cpu`` array of torch-casts.npz (torch 2.11):
    every binary16 and bfloat16 code into the five float8 types, 655,360 casts."""
    data = _npz("torch-casts.npz")
    checked = 0
    for key, src, dst, device in _torch_keys(data):
        if device == "cpu":
            assert _mismatches(data[key].tolist(), src, dst, Context.profile("torch")) == [], key
            checked += 65536
    assert checked == 65536 * 10


def test_torch8_cuda_casts_drop_the_sign_of_a_binary16_nan():
    """TORCH-8: on the GPU, a binary16 NaN with the sign bit set cast to float8_e4m3fn or
    float8_e5m2 gives 0x7F (the CPU, and refnum's torch profile: 0xFF); every other cast of
    torch-casts.npz's ``*__cuda`` arrays, bfloat16 NaNs included, is the profile's."""
    data = _npz("torch-casts.npz")
    for key, src, dst, device in _torch_keys(data):
        if device != "cuda":
            continue
        bad = _mismatches(data[key].tolist(), src, dst, Context.profile("torch"))
        if src == "binary16" and dst in ("e4m3", "e5m2"):
            negative_nans = [c for c in range(0xFC01, 0x10000)]
            assert bad == [(c, 0xFF, 0x7F) for c in negative_nans], key
            assert data[key.replace("__cuda", "__cpu")][0xFE00] == 0xFF
        else:
            assert bad == [], key


def test_torch_profile_against_live_torch():
    """The live torch (CPU): every binary16 and bfloat16 code into each float8 type. torch 2.13
    saturates into float8_e4m3fn where 2.11 did not (pytorch/pytorch#178817), so that target
    takes ``saturation="finite"`` on top when the installed torch saturates."""
    torch = pytest.importorskip("torch")
    import numpy as np

    for src, dtype in (("binary16", torch.float16), ("bfloat16", torch.bfloat16)):
        codes = torch.arange(0, 0x10000, dtype=torch.int32).to(torch.int16).view(dtype)
        for name, dst in TORCH_DTYPES.items():
            got = codes.to(getattr(torch, name)).view(torch.uint8).numpy().astype(np.int64).tolist()
            ctx = Context.profile("torch")
            if dst == "e4m3" and got[0x5F41] == 0x7E:          # 464.25 -> 448: saturating
                ctx = ctx.replace(saturation="finite")
            assert _mismatches(got, src, dst, ctx) == [], (src, name)

