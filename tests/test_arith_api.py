"""refnum.arith's interface: the bulk path against the general one, bad input, knobs and
sign-bit operations, operand generation for operations.

Expectations come from definitions (Fraction arithmetic, integer square roots, the
IEEE 754 clause quoted in each test) or from a second code path of refnum that
shares nothing with the first beyond the projection step (the bulk evaluator's
integer kernels against the general path through exact values).
"""

from __future__ import annotations

import itertools

import math
import random
import re
from fractions import Fraction

import pytest

from refnum import Context, RefnumError, Value, arith, convert, decode, exact, from_value, lookup, project
from refnum.catalog import short_name
from refnum.values import exact_decimal, parse
from refnum.vectors.cases import operand_patterns, operand_tuples

SMALL = ("e4m3", "e5m2", "e4m3fnuz", "e2m1", "e3m2", "p3109_k8p3se", "p3109_k8p4uf", "e8m0", "i8", "q3.4")


# -- the bulk evaluator is the general path -------------------------------------------------

@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
@pytest.mark.parametrize("fmt", SMALL + ("f16", "bf16", "f32"))
def test_bulk_evaluator_equals_the_general_path(op, fmt):
    """The kernels on integer parts (evaluator's fast path) give what the path through
    exact values, specials and the per-operation evaluate function gives."""
    f = lookup(fmt)
    rng = random.Random(f"{op}{fmt}")
    cases = [(rng.randrange(f.ncodes), rng.randrange(f.ncodes)) for _ in range(800)]
    for ctx in (Context(), Context.profile("x86", rounding="rdn"), Context(daz=True, ftz=True, rounding="rto")):
        fast = arith.evaluator(op, (f, f), None, ctx)
        general = arith.OPERATIONS[op].evaluate
        for a, b in cases:
            values = [decode(a, f, ctx), decode(b, f, ctx)]
            assert fast(a, b, 0) == general(values, f, ctx, 0), (op, fmt, hex(a), hex(b), ctx.name)


# -- bad input -----------------------------------------------------------------------------------

def test_bad_calls_are_one_line_errors():
    with pytest.raises(RefnumError, match="add takes 2 operands, got 1"):
        arith.compute("add", (1,), "f16")
    with pytest.raises(RefnumError, match="out of range for binary16"):
        arith.compute("add", (1, 1 << 16), "f16")
    with pytest.raises(RefnumError, match="unknown operation 'fma'"):
        arith.compute("fma", (1, 1, 1), "f16")
    with pytest.raises(RefnumError, match="3 operand formats expected, got 2"):
        arith.compute("mulAdd", (1, 1, 1), ("bf16", "f32"))
    with pytest.raises(RefnumError, match="unknown format"):
        arith.compute("add", (1, 1), "e4m4x")


SR4 = Context(rounding="sr-a", sr_bits=4)


@pytest.mark.parametrize("rand", [16, -1, 2**100])
@pytest.mark.parametrize("call", [
    lambda rand: arith.add(0x3C00, 1, "f16", ctx=SR4, rand=rand),
    lambda rand: arith.compute("mulAdd", (0x3C00, 0x3C00, 1), "f16", SR4, rand=rand),
    lambda rand: arith.unrounded("sqrt", (0x4000,), "f16", SR4, rand=rand),
    lambda rand: convert(0x3C01, "f16", "e4m3", SR4, rand),
    lambda rand: from_value("0.1", "e4m3", SR4, rand),
    lambda rand: project(exact("0.1"), lookup("e4m3"), SR4, rand),
], ids=["add", "compute", "unrounded", "convert", "from_value", "project"])
def test_the_random_integer_of_stochastic_rounding_is_range_checked_everywhere(call, rand):
    """P3109 v4.0 §4.7.4: R has sr_bits bits, 0 <= R < 2**N.  1 + 2**-24 (smallest
    subnormal) in binary16: every R in 0..15 gives 0x3C00; R = 16 once gave 0x3C01."""
    assert {arith.add(0x3C00, 1, "f16", ctx=SR4, rand=r)[0] for r in range(16)} == {0x3C00}
    with pytest.raises(RefnumError, match=f"random value {rand} is out of range for 4 random bits"):
        call(rand)


