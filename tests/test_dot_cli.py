"""``refnum dot``: presets and models over dot-product lines, --verify, --list, errors.

The end-to-end check feeds H200 outputs (shared data) through ``refnum dot --verify``;
other expectations come from the dot API's oracle-tested models (tests/test_dot_models.py)
or are worked by hand in the comments.
"""

import sys
import types
from dataclasses import dataclass

import pytest

from dot_data import h200_gemm
from test_cli import cli
from test_streaming import line_while_open, refnum_process

ONES = "3C00 3C00 3C00 3C00 00000000\n"           # f16 1*1 + 1*1 + 0 = 2.0


def test_preset_completes_lines():
    rc, out, err = cli("dot", "h100_wgmma_f16_f32", "-", stdin=ONES + "# note\n3C00 7C00 3C00 0000 3F800000\n")
    assert (rc, err) == (0, "")
    assert out == ("3C00 3C00 3C00 3C00 00000000 40000000 00\n"
                   "3C00 7C00 3C00 0000 3F800000 7FFFFFFF 10\n")      # Inf x 0: invalid, NVIDIA's NaN


def test_model_with_options_and_epilogue():
    # fused, F = 8: 1 + 2**-10 - 0 keeps 1 only (2**-10 truncated at the 2**-8 grid)
    line = "3C00 1400 3C00 3C00 00000000\n"
    assert cli("dot", "fused", "--L", "2", "--F", "8", "--formats", "f16,f16,f32", stdin=line)[1].split()[-2] \
        == "3F800000"
    assert cli("dot", "exact", "--formats", "f16,f16,f32", stdin=line)[1].split()[-2] == "3F802000"
    assert cli("dot", "exact", "--formats", "f16,f16,f32", "--out", "bf16", stdin=line)[1].split()[-2:] \
        == ["3F80", "01"]                                                  # 1 + 2**-10 -> bf16 1.0, inexact


def test_list_names_every_preset_and_alias():
    rc, out, _ = cli("dot", "--list")
    assert rc == 0
    for name in ("h100_wgmma_e4m3_f32", "cublas_fp8_fast_accum = hopper_cublas_fp8_fast_accum",
                 "avx512_bf16_vdpbf16ps", "riscv_vfdotpex_s_h"):
        assert name in out


def _h200_lines(key, variant, limit):
    """Operand lines (C = +0) of the first ``limit`` x ``limit`` outputs and the device's results."""
    cases, arrays = h200_gemm()
    a, b, d = arrays[key + "__a"], arrays[key + "__b"], arrays[key + "__d_" + variant]
    wa, wd = a.dtype.itemsize * 2, d.dtype.itemsize * 2
    lines, device = [], []
    for m in range(limit):
        for n in range(limit):
            ops = [f"{int(x):0{wa}X}" for x in a[m]] + [f"{int(x):0{wa}X}" for x in b[:, n]]
            lines.append(" ".join(ops + ["00000000"]) + "\n")
            device.append(f"{int(d[m, n]):0{wd}X}")
    return "".join(lines), device


@pytest.mark.parametrize("key,variant,argv", [
    ("smm_e4m3_e4m3_K64_wide", "f32_fast1", ["h200_wgmma_e4m3_f32"]),
    ("smm_e4m3_e5m2_K32_wide", "bf16_fast0", ["cublas_fp8", "--formats", "e4m3,e5m2,f32", "--out", "bf16"]),
    ("mm_f16_K64", "f16_rr1", ["hopper_cublas_f16", "--out", "f16"]),
])
def test_dot_gives_the_h200_bits(key, variant, argv):
    """The README tour: a preset on operand lines gives what the H200 returned (the device
    reports no flags, so the result column is compared)."""
    text, device = _h200_lines(key, variant, 6)
    rc, out, err = cli("dot", *argv, stdin=text)
    assert (rc, err) == (0, "")
    assert [line.split()[-2] for line in out.splitlines()] == device


def test_verify_reports_mismatches():
    good = "3C00 3C00 3C00 3C00 00000000 40000000 00\n"
    bad = "3C00 3C00 3C00 3C00 00000000 40000001 00\n"
    assert cli("dot", "h100_wgmma_f16_f32", "--verify", stdin=good)[:2] == (0, "1 passed, 0 failed\n")
    rc, out, _ = cli("dot", "h100_wgmma_f16_f32", "--verify", stdin=good + bad)
    assert rc == 1 and out.endswith("1 passed, 1 failed\n") and "line 2" in out


