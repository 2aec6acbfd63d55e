"""Integrity and faults of vector folders: what `refnum manifest check` catches, what a rerun
repairs, and what happens when a run is killed.

Each expectation is the contract of spec/suites.md ("What a folder holds", "Checking a
folder"): every file of a folder is accounted for and covered by a hash, nothing outside
the folder is read, a killed run's leftovers are removed by the next run of the same
files, and worker processes do not outlive their parent.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from io import StringIO
from pathlib import Path

import pytest

from refnum.cli import main
from refnum.vectors.plan import Entry
from refnum.vectors.suite import check_manifest, write_suite

TINY = [Entry("e2m1_add", "rtz"), Entry("e2m1_to_f32")]


def cli(*argv):
    """(exit status, stdout, stderr) of ``refnum argv``."""
    out, err = StringIO(), StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        rc = main([str(a) for a in argv])
    return rc, out.getvalue(), err.getvalue()


def one_line(err):
    return err.startswith("refnum: ") and err.count("\n") == 1 and "Traceback" not in err


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tiny") / "d"
    write_suite(folder, TINY)
    return folder


@pytest.fixture
def copy(tiny, tmp_path):
    shutil.copytree(tiny, tmp_path / "d", symlinks=True)
    return tmp_path / "d"


def _edit_manifest(folder, edit):
    path = folder / "manifest.json"
    path.write_text(edit(path.read_text()))


def _rehash_metadata(folder):
    """Rewrite SHA256SUMS so that it agrees with the files as they are now: what a careful
    forger does, which leaves only what the check itself can see."""
    names = [r["path"] for r in json.loads((folder / "manifest.json").read_text())["files"]]
    digests = {r["path"]: r["sha256"] for r in json.loads((folder / "manifest.json").read_text())["files"]}
    lines = [f"{digests[n]}  {n}\n" for n in names]
    lines += [f"{hashlib.sha256((folder / n).read_bytes()).hexdigest()}  {n}\n" for n in ("README.md", "manifest.json")]
    (folder / "SHA256SUMS").write_text("".join(lines))


def test_a_fresh_folder_is_accounted_for(tiny):
    assert cli("manifest", "check", tiny) == (0, "2 files checked, 0 problems\n", "")
    listed = {line.split("  ")[1] for line in (tiny / "SHA256SUMS").read_text().splitlines()}
    on_disk = {p.relative_to(tiny).as_posix() for p in tiny.rglob("*") if p.is_file()}
    assert on_disk == listed | {"SHA256SUMS"}            # every byte but SHA256SUMS' own is hashed in it


TAMPERING = {
    "stray file": (lambda d: (d / "stray.tv").write_text("0 0 0 00\n"),
                   "stray.tv: not in the manifest (a foreign file)"),
    "stray file in a function folder": (lambda d: (d / "e2m1_add/stray.tv").write_text("0\n"),
                                        "e2m1_add/stray.tv: not in the manifest (a foreign file)"),
    "rounding edited in the manifest": (
        lambda d: _edit_manifest(d, lambda t: t.replace('"rounding": "rne"', '"rounding": "rtz"', 1)),
        "manifest.json: SHA-256 mismatch with SHA256SUMS (changed since it was written)"),
    "case count edited in the manifest": (
        lambda d: _edit_manifest(d, lambda t: t.replace('"cases": 256', '"cases": 255', 1)),
        "manifest.json: SHA-256 mismatch with SHA256SUMS (changed since it was written)"),
    "README appended": (lambda d: open(d / "README.md", "a").write("\nrun this instead\n"),
                        "README.md: SHA-256 mismatch with SHA256SUMS (changed since it was written)"),
    "README removed": (lambda d: (d / "README.md").unlink(), "README.md: missing"),
    "SHA256SUMS edited": (
        lambda d: (d / "SHA256SUMS").write_text((d / "SHA256SUMS").read_text().replace("e2m1_add", "e2m1_mul")),
        "SHA256SUMS does not match manifest.json"),
    "SHA256SUMS without the manifest's hash": (
        lambda d: (d / "SHA256SUMS").write_text("".join((d / "SHA256SUMS").read_text().splitlines(True)[:-1])),
        "SHA256SUMS does not list manifest.json"),
    "SHA256SUMS with its last two lines swapped": (
        lambda d: (d / "SHA256SUMS").write_text("".join(
            (lambda lines: lines[:-2] + lines[:-3:-1])((d / "SHA256SUMS").read_text().splitlines(True)))),
        "SHA256SUMS does not match manifest.json"),
    "SHA256SUMS with a line appended": (
        lambda d: open(d / "SHA256SUMS", "a").write("0" * 64 + "  extra.tv\n"),
        "SHA256SUMS does not match manifest.json"),
    "symbolic link out of the folder": (lambda d: (d / "link.tv").symlink_to("/etc/hostname"),
                                        "link.tv: a symbolic link"),
    "function folder replaced by a link": (
        lambda d: (shutil.move(d / "e2m1_add", d.parent / "elsewhere"), (d / "e2m1_add").symlink_to(d.parent / "elsewhere")),
        "e2m1_add/rtz.tv: missing"),
    "partial file of a killed run": (lambda d: (d / "e2m1_add/.tmp-k3x9_q2zrtz.tv").write_bytes(b"0 0 0"),
                                     "e2m1_add/.tmp-k3x9_q2zrtz.tv: a partial file left by an interrupted run"),
    "a name with a line break": (lambda d: (d / "two\nlines.tv").write_text(""),
                                 "'two\\nlines.tv': not in the manifest (a foreign file)"),
    "journal of an interrupted run": (lambda d: (d / ".refnum-journal.json").write_text("{}"),
                                      ".refnum-journal.json: the journal of an interrupted run"),
}


@pytest.mark.parametrize("tamper", TAMPERING, ids=list(TAMPERING))
def test_manifest_check_reports_every_kind_of_tampering(copy, tamper):
    change, problem = TAMPERING[tamper]
    change(copy)
    rc, out, err = cli("manifest", "check", copy)
    assert rc == 3 and err == "", (out, err)
    assert any(line.startswith(problem) for line in out.splitlines()[:-1]), out


@pytest.mark.parametrize("where", ["/etc/hostname", "../outside.tv", "e2m1_add/../../outside.tv",
                                   "./e2m1_add/rtz.tv", "e2m1_add//rtz.tv", "e2m1_add\\rtz.tv"])
def test_a_manifest_naming_a_path_outside_the_folder_is_refused_unread(copy, where):
    """A forged manifest whose record (hashes consistent) points outside the folder: refused
    before anything is opened, even when the file there matches."""
    outside = copy.parent / "outside.tv"
    shutil.copy(copy / "e2m1_add/rtz.tv", outside)
    target = "/etc/hostname" if where == "/etc/hostname" else where
    _edit_manifest(copy, lambda t: t.replace('"path": "e2m1_add/rtz.tv"', f'"path": {json.dumps(target)}'))
    _rehash_metadata(copy)
    rc, out, err = cli("manifest", "check", copy)
    assert rc == 3 and out == "" and one_line(err), (out, err)
    assert "leaves the folder" in err or "not a plain relative path" in err, err


@pytest.mark.parametrize("text", ['{"files":[{}]}', '{"files":"abc"}', '{"files":5}', "[1,2]", "{", "",
                                  "no sha256"])
def test_a_malformed_manifest_is_one_line_and_exit_3(copy, text):
    if text == "no sha256":
        _edit_manifest(copy, lambda t: t.replace('"sha256"', '"sha_256"', 1))
    else:
        (copy / "manifest.json").write_text(text)
    rc, out, err = cli("manifest", "check", copy)
    assert rc == 3 and out == "" and one_line(err), (out, err)
    assert "manifest.json" in err


@pytest.mark.parametrize("text", ["{", "{}", "[]", '{"files":[{}]}'])
def test_join_with_a_malformed_part_manifest_is_one_line_and_exit_3(tmp_path, text):
    for i in range(2):
        write_suite(tmp_path, TINY, shard=(i, 2))
    (tmp_path / "manifest.part-00001-of-00002.json").write_text(text)
    rc, out, err = cli("manifest", "join", tmp_path)
    assert rc == 3 and out == "" and one_line(err), (out, err)
    assert "manifest.part-00001-of-00002.json" in err


def test_join_refuses_a_damaged_part(tmp_path):
    for i in range(2):
        write_suite(tmp_path, TINY, shard=(i, 2))
    (tmp_path / "e2m1_add/rtz.tv.part-00000-of-00002").write_text("0 0 0 00\n")
    rc, out, err = cli("manifest", "join", tmp_path)
    assert rc == 3 and one_line(err) and "e2m1_add/rtz.tv.part-00000-of-00002: SHA-256 mismatch" in err


@pytest.mark.parametrize("name", ["manifest.json", ".refnum-journal.json"])
@pytest.mark.parametrize("text", ["[1,2]", '{"files":5}', '{"manifest": "manifest.json", "files": 5}', "{"])
def test_gen_into_a_folder_with_a_foreign_manifest_or_journal_is_one_line(tmp_path, name, text):
    tmp_path.joinpath(name).write_text(text)
    rc, out, err = cli("gen", "e2m1_add", "--out", tmp_path)
    assert rc == 2 and out == "" and one_line(err) and name in err and "--force" in err, (out, err)
    assert not (tmp_path / "e2m1_add").exists()
    rc, out, err = cli("gen", "e2m1_add", "--out", tmp_path, "--force")
    assert rc == 0 and cli("manifest", "check", tmp_path)[0] == 0


def test_a_rerun_counts_written_skipped_and_repaired_files(copy):
    (copy / "e2m1_to_f32/rne.tv").write_text("damaged\n")
    assert write_suite(copy, TINY + [Entry("e2m1_mul")]).outcome == (1, 1, 1, ())
    assert check_manifest(copy) == (3, [])


_KILL_IN_SECOND_CHUNK = """
import os, signal, sys
from refnum.cli import main
from refnum.vectors import suite
real, calls = suite.chunk_bytes, []
def chunk_then_die(task):
    calls.append(task)
    if len(calls) == 2:                         # the first chunk is in the temporary file
        os.kill(os.getpid(), signal.SIGKILL)
    return real(task)
