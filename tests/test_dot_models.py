"""The dot-product models against independent oracles (spec/dot-float.md).

* Exact (Kulisch): the sum computed with Fraction arithmetic, rounded by the brute-force
  oracle's enumeration (tests/oracle.py), for E4M3, E5M2 and E2M1 inputs and outputs.
* Fused (aligned truncation): a brute-force re-implementation written from the definition
  on Fractions -- each term's exponent from the oracle's value table, each term truncated
  with ``int()``, the result chosen by enumerating the output format's values.
* Sequential and Tree: step-by-step Fraction oracles; special values; argument checks.
"""

import random
from fractions import Fraction

import pytest

import oracle
from refnum.context import Context
from refnum.dot import Exact, Fused, Gemm, Sequential, Tree, dot, run_dot
from refnum.errors import RefnumError

SEED = 9


def _finite_codes(name):
    return [c for c, v in oracle.small_float_values(oracle.catalog_format(name)).items()
            if isinstance(v, Fraction) or v == oracle.NEG_ZERO]


def _value(name, code):
    v = oracle.small_float_values(oracle.catalog_format(name))[code]
    return Fraction(0) if v == oracle.NEG_ZERO else v


def _cases(fin, fc, k, n, seed=SEED):
    rng = random.Random(seed)
    codes, ccodes = _finite_codes(fin), _finite_codes(fc)
    return [([rng.choice(codes) for _ in range(k)], [rng.choice(codes) for _ in range(k)], rng.choice(ccodes))
            for _ in range(n)]


@pytest.mark.parametrize("fin,fc,out,mode", [("e4m3", "e4m3", "e5m2", "rne"), ("e5m2", "e5m2", "e4m3", "rtz"),
                                             ("e2m1", "e2m1", "e2m1", "rne"), ("e4m3", "e5m2", "e4m3", "rup")])
def test_exact_model_is_the_fraction_sum_rounded_once(fin, fc, out, mode):
    for a, b, c in _cases(fin, fc, 5, 150):
        total = sum((_value(fin, x) * _value(fin, y) for x, y in zip(a, b)), _value(fc, c))
        code, _ = dot(Exact(out, rounding=mode), a, b, c, (fin, fin, fc))
        if total == 0:
            continue                               # the sign of a zero sum: test_zero_sums
        want, _ = oracle.nearest(total, oracle.catalog_format(out), mode)
        assert code == want, (a, b, c, total)


def _exponent(q, emin):
    """floor(log2 |q|) for q != 0, at least emin (the brute-force way: by comparison)."""
    e = 0
    q = abs(q)
    while q >= 2:
        q, e = q / 2, e + 1
    while q < 1:
        q, e = q * 2, e - 1
    return max(e, emin)


def brute_force_fused(a, b, c, fin, fc, L, F, out, mode):
    """The fused block chain, straight from its definition, on Fractions."""
    fmt_in, fmt_c = oracle.catalog_format(fin), oracle.catalog_format(fc)
    emin_in, emin_c = 1 - fmt_in.bias, 1 - fmt_c.bias
    acc, acc_emin = _value(fc, c), emin_c
    for start in range(0, len(a), L):
        terms = []
        for x, y in zip(a[start:start + L], b[start:start + L]):
            vx, vy = _value(fin, x), _value(fin, y)
            if vx and vy:
                terms.append((vx * vy, _exponent(vx, emin_in) + _exponent(vy, emin_in)))
        if acc:
            terms.append((acc, _exponent(acc, acc_emin)))
        if not terms:
            acc = Fraction(0)
            continue
        grid = Fraction(2) ** (max(e for _, e in terms) - F)
        total = sum(int(t / grid) * grid for t, _ in terms)        # int() truncates toward zero
        code, _ = oracle.nearest(total, oracle.catalog_format(out), mode)
        acc = _value(out, code)
        acc_emin = 1 - oracle.catalog_format(out).bias
    return acc