@pytest.mark.parametrize("argv,stdin,message", [
    (["h100_wgmma_f16_f33"], ONES, "did you mean 'h100_wgmma_f16_f32'"),
    (["fused", "--formats", "f16,f16,f32"], ONES, "needs --L N and --F N"),
    (["exact"], ONES, "needs --formats"),
    (["h100_wgmma_f16_f32", "--L", "4"], ONES, "is a preset"),
    (["h100_wgmma_f16_f32"], "3C00 3C00 3C00 3C00\n", "odd count"),
    (["h100_wgmma_f16_f32"], ONES + "3C00 00000000 3C00\n", "input line 2"),
    (["exact", "--formats", "f16,f16"], ONES, "three formats"),
    ([], "", "name a preset or a model"),
])
def test_errors_are_one_line_exit_2(argv, stdin, message):
    rc, out, err = cli("dot", *argv, stdin=stdin)
    assert rc == 2 and out == "" and message in err and err.count("\n") == 1 and err.startswith("refnum: ")


def test_failed_run_writes_no_output_file(tmp_path):
    target = tmp_path / "out.tv"
    rc, _, _ = cli("dot", "h100_wgmma_f16_f32", "-o", target, stdin=ONES + "ZZ\n")
    assert rc == 2 and not target.exists() and list(tmp_path.iterdir()) == []


@dataclass(frozen=True)
class _IntPreset:
    name: str
    operand_formats: tuple
    accumulator_format: str
    description: str


def test_integer_presets_plug_in(monkeypatch):
    """The agreed interface of refnum.dot.integer: a wrapping 2-product u8 x s8 dot."""
    row = _IntPreset("fake_vpdpbusd", ("uint8", "int8"), "int32", "u8 x s8 into s32, wrap")
    fake = types.ModuleType("refnum.dot.integer")
    fake.INTEGER_PRESETS = {row.name: row}
    fake.integer_dot = lambda p, a, b, c: (((sum(x * y for x, y in zip(a, b)) + c + 2**31) % 2**32) - 2**31, 0)
    import refnum.dot
    monkeypatch.setitem(sys.modules, "refnum.dot.integer", fake)
    monkeypatch.setattr(refnum.dot, "integer", fake, raising=False)
    assert "fake_vpdpbusd" in cli("dot", "--list")[1]
    rc, out, err = cli("dot", "fake_vpdpbusd", stdin="FF 02 80 FF 7FFFFFFF\n")   # 255*-128 + 2*-1 + max
    assert (rc, err) == (0, "")
    assert out == f"FF 02 80 FF 7FFFFFFF {(2**31 - 1 - 32640 - 2) & 0xFFFFFFFF:08X} 00\n"


def test_explain_shows_alignment_and_truncation():
    """e4m3 1*1 + 2^-9*2^-6 + (1 + 2^-23) on Hopper: E = 0, grid 2^-13; the product 2^-15 and
    the addend's 2^-23 are dropped; the truncated sum 2 is the result (rounded toward zero)."""
    rc, out, err = cli("dot", "h200_wgmma_e4m3_f32", "--explain", stdin="38 01 38 08 3F800001\n")
    assert (rc, err) == (0, "")
    assert "E = 0, grid 2^-13" in out
    assert "p1 = 0x1p-15" in out and "keeps 0x0p+0, drops 0x1p-15" in out
    assert "C = 0x1.000002p+0" in out and "drops 0x1p-23" in out
    assert out.rstrip().endswith("-> binary32 40000000 = 0x1p+1  flags ....x")


def test_explain_of_other_models_lists_products_and_result():
    rc, out, _ = cli("dot", "exact", "--formats", "f16,f16,f32", "--explain", stdin="3C00 1400 3C00 3C00 00000000\n")
    assert rc == 0 and "p1 = 0x1p-10 * 0x1p+0" in out and "-> binary32 3F802000 = 0x1.004p+0" in out


def test_gen_writes_seeded_complete_lines_that_verify(tmp_path):
    target = tmp_path / "hopper.tv"
    assert cli("dot", "h100_wgmma_e4m3_f32", "--gen", "10", "--k", "32", "-o", target)[0] == 0
    text = target.read_text()
    lines = text.splitlines()
    assert len(lines) == 10 and all(len(line.split()) == 2 * 32 + 3 for line in lines)
    assert cli("dot", "h100_wgmma_e4m3_f32", "--gen", "10", "--k", "32")[1] == text          # seeded
    assert cli("dot", "h100_wgmma_e4m3_f32", "--gen", "10", "--k", "32", "--seed", "2")[1] != text
    assert cli("dot", "h100_wgmma_e4m3_f32", "--verify", target)[1] == "10 passed, 0 failed\n"


@pytest.mark.parametrize("flags", [(), ("--verify",), ("--explain",)])
@pytest.mark.parametrize("stdin", ["", "# only a comment\n\n"])
def test_an_input_without_a_case_is_an_error(flags, stdin):
    rc, out, err = cli("dot", "h100_wgmma_f16_f32", *flags, "-", stdin=stdin)
    assert rc == 2 and out == "" and "no cases" in err and err.count("\n") == 1


def test_dot_answers_each_line_before_the_input_ends():
    proc = refnum_process("dot", "h100_wgmma_f16_f32", "-")
    try:
        assert line_while_open(proc, ONES) == ONES[:-1] + " 40000000 00\n"
    finally:
        proc.kill()
        proc.wait()
