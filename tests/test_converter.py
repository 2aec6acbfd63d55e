"""The bulk converter (refnum.convert.converter) equals convert() code for code.

converter() remembers narrowing results by the bits that decide them; these
tests compare it with the plain decode-and-project path on every binary16 code
and on seeded binary32/binary64 codes weighted to rounding boundaries (ties,
sticky bits, subnormals, overflow), in every deterministic mode and several
policies, so a wrong memo key (a bit the result does depend on) shows up.
"""

import random
import zlib

import pytest

from refnum import Context, convert, lookup
from refnum.convert import converter

MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")


def boundary_codes(fmt, keep, count, seed):
    """Codes of ``fmt`` whose trailing bits below the top ``keep`` are 0, 10..0, 10..01, 01..1 or random."""
    rng = random.Random(seed)
    low_bits = fmt.m - keep
    tails = [0, 1 << (low_bits - 1), (1 << (low_bits - 1)) + 1, (1 << (low_bits - 1)) - 1, 1]
    codes = []
    for _ in range(count):
        head = rng.getrandbits(fmt.k - low_bits)
        tail = rng.choice(tails) if rng.random() < 0.8 else rng.getrandbits(low_bits)
        codes.append(head << low_bits | tail)
    return codes


@pytest.mark.parametrize("dst", ["e4m3", "e5m2", "e2m1", "e8m0", "bf16", "p3109_k8p1ue", "e4m3fnuz"])
@pytest.mark.parametrize("mode", MODES)
def test_every_binary16_code(dst, mode):
    ctx = Context(rounding=mode)
    bulk = converter("f16", dst, ctx)
    for code in range(1 << 16):
        assert bulk(code) == convert(code, "f16", dst, ctx), hex(code)


@pytest.mark.parametrize("src,dst", [("f32", "f16"), ("f32", "bf16"), ("f64", "f16"), ("f64", "e4m3"),
                                     ("f64", "f32"), ("f32", "e5m2")])
@pytest.mark.parametrize("ctx", [Context(rounding=m) for m in MODES]
                         + [Context(tininess="before"), Context(ftz=True), Context(saturation="none"),
                            Context.profile("x86"), Context.profile("ml_dtypes")],
                         ids=lambda c: f"{c.name}-{c.rounding}-{c.tininess}-{c.ftz}-{c.saturation}")
def test_wide_sources_near_rounding_boundaries(src, dst, ctx):
    s, d = lookup(src), lookup(dst)
    bulk = converter(s, d, ctx)
    codes = boundary_codes(s, d.m + 1, 4000, seed=zlib.crc32(f"{src}>{dst}".encode()))
    codes += boundary_codes(s, d.m + 1, 1000, seed=7)          # repeats exercise remembered results
    for code in codes + codes[:500]:
        assert bulk(code) == convert(code, s, d, ctx), hex(code)


@pytest.mark.parametrize("src", ["f16", "bf16"])
@pytest.mark.parametrize("profile", ["ml_dtypes", "p3109", "ocp", "x86"])
def test_every_16_bit_code_under_profiles(src, profile):
    ctx = Context.profile(profile)
    for dst in ("e8m0", "e4m3", "e2m1"):
        bulk = converter(src, dst, ctx)
        for code in range(1 << 16):
            assert bulk(code) == convert(code, src, dst, ctx), (dst, hex(code))
