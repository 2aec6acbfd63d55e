"""refnum against SoftFloat 3e (softfloatpy, RISCV specialization): bits and flags.

softfloatpy binds Berkeley SoftFloat 3e built with the RISCV specialization
(canonical NaN 7E00 / 7FC00000 / 7FF8000000000000, saturating invalid integer
results; softfloat-testfloat notes §1.6, §4).  refnum runs under
``Context.profile("riscv", rounding=..., exact=..., tininess=...)`` and every
result is compared as (code, whole flag byte): refnum's refnum-only bits must
stay clear on these IEEE conversions.

Covered: every binary16 code (exhaustively) into f32, f64, f128 and the four
integer types; TestFloat-like boundary codes plus seeded random codes of
binary32, binary64 and binary128 into every narrower float and the integers;
i32/ui32/i64/ui64 into f16/f32/f64/f128 (edges, walking bits, exact ties for
each precision, random); f32 <-> bf16 (bf16 -> f32 exhaustively).  Modes: the
five IEEE modes softfloatpy has (near_even, minMag, min, max, near_maxMag);
float -> integer in both ``exact`` settings; tininess after rounding (and
before, for the narrowing conversions).

softfloatpy has no round-to-odd (its library is built without
SOFTFLOAT_ROUND_ODD; mode 6 acts as minMag without the jam), so ``rto`` is not
checked here: the TestFloat ``odd`` vectors in tests/data/testfloat cover it.
The default run covers a subset (a stride through the binary16 codes for the
integer targets); ``@pytest.mark.slow`` runs everything exhaustively.
"""

from __future__ import annotations

import collections
import random

import pytest

import strategies as S

sf = pytest.importorskip("softfloatpy", reason="softfloatpy (SoftFloat 3e binding) is the oracle; "
                         "pip install softfloatpy")

from refnum import Context, convert  # noqa: E402

MODES = {"rne": sf.RoundingMode.NEAR_EVEN, "rtz": sf.RoundingMode.MIN_MAG, "rdn": sf.RoundingMode.MIN,
         "rup": sf.RoundingMode.MAX, "rna": sf.RoundingMode.NEAR_MAX_MAG}
TININESS = {"after": sf.TininessMode.AFTER_ROUNDING, "before": sf.TininessMode.BEFORE_ROUNDING}
TYPES = {"f16": sf.Float16, "bf16": sf.BFloat16, "f32": sf.Float32, "f64": sf.Float64, "f128": sf.Float128,
         "i32": sf.Int32, "ui32": sf.UInt32, "i64": sf.Int64, "ui64": sf.UInt64}
WIDTH = {"f16": 16, "bf16": 16, "f32": 32, "f64": 64, "f128": 128, "i32": 32, "ui32": 32, "i64": 64, "ui64": 64}
LAYOUT = {"f16": S.SOURCES["binary16"], "bf16": S.SOURCES["bfloat16"], "f32": S.SOURCES["binary32"],
          "f64": S.SOURCES["binary64"], "f128": S.SOURCES["binary128"]}
# (p, emin, emax) of the float formats, for the exponent windows of the boundary codes
PARAMS = {"f16": (11, -14, 15), "bf16": (8, -126, 127), "f32": (24, -126, 127), "f64": (53, -1022, 1023),
          "f128": (113, -16382, 16383)}
INTS = ("i32", "ui32", "i64", "ui64")
FLOATS = ("f16", "f32", "f64", "f128")
COUNTS = collections.Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\nsoftfloat cross-check cases:", dict(sorted(COUNTS.items())), "total", sum(COUNTS.values()))


def _function(src, dst):
    return getattr(sf, f"{src}_to_{dst}")


