"""The "softfloat_8086_sse" and "arm" profiles against SoftFloat 3e's own specializations.

tests/data/testfloat-x86/ holds testfloat_gen output from SoftFloat built with
SPECIALIZE_TYPE=8086-SSE, tests/data/testfloat-arm/ with ARM-VFPv2-defaultNaN
(see the PROVENANCE.md in each).  Every line must match bit for bit, result
AND the five IEEE flags, under ``Context.profile(<profile>, rounding=...,
exact=..., tininess=...)``.

The second half checks that the three SoftFloat-like profiles really differ
where the specializations do (NaN sign and payload, the integer result of an
invalid conversion, the default tininess), with the expected codes copied from
the generated files and re-read from them here, never computed by refnum.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from refnum import Context, convert
from refnum.context import canonical_rounding

DATA = Path(__file__).parent / "data"
DIRS = {"riscv": DATA / "testfloat", "x86": DATA / "testfloat-x86", "arm": DATA / "testfloat-arm"}
# The refnum profile of each SoftFloat build: 8086-SSE is not x86 hardware (fma(Inf, 0, qNaN)).
PROFILE = {"riscv": "riscv", "x86": "softfloat_8086_sse", "arm": "arm"}
FILES_PER_PROFILE = 98          # 13 functions, see PROVENANCE.md

NAME = re.compile(r"^(?P<src>\w+?)_to_(?P<dst>\w+?)_(?P<mode>near_even|near_maxMag|minMag|max|min|odd)"
                  r"(?P<exact>_exact)?(?P<level2>_level2)?(?P<before>_tininessbefore)?$")


def _vector_files(profile):
    return sorted(DIRS[profile].glob("*.tv"))


def _context(profile, name):
    m = NAME.match(name)
    assert m and not m["level2"], f"unexpected vector file name {name}"
    ctx = Context.profile(profile, rounding=canonical_rounding(m["mode"]), exact=bool(m["exact"]),
                          tininess="before" if m["before"] else "after")
    return m["src"], m["dst"], ctx


def _lines(path):
    for line in path.read_text().splitlines():
        a, r, f = line.split()
        yield line, int(a, 16), int(r, 16), int(f, 16)


@pytest.mark.parametrize("profile", ["x86", "arm"])
def test_vector_set_is_complete(profile):
    """Guard against a vacuous pass: the files are there and unchanged (PROVENANCE.md SHA-256)."""
    files = _vector_files(profile)
    assert len(files) == FILES_PER_PROFILE
    provenance = (DIRS[profile] / "PROVENANCE.md").read_text()
    listed = dict((name, digest) for digest, name in
                  re.findall(r"^    ([0-9a-f]{64})  (\S+\.tv)$", provenance, re.M))
    assert sorted(listed) == [p.name for p in files]
    for path in files:
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed[path.name], path.name


@pytest.mark.parametrize("path", _vector_files("x86") + _vector_files("arm"),
                         ids=lambda p: f"{p.parent.name.split('-')[1]}/{p.stem}")
def test_profile_matches_softfloat_specialization(path):
    profile = PROFILE[path.parent.name.split("-")[1]]
    src, dst, ctx = _context(profile, path.stem)
    bad, n = [], 0
    for line, a, r, f in _lines(path):
        code, flags = convert(a, src, dst, ctx)
        n += 1
        if code != r or flags & 0x1F != f:
            bad.append(f"{line}  refnum: {code:X} {flags & 0x1F:02X}")
    assert n > 0
    assert not bad, f"{len(bad)} of {n} lines differ:\n" + "\n".join(bad[:10])


# -- the profiles differ where the specializations differ -------------------------

# (function, operand, {profile: (result, flags)}), each taken from the
# near_even file of that profile (the riscv column from tests/data/testfloat/;
# None where that directory has no file for the function).  Tininess is left at
# each profile's default.
DIFFERENCES = [
    # f32 qNaN, negative: RISC-V and Arm give the positive default NaN, 8086-SSE keeps sign and payload
    ("f32_to_f16", 0xFFFFFDDF, {"riscv": (0x7E00, 0x00), "x86": (0xFFFF, 0x00), "arm": (0x7E00, 0x00)}),
    ("f32_to_f16", 0x7FF7FFFA, {"riscv": (0x7E00, 0x00), "x86": (0x7FBF, 0x00), "arm": (0x7E00, 0x00)}),
    # f32 sNaN: invalid everywhere; 8086-SSE quiets it and keeps the leading payload bits (here none)
    ("f32_to_f16", 0xFF8000FD, {"riscv": (0x7E00, 0x10), "x86": (0xFE00, 0x10), "arm": (0x7E00, 0x10)}),
    ("f32_to_f16", 0xFF97847C, {"riscv": (0x7E00, 0x10), "x86": (0xFEBC, 0x10), "arm": (0x7E00, 0x10)}),
    # f64 sNaN whose payload does not reach the f16 fraction: still a quiet NaN
    ("f64_to_f16", 0xFFF00000080007FF, {"riscv": (0x7E00, 0x10), "x86": (0xFE00, 0x10), "arm": (0x7E00, 0x10)}),
    ("f64_to_f16", 0x7FF4F3D114AF58E4, {"riscv": (0x7E00, 0x10), "x86": (0x7F3C, 0x10), "arm": (0x7E00, 0x10)}),
    # widening: the payload stays just below the quiet bit
    ("f16_to_f32", 0xFFBC, {"riscv": (0x7FC00000, 0x00), "x86": (0xFFF78000, 0x00), "arm": (0x7FC00000, 0x00)}),
    ("f16_to_f32", 0x7C01, {"riscv": (0x7FC00000, 0x10), "x86": (0x7FC02000, 0x10), "arm": (0x7FC00000, 0x10)}),
    ("f16_to_f64", 0xFE2E, {"riscv": None, "x86": (0xFFF8B80000000000, 0x00), "arm": (0x7FF8000000000000, 0x00)}),
    # invalid integer results: NaN, +Inf, a negative value into unsigned, finite out of range
    ("f16_to_i32", 0x7FA3, {"riscv": (0x7FFFFFFF, 0x10), "x86": (0x80000000, 0x10), "arm": (0x00000000, 0x10)}),
    ("f16_to_i32", 0x7C00, {"riscv": (0x7FFFFFFF, 0x10), "x86": (0x80000000, 0x10), "arm": (0x7FFFFFFF, 0x10)}),
    ("f16_to_ui32", 0x7FA3, {"riscv": None, "x86": (0xFFFFFFFF, 0x10), "arm": (0x00000000, 0x10)}),
    ("f16_to_ui32", 0xBC00, {"riscv": None, "x86": (0xFFFFFFFF, 0x10), "arm": (0x00000000, 0x10)}),
    ("f32_to_i32", 0x4F000000, {"riscv": None, "x86": (0x80000000, 0x10), "arm": (0x7FFFFFFF, 0x10)}),
    ("f32_to_i32", 0x7F800001, {"riscv": None, "x86": (0x80000000, 0x10), "arm": (0x00000000, 0x10)}),
    ("f64_to_i64", 0x43E0000000000000,
     {"riscv": None, "x86": (0x8000000000000000, 0x10), "arm": (0x7FFFFFFFFFFFFFFF, 0x10)}),
    # default tininess: after rounding (RISC-V, 8086-SSE) vs before rounding (Arm)
    ("f64_to_f16", 0x3F0FFFFFFEFFFFC0, {"riscv": (0x0400, 0x01), "x86": (0x0400, 0x01), "arm": (0x0400, 0x03)}),
]


def _near_even_file(profile, function):
    suffix = "_tininessbefore" if profile == "arm" else ""
    return DIRS[profile] / f"{function}_near_even{suffix}.tv"


def _file_result(profile, function, operand):
    for _, a, r, f in _lines(_near_even_file(profile, function)):
        if a == operand:
            return r, f
    raise AssertionError(f"operand {operand:X} not in {_near_even_file(profile, function)}")


@pytest.mark.parametrize("function, operand, expected", DIFFERENCES,
                         ids=[f"{fn}-{op:X}" for fn, op, _ in DIFFERENCES])
def test_profiles_differ_like_the_specializations(function, operand, expected):
    src, dst = function.split("_to_")
    known = {p: e for p, e in expected.items() if e is not None}
    for profile, want in known.items():
        assert _file_result(profile, function, operand) == want, f"table row disagrees with the {profile} file"
    assert len(set(known.values())) > 1, "the row must show a difference between specializations"
    for profile, want in known.items():
        code, flags = convert(operand, src, dst, Context.profile(PROFILE[profile]))
        assert (code, flags & 0x1F) == want, f"{profile}: refnum gives {code:X} {flags & 0x1F:02X}"


def test_nan_payload_alignment_round_trip():
    """8086-SSE keeps a NaN payload through a widening and back (SoftFloat common NaN): the
    f16 -> f32 -> f16 round trip of every quiet f16 NaN is the identity, and the
    f32 codes are the ones in the 8086-SSE f16_to_f32 file where it has the operand."""
    sse = Context.profile("softfloat_8086_sse")
    in_file = {a: r for _, a, r, _ in _lines(_near_even_file("x86", "f16_to_f32"))}
    checked = 0
    for sign in (0, 0x8000):
        for frac in range(0x200, 0x400):                  # quiet bit set
            h = sign | 0x7C00 | frac
            w, _ = convert(h, "f16", "f32", sse)
            assert w == (sign << 16) | 0x7F800000 | (frac << 13)
            if h in in_file:
                assert w == in_file[h]
                checked += 1
            assert convert(w, "f32", "f16", sse) == (h, 0)
    assert checked > 0
