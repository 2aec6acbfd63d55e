"""refnum.vectors.suite and .plan: suites are deterministic, hashed, shardable, resumable, and right.

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

from refnum import RefnumError
from refnum.vectors import plan, suite
from refnum.vectors.plan import Entry, load_suite
from refnum.vectors.suite import check_manifest, join_shards, write_suite

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "vectors"

SMALL = [Entry("f16_to_e4m3"), Entry("f16_to_e5m2"), Entry("f16_to_e2m1"), Entry("e2m1_to_f32"),
         Entry("f32_to_e4m3", "rtz"), Entry("f32_to_e4m3", "rne", "none"),
         Entry("f32_to_e4m3", "sr-a", sr_bits=8), Entry("e2m3_mul", "rtz"), Entry("f16_add", profile="riscv"),
         Entry("e4m3_mulAdd_to_f32", operand_formats=("e4m3", "e4m3", "f32"), cases="random", count=300)]


@pytest.fixture(scope="module")
def small_suite(tmp_path_factory):
    out = tmp_path_factory.mktemp("suite")
    manifest = write_suite(out, SMALL, seed=1)
    return out, manifest


def tree_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


# -- determinism, manifest, atomicity ------------------------------------------------------

def test_same_inputs_give_identical_bytes_with_any_number_of_jobs(small_suite, tmp_path):
    out, _ = small_suite
    write_suite(tmp_path / "a", SMALL, seed=1)
    write_suite(tmp_path / "b", SMALL, seed=1, jobs=2)
    assert tree_bytes(out) == tree_bytes(tmp_path / "a") == tree_bytes(tmp_path / "b")


def test_another_seed_changes_only_sampled_sources(small_suite, tmp_path):
    out, _ = small_suite
    write_suite(tmp_path, SMALL, seed=2)
    a, b = tree_bytes(out), tree_bytes(tmp_path)
    assert a["f16_to_e4m3/rne.tv"] == b["f16_to_e4m3/rne.tv"]          # exhaustive: seed-free
    assert a["e2m3_mul/rtz.tv"] == b["e2m3_mul/rtz.tv"]
    assert a["f32_to_e4m3/rtz.tv"] != b["f32_to_e4m3/rtz.tv"]
    assert a["f16_add/rne_riscv.tv"] != b["f16_add/rne_riscv.tv"]


def test_manifest_and_sums_match_files(small_suite):
    out, manifest = small_suite
    assert json.loads((out / "manifest.json").read_text()) == manifest
    listed = {r["path"] for r in manifest["files"]}
    assert listed == {p.relative_to(out).as_posix() for p in out.rglob("*.tv")}
    sums = {}
    for line in (out / "SHA256SUMS").read_text().splitlines():
        digest, path = line.split("  ")
        sums[path] = digest
    for r in manifest["files"]:
        data = (out / r["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == r["sha256"] == sums[r["path"]], r["path"]
        assert data.count(b"\n") == r["cases"] and len(data) == r["bytes"], r["path"]
    assert check_manifest(out) == (len(SMALL), [])
    assert not list(out.rglob(".tmp-*")) and not (out / ".refnum-journal.json").exists()
    rec = {r["path"]: r for r in manifest["files"]}
    assert rec["f32_to_e4m3/rne_saturate-none.tv"]["saturation"] == "none"
    assert rec["f32_to_e4m3/rtz.tv"]["saturation"] == "finite"                 # OFP8 SAT by default
    assert rec["f32_to_e4m3/sr-a_n8.tv"]["stochastic"]["bits"] == 8
    assert rec["f16_to_e4m3/rne.tv"]["cases"] == 65536 and rec["e2m1_to_f32/rne.tv"]["cases"] == 16
    assert rec["e2m3_mul/rtz.tv"]["cases"] == 64 * 64
    fma = rec["e4m3_mulAdd_to_f32/rne_operands-e4m3-e4m3-f32_random300.tv"]
    assert [f["name"] for f in fma["operand_formats"]] == ["e4m3", "e4m3", "binary32"]
    assert fma["result_format"]["bits"] == 32 and fma["operand_columns"] == ["a", "b", "c"]


def test_tampering_is_caught(small_suite, tmp_path):
    out, _ = small_suite
    shutil.copytree(out, tmp_path / "copy")
    victim = tmp_path / "copy/e2m1_to_f32/rne.tv"
    victim.write_bytes(victim.read_bytes().replace(b"3F000000", b"3F000001"))
    checked, problems = check_manifest(tmp_path / "copy")
    assert checked == len(SMALL) and problems == ["e2m1_to_f32/rne.tv: SHA-256 mismatch (changed since it was written)"]
    (tmp_path / "copy/e2m3_mul/rtz.tv").unlink()
    assert "e2m3_mul/rtz.tv: missing" in check_manifest(tmp_path / "copy")[1]


def test_line_shapes(small_suite):
    out, _ = small_suite
    assert (out / "e2m1_to_f32/rne.tv").read_text().splitlines()[:3] == [
        "0 00000000 00", "1 3F000000 00", "2 3F800000 00"]            # 0, 0.5, 1.0 (MX v1.0 Table 5)
    for line in (out / "f32_to_e4m3/sr-a_n8.tv").read_text().splitlines():
        a, r, res, flags = line.split(" ")
        assert (len(a), len(r), len(res), len(flags)) == (8, 2, 2, 2) and a == a.upper()
        assert int(flags, 16) < 0x20
    first = (out / "e2m3_mul/rtz.tv").read_text().splitlines()[:2]
    assert [line.split(" ")[:2] for line in first] == [["00", "00"], ["00", "01"]]   # pairs in order


def test_rewrite_removes_files_the_new_manifest_drops(tmp_path):
    write_suite(tmp_path, [Entry("e2m1_to_f32"), Entry("e3m2_to_f32")])
    write_suite(tmp_path, [Entry("e2m1_to_f32")])
    assert not (tmp_path / "e3m2_to_f32").exists()
    assert (tmp_path / "e2m1_to_f32/rne.tv").exists()


# -- shards, resumption, interruption ------------------------------------------------------------

@pytest.mark.parametrize("kind", ["tv", "jsonl", "memh"])
def test_shards_concatenate_to_the_whole(small_suite, tmp_path, kind):
    whole = tmp_path / "whole"
    write_suite(whole, SMALL, kind=kind)
    parts = tmp_path / "parts"
    for i in range(3):
        write_suite(parts, SMALL, kind=kind, shard=(i, 3))
    assert check_manifest(parts) == (3 * len(SMALL), [])
    for r in json.loads((whole / "manifest.json").read_text())["files"]:
        pieces = [(parts / f"{r['path']}.part-{i:05d}-of-00003").read_bytes() for i in range(3)]
        assert b"".join(pieces) == (whole / r["path"]).read_bytes(), r["path"]
    join_shards(parts)
    assert tree_bytes(parts) == tree_bytes(whole)


def test_bad_shards_are_refused(tmp_path):
    with pytest.raises(RefnumError, match="need 0 <= i < N"):
        write_suite(tmp_path, SMALL[:1], shard=(3, 3))
    write_suite(tmp_path, SMALL[:2], shard=(0, 2))
    with pytest.raises(RefnumError, match="shards of 2 needed, found 0"):
        join_shards(tmp_path)


def test_a_rerun_skips_complete_files_and_redoes_damaged_ones(small_suite, tmp_path, monkeypatch):
    out, _ = small_suite
    shutil.copytree(out, tmp_path / "copy")
    (tmp_path / "copy/e2m3_mul/rtz.tv").write_bytes(b"damaged\n")
    computed = []
    real = suite.chunk_bytes
    monkeypatch.setattr(suite, "chunk_bytes", lambda task: computed.append(task[0].function) or real(task))
    write_suite(tmp_path / "copy", SMALL, seed=1)
    assert computed == ["e2m3_mul"]
    assert tree_bytes(tmp_path / "copy") == tree_bytes(out)


def test_an_interrupted_run_leaves_complete_files_only_and_resumes(small_suite, tmp_path, monkeypatch):
    out, _ = small_suite
    real, calls = suite.chunk_bytes, []
    first_four = sum(suite._chunk_count("tv", 0, len(plan.enumerate_cases(e, 1))) for e in SMALL[:4])

    def failing(task):
        calls.append(task)
        if len(calls) == first_four + 1:                    # in the fifth file
            raise KeyboardInterrupt
        return real(task)
    monkeypatch.setattr(suite, "chunk_bytes", failing)
    with pytest.raises(KeyboardInterrupt):
        write_suite(tmp_path, SMALL, seed=1)
    done = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.tv")}
    assert len(done) == 4 and not list(tmp_path.rglob(".tmp-*")) and not (tmp_path / "manifest.json").exists()
    journal = json.loads((tmp_path / ".refnum-journal.json").read_text())
    assert set(journal["files"]) == done
    monkeypatch.setattr(suite, "chunk_bytes", real)
    write_suite(tmp_path, SMALL, seed=1)
    assert tree_bytes(tmp_path) == tree_bytes(out)


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    import errno

    from refnum.cli import main

    real, calls = suite.chunk_bytes, []

    def disk_full(task):
        calls.append(task)
        if len(calls) == 2:
            raise OSError(errno.ENOSPC, "No space left on device")
        return real(task)
    monkeypatch.setattr(suite, "chunk_bytes", disk_full)
    assert main(["gen", "e2m1_add", "--out", str(tmp_path), "--rounding", "rtz"]) == 0     # one chunk
    assert main(["gen", "f16_to_e4m3", "--out", str(tmp_path / "big")]) == 2
    err = capsys.readouterr().err
    assert err == "refnum: cannot access: No space left on device\n"
    assert not list(tmp_path.rglob(".tmp-*")) and not list((tmp_path / "big").rglob("*.tv"))


# -- suites ------------------------------------------------------------------------------------

def test_suite_files_expand_to_every_combination(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('description = "x"\nseed = 7\n[[files]]\nfunction = ["e2m1_add", "e2m1_mul"]\n'
                    'rounding = ["rne", "rtz"]\nsaturation = ["default", "none"]\n'
                    '[[files]]\nfunction = "f16_sqrt"\nprofile = "riscv"\nknobs = {tininess = "before"}\n')
    description, seed, entries = load_suite(str(path))
    assert (description, seed, len(entries)) == ("x", 7, 9)
    assert [e.path() for e in entries[:3]] == ["e2m1_add/rne.tv", "e2m1_add/rne_saturate-none.tv",
                                               "e2m1_add/rtz.tv"]
    assert entries[-1].context().tininess == "before" and entries[-1].path() == "f16_sqrt/rne_riscv_tininess-before.tv"
    json_path = tmp_path / "s.json"
    json_path.write_text(json.dumps({"files": [{"function": "e2m1_add"}]}))
    assert load_suite(str(json_path))[2] == [Entry("e2m1_add")]


@pytest.mark.parametrize("text, message", [
    ('files = [{function = "e2m1_frob"}]', "unknown function"),
    ('files = [{function = "e2m1_add", colour = "red"}]', "unknown key"),
    ('files = [{rounding = "rne"}]', "'function' is required"),
    ('files = [{function = "e2m1_add", rounding = "sideways"}]', "unknown rounding mode"),
    ('files = [{function = "e2m1_add", cases = "random"}]', "needs a count"),
    ('files = "nope"', "expected a table with a list 'files'"),
    ('files = [', "suite"),
])
def test_bad_suites_are_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text + "\n")
    with pytest.raises(RefnumError, match=message):
        load_suite(str(path))


def test_unknown_suite_names_the_built_ins():
    with pytest.raises(RefnumError, match="unknown suite 'nope'; built-in suites: corpus, e4m3-arith"):
        load_suite("nope")


def test_every_built_in_suite_loads_with_distinct_paths():
    for name in plan.builtin_suites():
        _, _, entries = load_suite(name)
        paths = [e.path() for e in entries]
        assert len(paths) == len(set(paths)), name


def test_case_generators():
    assert len(plan.enumerate_cases(Entry("f16_add", cases="exhaustive"))) == 1 << 32      # lazily
    assert plan.enumerate_cases(Entry("f16_add", cases="exhaustive"))[(3 << 16) + 5] == (3, 5)
    every = plan.enumerate_cases(Entry("f16_mul", cases="boundaries"))
    boundaries = plan.enumerate_cases(Entry("f16_mul", cases="boundaries", count=100), seed=3)
    position = {case: i for i, case in enumerate(every)}
    assert len(boundaries) == 100 and [position[c] for c in boundaries] == sorted(position[c] for c in boundaries)
    randoms = plan.enumerate_cases(Entry("bf16_add", "sr-b", sr_bits=4, cases="random", count=50))
    assert len(randoms) == 50 and all(len(c) == 3 and c[2] < 16 for c in randoms)


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
    path = CORPUS / "manifest.json"
    assert path.exists(), "vectors/manifest.json is missing: run refnum suite --out vectors"
    return json.loads(path.read_text())


def test_committed_corpus_matches_its_manifest():
    """The element corpus and the block and dot corpora in its folders blocks/ and dot/ (vector
    folders of their own)."""
    checked, problems = check_manifest(CORPUS)
    nested = [json.loads((CORPUS / folder / "manifest.json").read_text()) for folder in ("blocks", "dot")]
    assert checked == committed_manifest()["total_files"] + sum(m["total_files"] for m in nested)
    assert problems == [] and all(m["total_files"] > 0 for m in nested)


def test_committed_corpus_is_the_corpus_suite():
    manifest = committed_manifest()
    import refnum
    assert manifest["refnum_version"] == refnum.__version__
    _, seed, entries = load_suite("corpus")
    assert manifest["seed"] == seed
    assert [r["path"] for r in manifest["files"]] == [e.path() for e in entries]
    assert (CORPUS / "README.md").read_text() == suite.readme(manifest)


def test_committed_corpus_samples_regenerate_to_their_hashes(tmp_path):
    """Every 29th file of the corpus (and the first), regenerated, hashes to its manifest record."""
    manifest = committed_manifest()
    _, seed, entries = load_suite("corpus")
    sample = [e for i, e in enumerate(entries) if i % 29 == 0]
    regenerated = write_suite(tmp_path, sample, seed=seed)
    recorded = {r["path"]: r["sha256"] for r in manifest["files"]}
    assert len(sample) >= 20
    for r in regenerated["files"]:
        assert r["sha256"] == recorded[r["path"]], r["path"]


def test_committed_bf16_lines_against_ml_dtypes():
    """testfloat_ver does not check bf16; ml_dtypes rounds f32 -> bf16 to nearest even."""
    np = pytest.importorskip("numpy")
    ml_dtypes = pytest.importorskip("ml_dtypes")
    rows = [line.split() for line in (CORPUS / "f32_to_bf16/rne_riscv.tv").read_text().splitlines()]
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
TESTFLOAT_FUNCTIONS = {"f32_to_f16", "f64_to_f16", "i32_to_f16", "f16_to_i32", "f16_add", "f16_sub", "f16_mul",
                       "f16_div", "f16_mulAdd", "f16_sqrt", "f16_rem", "f16_roundToInt"}


@pytest.mark.skipif(not _testfloat_ver(), reason="set TESTFLOAT_VER to a testfloat_ver (RISCV build) to run")
def test_committed_ieee_files_pass_testfloat_ver():
    tv = _testfloat_ver()
    checked = 0
    for r in committed_manifest()["files"]:
        if r["function"] not in TESTFLOAT_FUNCTIONS or r["profile"] != "riscv":
            continue
        with open(CORPUS / r["path"], "rb") as f:
            run = subprocess.run([tv, "-r" + TESTFLOAT_MODES[r["rounding"]], "-checkAll", r["function"]],
                                 stdin=f, capture_output=True, text=True, timeout=300)
        assert "no errors found" in run.stdout, (r["path"], run.stdout[-2000:])
        checked += 1
    assert checked >= 28


@pytest.mark.slow
def test_committed_corpus_is_reproducible(tmp_path):
    """The whole corpus as ``refnum suite`` writes it: the element suite, then the block and
    dot vectors in their own folders."""
    from refnum.blocks import corpus as block_corpus
    from refnum.dot import corpus as dot_corpus

    _, seed, entries = load_suite("corpus")
    write_suite(tmp_path, entries, seed=seed, jobs=2, description=committed_manifest()["description"],
                command=committed_manifest()["generator"])
    block_corpus.write(tmp_path / "blocks")
    dot_corpus.write(tmp_path / "dot")
    assert tree_bytes(tmp_path) == tree_bytes(CORPUS)
