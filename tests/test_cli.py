"""The ``refnum`` command line, run in-process through ``refnum.cli.main(argv)``.

Expectations come from the specs and from Python's own binary16 packing
(``struct`` format ``'e'``, round to nearest even), never from refnum:

* OCP MX v1.0 §5.3.3, FP4 E2M1 values: ±{0, 0.5, 1, 1.5, 2, 3, 4, 6};
* OCP OFP8 v1.0 §5 E4M3: bias 7, S.1111.111 is NaN, max 448 = S.1111.110, and
  with saturation values from 464 (= 448 + half an ulp of 32) on overflow to 448
  (SAT) or NaN (non-SAT);
* IEEE P3109 v4.0 §4.7.4 stochastic rounding A: round away when
  floor(nu * 2**N) + R >= 2**N;
* SoftFloat's RISCV / 8086 invalid-integer results (softfloat-testfloat notes §1.6).
"""

from __future__ import annotations

import io
import json
import os
import random
import shutil
import struct
import subprocess
import sys
from contextlib import redirect_stderr, redirect_stdout
from fractions import Fraction
from pathlib import Path

import pytest

from refnum.catalog import CATALOG
from refnum.cli import main
from refnum.vectors.functions import parse

ROOT = Path(__file__).resolve().parent.parent


# -- helpers ---------------------------------------------------------------------------------

def cli(*argv, stdin=""):
    """(exit status, stdout, stderr) of ``refnum argv``."""
    out, err = io.StringIO(), io.StringIO()
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        with redirect_stdout(out), redirect_stderr(err):
            rc = main([str(a) for a in argv])
    finally:
        sys.stdin = saved
    return rc, out.getvalue(), err.getvalue()


def assert_input_error(rc, out, err, *fragments):
    """Exit 2, exactly one line 'refnum: ...' on stderr containing the fragments, no traceback."""
    assert rc == 2, (out, err)
    assert err.endswith("\n") and err.count("\n") == 1, err
    assert err.startswith("refnum: "), err
    assert "Traceback" not in err
    for fragment in fragments:
        assert fragment in err, err


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def f32_value(bits):
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def f16_bits(x):
    """binary16 code of a Python float, rounded to nearest even by CPython's struct module."""
    return struct.unpack("<H", struct.pack("<e", x))[0]


def f16_value(bits):
    return struct.unpack("<e", struct.pack("<H", bits))[0]


def ofp8_e4m3(code):
    """OFP8 v1.0 §5 E4M3, written from the spec: None for NaN, else the exact value."""
    s, e, m = code >> 7, (code >> 3) & 0xF, code & 7
    if e == 0xF and m == 7:
        return None
    mag = Fraction(m, 8) * Fraction(2) ** -6 if e == 0 else (1 + Fraction(m, 8)) * Fraction(2) ** (e - 7)
    return -mag if s else mag


OCP_FP4 = [Fraction(v) for v in ("0", "0.5", "1", "1.5", "2", "3", "4", "6")]


def vector_fields(text):
    return [line.split() for line in text.splitlines()]


# -- formats, info, table -------------------------------------------------------------------------

def test_formats_lists_every_catalog_format_with_its_width():
    rc, out, err = cli("formats")
    assert rc == 0 and err == ""
    lines = out.splitlines()
    rows = {line.split()[0]: line for line in lines[:len(CATALOG)]}
    assert set(rows) == set(CATALOG)
    widths = {"binary16": 16, "binary32": 32, "binary64": 64, "binary128": 128, "bfloat16": 16, "tf32": 19,
              "e4m3": 8, "e5m2": 8, "e2m3": 6, "e3m2": 6, "e2m1": 4, "e8m0": 8, "ue4m3": 7}
    for name, bits in widths.items():
        assert rows[name].split()[1] == str(bits), rows[name]
    assert "float8_e4m3fn" in rows["e4m3"] and "f16" in rows["binary16"].split()
    assert "p3109_k{K}p{P}{s|u}{e|f}" in out


def test_info_e4m3_from_the_ofp8_spec():
    rc, out, _ = cli("info", "float8_e4m3fn")
    assert rc == 0
    assert "name: e4m3" in out and "max finite: 448 (0x7E)" in out and "NaN: 0x7F" in out


def test_info_of_a_scaled_format():
    rc, out, _ = cli("info", "e4m3@1/448")
    assert rc == 0 and "scale: 1/448" in out and "max finite: 448" in out


def test_table_e2m1_is_the_ocp_fp4_value_set():
    rc, out, _ = cli("table", "e2m1")
    assert rc == 0
    rows = [line.split() for line in out.splitlines()]
    assert [r[0] for r in rows] == [f"{c:X}" for c in range(16)]
    values = [Fraction(r[-1]) for r in rows]
    assert values[:8] == OCP_FP4
    assert values[8:] == [-v for v in OCP_FP4]
    assert rows[8][-1] == "-0"