suite.chunk_bytes = chunk_then_die
main(sys.argv[1:])
"""


def test_a_killed_run_leaves_a_partial_file_that_check_reports_and_the_rerun_removes(tmp_path):
    """SIGKILL while a file is being written: the complete files stay; the partial temporary
    file is a problem for manifest check, and the same command run again removes it and says so."""
    folder = tmp_path / "d"
    assert cli("gen", "f16_to_e4m3", "--out", folder)[0] == 0           # 4 chunks of 16,384 cases
    before = (folder / "f16_to_e4m3/rne.tv").read_bytes()
    killed = subprocess.run([sys.executable, "-c", _KILL_IN_SECOND_CHUNK, "gen", "f16_to_e4m3", "--out",
                             str(folder), "--force"], capture_output=True, timeout=120)
    assert killed.returncode == -signal.SIGKILL
    (partial,) = [p.relative_to(folder).as_posix() for p in folder.rglob(".tmp-*")]
    assert partial.startswith("f16_to_e4m3/.tmp-") and partial.endswith("rne.tv")
    rc, out, _ = cli("manifest", "check", folder)
    assert rc == 3 and f"{partial}: a partial file left by an interrupted run" in out
    rc, out, err = cli("gen", "f16_to_e4m3", "--out", folder)
    assert rc == 0 and err == f"refnum: removed {partial}, a partial file left by an interrupted run\n"
    assert out.startswith("1 files (0 written, 1 already complete, 0 repaired)")
    assert not list(folder.rglob(".tmp-*")) and (folder / "f16_to_e4m3/rne.tv").read_bytes() == before
    assert cli("manifest", "check", folder)[0] == 0


def _children(pid):
    """Process ids whose parent is ``pid`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            fields = stat[stat.rindex(")") + 2:].split()
            if int(fields[1]) == pid and fields[0] != "Z":
                found.append(int(entry))
    return found


def _alive(pid):
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2:].split()[0] != "Z"          # a zombie has ended


@pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="reads processes from Linux /proc")
def test_workers_end_when_their_parent_is_killed(tmp_path):
    """SIGKILL the parent of gen --jobs 2 (an exhaustive binary16 addition: 2**32 cases, hours of
    work): its workers end within seconds and release its output pipe."""
    parent = subprocess.Popen([sys.executable, "-m", "refnum", "gen", "f16_add", "--cases", "exhaustive",
                               "--out", str(tmp_path), "--jobs", "2"], stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL)
    workers = []
    try:
        deadline = time.monotonic() + 60
        while len(workers := _children(parent.pid)) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(workers) >= 2, "the workers did not start"
        time.sleep(0.5)                                            # computing chunks now
        parent.send_signal(signal.SIGKILL)
        parent.wait(timeout=10)
        deadline = time.monotonic() + 5
        while any(map(_alive, workers)) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(map(_alive, workers)), "workers outlived their parent"
        assert parent.stdout.read() == b""                         # end of file: nobody holds the pipe
    finally:
        for pid in [parent.pid] + workers:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        parent.stdout.close()


def test_shards_sharing_a_folder_keep_their_own_journals(tmp_path, monkeypatch):
    """Shard 0 interrupted after its first file, shard 1 run to the end in the same folder:
    shard 1 neither removes shard 0's journal nor its files, and shard 0 resumes."""
    from refnum.vectors import suite

    real, calls = suite.chunk_bytes, []

    def interrupted(task):
        calls.append(task[0].function)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real(task)
    monkeypatch.setattr(suite, "chunk_bytes", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_suite(tmp_path, TINY, shard=(0, 2))
    monkeypatch.setattr(suite, "chunk_bytes", real)
    write_suite(tmp_path, TINY, shard=(1, 2))
    assert (tmp_path / ".refnum-journal.part-00000-of-00002.json").exists()
    assert write_suite(tmp_path, TINY, shard=(0, 2)).outcome == (1, 1, 0, ())
    assert check_manifest(tmp_path) == (4, [])


def test_a_vector_folder_inside_is_checked_by_its_own_manifest(copy):
    """The corpus holds the block vectors in blocks/, a vector folder with its own manifest
    and SHA256SUMS: check re-hashes it and accounts for its files, and reports what changes
    there (a changed file, a stray file) as problems of the whole folder."""
    from refnum.blocks import corpus

    manifest = corpus.write(copy / "blocks")
    assert check_manifest(copy) == (len(TINY) + manifest["total_files"], [])
    (copy / "blocks" / "mxfp4" / "stray.tv").write_text("00\n")
    changed = copy / "blocks" / manifest["files"][0]["path"]
    changed.write_bytes(changed.read_bytes() + b"\n")
    _, problems = check_manifest(copy)
    assert sorted(problems) == sorted([f"blocks/{manifest['files'][0]['path']}: SHA-256 mismatch (changed since"
                                       " it was written)", "blocks/mxfp4/stray.tv: not in the manifest (a foreign file)"])
