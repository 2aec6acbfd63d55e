"""refnum.vectors.suite: the published corpus is deterministic, hashed, and right.

The f16 -> E4M3 / E5M2 / E2M1 lines are re-derived by a brute-force oracle
written here from the OCP value sets (OFP8 v1.0 §5, MX v1.0 §5.3.3): list
every value, pick the nearest (ties to the even code), with the catalogue's
saturating overflow policy and tininess after rounding.
"""

import bisect
import hashlib
import json
import os
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import pytest

from refnum.vectors import suite
from refnum.vectors.suite import Entry, write_suite

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "vectors"

SMALL = [Entry("f16", "e4m3"), Entry("f16", "e5m2"), Entry("f16", "e2m1"), Entry("e2m1", "f32"),
         Entry("f32", "e4m3", "rtz"), Entry("f32", "e4m3", "rne", "none"),
         Entry("f32", "e4m3", "sr-a", sr_bits=8)]


@pytest.fixture(scope="module")
def small_suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    manifest = write_suite(out, seed=1, entries=SMALL)
    return out, manifest


def tree_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# -- determinism, manifest, atomicity ------------------------------------------------------

def test_same_inputs_give_identical_bytes(small_suite, tmp_path):
    out, _ = small_suite
    write_suite(tmp_path, seed=1, entries=SMALL)
    assert tree_bytes(out) == tree_bytes(tmp_path)


def test_another_seed_changes_only_sampled_sources(small_suite, tmp_path):
    out, _ = small_suite
    write_suite(tmp_path, seed=2, entries=[e for e in SMALL if e.target != "e5m2" and e.target != "e2m1"])
    a, b = tree_bytes(out), tree_bytes(tmp_path)
    assert a["f16_to_e4m3/rne.tv"] == b["f16_to_e4m3/rne.tv"]          # exhaustive: seed-free
    assert a["f32_to_e4m3/rtz.tv"] != b["f32_to_e4m3/rtz.tv"]