@pytest.mark.parametrize("call, argument", [
    (lambda: convert(0, None, "e4m3"), "src must be a format"),
    (lambda: convert(0x3C00, "f16", "e4m3", ctx="riscv"), "ctx must be a refnum.Context"),
    (lambda: decode(0, 16), "fmt must be a format"),
    (lambda: lookup(None), "name must be a format name"),
    (lambda: convert("3C00", "f16", "e4m3"), "code must be an integer code, not str '3C00'"),
    (lambda: convert(True, "f16", "e4m3"), "code must be an integer code, not bool"),
    (lambda: convert(1, "f16", "e4m3", rand=True), "rand must be an integer, not bool"),
    (lambda: from_value("1", "e4m3", ctx=None), "ctx must be a refnum.Context"),
    (lambda: exact(None), "x must be an int, Fraction"),
    (lambda: exact(True), "x must be a number"),
    (lambda: arith.add(0x3C00, "1", "f16"), "operand 2 must be an integer code"),
    (lambda: arith.add(0x3C00, 1, 16), "fmt must be a format"),
    (lambda: arith.add(0x3C00, 1, {}), "fmt must be a format"),
    (lambda: arith.add(0x3C00, 1, "f16", out=3), "out must be a format"),
    (lambda: arith.add(0x3C00, 1, "f16", ctx="x86"), "ctx must be a refnum.Context"),
    (lambda: arith.compute(["add"], (1, 2), "f16"), "name must be an operation name"),
    (lambda: arith.compute("add", 5, "f16"), "codes must be a sequence"),
    (lambda: arith.unrounded("add", (1, 2), "f16", "rne"), "ctx must be a refnum.Context"),
    (lambda: arith.evaluator("add", ("f16", "f16"), None, "rne"), "ctx must be a refnum.Context"),
    (lambda: arith.operation(None), "name must be an operation name"),
    (lambda: project(None, lookup("e4m3")), "value must be a refnum.Value"),
    (lambda: project(exact(1), lookup("e4m3"), 5), "ctx must be a refnum.Context"),
    (lambda: project(exact(1), 8), "fmt must be a format"),
    (lambda: Value.from_fraction(None), "q must be a rational number"),
    (lambda: parse(None), "text must be a string"),
    (lambda: exact_decimal("1"), "q must be a nonnegative int or Fraction"),
    (lambda: short_name("f16"), "fmt must be a format"),
], ids=lambda x: x if isinstance(x, str) else "")
def test_wrong_argument_types_name_the_argument(call, argument):
    """A wrong type is refnum's error, also a TypeError, naming the argument: never an
    AttributeError or an unrelated TypeError from inside the core."""
    with pytest.raises(RefnumError, match=re.escape(argument)) as caught:
        call()
    assert isinstance(caught.value, TypeError) or "out of range" in str(caught.value)


def test_integer_types_with_index_are_codes():
    """NumPy-style integers (anything with __index__, bools excepted) are codes."""
    class Code:
        def __index__(self):
            return 0x3C00
    assert convert(Code(), "f16", "e4m3") == convert(0x3C00, "f16", "e4m3")
    assert arith.add(Code(), Code(), "f16") == arith.add(0x3C00, 0x3C00, "f16")


# -- square roots into formats of every kind (the sticky argument) --------------------------