def test_table_e4m3_every_code_matches_the_ofp8_formula():
    rc, out, _ = cli("table", "e4m3")
    assert rc == 0
    rows = [line.split() for line in out.splitlines()]
    assert len(rows) == 256
    for code, row in enumerate(rows):
        assert int(row[0], 16) == code
        want = ofp8_e4m3(code)
        if want is None:
            assert row[-1] == ("-NaN" if code >> 7 else "NaN"), row
        else:
            assert Fraction(row[-1]) == want, row


def test_table_markdown():
    rc, out, _ = cli("table", "e2m1", "--markdown")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0] == "| code | bits | class | value |" and len(lines) == 2 + 16
    assert lines[2 + 7].endswith("| 6 |")


def test_table_refuses_wide_formats():
    assert_input_error(*cli("table", "f32"), "2**32 codes")


# -- explain ----------------------------------------------------------------------------------------

def rounding_rows(out):
    """mode -> (code, flag letters, value) from the rounding table of ``explain VALUE``."""
    rows = {}
    for line in out.splitlines():
        parts = line.split()
        if parts and parts[0] in ("rne", "rna", "rtz", "rup", "rdn", "rto") and line.startswith("  "):
            rows[parts[0]] = (parts[1], parts[2], parts[3])
    return rows


def test_explain_e4m3_465_overflows_and_sat_gives_448():
    rc, out, _ = cli("explain", "e4m3", "465")
    assert rc == 0
    rows = rounding_rows(out)
    assert set(rows) == {"rne", "rna", "rtz", "rup", "rdn", "rto"}
    assert rows["rne"] == ("0x7E", "..o.x", "448")           # 465 > 464: overflow, SAT clamps to 448
    assert rows["rtz"] == ("0x7E", "....x", "448")           # towards zero never overflows
    assert "464" in out                                       # the OFP8 overflow threshold is named


def test_explain_e4m3_464_is_a_tie_to_even_448():
    rc, out, _ = cli("explain", "e4m3", "464")
    rows = rounding_rows(out)
    assert rows["rne"] == ("0x7E", "....x", "448")           # 1.110b * 2**8 is the even neighbour
    assert rows["rna"][1] == "..o.x"                          # ties away: 480 is beyond 448


def test_explain_non_saturating_e4m3_overflow_is_nan():
    rc, out, _ = cli("explain", "e4m3", "465", "--saturate", "none")
    assert rc == 0
    assert rounding_rows(out)["rne"][:1] == ("0x7F",)        # OFP8 non-SAT: E4M3 overflow -> NaN


@pytest.mark.parametrize("operand", ["0x7e", "0x7E", "0X7E", "0b01111110", "0b1111110"])
def test_explain_code_spellings(operand):
    rc, out, _ = cli("explain", "e4m3", operand)
    assert rc == 0
    assert "code 0x7E" in out and "value: 448" in out
    assert "next down: 0x7D = 416" in out                     # 1.101b * 2**8
    assert "next up: none" in out                             # E4M3 has no Inf; 0x7F is NaN
    assert "bits: 0.1111.110" in out


def test_explain_binary16_neighbours_of_negative_zero():
    rc, out, _ = cli("explain", "f16", "0x8000")
    assert rc == 0
    assert "class: zero" in out
    assert f16_value(1) == 2.0 ** -24                         # binary16's smallest subnormal
    assert "next up: 0x0001 = 0x1p-24" in out
    assert "next down: 0x8001 = -0x1p-24" in out


def test_explain_infinities_have_one_neighbour():
    rc, out, _ = cli("explain", "f16", "0x7c00")              # IEEE 754 §5.3.1: nextDown(+Inf) = max
    assert "class: inf" in out and "next down: 0x7BFF = 65504" in out and "next up: none" in out
    rc, out, _ = cli("explain", "e5m2", "0xFC")               # OFP8 E5M2: -Inf; -57344 = -1.75 * 2**15
    assert "next up: 0xFB = -57344" in out and "next down: none" in out


def test_explain_integer_values_beyond_the_range():
    rc, out, _ = cli("explain", "i8", "300")
    assert rc == 0 and "below: 0x7F = 127" in out and "above: none" in out
    rc, out, _ = cli("explain", "i8", "-300")
    assert "below: none" in out and "above: 0x80 = -128" in out
    rc, out, _ = cli("explain", "i8", "2.5")
    rows = rounding_rows(out)
    assert rows["rne"][0] == "0x02" and rows["rna"][0] == "0x03" and rows["rto"][0] == "0x03"


