"""Throughput of writing vector files (issue 4 §9): cases per second, by output format and jobs.

Workloads:

* the exhaustive E4M3 multiplication table (65,536 pairs) in each of the six rounding
  modes (six files, 393,216 cases), written by ``refnum.vectors.suite.write_suite`` in
  one process, with ``jobs=2``, and with ``refnum.vectors.dask.write_suite`` on a
  two-worker ``LocalCluster`` (``--dask local:2``; the cluster's start-up timed apart),
  when dask is installed (the same bytes: the script checks), reporting the scaling ratios;
* a binary16 addition file of 200,000 seeded random operand pairs (RISC-V rules),
  written in each output format: tv, memh, jsonl, npz, and memh/jsonl with
  intermediate columns (the exact value and guard/round/sticky bits);
* an estimate of the exhaustive binary16 binary-operation sweep (2**32 cases per
  operation and mode) from the single-process tv rate;
* with ``--sweep SCHEDULER`` (``local:N`` or an address), only the start of the real
  thing: the exhaustive binary16 addition of spec/suites.md's Dask recipe, stopped once
  as many tasks (pieces of 2**24 cases) have finished as the cluster has workers, and
  its rate per worker.

Run:  python benchmarks/suites.py [--repeat 2] [--sweep local:16]
Wall-clock seconds (worker processes make CPU time of one process meaningless here),
best of ``--repeat``; run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from refnum.vectors.plan import Entry
from refnum.vectors.suite import write_suite


def best_wall(fn, repeat):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        elapsed = time.perf_counter() - t0
        best = elapsed if best is None else min(best, elapsed)
    return best


def _spin(n):
    total = 0
    for i in range(n):
        total += i
    return total


def machine_scaling(n=10_000_000):
    """Wall-clock speed-up of two busy loops in a 2-process pool over the same loops in one
    process: the parallelism the machine really offers right now (the control for jobs=2)."""
    import concurrent.futures

    serial = best_wall(lambda: [_spin(n) for _ in range(2)], 1)
    with concurrent.futures.ProcessPoolExecutor(2) as pool:
        parallel = best_wall(lambda: list(pool.map(_spin, [n, n])), 1)
    return serial / parallel


def writer(entries, scheduler=None, **kw):
    """A function writing ``entries`` into a fresh folder (on Dask when ``scheduler`` is given), and the folder."""
    folder = Path(tempfile.mkdtemp(prefix="refnum-bench-"))

    def run():
        shutil.rmtree(folder, ignore_errors=True)
        if scheduler is None:
            write_suite(folder, entries, **kw)
        else:
            from refnum.vectors import dask

            dask.write_suite(folder, entries, scheduler, **kw)
    return run, folder


def tree(folder):
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def dask_table(table, cases, t1, expected, repeat):
    """The same table written by two Dask worker processes on this machine (``--dask local:2``)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        print("  dask local:2: dask[distributed] is not installed (pip install '.[dask]')")
        return
    import logging

    from refnum.vectors import dask

    t0 = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, dashboard_address=":0",
                      silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
        start = time.perf_counter() - t0
        run, folder = writer(table, scheduler=client)
        seconds = best_wall(run, repeat)
        same = tree(folder) == expected
    shutil.rmtree(folder, ignore_errors=True)
    print(f"  dask local:2 {cases / seconds:12,.0f} cases/s   scaling {t1 / seconds:.2f}x   identical bytes: {same}"
          f"   (cluster start-up {start:.1f} s, not counted)")


class _Enough(Exception):
    pass


def sweep(scheduler):
    """Cases per second per worker of the first tasks of an exhaustive binary16 addition on Dask."""
    from refnum.vectors import dask

    folder = Path(tempfile.mkdtemp(prefix="refnum-sweep-"))
    with dask.connect(scheduler) as client:
        workers = len(client.scheduler_info()["workers"])
        finished = []

        def stop(message):
            finished.append(time.perf_counter())
            if len(finished) == workers:
                raise _Enough
        t0 = time.perf_counter()
        try:
            dask.write_suite(folder, [Entry("f16_add", cases="exhaustive")], client, progress=stop)
        except _Enough:
            pass
    seconds = finished[-1] - t0
    tasks = min(-(-2 ** 32 // dask.PIECE_CASES), dask.MAX_PIECES)
    cases = workers * 2 ** 32 // tasks
    shutil.rmtree(folder, ignore_errors=True)
    print(f"exhaustive binary16 add on Dask ({scheduler}, {workers} workers): the first {workers} tasks of"
          f" {tasks} ({cases:,} cases) in {seconds:.0f} s: {cases / seconds / workers:,.0f} cases/s per worker,"
          f" {cases / seconds:,.0f} in all; the whole 2**32 in about {2 ** 32 / (cases / seconds) / 60:.0f} minutes")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--sweep", metavar="SCHEDULER", help="only the start of an exhaustive binary16 add on Dask")
    args = ap.parse_args(argv)
    if args.sweep:
        sweep(args.sweep)
        return

    table = [Entry("e4m3_mul", mode) for mode in ("rne", "rna", "rtz", "rup", "rdn", "rto")]
    cases = 65536 * len(table)
    one, folder_one = writer(table, jobs=1)
    two, folder_two = writer(table, jobs=2)
    t1, t2 = best_wall(one, args.repeat), best_wall(two, args.repeat)
    same = tree(folder_one) == tree(folder_two)
    print(f"machine: two busy loops in 2 processes run {machine_scaling():.2f}x faster than in one"
          " (the most jobs=2 can give here)")
    print(f"E4M3 multiplication table in six modes, {cases:,} cases, tv")
    print(f"  jobs=1 {cases / t1:12,.0f} cases/s   jobs=2 {cases / t2:12,.0f} cases/s   scaling {t1 / t2:.2f}x"
          f"   identical bytes: {same}")
    dask_table(table, cases, t1, tree(folder_one), args.repeat)

    n = 200_000
    add = [Entry("f16_add", profile="riscv", cases="random", count=n)]
    print(f"binary16 add, {n:,} random pairs (RISC-V rules), one process")
    rates = {}
    warm, warm_folder = writer(add, kind="tv")         # warm-up: the case list and decoding tables
    warm()
    shutil.rmtree(warm_folder, ignore_errors=True)
    for kind, intermediate in (("tv", False), ("memh", False), ("jsonl", False), ("npz", False),
                               ("memh", True), ("jsonl", True)):
        run, folder = writer(add, kind=kind, intermediate=intermediate)
        seconds = best_wall(run, args.repeat)
        size = sum(len(b) for p, b in tree(folder).items() if p.suffix == f".{kind}")
        label = kind + (" +intermediate" if intermediate else "")
        rates[label] = n / seconds
        print(f"  {label:20} {n / seconds:12,.0f} cases/s {size / n:8.1f} bytes/case")
        shutil.rmtree(folder, ignore_errors=True)
    hours = 2 ** 32 / rates["tv"] / 3600
    print(f"exhaustive binary16 binary operation (2**32 cases, one mode, tv): about {hours:,.0f} core-hours"
          f" at {rates['tv']:,.0f} cases/s per core; --shard I/N splits it into N independent tasks")
    for folder in (folder_one, folder_two):
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