def _floor_sqrt(q):
    """floor(sqrt(q)) of a non-negative Fraction."""
    return math.isqrt(q.numerator // q.denominator) if q >= 1 else 0


def test_sqrt_into_integers_truncates_like_isqrt():
    """sqrt(binary16 x) rounded toward zero into uint16 is isqrt(floor(x)) (IEEE 754 §5.8)."""
    ctx = Context(rounding="rtz")
    for code in range(0x0000, 0x7C00, 7):
        q = decode(code, "f16").to_fraction()
        got, _ = arith.compute("sqrt", (code,), "f16", ctx, out="u16")
        assert got == _floor_sqrt(q), hex(code)


def test_sqrt_into_fixed_point_rounds_to_nearest():
    """sqrt(x) to nearest of the grid 2**-4 (q8.4): n with (n - 1/2)**2 <= 256 x < (n + 1/2)**2, ties
    impossible for an irrational root and decided by evenness for rational ones."""
    for code in range(0x3000, 0x5800, 5):
        x = decode(code, "f16").to_fraction() * 256            # sqrt(x) * 16 = sqrt(256 x)
        n = _floor_sqrt(x)
        if (Fraction(2 * n + 1, 2)) ** 2 < x or ((Fraction(2 * n + 1, 2)) ** 2 == x and n % 2):
            n += 1
        got, _ = arith.compute("sqrt", (code,), "f16", out="q9.4")
        assert lookup("q9.4").integer_of(got) == n, hex(code)


def test_sqrt_into_a_power_of_two_scaled_format_and_refusal_of_other_scales():
    # e4m3@1/4 holds v/4 at code c: sqrt(4) = 2 is code of 8 in e4m3 (0x50)
    four = 0x4400
    assert arith.compute("sqrt", (four,), "f16", out="e4m3@1/4") == (0x50, 0)
    with pytest.raises(RefnumError, match="power-of-two scales"):
        arith.compute("sqrt", (four,), "f16", out="e4m3@1/3")


# -- knobs ------------------------------------------------------------------------------------

def test_rto_overflow_knob():
    """IEEE 754 §7.4 sends an overflow that rounds inward to the largest finite value (SoftFloat's
    odd mode does the same); Arm's BFDotAdd round-to-odd overflows to Inf instead."""
    big = (0x7BFF, 0x7BFF)                                     # 65504 + 65504
    assert arith.compute("add", big, "f16", Context(rounding="rto")) == (0x7BFF, 0x05)
    assert arith.compute("add", big, "f16", Context(rounding="rto", rto_overflow="inf")) == (0x7C00, 0x05)


def test_div_by_zero_knob():
    """IEEE 754 §7.3: x / 0 is a signed infinity with divide-by-zero; P3109 v4.0: NaN."""
    assert arith.div(0xBC00, 0x0000, "f16") == (0xFC00, 0x08)
    code, flags = arith.div(0xBC00, 0x0000, "f16", ctx=Context(div_by_zero="nan"))
    assert lookup("f16").is_nan_code(code) and flags == 0x08
    assert arith.div(0x7C00, 0x0000, "f16") == (0x7C00, 0)            # Inf / 0 is exact
    assert arith.div(0x0000, 0x0000, "f16")[1] == 0x10                # 0 / 0 is invalid


def test_inf_zero_nan_knob():
    """fma(Inf, 0, qNaN): SoftFloat and RISC-V signal invalid and return the default NaN; 'quiet'
    (x86 hardware, Intel SDM Vol. 1 Table 14-17) returns the NaN addend without a flag (IEEE
    754-2019 §7.2(c) allows both)."""
    args = (0x7C00, 0x0000, 0x7E01)
    assert arith.mulAdd(*args, "f16", ctx=Context.profile("riscv")) == (0x7E00, 0x10)
    assert arith.mulAdd(*args, "f16", ctx=Context.profile("softfloat_8086_sse")) == (0xFE00, 0x10)
    assert arith.mulAdd(*args, "f16", ctx=Context.profile("x86")) == (0x7E01, 0)
    assert arith.mulAdd(*args, "f16", ctx=Context.profile("x86", inf_zero_nan="invalid")) == (0xFE00, 0x10)


def _arm_fmuladd_nans(x, y, z):
    """Arm ARM FPMulAdd(addend=z, op1=x, op2=y) with FPCR.DN = 0, binary16 codes, NaN cases only:
    FPProcessNaNs3(typeA, type1, type2) returns the first signalling NaN of (z, x, y), quieted,
    with InvalidOp, else the first quiet one; then a quiet addend with Inf x 0 gives
    FPDefaultNaN (0x7E00) with InvalidOp."""
    def is_nan(c):
        return c & 0x7C00 == 0x7C00 and c & 0x3FF

    def is_snan(c):
        return is_nan(c) and not c & 0x200
    signalling = [c for c in (z, x, y) if is_snan(c)]
    if signalling:
        return signalling[0] | 0x200, 0x10
    if {x & 0x7FFF, y & 0x7FFF} == {0x7C00, 0}:
        return 0x7E00, 0x10
    return next(c for c in (z, x, y) if is_nan(c)), 0


def test_fma_nan_order_knob_is_arm_fmuladd():
    """``fma_nan_order="addend"`` with payloads kept and signalling NaNs first is Arm's FPMulAdd
    with FPCR.DN = 0, on every triple of NaNs, infinities, zeros and ones; the default
    (product first) differs exactly where a quiet factor meets a quiet addend."""
    arm_dn0 = Context.profile("arm", nan="payload", nan_priority="signaling", fma_nan_order="addend")
    vfpv2 = Context.profile("arm", nan="payload", nan_priority="signaling")
    codes = (0x7E0A, 0xFE0B, 0x7C0A, 0xFC0B, 0x3C00, 0x7C00, 0x0000, 0x8000)
    nan = {0x7E0A, 0xFE0B, 0x7C0A, 0xFC0B}
    triples = [t for t in itertools.product(codes, repeat=3) if nan & set(t)]
    differ = 0
    for x, y, z in triples:
        assert arith.mulAdd(x, y, z, "f16", ctx=arm_dn0) == _arm_fmuladd_nans(x, y, z), (x, y, z)
        differ += arith.mulAdd(x, y, z, "f16", ctx=vfpv2) != _arm_fmuladd_nans(x, y, z)
    quiet_pairs = sum(1 for x, y, z in triples if z in (0x7E0A, 0xFE0B) and {x, y} & {0x7E0A, 0xFE0B}
                      and not {x, y} & {0x7C0A, 0xFC0B} and (x if x in nan else y) != z)
    assert differ == quiet_pairs > 0


def test_nan_priority_knob():
    """With payloads kept, x86 propagates the first NaN operand; Arm VFP the first signalling one."""
    q, s = 0x7E05, 0x7C03                                      # quiet then signalling
    assert arith.add(q, s, "f16", ctx=Context.profile("x86")) == (0x7E05, 0x10)
    assert arith.add(q, s, "f16", ctx=Context.profile("x86", nan_priority="signaling")) == (0x7E03, 0x10)


def test_bf16_dot_product_profiles_flush():
    """avx512_bf16 reads a subnormal binary32 addend as zero (DAZ) and flushes a tiny result (FTZ)."""
    ctx = Context.profile("avx512_bf16")
    # bf16 1 * 1 + the smallest binary32 subnormal -> 1 exactly (DAZ), no inexact
    assert arith.mulAdd(0x3F80, 0x3F80, 0x00000001, ("bf16", "bf16", "f32"), ctx=ctx, out="f32") == (0x3F800000, 0)
    # 2**-68 * 2**-68 = 2**-136 = 2**13 * 2**-149 is a binary32 subnormal (code 0x2000, exact);
    # FTZ flushes it to +0, signalling underflow and inexact
    tiny = (127 - 68) << 7                                    # bf16: biased exponent 59, significand 0
    assert decode(tiny, "bf16").to_fraction() == Fraction(1, 2 ** 68)
    assert arith.mul(tiny, tiny, "bf16", ctx=ctx, out="f32") == (0x00000000, 0x03)
    assert arith.mul(tiny, tiny, "bf16", ctx=Context.profile("x86"), out="f32") == (1 << 13, 0)


# -- sign-bit operations (IEEE 754-2019 §5.5.1) ---------------------------------------------------

def test_sign_bit_operations_flip_bits_on_symmetric_formats_and_touch_nans():
    assert arith.compute("neg", (0x7E01,), "f16") == (0xFE01, 0)       # sNaN: no flag, payload kept
    assert arith.compute("abs", (0xFC01,), "f16") == (0x7C01, 0)
    assert arith.compute("copySign", (0x3C00, 0x8000), "f16") == (0xBC00, 0)


def test_sign_bit_operations_on_fnuz_keep_the_nan_in_the_negative_zero_slot():
    f = lookup("e4m3fnuz")
    assert arith.compute("neg", (0x00,), f) == (0x00, 0)               # -0 does not exist: +0
    assert arith.compute("neg", (0x80,), f) == (0x80, 0)               # NaN stays NaN
    for code in range(1, 0x80):
        assert arith.compute("neg", (code,), f) == (code | 0x80, 0)
        assert arith.compute("abs", (code | 0x80,), f) == (code, 0)


# -- totalOrder (IEEE 754-2019 §5.10) is a total order consistent with < ----------------------

@pytest.mark.parametrize("fmt", ["e5m2", "e4m3fnuz", "e3m2", "p3109_k8p3se"])
def test_total_order_is_total_and_agrees_with_lt(fmt):
    f = lookup(fmt)
    codes = range(f.ncodes)
    le = {(a, b): arith.compute("totalOrder", (a, b), f)[0] for a in codes for b in codes}
    for a in codes:
        for b in codes:
            assert le[a, b] or le[b, a]                                   # total
            if le[a, b] and le[b, a]:
                assert a == b or decode(a, f).key() == decode(b, f).key() and not decode(a, f).is_zero
            lt, flags = arith.compute("lt_quiet", (a, b), f)
            if lt:
                assert le[a, b] and not le[b, a]


# -- operand tuples for gen ---------------------------------------------------------------------

def test_operand_tuples_enumerate_small_formats_in_order():
    pairs = operand_tuples(["e4m3", "e4m3"])
    assert pairs == [(a, b) for a in range(256) for b in range(256)]
    sample = operand_tuples(["e4m3", "e4m3"], count=100, seed=3)
    assert len(sample) == 100 and sample == sorted(set(sample)) and set(sample) <= set(pairs)
    assert operand_tuples(["e2m1"] * 3) == [(a, b, c) for a in range(16) for b in range(16) for c in range(16)]


def test_operand_tuples_follow_testfloat_for_wide_formats():
    pats = operand_patterns("f16")
    # TestFloat's f16 QIn exponents x P1 significands, both signs: 11 x 4 x 2 (softfloat-testfloat §2.4)
    assert len(pats) == 88
    assert {c & 0x7C00 for c in pats} == {0x0000, 0x0400, 0x1000, 0x3400, 0x3800, 0x3C00, 0x4000, 0x4400,
                                          0x6800, 0x7800, 0x7C00}
    f32 = {c & 0x7F800000 for c in operand_patterns("f32")}
    assert f32 == {0x00000000, 0x00800000, 0x33800000, 0x3E800000, 0x3F000000, 0x3F800000, 0x40000000,
                   0x40800000, 0x4B800000, 0x7F000000, 0x7F800000}
    cases = operand_tuples(["f16", "f16"], seed=5)
    assert len(cases) == 88 * 88 * 6
    assert [c for i, c in enumerate(cases) if i % 6 == 5] == [(a, b) for a in pats for b in pats]
    assert cases == operand_tuples(["f16", "f16"], seed=5)
    assert cases != operand_tuples(["f16", "f16"], seed=6)
    triples = operand_tuples(["bf16", "bf16", "f32"], count=1000, random_bits=4)
    assert len(triples) == 1000 and all(len(t) == 4 and 0 <= t[3] < 16 for t in triples)


def test_fma_factor_nan_is_quieted_before_the_addend_competes():
    """SoftFloat ARM-VFPv2 s_mulAddF16: propagateNaN(propagateNaN(a, b), c); the inner result is
    quiet, so with signalling-first priority a signalling addend wins over a signalling factor."""
    ctx = Context.profile("arm", nan="payload", nan_priority="signaling")
    assert arith.mulAdd(0x7C0A, 0x3C00, 0xFC0B, "f16", ctx=ctx) == (0xFE0B, 0x10)
    assert arith.mulAdd(0x7C0A, 0x3C00, 0xFE0B, "f16", ctx=ctx) == (0x7E0A, 0x10)


def test_copysign_from_a_signless_nan_is_nan():
    """P3109 v4.0 CopySign(x, NaN) = NaN: the P3109 (and FNUZ) NaN has no sign to copy."""
    assert arith.compute("copySign", (0xC0, 0x80), "p3109_k8p4se", Context.profile("p3109")) == (0x80, 0)
    assert arith.compute("copySign", (0x40, 0x80), "e4m3fnuz") == (0x80, 0)


def test_ml_dtypes_profile_invalid_nan_is_negative_like_its_x86_host():
    """ml_dtypes 0.6.0 on x86 (float32 arithmetic on the host): bfloat16 inf - inf -> 0xFFC0."""
    assert arith.sub(0x7F80, 0x7F80, "bf16", ctx=Context.profile("ml_dtypes")) == (0xFFC0, 0x10)
