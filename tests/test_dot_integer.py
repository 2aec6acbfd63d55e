"""Integer dot products (refnum.dot.integer) against a brute-force wrap/saturate model, and the
DFP INT16 pipeline of Das et al. 2018 against exact arithmetic and an independent binary32 rounding.

The oracle here is written from the instructions' pseudo-code alone (hardware-accumulators
notes §3): a running Python-int sum ``acc + p_1 + p_2 + ...`` that, at each check point
(after every product, after every G products and after the last, or only after the last),
is reduced modulo 2**width into the two's-complement (or unsigned) range, or clamped into
it.  It shares no code with refnum: no projection step, no catalogue.
"""

import collections
import itertools
import json
import os
import pathlib
import random
import struct
import sys
from fractions import Fraction

import pytest

from refnum import Flag, RefnumError, decode
from refnum.dot.integer import (
    GRANULARITIES, INTEGER_PRESETS, OVERFLOWS, DfpDot, IntegerDot, dfp_dot, integer_dot, run_integer_dot,
)

COUNTS = collections.Counter()
OVERFLOW, SATURATED = 0x04, 0x20
INT32_MIN, INT32_MAX = -2**31, 2**31 - 1


@pytest.fixture(scope="module", autouse=True)
def _report_counts():
    yield
    print("\ninteger dot cases checked:", dict(sorted(COUNTS.items())))


# -- the brute-force oracle -------------------------------------------------------------------

def int_range(name):
    """(lo, hi, bits) of an integer format name: int{N} / uint{N} (two's complement when signed)."""
    signed = name.startswith("int")
    bits = int(name[3 if signed else 4:])
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1, bits) if signed else (0, (1 << bits) - 1, bits)


def reduce_into(v, lo, hi, bits, overflow):
    if lo <= v <= hi:
        return v, False
    if overflow == "saturate":
        return (hi if v > hi else lo), True
    return (v - lo) % (1 << bits) + lo, True


def oracle(a, b, c, acc_format, group, overflow, granularity):
    """``(acc, flags)`` by definition: a running exact sum, reduced at the check points."""
    lo, hi, bits = int_range(acc_format)
    acc, overflowed = c, False
    for j, (x, y) in enumerate(zip(a, b)):
        acc += x * y
        last = j == len(a) - 1
        if (granularity == "product" or (granularity == "group" and ((j + 1) % group == 0 or last))
                or (granularity == "end" and last)):
            acc, o = reduce_into(acc, lo, hi, bits, overflow)
            overflowed |= o
    flags = (OVERFLOW | (SATURATED if overflow == "saturate" else 0)) if overflowed else 0
    return acc, flags


def oracle_of(model, a, b, c):
    return oracle(a, b, c, model.accumulator_format, model.group, model.overflow, model.granularity)


def check(model, a, b, c, tag):
    COUNTS[tag] += 1
    got = integer_dot(model, a, b, c)
    want = oracle_of(model, a, b, c)
    assert got == want, (model.name, a, b, c)
    return got


# -- the presets ---------------------------------------------------------------------------------

def test_preset_table_is_complete_and_cited():
    assert len(INTEGER_PRESETS) >= 20
    for name, p in INTEGER_PRESETS.items():
        assert p.name == name and name == name.lower()
        assert p.overflow in OVERFLOWS and p.granularity in GRANULARITIES
        for f in (*p.operand_formats, p.accumulator_format):
            int_range(f)                                  # an integer catalogue name
        assert any(src in p.description for src in ("Intel", "Arm ARM", "PTX ISA")), name
    # the instructions the issue names
    for name in ("vpdpbusd", "vpdpbusds", "vpdpwssd", "vpdpwssds", "tdpbssd", "arm_sdot", "arm_udot",
                 "imma_m16n8k32_s8s8", "imma_m16n8k32_s8s8_satfinite"):
        assert name in INTEGER_PRESETS
    assert INTEGER_PRESETS["vpdpbusd"].operand_formats == ("uint8", "int8")   # first source unsigned


def _extreme_vector(fmt, k, rng):
    lo, hi, _ = int_range(fmt)
    picks = (lo, hi, lo + 1, hi - 1, 0, 1, -1 if lo < 0 else 2)
    return [rng.choice(picks) if rng.random() < 0.6 else rng.randint(lo, hi) for _ in range(k)]