@pytest.mark.parametrize("argv", [("explain", "e4m3", "-465"), ("explain", "e4m3", "--", "-465"),
                                  ("explain", "--saturate", "finite", "e4m3", "-465")])
def test_explain_negative_values_are_not_options(argv):
    rc, out, err = cli(*argv)
    assert rc == 0, err
    assert rounding_rows(out)["rne"] == ("0xFE", "..o.x", "-448")


@pytest.mark.parametrize("text", ["0.1", "-0.1", "1/3", "0x1.8p-3", "-0x1.4p+2", "65504", "-inf"])
def test_explain_value_rne_matches_struct_half(text):
    # One rounding text -> binary64 first; none of these lands on a binary16 midpoint.
    value = float.fromhex(text) if "x" in text else float(text) if "inf" in text else float(Fraction(text))
    rc, out, _ = cli("explain", "f16", text)
    assert rc == 0, out
    assert rounding_rows(out)["rne"][0] == f"0x{f16_bits(value):04X}"


def test_explain_hex_float_value_representable_in_e4m3():
    rc, out, _ = cli("explain", "e4m3", "0x1.8p-3")
    assert rc == 0
    code = next(c for c in range(256) if ofp8_e4m3(c) == Fraction(3, 16))
    assert f"representable: yes, code 0x{code:02X}" in out


@pytest.mark.parametrize("argv, fragment", [
    (("explain", "e4m3", "0x100"), "out of range"),
    (("explain", "e4m3", "zz"), "neither a code"),
    (("explain", "e4m4x", "1"), "unknown format"),
])
def test_explain_bad_input(argv, fragment):
    assert_input_error(*cli(*argv), fragment)


# -- run --------------------------------------------------------------------------------------------

def test_run_f32_to_f16_agrees_with_struct_half():
    rng = random.Random(7)
    xs = [rng.uniform(-60000, 60000) * 2.0 ** rng.randint(-30, 0) for _ in range(300)]
    codes = [f32_bits(x) for x in xs]
    rc, out, err = cli("run", "f32_to_f16", stdin="".join(f"{c:08x}\r\n" for c in codes))
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) == len(codes)
    for code, line in zip(codes, lines):
        x = f32_value(code)
        want = f16_bits(x)
        exact = f16_value(want) == x
        underflow = not exact and abs(f16_value(want)) < 2.0 ** -14 and x != 0
        flags = (0 if exact else 1) | (2 if underflow else 0)
        assert line == f"{code:08X} {want:04X} {flags:02X}"


def test_run_input_format_is_forgiving_and_output_is_canonical(tmp_path):
    text = "# TestFloat -prefix line, written as a comment\n\n3c00\r\n  0001   \n7E00\n"
    rc, out, _ = cli("run", "f16_to_f32", stdin=text)
    assert rc == 0
    assert out == "3C00 3F800000 00\n0001 33800000 00\n7E00 7FC00000 00\n"


def test_run_writes_file_atomically_and_deterministically(tmp_path):
    src = tmp_path / "ops.txt"
    src.write_text("".join(f"{c:04X}\n" for c in range(0, 65536, 97)))
    first, second = tmp_path / "a.tv", tmp_path / "b.tv"
    assert cli("run", "f16_to_e5m2", src, "-o", first)[0] == 0
    assert cli("run", "f16_to_e5m2", src, "--output", second)[0] == 0
    assert first.read_bytes() == second.read_bytes()
    rc, out, _ = cli("run", "f16_to_e5m2", src)
    assert out.encode() == first.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.tv", "b.tv", "ops.txt"]


def test_run_stochastic_rounding_takes_r_from_the_last_column():
    # 1.0625 lies half-way (nu = 1/2) between E4M3's 1 (0x38) and 1.125 (0x39);
    # sr-a with N = 4 rounds up iff floor(8) + R >= 16.
    x = f32_bits(1.0625)
    rc, out, _ = cli("run", "f32_to_e4m3", "--rounding", "sr-a", "--sr-bits", "4",
                     stdin=f"{x:08X} 7\n{x:08X} 8\n{x:08X} f\n")
    assert rc == 0
    assert out == f"{x:08X} 7 38 01\n{x:08X} 8 39 01\n{x:08X} F 39 01\n"


def test_run_i32_and_to_integer_widths():
    rc, out, _ = cli("run", "i32_to_f16", stdin="FFFFFFFF\n00000800\n")
    assert out == f"FFFFFFFF {f16_bits(-1.0):04X} 00\n00000800 {f16_bits(2048.0):04X} 00\n"
    rc, out, _ = cli("run", "f16_to_i32", "-rminMag", stdin=f"{f16_bits(-2.75):04X}\n")
    assert out == f"{f16_bits(-2.75):04X} FFFFFFFE 00\n"


