"""refnum.vectors.dask and ``refnum gen --dask``: a suite written by Dask tasks is, byte for byte,
the folder one process writes, and an interrupted run resumes to the same bytes.

The expectation is always an independent path: ``refnum.vectors.suite.write_suite`` in this
process (itself checked against brute-force oracles in test_suite.py).  The cluster is a
``LocalCluster`` of two thread workers (processes=False: seconds, not a process start-up per
test); one command-line test starts two worker processes with ``local:2``.
"""

import importlib.util
import json
import logging
import sys
import time
from pathlib import Path

import pytest

from refnum.cli import main
from refnum.vectors import dask as rd
from refnum.vectors import suite
from refnum.vectors.plan import Entry
from refnum.vectors.suite import CHUNK, check_manifest, write_suite

needs_dask = pytest.mark.skipif(importlib.util.find_spec("distributed") is None,
                                reason="dask[distributed] is not installed (pip install '.[dask]')")

# 65,536-case files cut into 4 pieces at piece_cases=CHUNK; small files and a sampled one stay whole
SUITE = [Entry("e2m1_add", "rtz"), Entry("f16_to_e4m3"), Entry("e4m3_mul", "rtz", "none"),
         Entry("f32_to_e4m3", "sr-a", sr_bits=8), Entry("f16_add", profile="riscv")]


def tree_bytes(folder):
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def client():
    from distributed import Client, LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None,
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as c:
        yield c


@pytest.fixture(scope="module")
def single(tmp_path_factory):
    """The folders one process writes, by output kind."""
    folders = {}
    for kind in ("tv", "memh", "npz"):
        folders[kind] = tmp_path_factory.mktemp(kind)
        write_suite(folders[kind], SUITE, kind=kind, description="d", command="c")
    return folders


@needs_dask
@pytest.mark.parametrize("kind", ["tv", "memh", "npz"])
def test_a_dask_run_writes_the_bytes_of_a_single_process_run(client, single, tmp_path, kind):
    tasks = []
    manifest = rd.write_suite(tmp_path, SUITE, client, kind=kind, piece_cases=CHUNK, progress=tasks.append,
                              description="d", command="c")
    assert tree_bytes(tmp_path) == tree_bytes(single[kind])
    assert manifest.outcome == (len(SUITE), 0, 0, ())
    pieces = 0 if kind == "npz" else 4 + 4 + 3                # three files of more than CHUNK cases
    assert len(tasks) == len(SUITE) - (3 if pieces else 0) + pieces
    assert sum(".piece-" in t for t in tasks) == pieces
    assert tasks[-1].startswith(f"{len(tasks)}/{len(tasks)} tasks") and "(100%)" in tasks[-1]


def unit_paths(tmp_path):
    """{file path: its task paths}, from a plan of an empty folder."""
    plan = suite.plan_suite(tmp_path / "empty", SUITE)
    return {f.path: [u.path for u in rd.units(f, "tv", CHUNK)] for f in plan.files}


class Tasks(list):
    """A progress callback that keeps the path of each finished task (the text after ': ')."""

    def __call__(self, message):
        self.append(message.rsplit(": ", 1)[1])


@needs_dask
def test_an_interrupted_run_resumes_to_the_same_bytes_computing_only_what_is_missing(client, single, tmp_path):
    def cancel_after_five(message):
        if message.startswith("5/"):
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        rd.write_suite(tmp_path / "v", SUITE, client, piece_cases=CHUNK, progress=cancel_after_five,
                       description="d", command="c")
    folder = tmp_path / "v"
    journal = json.loads((folder / ".refnum-journal.json").read_text())["files"]
    assert len(journal) >= 2 and not (folder / "manifest.json").exists()
    time.sleep(1)                                       # a task running when it was cancelled ends
    last = unit_paths(tmp_path)["f16_add/rne_riscv.tv"][-1]                # submitted last: not done
    leftover = (folder / last).with_name(".tmp-k3x9q2zu" + Path(last).name)  # a killed task's file
    leftover.parent.mkdir(exist_ok=True)
    leftover.write_bytes(b"0000 ")
    computed = Tasks()
    manifest = rd.write_suite(folder, SUITE, client, piece_cases=CHUNK, description="d", command="c",
                              progress=computed)
    assert tree_bytes(folder) == tree_bytes(single["tv"])
    missing = {u for path, us in unit_paths(tmp_path).items() if path not in journal for u in us if u not in journal}
    assert sorted(computed) == sorted(missing) and len(missing) < 13 - 4
    assert manifest.outcome.removed == (leftover.relative_to(folder).as_posix(),)
    assert check_manifest(folder) == (len(SUITE), [])