def softfloat(src, dst, code, mode, exact=False, tininess="after"):
    """SoftFloat's (result code, flags) for one conversion."""
    sf.set_rounding_mode(MODES[mode])
    sf.set_tininess_mode(TININESS[tininess])
    sf.set_exception_flags(0)
    x = TYPES[src].from_bytes(code.to_bytes(WIDTH[src] // 8, "big"))
    fn = _function(src, dst)
    z = fn(x, MODES[mode], exact) if dst in INTS and src not in INTS else fn(x)
    return int.from_bytes(z.to_bytes(), "big"), sf.get_exception_flags()


def check(src, dst, codes, mode, exact=False, tininess="after"):
    ctx = Context.profile("riscv", rounding=mode, exact=exact, tininess=tininess)
    bad = []
    for code in codes:
        want = softfloat(src, dst, code, mode, exact, tininess)
        got = convert(code, src, dst, ctx)
        if got != want:
            bad.append(f"{src}_to_{dst} {mode} exact={exact} tininess={tininess} {code:X}: "
                       f"refnum {got[0]:X} {got[1]:02X}, SoftFloat {want[0]:X} {want[1]:02X}")
    COUNTS[f"{src}_to_{dst}"] += len(codes)
    assert not bad, f"{len(bad)} of {len(codes)} differ; first: " + "\n".join(bad[:10])


def float_codes(src, n_random, seed):
    """TestFloat-like boundary codes of ``src`` for every narrower target and the integers, plus random."""
    rng = random.Random(seed)
    layout = LAYOUT[src]
    targets = [PARAMS[t] for t in PARAMS if t != src]
    exps = S.exponent_windows(layout, targets, int_widths=(32, 64))
    codes = set(S.boundary_code_list(layout, exps, rng, narrow_ms=[p - 1 for p, _, _ in targets]))
    codes |= {rng.getrandbits(layout.k) for _ in range(n_random)}
    return sorted(codes)


F16_ALL = range(1 << 16)
CODES = {"f32": float_codes("f32", 1500, 32), "f64": float_codes("f64", 1500, 64),
         "f128": float_codes("f128", 800, 128)}
DEFAULT_SAMPLE = 1500
SAMPLE = {src: codes[::max(1, len(codes) // DEFAULT_SAMPLE)] for src, codes in CODES.items()}


def int_codes(name):
    return S.int_code_list(WIDTH[name], random.Random(WIDTH[name] + len(name)), precisions=(11, 24, 53),
                           randoms=300)


# -- binary16, every code ----------------------------------------------------------------------

@pytest.mark.parametrize("dst", ["f32", "f64", "f128"])
def test_f16_widening_all_codes(dst):
    check("f16", dst, F16_ALL, "rne")


@pytest.mark.parametrize("mode", MODES)
def test_f16_to_i32_all_codes(mode):
    check("f16", "i32", F16_ALL, mode, exact=True)


@pytest.mark.parametrize("dst", INTS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exact", [False, True])
def test_f16_to_int_stride(dst, mode, exact):
    """A stride through all binary16 codes (all of them under -m slow)."""
    check("f16", dst, range(0, 1 << 16, 13), mode, exact)


@pytest.mark.slow
@pytest.mark.parametrize("dst", INTS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exact", [False, True])
def test_f16_to_int_all_codes_long(dst, mode, exact):
    check("f16", dst, F16_ALL, mode, exact)


@pytest.mark.slow
@pytest.mark.parametrize("dst", ["f32", "f64", "f128"])
@pytest.mark.parametrize("mode", MODES)
def test_f16_widening_all_codes_every_mode_long(dst, mode):
    check("f16", dst, F16_ALL, mode)


# -- binary32 / binary64 / binary128 boundary and random codes ------------------------------------
# The default run takes an even stride of about 1500 codes per source; -m slow takes them all.

NARROWING = [(s, d) for s in ("f32", "f64", "f128") for d in FLOATS if d != s]


@pytest.mark.parametrize("src,dst", NARROWING)
@pytest.mark.parametrize("mode", MODES)
def test_float_to_float(src, dst, mode):
    check(src, dst, SAMPLE[src], mode)


@pytest.mark.parametrize("src,dst", [("f32", "f16"), ("f64", "f16"), ("f64", "f32"), ("f128", "f64")])
@pytest.mark.parametrize("mode", MODES)
def test_narrowing_tininess_before(src, dst, mode):
    check(src, dst, SAMPLE[src], mode, tininess="before")


@pytest.mark.parametrize("src", ["f32", "f64", "f128"])
@pytest.mark.parametrize("dst", INTS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exact", [False, True])
def test_float_to_int(src, dst, mode, exact):
    check(src, dst, SAMPLE[src], mode, exact)


@pytest.mark.slow
@pytest.mark.parametrize("src,dst", NARROWING)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("tininess", TININESS)
def test_float_to_float_long(src, dst, mode, tininess):
    check(src, dst, CODES[src], mode, tininess=tininess)


@pytest.mark.slow
@pytest.mark.parametrize("src", ["f32", "f64", "f128"])
@pytest.mark.parametrize("dst", INTS)
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("exact", [False, True])
def test_float_to_int_long(src, dst, mode, exact):
    check(src, dst, CODES[src], mode, exact)


# -- integers into floats --------------------------------------------------------------------------

@pytest.mark.parametrize("src", INTS)
@pytest.mark.parametrize("dst", FLOATS)
@pytest.mark.parametrize("mode", MODES)
def test_int_to_float(src, dst, mode):
    check(src, dst, int_codes(src), mode)


# -- bfloat16 ------------------------------------------------------------------------------------

def test_bf16_to_f32_all_codes():
    check("bf16", "f32", F16_ALL, "rne")


@pytest.mark.parametrize("mode", MODES)
def test_f32_to_bf16(mode):
    rng = random.Random(1632)
    layout = LAYOUT["f32"]
    exps = S.exponent_windows(layout, [PARAMS["bf16"]])
    codes = sorted(set(SAMPLE["f32"]) | set(S.boundary_code_list(layout, exps, rng, narrow_ms=[7], randoms=4)))
    check("f32", "bf16", codes, mode)
