"""``refnum run`` and ``refnum verify`` read, compute and write in bounded pieces (issue 12 §5, §7).

What is checked, each against an expectation that does not come from refnum:

* results appear while the input is still open (a pipe whose first line is
  answered before the writer closes it), as TestFloat's tools do;
* the pieces are invisible: any block size gives the same output and the same
  line numbers as the whole input read at once (``\\r\\n`` split between two
  blocks included), and line numbers count ``\\n`` as ``wc -l`` and ``grep -n`` do;
* an input without a case is an error, not a pass (an empty file is what a
  failed ``testfloat_gen > file`` leaves behind);
* memory stays bounded on an input without line ends (``/dev/zero`` under an
  address-space limit), and an error never echoes a huge field.

binary16 1.0 is 0x3C00 (IEEE 754-2019 §3.4: biased exponent 15, fraction 0); it
is E4M3 code 0x38 (OCP OFP8 v1.0 §5: bias 7, so exponent field 7 and mantissa 0),
exact, so the flags are 00.
"""

from __future__ import annotations

import io
import os
import select
import subprocess
import sys
from pathlib import Path

import pytest
from test_cli import assert_input_error, cli

from refnum.errors import RefnumError
from refnum.vectors import lines
from refnum.vectors.outputs import encode

ROOT = Path(__file__).resolve().parent.parent
ONE = "3C00 38 00\n"                                    # binary16 1.0 -> E4M3 1.0, exact


def assert_one_line_error(rc, out, err, *fragments):
    assert_input_error(rc, out, err, *fragments)
    assert out == "", out


def refnum_process(*argv, **kwargs):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", "refnum", *argv], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, env=env, cwd=ROOT, **kwargs)


def line_while_open(proc, text, timeout=60):
    """Write ``text`` to the process, keep its input open, and read one line of its output."""
    proc.stdin.write(text.encode())
    proc.stdin.flush()
    ready, _, _ = select.select([proc.stdout], [], [], timeout)
    if not ready:
        proc.kill()
        proc.communicate()
        pytest.fail(f"no output within {timeout} s while the input stayed open")
    return proc.stdout.readline().decode()


# -- results appear while the input is still arriving -----------------------------------------

@pytest.mark.skipif(os.name != "posix", reason="select() on pipes is POSIX")
def test_run_answers_each_line_before_the_input_ends():
    proc = refnum_process("run", "f16_to_e4m3")
    assert line_while_open(proc, "3C00\n") == ONE
    assert line_while_open(proc, "3c00\n") == ONE          # the line-by-line path as well as the bulk one
    out, err = proc.communicate(b"3C00\n", timeout=60)
    assert (proc.returncode, out.decode(), err) == (0, ONE, b"")


@pytest.mark.skipif(os.name != "posix", reason="select() on pipes is POSIX")
def test_verify_reports_a_mismatch_before_the_input_ends():
    proc = refnum_process("verify", "f16_to_e4m3", "-")
    assert line_while_open(proc, "3C00 39 00\n") == "line 1: 3C00  => 39 .....  expected 38 .....\n"
    out, err = proc.communicate(ONE.encode(), timeout=60)
    assert (proc.returncode, out.decode(), err) == (1, "1 passed, 1 failed\n", b"")


# -- pieces are invisible ------------------------------------------------------------------------

class Trickle(io.RawIOBase):
    """A pipe that delivers ``data`` at most ``size`` bytes per read."""

    def __init__(self, data, size):
        self.data, self.size, self.at = data, size, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        chunk = self.data[self.at:self.at + min(self.size, len(buffer))]
        buffer[:len(chunk)] = chunk
        self.at += len(chunk)
        return len(chunk)


