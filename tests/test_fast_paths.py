"""The bulk paths' fast cases equal the projection step they shortcut (issue 10 §2).

``refnum.rounding.bound_rounder`` rounds a dyadic value with a normal result
inline, and ``refnum.convert.converter`` converts a normal float code on its fields
(``_by_fields``); everything else goes to the readable definition.  These tests
compare each fast path with the definition (``round_finite`` on the same integer
parts; ``convert`` and ``arith.compute``, which decode and call ``project``) on
every case they can enumerate: every value of up to p + 3 significant bits over the
whole exponent range of every format of at most 8 bits, in every deterministic mode
and several policies; every code of every 8-bit format, binary16 and bfloat16 into
every float format of the catalogue; every E4M3 operand pair through the bulk
evaluator; and seeded samples for the wider formats.  Stochastic modes, which
read every bit, must take the definition (checked with a few random integers R).

Default: binary16 and bfloat16 codes in the default context, E4M3 pairs for add and
mul in five contexts (about 45 s).  ``-m slow`` (a few CPU minutes): those codes in
every other context, and every E4M3 pair for add, sub, mul and div in every context.
"""

from __future__ import annotations

import random
import zlib

import pytest

from refnum import Context, convert, lookup
from refnum.arith import compute, evaluator
from refnum.catalog import CATALOG
from refnum.convert import converter
from refnum.rounding import bound_rounder, round_finite

MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")
FLOATS = sorted(name for name, f in CATALOG.items() if f.kind == "float") + ["p3109_k8p3se", "p3109_k8p4ue"]
SMALL = [name for name in FLOATS if lookup(name).k <= 8]
POLICIES = [Context(saturation="none"), Context(saturation="finite"), Context(tininess="before"),
            Context(ftz=True), Context.profile("ml_dtypes"), Context.profile("p3109"),
            Context.profile("x86"), Context(unsigned_negative="magnitude")]
CONTEXTS = [Context(rounding=mode) for mode in MODES] + POLICIES


def _ids(ctx):
    return f"{ctx.name}-{ctx.rounding}-{ctx.saturation}-{ctx.tininess}-{ctx.ftz}-{ctx.unsigned_negative}"


def _exponents(fmt, extra):
    """Exponents of ``num * 2**exp`` from well below the subnormals to beyond the largest value."""
    return range(fmt.qmin - extra - 2, fmt.qmax + 3)


@pytest.mark.parametrize("ctx", CONTEXTS, ids=_ids)
@pytest.mark.parametrize("name", SMALL)
def test_bound_rounder_every_short_value(name, ctx):
    fmt = lookup(name)
    fast = bound_rounder(fmt, ctx)
    extra = 3
    for num in range(1, 1 << (fmt.p + extra)):
        for exp in _exponents(fmt, extra):
            for sign in (0, 1):
                assert fast(sign, num, exp) == round_finite(fmt, ctx, sign, num, exp), (sign, num, exp)


@pytest.mark.parametrize("ctx", CONTEXTS, ids=_ids)
@pytest.mark.parametrize("name", ["binary16", "bfloat16", "tf32", "binary32", "binary64"])
def test_bound_rounder_seeded_wide_values(name, ctx):
    fmt = lookup(name)
    fast = bound_rounder(fmt, ctx)
    rng = random.Random(zlib.crc32(name.encode()))
    for _ in range(3000):
        bits = fmt.p + rng.choice((0, 1, 2, 5, 30))
        num = rng.getrandbits(bits) | 1 << (bits - 1)
        if rng.random() < 0.5:                            # a tie, or one unit off it
            num = (num >> 2 << 2 | 2) + rng.choice((-1, 0, 1)) if bits > fmt.p + 1 else num
        e = rng.choice((fmt.emin - 2, fmt.emin - 1, fmt.emin, fmt.qmax + fmt.m, fmt.qmax + fmt.m + 1,
                        rng.randint(fmt.emin, fmt.qmax + fmt.m)))
        exp = e - (num.bit_length() - 1)
        sign = rng.getrandbits(1)
        assert fast(sign, num, exp) == round_finite(fmt, ctx, sign, num, exp), (sign, num, exp)
    assert fast(0, 3, 0, 5) == round_finite(fmt, ctx, 0, 3, 0, 5)     # a non-dyadic value: the definition