@needs_dask
def test_a_finished_folder_is_skipped_a_damaged_file_rewritten_a_stale_piece_removed(client, single, tmp_path):
    rd.write_suite(tmp_path, SUITE, client, piece_cases=CHUNK, description="d", command="c")
    (tmp_path / "e4m3_mul/rtz_saturate-none.tv").write_bytes(b"damaged\n")
    stale = "f16_to_e4m3/rne.tv.piece-00001-of-00004"      # killed after joining, before removing pieces
    (tmp_path / stale).write_bytes(b"3C00 00 00\n")
    computed = Tasks()
    manifest = rd.write_suite(tmp_path, SUITE, client, piece_cases=CHUNK, description="d", command="c",
                              progress=computed)
    assert sorted(computed) == [f"e4m3_mul/rtz_saturate-none.tv.piece-{i:05d}-of-00004" for i in range(4)]
    assert manifest.outcome == (0, len(SUITE) - 1, 1, (stale,))
    assert tree_bytes(tmp_path) == tree_bytes(single["tv"])


@needs_dask
def test_a_run_killed_while_joining_joins_on_the_rerun_without_computing_again(client, single, tmp_path,
                                                                               monkeypatch):
    real = rd._join

    def killed_in_second_join(plan, pieces):
        if pieces[0].file.path == "e4m3_mul/rtz_saturate-none.tv":
            raise KeyboardInterrupt
        real(plan, pieces)
    monkeypatch.setattr(rd, "_join", killed_in_second_join)
    with pytest.raises(KeyboardInterrupt):
        rd.write_suite(tmp_path, SUITE, client, piece_cases=CHUNK, description="d", command="c")
    journal = json.loads((tmp_path / ".refnum-journal.json").read_text())["files"]
    assert sum(p.startswith("e4m3_mul/rtz_saturate-none.tv.piece-") for p in journal) == 4
    monkeypatch.setattr(rd, "_join", real)
    computed = Tasks()
    rd.write_suite(tmp_path, SUITE, client, piece_cases=CHUNK, description="d", command="c", progress=computed)
    assert not any(p.startswith("e4m3_mul/") for p in computed)
    assert tree_bytes(tmp_path) == tree_bytes(single["tv"])


@needs_dask
def test_gen_dask_local_2_writes_the_bytes_of_a_plain_run(tmp_path, capsys):
    """The command a user types: two worker processes on this machine, then the plain command."""
    suite_file = tmp_path / "s.json"
    suite_file.write_text(json.dumps({"description": "d", "files": [
        {"function": ["e2m1_add", "e3m2_mul"], "rounding": ["rne", "rtz"]}]}))
    args = ["gen", "--suite", str(suite_file), "--out"]
    assert main(args + [str(tmp_path / "dask"), "--dask", "local:2", "--progress"]) == 0
    out, err = capsys.readouterr()
    assert out.startswith("4 files (4 written, 0 already complete, 0 repaired)")
    assert err.count("refnum: ") == 4 and "4/4 tasks" in err
    assert main(args + [str(tmp_path / "plain")]) == 0
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "plain")


