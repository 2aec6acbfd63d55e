"""Arithmetic against Berkeley TestFloat's own vectors, four SoftFloat specializations.

tests/data/testfloat-arith/ holds gzip-compressed subsets of ``testfloat_gen``
output (TestFloat 3 / SoftFloat 3, level 1, seed 1), one folder per SoftFloat
specialization; PROVENANCE.md there gives the builds, the exact commands, the
rule that chose the committed lines and what the full level-1 runs measured.

  riscv/      RISCV                   Context.profile("riscv")
  x86/        8086-SSE                Context.profile("softfloat_8086_sse")
  arm/        ARM-VFPv2-defaultNaN    Context.profile("arm")
  arm-vfpv2/  ARM-VFPv2               Context.profile("arm", nan="payload", nan_priority="signaling")

File names say how each file was made, as in tests/data/testfloat/:
``<function>_<mode>[_exact][_tininessbefore].tv.gz``, ``<mode>`` the
``-r<mode>`` option, tininess after rounding and ``-notexact`` unless named.
Each line is checked through the path of ``refnum verify``: the function name
parsed by :func:`refnum.vectors.functions.parse`, its evaluator bound to the
context the CLI builds from ``--profile P -r<mode> --tininess T [--exact]``.
A line passes when the result bits AND the five IEEE flags are the file's.

The expectations are SoftFloat's, read from the files; nothing here is computed
by refnum except the values under test.  The remaining tests guard against a
vacuous pass: the data is complete and unchanged, the tininess files really
contain lines whose flags depend on the tininess mode, and the NaN-rich files
really contain lines the other profiles would get wrong.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import re
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import pytest

from refnum import Context
from refnum.cli import main
from refnum.context import canonical_rounding
from refnum.vectors import functions

DATA = Path(__file__).resolve().parent / "data" / "testfloat-arith"
PROFILES = {                      # folder -> (profile, knob overrides): the CLI's --profile and options
    "riscv": ("riscv", {}),
    "x86": ("softfloat_8086_sse", {}),
    "arm": ("arm", {}),
    "arm-vfpv2": ("arm", {"nan": "payload", "nan_priority": "signaling"}),
}
MODES = ("near_even", "minMag", "min", "max", "near_maxMag", "odd")
NAME = re.compile(r"^(?P<function>f(?:16|32)_\w+?)_(?P<mode>near_even|near_maxMag|minMag|max|min|odd)"
                  r"(?P<exact>_exact)?(?P<before>_tininessbefore)?$")
IEEE_FLAGS = 0x1F
UNDERFLOW = 0x02

# Files of the default run; every other file is checked by the slow test.  The
# default run covers the acceptance matrix in near_even and odd, both
# tininess modes, and every file of the NaN-rule folders.
DEFAULT_MODES = ("near_even", "odd")


def _files(folder=None):
    folders = [folder] if folder else list(PROFILES)
    return sorted(p for f in folders for p in (DATA / f).glob("*.tv.gz"))


def _stem(path):
    return path.name[: -len(".tv.gz")]


def _options(path):
    """(function, mode, exact, tininess) of a file, from its name."""
    m = NAME.match(_stem(path))
    assert m, f"unexpected vector file name {path.name}"
    return m["function"], m["mode"], bool(m["exact"]), "before" if m["before"] else "after"


def _context(path, **changes):
    """The Context ``refnum verify --profile P -r<mode> --tininess T [--exact]`` builds."""
    profile, knobs = PROFILES[path.parent.name]
    _, mode, exact, tininess = _options(path)
    knobs = {**knobs, "rounding": canonical_rounding(mode), "exact": exact, "tininess": tininess, **changes}
    return Context.profile(profile, **knobs)


def _rows(path):
    """The file's lines as lists of integers: operands, result, flags."""
    with gzip.open(path, "rt", encoding="ascii") as f:
        return [[int(field, 16) for field in line.split()] for line in f if line.strip()]