# -- option spellings ----------------------------------------------------------------------------------

# 1 + 2**-11 + 2**-20 in binary32: just above the binary16 midpoint of 1 and 1 + 2**-10.
ABOVE_HALF = f32_bits(1 + 2.0 ** -11 + 2.0 ** -20)


@pytest.mark.parametrize("spelling", [["-rminMag"], ["-rminmag"], ["--rounding", "minMag"],
                                      ["--rounding", "rtz"], ["-r", "rtz"], ["-rrtz"]])
def test_rounding_spellings_towards_zero(spelling):
    rc, out, _ = cli("run", "f32_to_f16", *spelling, stdin=f"{ABOVE_HALF:08X}\n")
    assert rc == 0 and out.split()[1] == "3C00"


@pytest.mark.parametrize("spelling", [[], ["-rnear_even"], ["--rounding", "near_even"], ["-rneareven"],
                                      ["-rmax"], ["-rodd"], ["-rnear_maxMag"]])
def test_rounding_spellings_that_round_up_here(spelling):
    rc, out, _ = cli("run", "f32_to_f16", *spelling, stdin=f"{ABOVE_HALF:08X}\n")
    assert rc == 0 and out.split()[1] == "3C01"


def test_rmin_rounds_down():
    assert cli("run", "f32_to_f16", "-rmin", stdin=f"{ABOVE_HALF:08X}\n")[1].split()[1] == "3C00"


@pytest.mark.parametrize("exact", [["-exact"], ["--exact"]])
def test_exact_spellings(exact):
    half = f"{f16_bits(0.5):04X}\n"
    assert cli("run", "f16_to_i32", *exact, stdin=half)[1].split()[2] == "01"
    assert cli("run", "f16_to_i32", *exact, "-notexact", stdin=half)[1].split()[2] == "00"
    assert cli("run", "f16_to_i32", stdin=half)[1].split()[2] == "00"


@pytest.mark.parametrize("before", [["-tininessbefore"], ["--tininess", "before"]])
def test_tininess_spellings(before):
    # PROVENANCE.md: this f64_to_f16 case has flags 03 with tininess before rounding, 01 after.
    line = "3F0FFFFFFEFFFFC0\n"
    assert cli("run", "f64_to_f16", *before, stdin=line)[1] == "3F0FFFFFFEFFFFC0 0400 03\n"
    assert cli("run", "f64_to_f16", "-tininessafter", stdin=line)[1] == "3F0FFFFFFEFFFFC0 0400 01\n"


def test_profile_first_then_explicit_options():
    nan = "7E00\n"
    assert cli("run", "f16_to_i32", "--profile", "x86", stdin=nan)[1] == "7E00 80000000 10\n"
    assert cli("run", "f16_to_i32", "--profile", "riscv", stdin=nan)[1] == "7E00 7FFFFFFF 10\n"
    assert cli("run", "f16_to_i32", "--profile", "x86", "--invalid-int", "saturate",
               stdin=nan)[1] == "7E00 7FFFFFFF 10\n"
    big = f"{f32_bits(1000.0):08X}\n"                         # beyond E4M3's 448
    assert cli("run", "f32_to_e4m3", "--profile", "ml_dtypes", stdin=big)[1].split()[1] == "7F"
    assert cli("run", "f32_to_e4m3", "--profile", "ml_dtypes", "--saturate", "finite",
               stdin=big)[1].split()[1] == "7E"


def test_ftz_daz_and_nan_options():
    tiny = f"{f32_bits(2.0 ** -24):08X}\n"                  # binary16's smallest subnormal
    assert cli("run", "f32_to_f16", stdin=tiny)[1].split()[1] == "0001"
    fields = cli("run", "f32_to_f16", "--ftz", stdin=tiny)[1].split()
    assert fields[1] == "0000" and int(fields[2], 16) & 0x02
    assert cli("run", "f16_to_f32", stdin="0001\n")[1].split()[1] == f"{f32_bits(2.0 ** -24):08X}"
    assert cli("run", "f16_to_f32", "--daz", stdin="0001\n")[1].split()[1] == "00000000"
    assert cli("run", "f32_to_f16", stdin="FFC00000\n")[1].split()[1] == "7E00"
    assert cli("run", "f32_to_f16", "--nan", "sign", stdin="FFC00000\n")[1].split()[1] == "FE00"


# -- gen --------------------------------------------------------------------------------------------

def test_gen_e4m3_to_f16_is_exhaustive_and_exact():
    rc, out, _ = cli("gen", "e4m3_to_f16")
    assert rc == 0
    rows = vector_fields(out)
    assert [int(r[0], 16) for r in rows] == list(range(256))
    for a, z, flags in rows:
        want = ofp8_e4m3(int(a, 16))
        if want is None:
            assert z == "7E00"                                # canonical quiet NaN
        else:
            assert Fraction(f16_value(int(z, 16))) == want and (want != 0 or z[0] in "08")
        assert flags == "00"


