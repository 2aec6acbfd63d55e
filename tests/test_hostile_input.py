"""Hostile and puzzling input to ``refnum`` (issue 12, §3 and §5): every mistake is one line
``refnum: ...`` on standard error with exit 2, nothing runs for long or writes a partial
file, and what a new user types means one documented thing.

Commands that used to hang run in a subprocess with a timeout, so a regression fails
instead of stalling the suite.  Expectations are the documented limits and grammar
(spec/encodings-generic.md "Limits", ``refnum explain --help``), or spec values: OCP OFP8
v1.0 §5 E4M3 (bias 7, 0.0001.000 = 2**-6, 0.0000.001 = 2**-9, max 448).
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from refnum import cli as refnum_cli
from refnum.catalog import lookup
from refnum.errors import RefnumError

from test_cli import assert_input_error, cli

ROOT = Path(__file__).resolve().parent.parent
QUICK = 20          # seconds: every command below finishes in well under one


def refnum(*argv, cwd=None):
    """(exit status, stdout, stderr, seconds) of ``python -m refnum argv`` in a subprocess."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "refnum", *map(str, argv)], capture_output=True, text=True,
                          timeout=QUICK, env=env, cwd=cwd)
    return done.returncode, done.stdout, done.stderr, time.perf_counter() - start


# -- explain: 0x/0b are codes, anything else a value ------------------------------------------------------

@pytest.mark.parametrize("operand, code", [("0b1", 0x01), ("0B01111110", 0x7E), ("0b0000_0001", None),
                                           ("0x7e", 0x7E), ("0X01", 0x01)])
def test_explain_codes_are_written_0x_or_0b(operand, code):
    rc, out, err = cli("explain", "e4m3", operand)
    if code is None:
        assert_input_error(rc, out, err, "malformed")
        return
    assert rc == 0, err
    assert out.startswith(f"e4m3 code 0x{code:02X}\n")


def test_explain_0b1_is_the_smallest_subnormal_not_code_0xb1():
    rc, out, _ = cli("explain", "e4m3", "0b1")
    assert rc == 0 and "value: 0.001953125" in out            # 2**-9, OFP8 E4M3's smallest subnormal


@pytest.mark.parametrize("operand", ["7e", "7E", "ff", "b1"])
def test_bare_hex_is_not_a_code(operand):
    rc, out, err = cli("explain", "e4m3", operand)
    assert_input_error(rc, out, err, f"0x{operand.upper()}")


@pytest.mark.parametrize("operand, value, code", [("1e2", "100", "0x1E2"), ("7E1", "70", "0x7E1")])
def test_an_operand_that_reads_both_ways_names_both(operand, value, code):
    rc, out, err = cli("explain", "f16", operand)
    assert_input_error(rc, out, err, f"value {value}", f"code {code}")


@pytest.mark.parametrize("operand", ["100", "1e+2", "100.0", "1.0e2"])
def test_unambiguous_values(operand):
    rc, out, err = cli("explain", "e4m3", operand)
    assert rc == 0, err
    assert out.startswith("e4m3 value 100\n")
    assert "representable: no" in out                        # 96 and 104 bracket it (1.1xxb * 2**6)


def test_explain_help_states_the_grammar():
    rc, out, _ = cli("explain", "--help")
    assert rc == 0 and "0b" in out and "0x" in out and "both" in out


# -- info: family names, install hints, help texts ---------------------------------------------------------

def test_an_ambiguous_family_name_lists_its_members():
    rc, out, err = cli("info", "fp8")
    assert_input_error(rc, out, err, "e4m3", "e5m2")
    assert "fp128" not in err
    assert_input_error(*cli("info", "fp6"), "e2m3", "e3m2")


def test_install_hint_names_the_pypi_and_the_checkout_spelling():
    from refnum.crosscheck import Backend, BackendMissing

    class Missing(Backend):
        name = "nothing"
        modules = ("refnum_no_such_module",)

    with pytest.raises(BackendMissing) as err:
        Missing().load()
    assert "pip install 'refnum[crosscheck]'" in str(err.value)
    assert "pip install '.[crosscheck]'" in str(err.value)


def test_help_lists_every_exit_status():
    rc, out, _ = cli("--help")
    assert rc == 0 and "3 " in out.split("Exit status:")[1] and "manifest" in out.split("Exit status:")[1]


def test_suite_help_explains_seed():
    rc, out, _ = cli("suite", "--help")
    option = next(line for line in out.splitlines() if line.strip().startswith("--seed"))
    assert option.split(maxsplit=2)[2:], option              # a help text after "--seed SEED"