def _mismatches(path, ctx=None, rows=None):
    """(number of lines, the lines refnum gets wrong under ``ctx``) for one file."""
    function_name = _options(path)[0]
    function = functions.parse(function_name)
    evaluate = function.evaluator(ctx or _context(path))
    arity = function.arity
    rows = _rows(path) if rows is None else rows
    bad = []
    for row in rows:
        code, flags = evaluate(*row[:arity], 0)
        if code != row[arity] or flags & IEEE_FLAGS != row[arity + 1]:
            bad.append(" ".join(f"{c:X}" for c in row) + f"  refnum: {code:X} {flags & IEEE_FLAGS:02X}")
    return len(rows), bad


def _is_default(path):
    return path.parent.name != "riscv" or _options(path)[1] in DEFAULT_MODES


DEFAULT_FILES = [p for p in _files() if _is_default(p)]
SLOW_FILES = [p for p in _files() if not _is_default(p)]


def _id(path):
    return f"{path.parent.name}/{_stem(path)}"


# -- the data ---------------------------------------------------------------------------

def test_vector_set_is_complete_and_unchanged():
    """Every file listed in PROVENANCE.md (SHA-256 of the decompressed text) is there, and no other."""
    provenance = (DATA / "PROVENANCE.md").read_text()
    listed = dict((name, digest) for digest, name in
                  re.findall(r"^    ([0-9a-f]{64})  (\S+\.tv\.gz)$", provenance, re.M))
    present = [f"{p.parent.name}/{p.name}" for p in _files()]
    assert sorted(listed) == sorted(present)
    for path in _files():
        with gzip.open(path, "rb") as f:
            digest = hashlib.sha256(f.read()).hexdigest()
        assert digest == listed[f"{path.parent.name}/{path.name}"], path.name


def test_acceptance_matrix_is_covered():
    """Issue 3's "Done when": f16 and f32 add, mul, div, mulAdd and sqrt in all six modes,
    tininess after and before, all present in riscv/."""
    names = {_stem(p) for p in _files("riscv")}
    missing = [f"{fmt}_{op}_{mode}{suffix}"
               for fmt in ("f16", "f32") for op in ("add", "mul", "div", "mulAdd", "sqrt")
               for mode in MODES for suffix in ("", "_tininessbefore")
               if f"{fmt}_{op}_{mode}{suffix}" not in names]
    assert not missing


# -- every line, bits and flags ---------------------------------------------------------

def _check(path):
    n, bad = _mismatches(path)
    assert n > 0
    assert not bad, f"{len(bad)} of {n} lines differ:\n" + "\n".join(bad[:10])


@pytest.mark.parametrize("path", DEFAULT_FILES, ids=_id)
def test_refnum_matches_softfloat(path):
    _check(path)


@pytest.mark.slow
@pytest.mark.parametrize("path", SLOW_FILES, ids=_id)
def test_refnum_matches_softfloat_other_modes(path):
    _check(path)


def _cli(*argv):
    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


@pytest.mark.parametrize("name", ["riscv/f16_mulAdd_odd_tininessbefore", "x86/f32_mulAdd_near_even",
                                  "arm-vfpv2/f16_add_near_even_tininessbefore"])
def test_refnum_verify_command_line(name, tmp_path):
    """The same files through ``refnum verify`` itself (decompressed to a temporary file)."""
    path = DATA / f"{name}.tv.gz"
    function, mode, exact, tininess = _options(path)
    profile, knobs = PROFILES[path.parent.name]
    plain = tmp_path / f"{path.stem}"
    plain.write_bytes(gzip.decompress(path.read_bytes()))
    options = [f"--{k.replace('_', '-')}={v}" for k, v in knobs.items()]
    rc, out, err = _cli("verify", function, "--profile", profile, *options, f"-r{mode}",
                        "--tininess", tininess, *(["--exact"] if exact else []), plain)
    n = len(_rows(path))
    assert (rc, err, out.splitlines()[-1]) == (0, "", f"{n} passed, 0 failed"), out[-2000:]