def test_gen_wide_source_is_seeded_and_rounds_like_struct_half():
    first = cli("gen", "f32_to_f16", "-n", "400", "--seed", "3")
    again = cli("gen", "f32_to_f16", "-n", "400", "-seed", "3")
    other = cli("gen", "f32_to_f16", "-n", "400", "--seed", "4")
    assert first[0] == 0 and first[1] == again[1] != other[1]
    rows = vector_fields(first[1])
    assert len(rows) == 400
    checked = 0
    for a, z, _ in rows:
        x = f32_value(int(a, 16))
        if x == x and abs(x) < 65504:
            assert int(z, 16) == f16_bits(x), (a, z)
            checked += 1
    assert checked > 50


def test_gen_stochastic_draws_r_from_the_documented_stream():
    rc, out, _ = cli("gen", "e4m3_to_e2m1", "--rounding", "sr-c", "--sr-bits", "3", "--seed", "5")
    assert rc == 0
    rows = vector_fields(out)
    draw = random.Random(5).getrandbits         # exhaustive source: no operand draws come first
    assert [int(r[1], 16) for r in rows] == [draw(3) for _ in rows]
    assert len(rows) == 256 and all(len(r) == 4 for r in rows)


def test_gen_level_is_checked():
    assert_input_error(*cli("gen", "f32_to_f16", "--level", "3"), "--level")


# -- verify ----------------------------------------------------------------------------------------

def test_verify_reports_mismatches_testfloat_style(tmp_path):
    lines = [f"{f16_bits(x):04X} {f32_bits(x):08X} 00" for x in (1.0, -2.5, 65504.0)]
    lines[1] = lines[1][:-1] + "1"                          # wrong flags
    lines[2] = f"{f16_bits(65504.0):04X} 477FE001 00"        # wrong result bits
    path = tmp_path / "v.tv"
    path.write_text("\n".join(lines) + "\n")
    rc, out, _ = cli("verify", "f16_to_f32", path)
    assert rc == 1
    report = out.splitlines()
    assert report[-1] == "1 passed, 2 failed"
    a, z = f16_bits(-2.5), f32_bits(-2.5)
    assert report[0] == f"line 2: {a:04X}  => {z:08X} ....x  expected {z:08X} ....."
    assert report[1] == "line 3: 7BFF  => 477FE001 .....  expected 477FE000 ....."
    rc, out, _ = cli("verify", "f16_to_f32", path, "--errors", "1")
    assert out.splitlines()[1:] == ["(1 more mismatches not shown; --errors 0 shows all)", "1 passed, 2 failed"]
    assert cli("verify", "f16_to_f32", path, "-errors", "0")[1].count("expected") == 2


def test_verify_all_pass_and_stochastic_columns():
    x = f32_bits(1.0625)
    text = f"{x:08X} 7 38 01\n{x:08X} 8 39 01\n"
    rc, out, _ = cli("verify", "f32_to_e4m3", "-", "--rounding", "sr-a", "--sr-bits", "4", stdin=text)
    assert rc == 0 and out == "2 passed, 0 failed\n"


# -- bad input ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, stdin, fragments", [
    (("run", "f16_to_fp9"), "", ["unknown format 'fp9'", "did you mean"]),
    (("info", "e4m3x"), "", ["unknown format 'e4m3x'"]),
    (("run", "f16_to_f32"), "3C00\n3C0G\n", ["input line 2: malformed hex '3C0G'"]),
    (("run", "f16_to_f32"), "0x3C00\n", ["input line 1: malformed hex"]),
    (("run", "f16_to_f32"), "-3C00\n", ["input line 1: malformed hex"]),
    (("run", "f16_to_f32"), "13C00\n", ["input line 1: 13C00 is out of range for binary16 (16 bits)"]),
    (("run", "f32_to_e4m3", "-rsr-a", "--sr-bits", "3"), "3F800000 8\n", ["input line 1", "random integer R"]),
    (("run", "f32_to_e4m3", "-rsr-a", "--sr-bits", "3"), "3F800000\n", ["expected 2 operands, got 1"]),
    (("verify", "f16_to_f32", "-"), "3C00 3F800000\n",
     ["input line 1: expected 3 fields (1 operand, result, flags), got 2"]),
    (("verify", "f16_to_f32", "-"), "3C00 3F800000 20\n", ["out of range for flags"]),
    (("verify", "f16_to_f32", "-"), "3C00 13F800000 00\n", ["out of range for result binary32"]),
    (("run", "f32_to_e4m3", "--rounding", "sr-a"), "", ["needs sr_bits"]),
    (("run", "f32_to_e4m3", "--sr-bits", "4"), "", ["--sr-bits only applies to stochastic"]),
    (("run", "f32_to_e4m3", "-rsideways"), "", ["unknown rounding mode 'sideways'"]),
    (("run", "f32_to_e4m3", "--profile", "vax"), "", ["unknown profile 'vax'"]),
    (("run", "f32_to_e4m3", "--saturate", "always"), "", ["invalid choice"]),
    (("run", "f32_to_e4m3", "--sr-bits", "zero"), "", ["expected an integer"]),
    (("run", "f32_to_f16", "/nonexistent/ops.txt"), "", ["cannot access '/nonexistent/ops.txt'"]),
    (("frobnicate",), "", ["invalid choice"]),
    ((), "", ["choose a command"]),
    (("verify", "f16_to_f32"), "", ["required"]),
])
def test_bad_input_is_one_line_and_exit_2(argv, stdin, fragments):
    rc, out, err = cli(*argv, stdin=stdin)
    assert_input_error(rc, out, err, *fragments)