TEXT = "# comment\r\n3C00\r\n\r\n  3c00 \r7BFF\n\n0001\r\n#\n7C00"     # \r\n, lone \r, no final line end
NUMBERED = ["# comment", "3C00", "", "  3c00 ", "7BFF", "", "0001", "#", "7C00"]


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8, 64])
def test_pieces_of_any_size_give_the_same_lines(size, monkeypatch):
    monkeypatch.setattr(lines, "_BLOCK", size)
    data = TEXT.encode()
    for source in (io.BufferedReader(Trickle(data, size), buffer_size=size), io.BytesIO(data), TEXT, data):
        assert list(lines.numbered_lines(source)) == list(enumerate(NUMBERED, 1))
        pieces = list(lines.pieces(source if isinstance(source, (str, bytes)) else io.BytesIO(data)))
        assert all(text.endswith("\n") for _, text in pieces[:-1]) and "\r" not in "".join(t for _, t in pieces)


@pytest.mark.parametrize("size", [1, 2, 3, 64])
def test_bytes_that_are_not_utf8_name_their_line(size, monkeypatch):
    monkeypatch.setattr(lines, "_BLOCK", size)
    with pytest.raises(RefnumError, match="input line 3: not UTF-8 text"):
        list(lines.pieces(io.BufferedReader(Trickle(b"3C00\r\n\r\n3C\xff0\n3C00\n", size), buffer_size=size)))


@pytest.mark.parametrize("size", [1, 4, 7, 100])
def test_run_and_verify_do_not_depend_on_the_piece_size(size, monkeypatch):
    operands = "3C00\n3c00\n# note\n\n" * 30 + "7BFF\n"
    whole = cli("run", "f16_to_e4m3", stdin=operands)
    vectors = whole[1].replace("3C00 38 00\n", "3C00 39 00\n", 1)
    checked = cli("verify", "f16_to_e4m3", "-", stdin=vectors)
    monkeypatch.setattr(lines, "_BLOCK", size)
    assert cli("run", "f16_to_e4m3", stdin=operands) == whole
    assert cli("verify", "f16_to_e4m3", "-", stdin=vectors) == checked
    assert checked[:2] == (1, "line 1: 3C00  => 39 .....  expected 38 .....\n60 passed, 1 failed\n")
    assert whole[1].count("\n") == 61


def test_an_error_after_the_first_piece_names_its_line(tmp_path):
    src = tmp_path / "ops.txt"
    src.write_bytes(b"3C00\r\n" * 70000 + b"XYZ\r\n")     # 420 kB: more than one piece
    target = tmp_path / "out.tv"
    assert_one_line_error(*cli("run", "f16_to_e4m3", src, "-o", target), "input line 70001: malformed hex 'XYZ'")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ops.txt"]    # -o FILE: nothing, not a part
    src.write_bytes(b"3C00\r\n" * 70000)
    assert cli("run", "f16_to_e4m3", src, "-o", target)[0] == 0
    assert target.read_text() == ONE * 70000


# -- an input without a case ----------------------------------------------------------------------

@pytest.mark.parametrize("argv, stdin", [
    (("verify", "f32_to_f16", os.devnull), ""),
    (("verify", "f32_to_f16", "-"), ""),
    (("verify", "f32_to_f16", "-"), "# only a comment\n\n   \n"),
    (("run", "f16_to_e4m3"), ""),
    (("run", "f16_to_e4m3"), "# nothing to compute\n"),
])
def test_an_input_without_a_case_is_an_error(argv, stdin):
    assert_one_line_error(*cli(*argv, stdin=stdin), "no cases")


@pytest.mark.parametrize("kind", ["tv", "memh", "jsonl", "npz"])
def test_a_file_of_no_case_is_an_error_in_every_format(kind, tmp_path):
    from refnum.vectors.functions import parse
    from refnum.vectors.lines import Layout

    function = parse("f16_to_e4m3")
    path = tmp_path / f"empty.{kind}"
    path.write_bytes(encode(kind, Layout(function.sources, function.result), []))   # memh: its header only
    assert_one_line_error(*cli("verify", "f16_to_e4m3", path), f"{path}: no cases")