# -- the data exercises what it is meant to ---------------------------------------------

def _twins():
    """(after, before) pairs of riscv files for the same function and mode."""
    riscv = {_stem(p): p for p in _files("riscv")}
    return [(p, riscv[f"{s}_tininessbefore"]) for s, p in sorted(riscv.items())
            if f"{s}_tininessbefore" in riscv]


def test_tininess_files_differ_where_tininess_matters():
    """After and before files hold the same operands; some lines' flags differ, and on
    exactly those lines refnum with the other tininess mode disagrees with the file."""
    differing = 0
    for after, before in _twins():
        rows_a, rows_b = _rows(after), _rows(before)
        assert [r[:-2] for r in rows_a] == [r[:-2] for r in rows_b], after.name
        changed = [(a, b) for a, b in zip(rows_a, rows_b) if a != b]
        for a, b in changed:
            assert a[-2] == b[-2] and (a[-1] ^ b[-1]) == UNDERFLOW, (after.name, a, b)
        if changed:
            differing += len(changed)
            _, bad = _mismatches(before, _context(before, tininess="after"), [b for _, b in changed])
            assert len(bad) == len(changed), before.name
    assert differing >= 100, f"only {differing} tininess-dependent lines in the data"


NAN_SENSITIVE = ("x86", "arm-vfpv2")


@pytest.mark.parametrize("folder", NAN_SENSITIVE)
def test_nan_rules_are_exercised(folder):
    """The NaN-rich folders hold many lines that the RISC-V canonical-NaN rules get wrong
    (payloads, signs, which operand wins), so passing them tests the profile's NaN rules."""
    wrong_under_riscv = 0
    for path in _files(folder):
        _, bad = _mismatches(path, Context.profile("riscv", rounding=canonical_rounding(_options(path)[1]),
                                                   exact=_options(path)[2], tininess=_options(path)[3]))
        wrong_under_riscv += len(bad)
    assert wrong_under_riscv >= 1000, wrong_under_riscv


def test_nan_priority_is_exercised():
    """ARM-VFPv2 propagates a signalling NaN ahead of an earlier quiet one; 8086-SSE takes
    the first NaN.  Each folder has lines that the other rule gets wrong."""
    for folder, other in (("arm-vfpv2", "first"), ("x86", "signaling")):
        wrong = sum(len(_mismatches(p, _context(p, nan_priority=other))[1]) for p in _files(folder))
        assert wrong >= 1000, (folder, wrong)


@pytest.mark.parametrize("folder", ["x86", "arm", "arm-vfpv2"])
def test_profile_default_tininess_is_the_specialization_default(folder):
    """testfloat_gen was run with each specialization's own default tininess (SoftFloat's
    ``init_detectTininess``: after for 8086-SSE, before for both ARM-VFPv2 builds), so every file
    name of a folder carries it; the profile's default must be the same, and the other mode must
    fail some lines of the folder (the data can tell them apart)."""
    profile, _ = PROFILES[folder]
    tininess = {_options(p)[3] for p in _files(folder)}
    assert tininess == {Context.profile(profile).tininess}
    other = "after" if tininess == {"before"} else "before"
    wrong = sum(len(_mismatches(p, _context(p, tininess=other))[1]) for p in _files(folder) if "_mul" in p.name)
    assert wrong > 0




@pytest.mark.parametrize("path", [p for p in _files("x86") if "_mulAdd_" in p.name], ids=_id)
def test_x86_hardware_agrees_with_8086_sse_elsewhere(path):
    """The ``x86`` profile (the hardware) differs from ``softfloat_8086_sse`` only at
    fma(Inf, 0, qNaN) (tests/test_testfloat_8086_sse_nan.py); these files hold no such line,
    so every line must pass under ``x86`` too."""
    _, mode, exact, tininess = _options(path)
    x86 = Context.profile("x86", rounding=canonical_rounding(mode), exact=exact, tininess=tininess)
    n, bad = _mismatches(path, x86)
    assert n > 0 and not bad, bad[:10]