def test_wrong_operand_count_names_the_line():
    rc, out, err = cli("run", "f16_to_f32", stdin="3C00\n# note\n3C00 3C00\n")
    assert_input_error(rc, out, err)
    assert err == "refnum: input line 3: expected 1 operand, got 2\n"


def test_operation_names_and_their_errors():
    rc, out, err = cli("run", "e4m3_mul_to_f32", stdin="7E 7E\n")   # 448 * 448 = 200704, exact
    assert (rc, out, err) == (0, "7E 7E 48440000 00\n", "")
    rc, out, err = cli("run", "bf16_mulAdd_to_f32", "--operand-formats", "bf16,bf16,f32",
                       stdin="3C00 3C00 00000000\n")                   # 2**-7 * 2**-7 + 0 = 2**-14
    assert (rc, out) == (0, "3C00 3C00 00000000 38800000 00\n")
    assert cli("run", "f16_lt_quiet", stdin="3C00 4000\n")[1] == "3C00 4000 1 00\n"
    assert_input_error(*cli("run", "f16_add", stdin="3C00\n"), "input line 1", "expected 2 operands, got 1")
    assert_input_error(*cli("run", "e4m9x_add"), "unknown format 'e4m9x'")
    assert_input_error(*cli("run", "e4m3_mul_to_f99"), "unknown format 'f99'")
    assert_input_error(*cli("run", "f16_eq_to_f32"), "takes no result format")
    assert_input_error(*cli("run", "f16_add", "--operand-formats", "f16"), "takes 2 operands; 1 operand formats")
    assert_input_error(*cli("run", "f16_to_f32", "--operand-formats", "f16"), "apply to operations")
    assert_input_error(*cli("run", "f16_frobnicate"), "unknown function", "mulAdd")


def test_failed_run_leaves_no_partial_file(tmp_path):
    src = tmp_path / "ops.txt"
    src.write_text("3C00\n" * 20000 + "XYZ\n")
    target = tmp_path / "out.tv"
    assert_input_error(*cli("run", "f16_to_f32", src, "-o", target), "input line 20001")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ops.txt"]
    target.write_text("previous contents\n")
    assert_input_error(*cli("run", "f16_to_f32", src, "-o", target), "malformed hex 'XYZ'")
    assert target.read_text() == "previous contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ops.txt", "out.tv"]


def test_failed_gen_leaves_no_file(tmp_path):
    target = tmp_path / "out.tv"
    assert_input_error(*cli("gen", "f32_to_e4m3", "--rounding", "sr-b", "-o", target), "sr_bits")
    assert not target.exists() and list(tmp_path.iterdir()) == []


# -- the function-name parser ------------------------------------------------------------------------------

@pytest.mark.parametrize("name, src, dst", [
    ("f16_to_i32", "binary16", "int32"), ("f32_to_f16", "binary32", "binary16"),
    ("i32_to_f16", "int32", "binary16"), ("e4m3_to_f16", "e4m3", "binary16"),
    ("float8_e5m2_to_bf16", "e5m2", "bfloat16"), ("bf16_to_e2m1", "bfloat16", "e2m1"),
    ("p3109_k8p4se_to_f32", "p3109_k8p4se", "binary32"), ("float8_e4m3fnuz_to_float4_e2m1fn", "e4m3fnuz", "e2m1"),
    ("ui64_to_mx_int8", "uint64", "mxint8"),
])
def test_function_names(name, src, dst):
    f = parse(name)
    assert (f.operation, f.sources[0].name, f.result.name) == ("convert", src, dst)


# -- the installed command ------------------------------------------------------------------------------------