def _addend(fmt, rng):
    lo, hi, _ = int_range(fmt)
    d = rng.choice((0, 1, 2, 100, 2**15, 2**20, 2**30)) + rng.randrange(8)
    return rng.choice((lo + d, hi - d, rng.randint(lo, hi), 0)) if hi - lo > 4 * d else rng.randint(lo, hi)


@pytest.mark.parametrize("name", sorted(INTEGER_PRESETS))
def test_preset_against_oracle_random_and_extreme(name):
    model = INTEGER_PRESETS[name]
    fa, fb = model.operand_formats
    rng = random.Random(f"integer-dot {name}")
    for k in range(0, 3 * model.group + 2):
        for _ in range(max(3, 90 // (3 * model.group + 2))):
            check(model, _extreme_vector(fa, k, rng), _extreme_vector(fb, k, rng),
                  _addend(model.accumulator_format, rng), "presets random")


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(INTEGER_PRESETS))
def test_preset_long_chains_slow(name):
    """GEMM-length K: chains of up to 16 instructions, accumulators started near the bounds."""
    model = INTEGER_PRESETS[name]
    fa, fb = model.operand_formats
    rng = random.Random(f"integer-dot long {name}")
    for _ in range(400):
        k = rng.randint(1, 16 * model.group)
        check(model, _extreme_vector(fa, k, rng), _extreme_vector(fb, k, rng),
              _addend(model.accumulator_format, rng), "presets long (slow)")


@pytest.mark.parametrize("name", sorted(INTEGER_PRESETS))
def test_preset_all_extremes(name):
    """Every operand at its format's min or max, with the accumulator at its bounds."""
    model = INTEGER_PRESETS[name]
    (la, ha, _), (lb, hb, _), (lc, hc, _) = (int_range(f) for f in (*model.operand_formats,
                                                                        model.accumulator_format))
    g = model.group
    for x, y in itertools.product((la, ha), (lb, hb)):
        for c in (lc, lc + 1, -1 if lc else 1, 0, hc - 1, hc):
            for k in (g, 2 * g, g + 1):
                check(model, [x] * k, [y] * k, c, "presets extremes")


def test_worked_extremes_of_the_pseudo_code():
    # -128 x -128 four times: 65536 fits an int32 sum exactly
    assert integer_dot("vpdpbssd", [-128] * 4, [-128] * 4, 0) == (65536, 0)
    # u8 255 x s8 -128 (VPDPBUSD's most negative product), four of them from INT32 min wraps
    assert integer_dot("vpdpbusd", [255] * 4, [-128] * 4, INT32_MIN) == (INT32_MIN - 130560 + 2**32, OVERFLOW)
    assert integer_dot("vpdpbusds", [255] * 4, [-128] * 4, INT32_MIN) == (INT32_MIN, OVERFLOW | SATURATED)
    # VPDPWSSD's corner (hardware-accumulators notes §3.1): (-32768)**2 * 2 = 2**31 wraps to -2**31
    assert integer_dot("vpdpwssd", [-32768] * 2, [-32768] * 2, 0) == (INT32_MIN, OVERFLOW)
    assert integer_dot("vpdpwssds", [-32768] * 2, [-32768] * 2, 0) == (INT32_MAX, OVERFLOW | SATURATED)
    # UDOT accumulates into an unsigned 32-bit element
    assert integer_dot("arm_udot", [255] * 4, [255] * 4, 2**32 - 1) == (260099, OVERFLOW)


# -- the granularities ----------------------------------------------------------------------------

def _models(operands, acc, group):
    return {(o, g): IntegerDot(f"{o}-{g}", operands, acc, group, o, g) for o in OVERFLOWS for g in GRANULARITIES}


def test_saturation_granularities_give_three_different_answers():
    """C = INT32 max - 60; products +P, +P, +P, -P, -P, -P with P = 127 * 127 and G = 4.

    After every product the sum is clamped three times, then falls by 3P; per group the first
    group (+2P) is clamped once and the short second group falls by 2P; once at the end the
    exact sum c + 0 never left the range."""
    a, b, c = [127, 127, 127, -127, -127, -127], [127] * 6, INT32_MAX - 60
    p = 127 * 127
    results = {key: check(model, a, b, c, "granularity")
               for key, model in _models(("int8", "int8"), "int32", 4).items()}
    assert results["saturate", "product"] == (INT32_MAX - 3 * p, OVERFLOW | SATURATED)
    assert results["saturate", "group"] == (INT32_MAX - 2 * p, OVERFLOW | SATURATED)
    assert results["saturate", "end"] == (c, 0)
    # wrapping is associative: one value, and only the check points that saw it differ
    assert {results["wrap", g] for g in GRANULARITIES} == {(c, OVERFLOW), (c, 0)}


def test_wrap_flags_report_the_check_points():
    model = {g: m for (o, g), m in _models(("int8", "int8"), "int32", 2).items() if o == "wrap"}
    a, b, c = [127, -127], [127, 127], INT32_MAX - 100               # rises past max, then back
    assert integer_dot(model["product"], a, b, c) == (c, OVERFLOW)
    assert integer_dot(model["group"], a, b, c) == (c, 0)
    assert integer_dot(model["end"], a, b, c) == (c, 0)


def test_random_models_any_width_against_oracle():
    rng = random.Random("integer-dot models")
    widths = (2, 3, 4, 5, 8, 12, 16)
    for _ in range(400):
        fa, fb = (f"{rng.choice(('int', 'uint'))}{rng.choice(widths)}" for _ in range(2))
        acc = f"{rng.choice(('int', 'uint'))}{rng.choice((4, 6, 8, 12, 16, 24, 32, 64))}"
        model = IntegerDot("random", (fa, fb), acc, rng.randint(1, 6), rng.choice(OVERFLOWS),
                           rng.choice(GRANULARITIES))
        k = rng.randint(0, 13)
        check(model, _extreme_vector(fa, k, rng), _extreme_vector(fb, k, rng), _addend(acc, rng), "models")


@pytest.mark.parametrize("operands, acc", [(("int4", "int4"), "int8"), (("uint4", "int4"), "uint8")])
def test_exhaustive_tiny_g2(operands, acc):
    """Every pair of operand pairs of 4-bit formats, G = 2, into an 8-bit accumulator, for every
    overflow policy and granularity, with the addend cycling through values near the bounds."""
    (la, ha, _), (lb, hb, _), (lc, hc, _) = (int_range(f) for f in (*operands, acc))
    addends = (lc, lc + 1, lc + 50, -1 if lc else 7, 0, 1, hc - 50, hc - 1, hc)
    for model in _models(operands, acc, 2).values():
        for i, (a0, a1, b0, b1) in enumerate(itertools.product(range(la, ha + 1), range(la, ha + 1),
                                                               range(lb, hb + 1), range(lb, hb + 1))):
            c = addends[i % len(addends)]
            assert integer_dot(model, [a0, a1], [b0, b1], c) == oracle_of(model, [a0, a1], [b0, b1], c)
        COUNTS["exhaustive tiny"] += (ha - la + 1) ** 2 * (hb - lb + 1) ** 2


def test_codes_are_twos_complement_of_the_values():
    """run_integer_dot (codes, as vector lines carry them) = integer_dot on the decoded values."""
    rng = random.Random("integer-dot codes")
    for name, model in INTEGER_PRESETS.items():
        (la, ha, wa), (lb, hb, wb), (lc, hc, wc) = (int_range(f) for f in (*model.operand_formats,
                                                                            model.accumulator_format))
        for _ in range(20):
            k = rng.randint(0, 2 * model.group)
            a, b = [rng.randint(la, ha) for _ in range(k)], [rng.randint(lb, hb) for _ in range(k)]
            c = _addend(model.accumulator_format, rng)
            value, flags = integer_dot(model, a, b, c)
            code = lambda v, w: v % (1 << w)                 # two's complement, by definition
            assert run_integer_dot(name, [code(x, wa) for x in a], [code(y, wb) for y in b],
                                   code(c, wc)) == (code(value, wc), flags)
            COUNTS["codes"] += 1


# -- bad input -----------------------------------------------------------------------------------

@pytest.mark.parametrize("call, error, words", [
    (lambda: integer_dot("vpdpbusd", [256], [1], 0), RefnumError, "a[0] = 256"),
    (lambda: integer_dot("vpdpbusd", [1, 2], [1, -129], 0), RefnumError, "b[1] = -129"),
    (lambda: integer_dot("vpdpbusd", [1], [1], 2**31), RefnumError, "c = 2147483648"),
    (lambda: integer_dot("vpdpbusd", [1.0], [1], 0), TypeError, "a[0] must be an integer"),
    (lambda: integer_dot("vpdpbusd", [1], [True], 0), TypeError, "b[0] must be an integer"),
    (lambda: integer_dot("vpdpbusd", "12", [1, 2], 0), TypeError, "a must be a sequence"),
    (lambda: integer_dot("vpdpbusd", [1], [1, 2], 0), RefnumError, "differ in length"),
    (lambda: integer_dot("vpdpbusx", [1], [1], 0), RefnumError, "unknown integer dot preset 'vpdpbusx'"),
    (lambda: IntegerDot("x", ("e4m3", "int8"), "int32"), RefnumError, "e4m3 is not an integer format"),
    (lambda: IntegerDot("x", ("int8", "int8"), "q1.7"), RefnumError, "q1.7 is not an integer format"),
    (lambda: IntegerDot("x", ("int8", "int8"), "int32", overflow="clamp"), RefnumError, "bad overflow"),
    (lambda: IntegerDot("x", ("int8", "int8"), "int32", granularity="k"), RefnumError, "bad granularity"),
    (lambda: IntegerDot("x", ("int8", "int8"), "int32", group=0), RefnumError, "group must be"),
    (lambda: run_integer_dot("vpdpbusd", [0x100], [1], 0), RefnumError, "a[0]: 256 is not a code of uint8"),
    (lambda: run_integer_dot("vpdpbusd", [1], [1], -1), RefnumError, "c: -1 is not a code of int32"),
    (lambda: dfp_dot([1], 0, [1], 0, chunk=0), RefnumError, "chunk must be"),
    (lambda: dfp_dot([1], 0.5, [1], 0, chunk=1), TypeError, "ea must be an integer"),
    (lambda: dfp_dot([1, 2], 0, [1], 0, chunk=1), RefnumError, "differ in length"),
    (lambda: dfp_dot([2**15], 0, [1], 0, chunk=1), RefnumError, "a[0] = 32768"),
])
def test_bad_input_names_the_argument(call, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        call()


# -- the DFP pipeline (Das et al. 2018) ------------------------------------------------------------

def f32(x):
    """x (a Python float or int) rounded to binary32, ties to even: the C cast inside struct."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def dfp_oracle(a, ea, b, eb, chunk, saturate_pairs):
    """(binary32 bits, overflowed chunks): pairs of INT16 products into an INT32 running sum
    (wrapped, or saturated after each pair), each chunk to binary32 and scaled by
    2**(ea + eb), added in binary32.  Python floats hold every intermediate exactly (a
    binary32 plus a binary32 is rounded once by f32: binary64 has 53 >= 2 * 24 + 2 bits)."""
    acc, overflowed = 0.0, 0
    for i in range(0, len(a), chunk):
        s, bad = 0, False
        pa, pb = a[i:i + chunk], b[i:i + chunk]
        for j in range(0, len(pa), 2):
            s += sum(x * y for x, y in zip(pa[j:j + 2], pb[j:j + 2]))
            if not INT32_MIN <= s <= INT32_MAX:
                bad = True
                s = max(INT32_MIN, min(INT32_MAX, s)) if saturate_pairs else (s + 2**31) % 2**32 - 2**31
        overflowed += bad
        acc = f32(acc + f32(s) * 2.0 ** (ea + eb))
    return f32_bits(acc), overflowed


def dfp_tensor(rng, k, headroom=0):
    """INT16 mantissas of a DFP tensor whose abs-max lies in [2**(14 - headroom), 2**(15 - headroom))."""
    top = 1 << (15 - headroom)
    xs = [rng.randint(-top + 1, top - 1) for _ in range(k)]
    xs[rng.randrange(k)] = rng.choice((1, -1)) * rng.randint(top // 2, top - 1)
    return xs


@pytest.mark.parametrize("model", ["vpdpwssd", "vpdpwssds", "vp4dpwssd", "vp4dpwssds"])
def test_dfp_against_independent_binary32(model):
    rng = random.Random(f"dfp {model}")
    saturate = model.endswith("s")
    for _ in range(60):
        k = rng.randint(1, 96)
        a, b = dfp_tensor(rng, k, rng.choice((0, 0, 1, 2))), dfp_tensor(rng, k, rng.choice((0, 1)))
        if rng.random() < 0.3:                                    # all same sign: INT32 overflows
            a, b = [abs(x) for x in a], [abs(x) for x in b]
        ea, eb = rng.randint(-20, 4), rng.randint(-20, 4)
        chunk = rng.choice((1, 2, 3, 4, 8, 16, 64, 1000))
        r = dfp_dot(a, ea, b, eb, chunk, model=model)
        COUNTS["dfp"] += 1
        assert (r.code, r.overflowed) == dfp_oracle(a, ea, b, eb, chunk, saturate)
        assert r.chunks == -(-k // chunk)
        assert r.flags & ~Flag.INEXACT == 0


def test_dfp_is_exact_when_nothing_overflows_or_rounds():
    """Small mantissas: every chunk and every partial sum is a binary32 integer, so the result
    is the exact dot product times 2**(ea + eb) (Fraction arithmetic)."""
    rng = random.Random("dfp exact")
    for _ in range(100):
        k = rng.randint(1, 64)
        a = [rng.randint(-2**9, 2**9) for _ in range(k)]
        b = [rng.randint(-2**9, 2**9) for _ in range(k)]
        ea, eb = rng.randint(-30, 10), rng.randint(-30, 10)
        r = dfp_dot(a, ea, b, eb, chunk=rng.randint(1, 16))
        exact = sum(Fraction(x * y) for x, y in zip(a, b)) * Fraction(2) ** (ea + eb)
        assert decode(r.code, "binary32").to_fraction() == exact
        assert (r.flags, r.overflowed) == (0, 0)


def test_dfp_overflow_needs_two_full_scale_products():
    """|mantissa| < 2**15: one product stays below 2**30, so chunks of 1 never overflow INT32;
    two products of (-2**15)**2 reach 2**31 and wrap (hardware-accumulators notes §1.4)."""
    a = b = [-2**15] * 4
    assert dfp_dot(a, 0, b, 0, chunk=1).overflowed == 0
    r = dfp_dot(a, 0, b, 0, chunk=2)
    assert r.overflowed == 2 and decode(r.code, "binary32").to_fraction() == -2**32
    r = dfp_dot(a, 0, b, 0, chunk=2, model="vpdpwssds")
    assert r.overflowed == 2 and decode(r.code, "binary32").to_fraction() == 2**32  # 2**31 - 1 rounds up
    assert isinstance(r, DfpDot)


# -- NVIDIA IMMA on hardware ----------------------------------------------------------------------

IMMA_RECORD = pathlib.Path(os.environ.get("REFNUM_SHARED_DATA", "/work/shared/data")) / "imma" / "imma.jsonl"


def test_imma_presets_reproduce_the_gpu_record():
    """Every output of a recorded run of tests/device/imma_probe.py (one JSON line per mma:
    preset, A rows, B columns, C, D) is reproduced by its preset; skipped without a record."""
    if not IMMA_RECORD.exists():
        pytest.skip(f"no IMMA record at {IMMA_RECORD} (run tests/device/imma_probe.py on a GPU)")
    mismatches = []
    for line in IMMA_RECORD.read_text().splitlines():
        case = json.loads(line)
        for m, n in itertools.product(range(16), range(8)):
            COUNTS["imma record"] += 1
            got = integer_dot(case["preset"], case["a"][m], case["b"][n], case["c"][m][n])[0]
            if got != case["d"][m][n]:
                mismatches.append((case["preset"], m, n, got, case["d"][m][n]))
    assert not mismatches, mismatches[:10]


def test_imma_probe_inputs_separate_the_granularities(monkeypatch):
    """tests/device/imma_probe.py records what a GPU returns; its inputs must be able to tell
    every candidate granularity from the preset's, or a hardware run would prove nothing."""
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).parent / "device"))
    import imma_probe

    preset = INTEGER_PRESETS["imma_m16n8k32_s8s8_satfinite"]
    rng = random.Random(1)
    cases = [dict(a=imma_probe.vectors("int8", 32, 16, rng), b=imma_probe.vectors("int8", 32, 8, rng),
                  c=imma_probe.addends(rng)) for _ in range(2)]
    for case in cases:                                  # what hardware following the preset returns
        case["d"] = [[integer_dot(preset, case["a"][m], case["b"][n], case["c"][m][n])[0] for n in range(8)]
                     for m in range(16)]
    agree = imma_probe.agreement(preset, cases)
    assert agree.pop("group of 32") == agree.pop("end") == "256/256"
    assert all(v != "256/256" for v in agree.values()), agree
    assert imma_probe.pack([[1, -1, 2, -2]], 8) == [[0xFE02FF01 - 2**32]]
    assert imma_probe.pack([[1, -1] + [0] * 6], 4) == [[0xF1]]