def test_crosscheck_without_disagreements_does_not_claim_known_ones():
    from collections import Counter

    from refnum.crosscheck import Report, Row

    clean = Report("numpy", {}, True, 1, {"f": Row("f", cases=10, agree=10)})
    assert list(clean.lines())[-1] == "no disagreements"
    known = Report("numpy", {}, True, 1, {"f": Row("f", cases=10, agree=9, known=Counter({"NP-1": 1}))})
    assert list(known.lines())[-1] == "every disagreement is a known difference"


# -- formats refnum cannot or will not build: one line, at once --------------------------------------------

@pytest.mark.parametrize("argv", [("info", "e0m3"), ("table", "e0m3"), ("info", "e0m3_fn")])
def test_no_exponent_bits_is_an_error(argv):
    assert_input_error(*cli(*argv), "e0m3", "exponent")


def test_run_to_e0m3_is_an_error():
    assert_input_error(*cli("run", "f16_to_e0m3", stdin="3C00\n"), "e0m3")


def test_lookup_e0m3_raises_refnum_error():
    with pytest.raises(RefnumError, match="exponent"):
        lookup("e0m3")


@pytest.mark.parametrize("name, fragment", [
    ("e1000000000m1", "exponent"), ("e24m3", "exponent"), ("e32m3", "exponent"), ("ieee_k64p3", "exponent"),
    ("p3109_k64p2se", "exponent"), ("e4m3_b-99999999999999", "bias"), ("e4m3@1e999999999", "scale"),
    ("e4m3@1e99999", "scale"), ("e" + "9" * 5000 + "m1", "exponent"), ("e8m300", "bits"),
    ("i" + "9" * 5000, "bits"), ("e4m3@0x1p-5000", "scale"),
])
def test_formats_beyond_the_limits_are_refused_at_once(name, fragment):
    rc, out, err, seconds = refnum("info", name)
    assert_input_error(rc, out, err, fragment)
    assert seconds < QUICK


@pytest.mark.parametrize("name, bits", [("ieee_k256p237", 256), ("binary128", 128), ("e20m3", 24),
                                        ("p3109_k21p1se", 21), ("e4m3_b-1048576", 8), ("e4m3@1/448", 8)])
def test_formats_within_the_limits_still_work(name, bits):
    rc, out, err, seconds = refnum("info", name)
    assert rc == 0, err
    assert f"bits: {bits}\n" in out


def test_wide_format_max_is_shown_exactly_in_hex():
    rc, out, _ = cli("info", "e20m3")               # max = 1.875 * 2**((2**20 - 2) - (2**19 - 1))
    assert rc == 0 and f"max finite: 0x1.ep+{2 ** 19 - 1}" in out


# -- explain: huge and tiny values ---------------------------------------------------------------------------

@pytest.mark.parametrize("value, shown", [("1e-4400", "1e-4400"), ("-1.5e-4400", "-1.5e-4400"),
                                          ("1e-999999", "1e-999999"), ("0x1p-1000000", "0x1p-1000000"),
                                          ("1e+999999", "1e+999999")])
def test_explain_far_out_values_quickly(value, shown):
    rc, out, err, seconds = refnum("explain", "e4m3", "--", value)
    assert rc == 0, err
    lines = out.splitlines()
    assert lines[0] == f"e4m3 value {shown}"
    assert max(map(len, lines)) < 200
    rne = next(line.split() for line in lines if line.startswith("  rne"))
    big = not value.startswith(("1e-", "-1.5e-", "0x1p-"))
    assert rne[1] == ("0x7E" if big else "0x80" if value.startswith("-") else "0x00")    # saturate / underflow


@pytest.mark.parametrize("text", ["1e-4400", "-1.5e-4400", "1234567e-300", "3e+5000", "0x1.8p-70000",
                                  "-0x1.23456789p+99999", "1e-170000", "25e-9001", "0x1p-1000000"])
def test_short_forms_of_long_values_read_back_exactly(text):
    from refnum.describe import _number_text
    from refnum.values import parse

    value = parse(text)
    shown = _number_text(value)
    assert len(shown) < 40 and parse(shown) == value and parse(shown).sign == value.sign


# -- suite files with fields of the wrong type ---------------------------------------------------------------