def test_python_dash_m_smoke():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    ok = subprocess.run([sys.executable, "-m", "refnum", "explain", "e4m3", "0x7e"], capture_output=True,
                        text=True, env=env, cwd=ROOT, timeout=120)
    assert ok.returncode == 0 and "value: 448" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "refnum", "run", "f16_frobnicate"], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=120, input="")
    assert bad.returncode == 2 and bad.stdout == "" and "Traceback" not in bad.stderr
    assert bad.stderr.count("\n") == 1


def test_console_script_smoke():
    exe = shutil.which("refnum")
    if exe is None:
        pytest.skip("the refnum console script is not on PATH (package not installed)")
    done = subprocess.run([exe, "gen", "e2m1_to_f16"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 16


# -- suite ------------------------------------------------------------------------------------------------------

def test_suite_passes_out_and_seed_to_write_suite(monkeypatch, tmp_path):
    suite = pytest.importorskip("refnum.vectors.suite")
    calls = []

    def record(outdir, entries, *, seed=1, force=False, **kw):
        calls.append((outdir, seed, len(entries), force))
        manifest = suite.Manifest(total_files=len(entries), total_cases=0, total_bytes=0)
        manifest.outcome = suite.Outcome(1, len(entries) - 3, 2, ())
        return manifest
    monkeypatch.setattr(suite, "write_suite", record)
    from refnum.blocks import corpus
    from refnum.dot import corpus as dot_corpus

    blocks, dots = [], []
    monkeypatch.setattr(corpus, "write", lambda out: blocks.append(out) or {"total_files": 2, "files": [{"cases": 5}]})
    monkeypatch.setattr(dot_corpus, "write",
                        lambda out: dots.append(out) or {"total_files": 3, "files": [{"cases": 4}, {"cases": 6}]})
    rc, out, _ = cli("suite", "--out", tmp_path / "corpus", "--seed", "7")
    n = len(__import__("refnum.vectors.plan", fromlist=["x"]).load_suite("corpus")[2])
    assert rc == 0 and out == (f"{n} files (1 written, {n - 3} already complete, 2 repaired), 0 cases, 0 bytes"
                               f" in {tmp_path / 'corpus'}\n2 block files, 5 blocks in {tmp_path / 'corpus' / 'blocks'}\n"
                               f"3 dot files, 10 dot products in {tmp_path / 'corpus' / 'dot'}\n")
    assert cli("suite")[0] == 0 and cli("suite", "--force")[0] == 0
    assert calls == [(str(tmp_path / "corpus"), 7, n, False), ("vectors", 1, n, False), ("vectors", 1, n, True)]
    assert blocks == [str(tmp_path / "corpus" / "blocks")] + [os.path.join("vectors", "blocks")] * 2
    assert dots == [str(tmp_path / "corpus" / "dot")] + [os.path.join("vectors", "dot")] * 2


def test_suite_write_error_is_one_line(monkeypatch):
    suite = pytest.importorskip("refnum.vectors.suite")

    def refuse(outdir, entries, *, seed=1, **kw):
        raise PermissionError(13, "Permission denied", outdir)

    monkeypatch.setattr(suite, "write_suite", refuse)
    assert_input_error(*cli("suite", "--out", "/read-only/corpus"), "cannot access '/read-only/corpus'")


def test_gen_suite_folder_manifest_check_and_verify(tmp_path):
    suite_file = tmp_path / "s.toml"
    suite_file.write_text('[[files]]\nfunction = ["e2m1_add", "e2m1_to_f32"]\nrounding = ["rne", "rtz"]\n')
    rc, out, err = cli("gen", "--suite", suite_file, "--out", tmp_path / "v", "--jobs", "2")
    # e2m1_add: 2 x 256 lines of 9 bytes; e2m1_to_f32: 2 x 16 lines of 14 bytes
    assert (rc, out, err) == (0, f"4 files (4 written, 0 already complete, 0 repaired), 544 cases, 5,056 bytes"
                                 f" in {tmp_path / 'v'}\n", "")
    assert cli("manifest", "check", tmp_path / "v") == (0, "4 files checked, 0 problems\n", "")
    assert cli("verify", "e2m1_add", "--rounding", "rtz", tmp_path / "v/e2m1_add/rtz.tv")[:2] == (
        0, "256 passed, 0 failed\n")
    victim = tmp_path / "v/e2m1_add/rtz.tv"
    victim.write_text(victim.read_text().replace("0 0 0 00", "0 0 1 00", 1))
    rc, out, err = cli("manifest", "check", tmp_path / "v")
    assert rc == 3 and out.splitlines() == ["e2m1_add/rtz.tv: SHA-256 mismatch (changed since it was written)",
                                            "4 files checked, 1 problems"]
    rc, out, _ = cli("verify", "e2m1_add", "--rounding", "rtz", victim, "--summary-json", tmp_path / "sum.json")
    assert rc == 1 and out.splitlines()[-1] == "255 passed, 1 failed"
    summary = json.loads((tmp_path / "sum.json").read_text())
    assert (summary["passed"], summary["failed"], summary["format"]) == (255, 1, "tv")
    assert summary["mismatches_shown"] == ["line 1: 0 0  => 1 .....  expected 0 ....."]


def test_gen_shards_concatenate_and_formats_round_trip(tmp_path):
    whole = cli("gen", "e3m2_mul")[1]
    parts = [cli("gen", "e3m2_mul", "--shard", f"{i}/3")[1] for i in range(3)]
    assert "".join(parts) == whole and len(whole.splitlines()) == 64 * 64
    for kind in ("memh", "jsonl", "npz"):
        target = tmp_path / f"m.{kind}"
        assert cli("gen", "e3m2_mul", "--format", kind, "-o", target)[0] == 0
        assert cli("verify", "e3m2_mul", target) == (0, "4096 passed, 0 failed\n", "")
    assert_input_error(*cli("gen", "e3m2_mul", "--format", "npz"), "binary archive")
    assert_input_error(*cli("gen", "e3m2_mul", "--shard", "3/3"), "need 0 <= I < N")
    assert_input_error(*cli("gen", "--suite", "corpus"), "add --out DIR")
    assert_input_error(*cli("gen", "--suite", "nope", "--out", tmp_path), "unknown suite 'nope'")
    assert_input_error(*cli("gen"), "a FUNCTION is required")
    assert_input_error(*cli("gen", "e3m2_mul", "-o", tmp_path / "x", "--out", tmp_path), "not both")
    assert_input_error(*cli("manifest", "check", tmp_path / "missing"), "missing")


def test_verify_nan_check_lenient_accepts_any_nan():
    line = "7C01 3C00 7FFF 10\n"                               # sNaN + 1: refnum's canonical NaN is 7E00
    assert cli("verify", "f16_add", "--profile", "riscv", "-", stdin=line)[0] == 1
    assert cli("verify", "f16_add", "--profile", "riscv", "--nan-check", "lenient", "-", stdin=line)[:2] == (
        0, "1 passed, 0 failed\n")
    wrong_flags = "7C01 3C00 7FFF 00\n"
    assert cli("verify", "f16_add", "--profile", "riscv", "--nan-check", "lenient", "-", stdin=wrong_flags)[0] == 1


@pytest.mark.slow
def test_suite_writes_a_corpus(tmp_path):
    assert cli("suite", "--out", tmp_path, "--jobs", "2")[0] == 0
    assert (tmp_path / "manifest.json").exists() and (tmp_path / "SHA256SUMS").exists()


def test_closed_pipe_is_not_an_error():
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.Popen([sys.executable, "-m", "refnum", "table", "f16"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT)
    first = proc.stdout.readline()
    proc.stdout.close()                                     # like `refnum table f16 | head -1`
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 0
    assert first.startswith(b"0000 ") and err == b""


@pytest.mark.parametrize("option", ["--nan=payload", "--invalid-int=wrap", "--nan-missing=zero", "--zero-missing=nan",
                                    "--lowest-binade=subnormal", "--p1-parity=significand", "--saturate=propagate",
                                    "--saturate=default", "--profile=p3109", "--profile=ocp", "--profile=arm"])
def test_every_knob_option_is_accepted(option):
    rc, out, err = cli("run", "f32_to_e8m0", option, stdin="3F800000\n")
    assert (rc, err) == (0, "") and out == "3F800000 7F 00\n"     # 1.0 = 2**0 is E8M0 code 127


def test_a_refused_value_names_its_line_and_writes_nothing():
    # binary16 0x7E00 is a NaN; OCP MX FP4 E2M1 has no NaN code, and --nan-missing error refuses it
    rc, out, err = cli("run", "f16_to_e2m1", "--nan-missing", "error", stdin="3C00\n# note\n7E00\n")
    assert_input_error(rc, out, err, "input line 3", "e2m1")
    assert out == ""


@pytest.mark.parametrize("file", ["-", "FILE"])
def test_file_after_the_options(file, tmp_path):
    """``refnum run F --rounding rtz FILE``: argparse fills F [FILE] before the options, so a
    FILE after them (standard input's '-' included) is taken by cli._parse."""
    path = tmp_path / "in.tv"
    path.write_text("3C01\n")
    rc, out, err = cli("run", "f16_to_e4m3", "--rounding", "rtz", str(path) if file == "FILE" else "-",
                       stdin="3C01\n")
    assert (rc, out, err) == (0, "3C01 38 01\n", "")
