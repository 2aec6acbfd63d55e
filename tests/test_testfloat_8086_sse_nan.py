"""Where SoftFloat 3e's 8086-SSE specialization is not x86 hardware, or not right.

tests/data/testfloat-8086-sse-nan/ holds a few unmodified ``testfloat_gen`` lines of
that specialization (PROVENANCE.md there gives the build and the commands):

- fma(Inf, 0, qNaN): 8086-SSE signals invalid and returns the default NaN, which
  ``Context.profile("softfloat_8086_sse")`` reproduces; x86 hardware returns the quiet
  addend without a flag (Intel SDM Vol. 1 Table 14-17), which ``Context.profile("x86")``
  does.
- f32_to_bf16 of a NaN (spec/differences.md row SF-1): SoftFloat's
  ``softfloat_commonNaNToBF16UI`` shifts the 64-bit common-NaN payload right by 56, one
  bit short of bfloat16's 7 fraction bits; refnum keeps the leading 7 fraction bits.
- testfloat_ver has no bfloat16 case (row SF-2): it accepts any line.

The expected values are read from the files or derived here from the bit fields by
the rule each side states, never taken from refnum.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from refnum import Context, arith, convert, lookup
from refnum.context import Flag

DATA = Path(__file__).resolve().parent / "data" / "testfloat-8086-sse-nan"
F32_QUIET, F32_FRACTION = 0x00400000, 0x007FFFFF


def _rows(name):
    return [[int(f, 16) for f in line.split()] for line in (DATA / name).read_text().splitlines()]


def test_data_is_complete_and_unchanged():
    """Guard against a vacuous pass: the files are the ones PROVENANCE.md lists."""
    listed = dict((name, digest) for digest, name in
                  re.findall(r"^    ([0-9a-f]{64})  (\S+\.tv)$", (DATA / "PROVENANCE.md").read_text(), re.M))
    assert sorted(listed) == sorted(p.name for p in DATA.glob("*.tv")) and len(listed) == 4
    for name, digest in listed.items():
        assert hashlib.sha256((DATA / name).read_bytes()).hexdigest() == digest, name


# -- fma(Inf, 0, qNaN): x86 hardware versus the 8086-SSE specialization --------------

@pytest.mark.parametrize("fmt", ["f16", "f32", "f64"])
def test_inf_times_zero_plus_qnan(fmt):
    f = lookup(fmt)
    infs, zeros = {f.inf_code, f.inf_code | f.sign_bit}, {0, f.sign_bit}
    quiet = f.inf_code | 1 << (f.m - 1)
    rows = _rows(f"{fmt}_mulAdd_near_even.tv")
    assert len(rows) >= 30
    for a, b, c, result, flags in rows:
        assert {a, b} & infs and {a, b} & zeros and c & quiet == quiet, "not an Inf x 0 + qNaN line"
        # SoftFloat: invalid, the default NaN (negative under 8086-SSE)
        assert (result, flags) == (f.nan_code(1), Flag.INVALID)
        assert arith.mulAdd(a, b, c, fmt, ctx=Context.profile("softfloat_8086_sse")) == (result, flags)
        # the SDM's table: the NaN rows come first, Q(z) = z for a quiet z, no exception
        assert arith.mulAdd(a, b, c, fmt, ctx=Context.profile("x86")) == (c, 0)


@pytest.mark.parametrize("profile, line", [("x86", "7F800000 00000000 FFC0000B FFC0000B 00"),
                                           ("softfloat_8086_sse", "7F800000 00000000 FFC0000B FFC00000 10")])
def test_run_command_line(profile, line):
    """The issue's reproducer: ``refnum run --profile x86 f32_mulAdd`` gives the quiet addend."""
    run = subprocess.run([sys.executable, "-m", "refnum", "run", "--profile", profile, "f32_mulAdd"],
                         input="7F800000 00000000 FFC0000B\n", capture_output=True, text=True, timeout=60)
    assert (run.returncode, run.stdout, run.stderr) == (0, line + "\n", "")


def test_inf_times_zero_plus_snan_signals_on_both():
    """With a signalling addend both raise invalid; x86 returns it quieted (SDM: Q(z)),
    8086-SSE its default NaN."""
    snan = 0x7F800005
    assert arith.mulAdd(0x7F800000, 0, snan, "f32", ctx=Context.profile("x86")) == (snan | F32_QUIET, Flag.INVALID)
    assert arith.mulAdd(0x7F800000, 0, snan, "f32",
                        ctx=Context.profile("softfloat_8086_sse")) == (0xFFC00000, Flag.INVALID)


# -- SF-1: f32_to_bf16 of a NaN -----------------------------------------------------

def _softfloat_bf16(a):
    """SoftFloat 3e 8086-SSE: the common NaN's 64-bit payload is the f32 fraction at the
    top (``uiA << 41``); ``commonNaNToBF16UI`` ORs ``v64 >> 56``, eight bits, into 0x7FC0."""
    v64 = ((a & F32_FRACTION) << 41) & (2 ** 64 - 1)
    return (a >> 31) << 15 | 0x7FC0 | v64 >> 56


def _payload_rule_bf16(a):
    """IEEE 754-2019 §6.2.3, as refnum's ``nan="payload"``: the sign and the leading 7
    fraction bits of the binary32 NaN, quiet bit forced; invalid for a signalling NaN."""
    code = (a >> 31) << 15 | 0x7F80 | (a & F32_FRACTION) >> 16 | 0x0040
    return code, (0 if a & F32_QUIET else Flag.INVALID)


def test_sf1_softfloat_bf16_nan_shift():
    rows = _rows("f32_to_bf16_near_even.tv")
    assert len(rows) == 16
    differ = 0
    for a, result, flags in rows:
        assert a & 0x7F800000 == 0x7F800000 and a & F32_FRACTION, "not a NaN operand"
        assert result == _softfloat_bf16(a)                          # the file is SoftFloat's shift by 56
        want = _payload_rule_bf16(a)
        assert flags == want[1]                                      # the flags agree
        for profile in ("softfloat_8086_sse", "x86"):
            assert convert(a, "f32", "bf16", Context.profile(profile)) == want
        differ += result != want[0]
    assert differ == 7, differ                                       # e.g. FFE1FFFE: SoftFloat FFC3, refnum FFE1
    assert _softfloat_bf16(0xFFE1FFFE) == 0xFFC3 and _payload_rule_bf16(0xFFE1FFFE)[0] == 0xFFE1


# -- SF-2: testfloat_ver checks nothing for bfloat16 --------------------------------

def _testfloat_ver():
    return shutil.which("testfloat_ver")


@pytest.mark.skipif(_testfloat_ver() is None, reason="testfloat_ver (Berkeley TestFloat 3e) is not on PATH")
@pytest.mark.parametrize("function, line", [("f32_to_bf16", "00000000 1234 1F"), ("bf16_to_f32", "garbage")])
def test_sf2_testfloat_ver_accepts_any_bf16_line(function, line):
    """testfloat_ver prints "Testing <function>." and exits 0 whatever it reads."""
    run = subprocess.run([_testfloat_ver(), function], input=line + "\n", capture_output=True, text=True,
                         timeout=60)
    assert (run.returncode, run.stderr.strip()) == (0, f"Testing {function}.")