@pytest.mark.parametrize("field, fragment", [
    ("knobs = 5", "knobs"), ("operand_formats = 5", "operand_formats"), ('count = "abc"', "count"),
    ("count = 1.5", "count"), ("count = true", "count"), ("count = -5", "count"), ("count = 0", "count"),
    ("profile = 3", "profile"), ("knobs = {bogus = 1}", "bogus"),
    ('knobs = {ftz = "yes"}', "ftz"), ("sr_bits = -3", "sr_bits"), ("sr_bits = 3", "sr_bits"),
    ("rounding = 5", "rounding"), ("saturation = [1]", "saturation"), ('operand_formats = ["f16", 3]', "operand_formats"),
    ('cases = "random"\ncount = -5', "count"), ('cases = "boundaries"\ncount = -5', "count"),
    ("cases = 3", "cases"), ("function = []", "function"),
])
def test_suite_fields_of_the_wrong_type(tmp_path, field, fragment):
    suite_file = tmp_path / "s.toml"
    suite_file.write_text(f'description = "x"\n[[files]]\nfunction = "f16_to_e4m3"\n{field}\n'
                          .replace('function = "f16_to_e4m3"\nfunction', "function"))
    rc, out, err = cli("gen", "--suite", suite_file, "--out", tmp_path / "out")
    assert_input_error(rc, out, err, "files[1]", fragment)
    assert not (tmp_path / "out").exists()


def test_suite_count_beyond_the_limit_is_refused_before_any_work(tmp_path):
    (tmp_path / "s.toml").write_text('[[files]]\nfunction = "f32_add"\ncount = 100000000000\n')
    rc, out, err, seconds = refnum("gen", "--suite", "s.toml", "--out", "out", cwd=tmp_path)
    assert_input_error(rc, out, err, "files[1]", "count")
    assert not (tmp_path / "out").exists()


def test_suite_stochastic_entries_still_load(tmp_path):
    suite_file = tmp_path / "s.toml"
    suite_file.write_text('[[files]]\nfunction = "f16_to_e4m3"\nrounding = ["sr-a", "sr-b"]\nsr_bits = 3\n'
                          'cases = "random"\ncount = 5\nknobs = {ftz = true, nan = "sign"}\n')
    from refnum.vectors.plan import load_suite

    _, _, entries = load_suite(str(suite_file))
    assert [e.path() for e in entries] == ["f16_to_e4m3/sr-a_n3_ftz-True_nan-sign_random5.tv",
                                           "f16_to_e4m3/sr-b_n3_ftz-True_nan-sign_random5.tv"]


# -- gen: counts beyond the limit, empty operand formats ---------------------------------------------------

def test_gen_count_beyond_the_limit_is_refused_before_any_work(tmp_path):
    rc, out, err, seconds = refnum("gen", "f32_add", "-n", "100000000000", "-o", "x.tv", cwd=tmp_path)
    assert_input_error(rc, out, err, "100000000000", "-n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", ["run", "gen", "verify"])
def test_empty_operand_formats_is_an_error(command):
    argv = [command, "f16_add", "--operand-formats", ""] + (["-"] if command == "verify" else [])
    assert_input_error(*cli(*argv, stdin="3C00 3C00 4000 00\n"), "--operand-formats")


def test_operand_formats_with_an_empty_item_is_an_error():
    assert_input_error(*cli("run", "f16_add", "--operand-formats", "f16,", stdin="3C00 3C00\n"),
                       "--operand-formats")


# -- -o errors name the user's path ------------------------------------------------------------------------

def test_output_into_a_missing_folder_names_the_path(tmp_path):
    target = tmp_path / "missing" / "x.tv"
    rc, out, err = cli("gen", "e2m1_to_f16", "-o", target)
    assert_input_error(rc, out, err, f"'{target}'")
    assert ".tmp" not in err


def test_output_onto_a_folder_names_the_path(tmp_path):
    rc, out, err = cli("gen", "e2m1_to_f16", "-o", tmp_path)
    assert_input_error(rc, out, err, f"'{tmp_path}'")
    assert ".tmp" not in err and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("full_at", ["write", "close"])
def test_disk_full_names_the_path(tmp_path, monkeypatch, full_at):
    real_fdopen = os.fdopen

    class Full:
        """The temporary file on a full disk: the write, or the flush when it closes, fails."""

        def __init__(self, f):
            self.f = f

        def write(self, data):
            if full_at == "write":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            return len(data)

        def close(self):
            self.f.close()
            if full_at == "close":
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(refnum_cli.os, "fdopen", lambda *a, **k: Full(real_fdopen(*a, **k)))
    target = tmp_path / "x.tv"
    rc, out, err = cli("gen", "e2m1_to_f16", "-o", target)
    assert_input_error(rc, out, err, f"'{target}'", os.strerror(errno.ENOSPC))
    assert list(tmp_path.iterdir()) == []