@needs_dask
def test_an_unreachable_scheduler_is_one_line_and_exit_2_within_the_timeout(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(rd, "CONNECT_TIMEOUT", 1)
    for address, why in (("tcp://127.0.0.1:1", "Timed out trying to connect"), ("nonsense", "missing port"),
                         ("local:0", "N >= 1"), ("local:x", "N >= 1")):
        start = time.monotonic()
        assert main(["gen", "--suite", "e4m3-arith", "--out", str(tmp_path / "v"), "--dask", address]) == 2
        _, err = capsys.readouterr()
        assert err.startswith("refnum: ") and err.count("\n") == 1 and why in err, err
        assert time.monotonic() - start < 30
    assert not (tmp_path / "v").exists()                # nothing written before the scheduler answers


def test_without_dask_the_option_is_one_line_with_the_install_hint(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)      # import distributed raises ImportError
    assert main(["gen", "--suite", "e4m3-arith", "--out", str(tmp_path), "--dask", "local:2"]) == 2
    _, err = capsys.readouterr()
    assert err == f"refnum: {rd.INSTALL_HINT}\n"
    assert "pip install 'refnum[dask]'" in err and "pip install '.[dask]'" in err


@pytest.mark.parametrize("extra, message", [(["--shard", "0/2"], "leave out --shard and --jobs"),
                                            (["--jobs", "2"], "leave out --shard and --jobs")])
def test_dask_refuses_options_that_split_the_work_otherwise(tmp_path, capsys, extra, message):
    assert main(["gen", "--suite", "e4m3-arith", "--out", str(tmp_path), "--dask", "local:2"] + extra) == 2
    assert message in capsys.readouterr().err


def test_dask_needs_a_folder(capsys):
    assert main(["gen", "e2m1_add", "--dask", "local:2"]) == 2
    assert capsys.readouterr().err == "refnum: gen --dask writes a folder: add --out DIR\n"


def test_pieces_cover_each_file_once_in_order():
    plan = suite.FilePlan("a/rne.tv", {"path": "a/rne.tv"}, None, None, 10, 10 + 5 * CHUNK + 3)
    units = rd.units(plan, "tv", CHUNK)
    assert [u.path for u in units] == [f"a/rne.tv.piece-{i:05d}-of-00006" for i in range(6)]
    assert [u.lo for u in units[1:]] == [u.hi for u in units[:-1]] and (units[0].lo, units[-1].hi) == (10, plan.hi)
    assert rd.units(plan, "npz", CHUNK) == [rd.Unit(plan, "a/rne.tv", plan.spec, plan.lo, plan.hi)]
    huge = plan._replace(lo=0, hi=1 << 32)
    assert len(rd.units(huge, "tv")) == rd.MAX_PIECES


@needs_dask
@pytest.mark.slow
def test_a_killed_gen_dask_resumes_to_the_bytes_of_a_plain_run(tmp_path):
    """SIGKILL ``refnum gen --dask local:2`` after its second task: its worker processes end with
    it, and the same command run again finishes only what is missing, with the bytes of a plain run."""
    import signal
    import subprocess

    suite_file = tmp_path / "s.json"
    suite_file.write_text(json.dumps({"files": [{"function": "e4m3_mul", "rounding": ["rne", "rtz", "rup", "rdn"]}]}))
    command = [sys.executable, "-m", "refnum", "gen", "--suite", str(suite_file), "--out", str(tmp_path / "dask"),
               "--dask", "local:2", "--progress"]
    killed = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in killed.stderr:
            if line.startswith("refnum: 2/4 tasks"):
                killed.send_signal(signal.SIGKILL)
                break
        assert killed.wait(timeout=60) == -signal.SIGKILL
    finally:
        killed.kill()
        killed.stderr.close()
    assert not (tmp_path / "dask/manifest.json").exists()
    rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0 and "already complete" in rerun.stdout
    written = int(rerun.stdout.split("(")[1].split(" written")[0])
    assert written <= 2, rerun.stdout
    assert main(["gen", "--suite", str(suite_file), "--out", str(tmp_path / "plain")]) == 0
    assert tree_bytes(tmp_path / "dask") == tree_bytes(tmp_path / "plain")