def _every_code(src, dst, ctx):
    bulk = converter(src, dst, ctx)
    for code in range(lookup(src).ncodes):
        assert bulk(code) == convert(code, src, dst, ctx), (src, dst, hex(code))


@pytest.mark.parametrize("ctx", CONTEXTS, ids=_ids)
@pytest.mark.parametrize("src", SMALL)
def test_every_small_code_into_every_float_format(src, ctx):
    for dst in FLOATS:
        _every_code(src, dst, ctx)


@pytest.mark.parametrize("dst", FLOATS)
@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
def test_every_16_bit_code_into_every_float_format(src, dst):
    _every_code(src, dst, Context())


@pytest.mark.slow
@pytest.mark.parametrize("ctx", CONTEXTS[1:], ids=_ids)
@pytest.mark.parametrize("src", ["binary16", "bfloat16"])
def test_every_16_bit_code_into_every_float_format_every_context(src, ctx):
    for dst in FLOATS:
        _every_code(src, dst, ctx)


@pytest.mark.parametrize("ctx", CONTEXTS, ids=_ids)
@pytest.mark.parametrize("src", ["binary32", "binary64"])
def test_seeded_wide_codes_into_every_float_format(src, ctx):
    fmt = lookup(src)
    rng = random.Random(zlib.crc32(src.encode()))
    for dst in FLOATS:
        bulk = converter(src, dst, ctx)
        shift = max(fmt.m - lookup(dst).m - 1, 1)          # the round bit and the sticky bits below it
        for _ in range(300):
            code = rng.getrandbits(fmt.k)
            code = code >> shift << shift | rng.choice((0, 1 << (shift - 1), (1 << shift) - 1, 1,
                                                        code & ((1 << shift) - 1)))
            assert bulk(code) == convert(code, src, dst, ctx), (src, dst, hex(code))


FEW = [Context(), Context(rounding="rtz"), Context(rounding="rup"), Context(saturation="none"),
       Context.profile("ml_dtypes")]
SLOW_PAIRS = [pytest.param(op, ctx, marks=pytest.mark.slow)
              for op in ("add", "sub", "mul", "div") for ctx in CONTEXTS if op in ("sub", "div") or ctx not in FEW]


@pytest.mark.parametrize("op,ctx", [(op, ctx) for op in ("add", "mul") for ctx in FEW] + SLOW_PAIRS,
                         ids=lambda v: v if isinstance(v, str) else _ids(v))
def test_every_e4m3_pair_through_the_bulk_evaluator(op, ctx):
    for out in ("e4m3", "binary16", "e5m2"):
        fast = evaluator(op, "e4m3", out, ctx)
        for x in range(256):
            for y in range(256):
                assert fast(x, y, 0) == compute(op, (x, y), "e4m3", ctx, out=out), (op, out, x, y)


@pytest.mark.parametrize("ctx", CONTEXTS, ids=_ids)
@pytest.mark.parametrize("op", ["add", "mul", "div"])
def test_seeded_binary16_pairs_through_the_bulk_evaluator(op, ctx):
    rng = random.Random(zlib.crc32(op.encode()))
    fast = evaluator(op, "f16", None, ctx)
    for _ in range(1000):
        x, y = rng.getrandbits(16), rng.getrandbits(16)
        assert fast(x, y, 0) == compute(op, (x, y), "f16", ctx), (op, hex(x), hex(y))


@pytest.mark.parametrize("mode", ["sr-a", "sr-b", "sr-c"])
def test_stochastic_modes_take_the_definition(mode):
    ctx = Context(rounding=mode, sr_bits=4)
    e4m3 = lookup("e4m3")
    fast = bound_rounder(e4m3, ctx)
    for num in range(1, 1 << 7):
        for exp in _exponents(e4m3, 3):
            for rand in (0, 5, 15):
                assert fast(1, num, exp, 1, rand) == round_finite(e4m3, ctx, 1, num, exp, 1, rand), (num, exp, rand)
    for dst in ("e4m3", "e2m1", "binary16"):
        bulk = converter("e5m2", dst, ctx)
        for code in range(256):
            for rand in (0, 5, 15):
                assert bulk(code, rand) == convert(code, "e5m2", dst, ctx, rand), (dst, hex(code), rand)