@pytest.mark.parametrize("fin,fc,out,L,F,mode", [
    ("e2m1", "e2m1", "e5m2", 3, 2, "rtz"), ("e2m1", "e3m2", "e4m3", 2, 3, "rne"),
    ("e4m3", "e4m3", "e5m2", 4, 4, "rtz"), ("e5m2", "e5m2", "e4m3", 2, 1, "rne"),
    ("e3m2", "e2m3", "e3m2", 4, 0, "rtz"),
])
def test_fused_model_against_brute_force(fin, fc, out, L, F, mode):
    for a, b, c in _cases(fin, fc, 6, 120):
        want = brute_force_fused(a, b, c, fin, fc, L, F, out, mode)
        code, _ = dot(Fused(L, F, out=out, rounding=mode), a, b, c, (fin, fin, fc))
        got = _value(out, code)
        assert got == want, (a, b, c)


def test_truncation_is_per_term_not_of_the_sum():
    """1 - 2**-10 with F = 8: the small term is truncated away before the sum (1.0), which is
    not the exact sum rounded toward zero (1 - 2**-10 is a binary32 value)."""
    a, b = [0x3C00, 0x1400], [0x3C00, 0xBC00]              # binary16 1, 2**-10 and 1, -1
    assert dot(Fused(2, 8), a, b, 0, ("f16", "f16", "f32"))[0] == 0x3F800000
    assert dot(Exact("binary32", rounding="rtz"), a, b, 0, ("f16", "f16", "f32"))[0] == 0x3F7FC000


def _f32_steps(terms, c, fused):
    """The FMA chain by hand: Fraction arithmetic, the oracle's rounding into e5m2 per step."""
    e5m2 = oracle.catalog_format("e5m2")
    acc = c
    for x, y in terms:
        if fused:
            acc = _value("e5m2", oracle.nearest(acc + x * y, e5m2)[0])
        else:
            p = _value("e5m2", oracle.nearest(x * y, e5m2)[0])
            acc = _value("e5m2", oracle.nearest(acc + p, e5m2)[0])
    return acc


@pytest.mark.parametrize("fused", [True, False])
def test_sequential_chain_against_stepwise_fractions(fused):
    for a, b, c in _cases("e4m3", "e5m2", 6, 60):
        terms = [(_value("e4m3", x), _value("e4m3", y)) for x, y in zip(a, b)]
        want = _f32_steps(terms, _value("e5m2", c), fused)
        code, _ = dot(Sequential("e5m2", fused=fused), a, b, c, ("e4m3", "e4m3", "e5m2"))
        if abs(want) > 57344:
            continue                                        # overflow: test_special_values
        assert _value("e5m2", code) == want, (a, b, c)


def test_lanes_split_k_by_parity_and_sum_at_the_end():
    """binary16 lanes: 2048 + 1 + 1 loses both ones in one chain but not in two lanes."""
    big, one = 0x6800, 0x3C00                               # 2048 and 1 in binary16
    a, b = [big, one, one, one], [one] * 4
    single = dot(Sequential("binary16"), a, b, 0, ("f16",) * 3)[0]
    lanes = dot(Sequential("binary16", lanes=2), a, b, 0, ("f16",) * 3)[0]
    assert (single, lanes) == (0x6800, 0x6801)              # 2048 and 2050 (ulp 2)


def test_tree_rounds_every_node():
    """Arm BFDOT: (p0 + p1) rounded to odd, then added to the accumulator."""
    one, tiny = 0x3F80, 0x3380                              # bfloat16 1.0 and 2**-24
    code, flags = run_dot("arm_bfdot", [one, tiny], [one, one], 0x00000000)
    assert code == 0x3F800001 and flags & 1                 # 1 + 2**-24 rounds to odd: inexact
    assert dot(Tree("binary32"), [one, tiny], [one, one], 0, ("bf16", "bf16", "f32"))[0] == 0x3F800000


def test_promotion_keeps_what_the_limited_accumulator_loses():
    """1.0 and 255 products 2**-15: the E8M13 chain truncates them all away (grid 2**-13 once
    1.0 is in), promotion every 128 starts the second chunk from +0 and keeps 128 of them."""
    one, tiny, low = 0x38, 0x01, 0x08                       # e4m3 1.0, 2**-9, 2**-6
    a, b = [one] + [tiny] * 255, [one] + [low] * 255
    fast = run_dot("hopper_cublas_fp8_fast_accum", a, b, 0)[0]
    promoted = run_dot("hopper_cublas_fp8", a, b, 0)[0]
    assert fast == 0x3F800000                               # 1.0
    assert promoted == 0x3F808000                           # 1 + 128 * 2**-15 = 1 + 2**-8


