"""`refnum verify --profile riscv` against Berkeley TestFloat's own vectors.

The files in tests/data/testfloat/ are unmodified ``testfloat_gen`` output
(SoftFloat 3, RISCV specialization; see PROVENANCE.md there).  Their names say
how they were made: ``<function>_<mode>[_exact][_level2][_tininessbefore].tv``
with ``<mode>`` the ``-r<mode>`` option; tininess after rounding and
``-notexact`` unless named.  Every line must pass, bits and flags.

The last test is a local cross-check the other way round: refnum's own ``run``
output fed to TestFloat's ``testfloat_ver``.  It runs only where the TestFloat
binaries were built (see PROVENANCE.md) and is skipped elsewhere.
"""

from __future__ import annotations

import io
import re
import subprocess
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from refnum.cli import main

DATA = Path(__file__).resolve().parent / "data" / "testfloat"
FILES = sorted(DATA.glob("*.tv"))
NAME = re.compile(r"^(?P<function>\w+?_to_\w+?)_(?P<mode>near_even|near_maxMag|minMag|max|min|odd)"
                  r"(?P<exact>_exact)?(?P<level2>_level2)?(?P<before>_tininessbefore)?$")
TESTFLOAT = Path("/tmp/tf/berkeley-testfloat-3/build/Linux-x86_64-GCC")
MODES = ("near_even", "minMag", "min", "max", "near_maxMag", "odd")


def cli(*argv, stdin=None):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def options_from_name(path):
    """The testfloat_gen options a file was made with, from its name."""
    m = NAME.match(path.stem)
    assert m, f"unexpected file name {path.name}"
    options = [f"-r{m['mode']}", "-tininessbefore" if m["before"] else "-tininessafter"]
    if m["exact"]:
        options.append("-exact")
    return m["function"], options


def test_the_data_is_there():
    assert len(FILES) == 96, "tests/data/testfloat/ should hold the 96 files listed in PROVENANCE.md"


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_verify_passes_every_testfloat_line(path):
    function, options = options_from_name(path)
    lines = sum(1 for line in path.read_text().splitlines() if line.strip())
    rc, out, err = cli("verify", function, "--profile", "riscv", *options, path)
    assert err == ""
    assert out.splitlines()[-1] == f"{lines} passed, 0 failed", out[-2000:]
    assert rc == 0


def test_verify_detects_a_flipped_result_bit(tmp_path):
    original = (DATA / "f32_to_f16_near_even.tv").read_text().splitlines()
    number = 17
    a, z, flags = original[number - 1].split()
    z_flipped = f"{int(z, 16) ^ 1:04X}"
    corrupted = original[:number - 1] + [f"{a} {z_flipped} {flags}"] + original[number:]
    path = tmp_path / "corrupted.tv"
    path.write_text("\n".join(corrupted) + "\n")
    rc, out, _ = cli("verify", "f32_to_f16", "--profile", "riscv", "-rnear_even", path)
    assert rc == 1
    report = out.splitlines()
    assert report[-1] == f"{len(original) - 1} passed, 1 failed"
    assert report[0].startswith(f"line {number}: {a}  => {z_flipped} ")
    assert f"expected {z} " in report[0]


def test_verify_detects_a_flipped_flag(tmp_path):
    original = (DATA / "f16_to_i32_odd_exact.tv").read_text().splitlines()
    a, z, flags = original[0].split()
    path = tmp_path / "flags.tv"
    path.write_text("\n".join([f"{a} {z} {int(flags, 16) ^ 0x10:02X}"] + original[1:]) + "\n")
    rc, out, _ = cli("verify", "f16_to_i32", "--profile", "riscv", "-rodd", "-exact", path)
    assert rc == 1 and out.splitlines()[-1] == f"{len(original) - 1} passed, 1 failed"


def _testfloat(program, *args, stdin=None):
    done = subprocess.run([str(TESTFLOAT / program), *args], input=stdin, capture_output=True, text=True,
                          timeout=300)
    return done.stdout + done.stderr


@pytest.mark.skipif(not (TESTFLOAT / "testfloat_ver").exists(),
                    reason="local cross-check: TestFloat binaries not built at /tmp/tf (see PROVENANCE.md)")
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("function, source, extra", [
    ("f32_to_f16", "f32", []), ("f16_to_i32", "f16", []), ("f16_to_i32", "f16", ["-exact"]),
])
def test_refnum_run_passes_testfloat_ver(function, source, extra, mode):
    operands = _testfloat("testfloat_gen", "-level", "2", source)
    rc, vectors, err = _run_with_stdin("run", function, "--profile", "riscv", f"-r{mode}", *extra, stdin=operands)
    assert rc == 0, err
    report = _testfloat("testfloat_ver", "-checkAll", f"-r{mode}", *extra, function, stdin=vectors)
    assert "no errors found" in report and "Errors found" not in report, report[-3000:]


def _run_with_stdin(*argv, stdin):
    import sys
    saved = sys.stdin
    sys.stdin = io.StringIO(stdin)
    try:
        return cli(*argv)
    finally:
        sys.stdin = saved