def check_manifest(folder, manifest):
    listed = {r["path"] for r in manifest["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in Path(folder).rglob("*.tv")}
    assert listed == on_disk
    for r in manifest["files"]:
        data = (Path(folder) / r["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"], r["path"]
        assert data.count(b"\n") == r["lines"] and len(data) == r["bytes"], r["path"]
    assert manifest["total_lines"] == sum(r["lines"] for r in manifest["files"])


def test_manifest_matches_files(small_suite):
    out, manifest = small_suite
    on_disk = json.loads((out / "MANIFEST.json").read_text())
    assert on_disk == manifest
    check_manifest(out, on_disk)
    assert not list(out.rglob(".tmp-*"))
    rec = {r["path"]: r for r in manifest["files"]}
    assert rec["f32_to_e4m3/rne_saturate-none.tv"]["saturation"] == "none"
    assert rec["f32_to_e4m3/rtz.tv"]["saturation"] == "finite"                 # OFP8 SAT by default
    assert rec["f32_to_e4m3/sr-a_n8.tv"]["context"]["sr_bits"] == 8
    assert rec["f16_to_e4m3/rne.tv"]["lines"] == 65536 and rec["e2m1_to_f32/rne.tv"]["lines"] == 16


def test_line_shapes(small_suite):
    out, _ = small_suite
    assert (out / "e2m1_to_f32/rne.tv").read_text().splitlines()[:3] == [
        "0 00000000 00", "1 3F000000 00", "2 3F800000 00"]            # 0, 0.5, 1.0 (MX v1.0 Table 5)
    for line in (out / "f32_to_e4m3/sr-a_n8.tv").read_text().splitlines():
        a, r, res, flags = line.split(" ")
        assert (len(a), len(r), len(res), len(flags)) == (8, 2, 2, 2) and a == a.upper()
        assert int(flags, 16) < 0x20


def test_rewrite_removes_files_the_new_manifest_drops(tmp_path):
    write_suite(tmp_path, entries=[Entry("e2m1", "f32"), Entry("e3m2", "f32")])
    write_suite(tmp_path, entries=[Entry("e2m1", "f32")])
    assert not (tmp_path / "e3m2_to_f32").exists()
    assert (tmp_path / "e2m1_to_f32/rne.tv").exists()


# -- an independent oracle for f16 -> OCP formats ---------------------------------------------

def f16_value(code):
    """binary16 (IEEE 754 §3.4): None for NaN, +-'inf', else the exact Fraction (and its sign)."""
    sign, e, t = code >> 15, (code >> 10) & 31, code & 1023
    if e == 31:
        return sign, (None if t else "inf")
    mag = Fraction(t, 1024) * Fraction(2) ** -14 if e == 0 else (1 + Fraction(t, 1024)) * Fraction(2) ** (e - 15)
    return sign, mag


class Ocp:
    """A signed OCP element format from its spec parameters: E exponent bits, M mantissa bits, bias."""

    def __init__(self, e_bits, m_bits, bias, finite_codes, nan_code):
        self.m, self.bias, self.sign_bit = m_bits, bias, 1 << (e_bits + m_bits)
        self.nan_code = nan_code                        # canonical NaN, or None: NaN -> +max, invalid
        self.max_code = finite_codes - 1
        # positive magnitudes in code order, plus the next one an unbounded exponent would give
        self.values = [self.magnitude(c) for c in range(finite_codes + 1)]
        self.emin = 1 - bias
        # tininess after rounding: the p-bit grid just below 2**emin, exponent unbounded below;
        # (value, trailing significand) in increasing order, 2**emin (trailing 0) on top
        grid = [((1 + Fraction(j, 2 ** m_bits)) * Fraction(2) ** e, j)
                for e in range(self.emin - 40, self.emin) for j in range(2 ** m_bits)]
        grid.append((Fraction(2) ** self.emin, 0))
        self.grid = [v for v, _ in grid]
        self.grid_odd = [j % 2 for _, j in grid]

    def magnitude(self, code):
        e, t = code >> self.m, code & ((1 << self.m) - 1)
        if e == 0:
            return Fraction(t, 2 ** self.m) * Fraction(2) ** (1 - self.bias)
        return (1 + Fraction(t, 2 ** self.m)) * Fraction(2) ** (e - self.bias)

    @staticmethod
    def nearest_even(values, x, even):
        i = bisect.bisect_left(values, x)
        if i == len(values):                             # beyond the last listed value
            return i - 1
        if values[i] == x:
            return i
        lo, hi = i - 1, i
        dlo, dhi = x - values[lo], values[hi] - x
        if dlo != dhi:
            return lo if dlo < dhi else hi
        return lo if even(lo) else hi

    def expected(self, f16_code):
        """(code, flags) for rne, saturating overflow, tininess after rounding."""
        sign, mag = f16_value(f16_code)
        s = self.sign_bit if sign else 0
        if mag is None:                                  # NaN: invalid only for a signalling one
            signalling = not (f16_code >> 9) & 1
            if self.nan_code is None:
                return self.max_code, 0x10
            return self.nan_code, 0x10 if signalling else 0
        if mag == "inf":
            return s | self.max_code, 0                  # SAT: Inf -> max, no IEEE flag
        if mag == 0:
            return s, 0
        i = self.nearest_even(self.values, mag, lambda j: j % 2 == 0)
        if i > self.max_code:
            return s | self.max_code, 0x05               # overflow + inexact, saturated
        flags = 0 if self.values[i] == mag else 0x01
        if flags and mag < Fraction(2) ** self.emin:
            g = self.nearest_even(self.grid, mag, lambda j: not self.grid_odd[j])
            if self.grid[g] < Fraction(2) ** self.emin:
                flags |= 0x02
        return s | i, flags


OCP = {
    "e4m3": Ocp(4, 3, 7, finite_codes=127, nan_code=0x7F),    # S.1111.111 is NaN; max 448
    "e5m2": Ocp(5, 2, 15, finite_codes=124, nan_code=0x7E),   # E=31 is Inf/NaN; max 57344
    "e2m1": Ocp(2, 1, 1, finite_codes=8, nan_code=None),      # all finite; max 6
}


def test_oracle_knows_the_spec_landmarks():
    e4m3, e5m2, e2m1 = OCP["e4m3"], OCP["e5m2"], OCP["e2m1"]
    assert e4m3.values[e4m3.max_code] == 448 and e5m2.values[e5m2.max_code] == 57344
    assert e2m1.values[:8] == [0, Fraction(1, 2), 1, Fraction(3, 2), 2, 3, 4, 6]
    assert e4m3.values[1] == Fraction(1, 512) and e5m2.values[1] == Fraction(1, 65536)


@pytest.mark.parametrize("target", ["e4m3", "e5m2", "e2m1"])
def test_f16_lines_against_brute_force(small_suite, target):
    out, _ = small_suite
    oracle = OCP[target]
    lines = (out / f"f16_to_{target}/rne.tv").read_text().splitlines()
    assert len(lines) == 65536
    bad = []
    for n, line in enumerate(lines):
        a, res, flags = line.split(" ")
        assert int(a, 16) == n
        if n % 3 and target != "e2m1":                   # every third line for the 8-bit targets
            continue
        want = oracle.expected(n)
        if (int(res, 16), int(flags, 16)) != want:
            bad.append(f"{line} expected {want[0]:02X} {want[1]:02X}")
    assert not bad, bad[:10]


# -- the committed corpus ------------------------------------------------------------------------

def committed_manifest():
    path = CORPUS / "MANIFEST.json"
    assert path.exists(), "vectors/MANIFEST.json is missing: run refnum suite --out vectors"
    return json.loads(path.read_text())


def test_committed_corpus_matches_its_manifest():
    check_manifest(CORPUS, committed_manifest())


def test_committed_corpus_lists_the_curated_entries():
    manifest = committed_manifest()
    import refnum
    assert manifest["refnum_version"] == refnum.__version__
    assert [r["path"] for r in manifest["files"]] == [e.path for e in suite.curated()]
    assert (CORPUS / "README.md").read_text() == suite._readme(manifest)
    assert manifest["total_bytes"] < 30_000_000


def test_committed_bf16_lines_against_ml_dtypes():
    """testfloat_ver does not check bf16; ml_dtypes rounds f32 -> bf16 to nearest even."""
    np = pytest.importorskip("numpy")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rows = [line.split() for line in (CORPUS / "f32_to_bf16/rne.tv").read_text().splitlines()]
    a = np.array([int(r[0], 16) for r in rows], dtype=np.uint32).view(np.float32)
    got = np.array([int(r[1], 16) for r in rows], dtype=np.uint16)
    with np.errstate(invalid="ignore"):
        want = a.astype(ml_dtypes.bfloat16).view(np.uint16)
    keep = ~np.isnan(a)
    assert keep.sum() > 1000
    assert (got[keep] == want[keep]).all()


def _testfloat_ver():
    return os.environ.get("TESTFLOAT_VER") or shutil.which("testfloat_ver")


TESTFLOAT_MODES = {"rne": "near_even", "rna": "near_maxMag", "rtz": "minMag", "rup": "max", "rdn": "min",
                   "rto": "odd"}


@pytest.mark.skipif(not _testfloat_ver(), reason="set TESTFLOAT_VER to a testfloat_ver (RISCV build) to run")
def test_committed_ieee_files_pass_testfloat_ver():
    tv = _testfloat_ver()
    checked = 0
    for r in committed_manifest()["files"]:
        if r["function"] not in ("f32_to_f16", "f64_to_f16", "i32_to_f16", "f16_to_i32"):
            continue
        with open(CORPUS / r["path"], "rb") as f:
            run = subprocess.run([tv, "-r" + TESTFLOAT_MODES[r["rounding"]], "-checkAll", r["function"]],
                                 stdin=f, capture_output=True, text=True, timeout=120)
        assert "no errors found" in run.stdout, (r["path"], run.stdout[-2000:])
        checked += 1
    assert checked >= 20


@pytest.mark.slow
def test_committed_corpus_is_reproducible(tmp_path):
    write_suite(tmp_path, seed=committed_manifest()["seed"])
    assert tree_bytes(tmp_path) == tree_bytes(CORPUS)