@pytest.mark.parametrize("model", [Exact("binary32"), Fused(4, 24), Sequential("binary32"), Tree("binary32"),
                                   Gemm(Fused(2, 13, intermediate="e8m13"), promote_every=2)])
def test_special_values(model):
    f16 = ("f16", "f16", "f32")
    inf, ninf, nan, zero, one = 0x7C00, 0xFC00, 0x7E00, 0x0000, 0x3C00
    finf, fninf = 0x7F800000, 0xFF800000

    def is_nan(code):
        return code & 0x7F800000 == 0x7F800000 and code & 0x7FFFFF

    code, flags = dot(model, [inf, ninf], [one, one], 0, f16)
    assert is_nan(code) and flags & 0x10                    # Inf - Inf: invalid
    code, flags = dot(model, [inf, one], [zero, one], 0, f16)
    assert is_nan(code) and flags & 0x10                    # Inf x 0: invalid
    code, flags = dot(model, [inf, one], [one, one], fninf, f16)
    assert is_nan(code) and flags & 0x10                    # +Inf product, -Inf addend
    assert dot(model, [inf, one], [one, one], finf, f16)[0] == finf
    code, flags = dot(model, [nan, one], [one, one], 0, f16)
    assert is_nan(code) and not flags & 0x10                # a quiet NaN propagates quietly


def test_nvidia_nan_is_all_ones():
    code, flags = run_dot("h100_wgmma_f16_f32", [0x7C00, 0xFC00] + [0] * 14, [0x3C00] * 16, 0)
    assert (code, flags) == (0x7FFFFFFF, 0x10)


def test_zero_sums():
    neg = ("f16", "f16", "f32")
    for model in (Exact("binary32"), Fused(2, 23)):
        assert dot(model, [0x8000, 0x0000], [0x3C00, 0x8000], 0x80000000, neg)[0] == 0x80000000  # all -0
        assert dot(model, [0x3C00, 0xBC00], [0x3C00, 0x3C00], 0x80000000, neg)[0] == 0x00000000  # 1 - 1
        ctx = Context(rounding="rdn")
        assert dot(Exact("binary32"), [0x3C00, 0xBC00], [0x3C00, 0x3C00], 0, neg, ctx)[0] == 0x80000000


@pytest.mark.parametrize("build,message", [
    (lambda: Fused(0, 13), "L must be a positive integer"),
    (lambda: Fused(16, -1), "F must be"),
    (lambda: Fused(16, 13, out="e9m9x"), "unknown format"),
    (lambda: Sequential("binary32", lanes=0), "lanes"),
    (lambda: Sequential("binary32", addend="middle"), "addend"),
    (lambda: Tree("binary32", tree=((0, 0), "c")), "tree"),
    (lambda: Gemm(Fused(16, 25), promote_every=0), "promote_every"),
    (lambda: Gemm("fused"), "inner"),
    (lambda: dot(Exact(), [1, 2], [1], 0, ("f16", "f16", "f32")), "a has 2 elements but b has 1"),
    (lambda: dot(Exact(), [0x10000], [1], 0, ("f16", "f16", "f32")), "a: code"),
    (lambda: dot(Exact(), [1], [1], 0, ("f16", "int8", "f32")), "format of b"),
    (lambda: run_dot("h100_wgmma_e4m4_f32", [1], [1], 0), "did you mean"),
])
def test_arguments_are_checked_at_the_public_api(build, message):
    with pytest.raises(RefnumError, match=message):
        build()


def test_late_addend_is_added_after_the_block_with_rne():
    """1 * 1 + C, C = 1.5 * 2**-24 (binary32): aligned with the products C is truncated away
    (grid 2**-23); added late with round to nearest even, 1 + 1.5 * 2**-24 rounds up."""
    a, b, c = [0x3C00], [0x3C00], 0x33C00000
    assert dot(Fused(1, 23), a, b, c, ("f16", "f16", "f32"))[0] == 0x3F800000
    assert dot(Fused(1, 23, addend="late"), a, b, c, ("f16", "f16", "f32"))[0] == 0x3F800001