def test_run_o_with_no_case_writes_no_file(tmp_path):
    target = tmp_path / "out.tv"
    assert_one_line_error(*cli("run", "f16_to_e4m3", os.devnull, "-o", target), "no cases")
    assert list(tmp_path.iterdir()) == []


# -- field widths -----------------------------------------------------------------------------------

@pytest.mark.parametrize("argv, stdin, message", [
    (("run", "f16_to_e4m3"), "3C0\n", "input line 1: field 1 ('3C0') has 3 hex digits, expected 4 for binary16"),
    (("run", "f16_to_e4m3"), "3C00\n03C00\n", "input line 2: field 1 ('03C00') has 5 hex digits, expected 4"),
    (("verify", "f16_to_e4m3", "-"), "3C00 038 00\n", "input line 1: field 2 ('038') has 3 hex digits, expected 2"),
    (("verify", "f16_to_e4m3", "-"), "3C00 38 0\n",
     "input line 1: field 3 ('0') has 1 hex digit, expected 2 for flags"),
])
def test_a_field_of_the_wrong_width_is_an_error(argv, stdin, message):
    assert_one_line_error(*cli(*argv, stdin=stdin), message)


# -- bounded memory and bounded messages --------------------------------------------------------------

def test_a_line_beyond_the_limit_is_an_error():
    with pytest.raises(RefnumError, match=f"input line 3: longer than {lines.MAX_LINE:,} characters"):
        list(lines.pieces("3C00\n\n" + "0" * (lines.MAX_LINE + 1)))
    assert list(lines.pieces("0" * lines.MAX_LINE + "\n")) == [(1, "0" * lines.MAX_LINE + "\n")]


@pytest.mark.skipif(not os.path.exists("/dev/zero") or sys.platform != "linux", reason="needs /dev/zero and RLIMIT_AS")
def test_run_on_dev_zero_under_a_memory_limit():
    """/dev/zero is one endless line of NUL bytes: an input error, within 1 GiB of address space."""
    import resource

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))

    proc = refnum_process("run", "f16_to_e4m3", "/dev/zero", preexec_fn=limit)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2 and out == b"", err
    assert err.decode() == f"refnum: input line 1: longer than {lines.MAX_LINE:,} characters (no line end?)\n"


@pytest.mark.parametrize("field, fragment", [
    ("1" + "0" * 500000, "is out of range for binary16"),
    ("0" * 500000, "has 500000 hex digits"),
    ("G" * 500000, "malformed hex"),
], ids=["out-of-range", "too-wide", "not-hex"])
def test_an_error_about_a_huge_field_is_short(field, fragment):
    rc, out, err = cli("run", "f16_to_e4m3", stdin=field + "\n")
    assert_one_line_error(rc, out, err, fragment)
    assert len(err) < 200


@pytest.mark.parametrize("command", ["run", "verify"])
def test_help_states_the_reading_rules(command):
    rc, out, _ = cli(command, "--help")
    text = " ".join(out.split())
    assert rc == 0
    assert "an input with no case (empty, or only blank and comment lines) is an error (exit 2)" in text
    assert f"at most {lines.MAX_LINE:,} characters" in text and "full width" in text


def test_verify_reads_an_npz_archive_from_a_pipe(tmp_path):
    """A zip keeps its directory at its end: an archive on standard input is copied aside first."""
    archive = tmp_path / "m.npz"
    assert cli("gen", "e2m1_mul", "--format", "npz", "-o", archive)[0] == 0
    proc = refnum_process("verify", "e2m1_mul", "-", "--format", "npz")
    out, err = proc.communicate(archive.read_bytes(), timeout=120)
    assert (proc.returncode, out, err) == (0, b"256 passed, 0 failed\n", b"")
    proc = refnum_process("verify", "e2m1_mul", "-", "--format", "npz")
    out, err = proc.communicate(archive.read_bytes()[:-30], timeout=120)          # no end of central directory
    assert proc.returncode == 2 and out == b"" and err.startswith(b"refnum: npz input is not a zip archive")
