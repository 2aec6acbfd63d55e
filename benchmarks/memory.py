"""Peak memory of ``refnum verify`` and ``refnum run`` on large inputs (issue 12 §7).

Workloads (every input written to a temporary folder first; each command runs as a
child process and its peak resident set size is read from ``wait4``'s rusage):

* ``verify f16_to_f32`` of a tv file of ``--lines`` vector lines (default 10**7: the
  exhaustive binary16 -> binary32 table, every one of the 65,536 lines repeated in
  turn), and the same cases written as memh, jsonl and npz (``--kinds``);
* ``run f16_to_e4m3`` of a file of ``--lines`` operand lines (every binary16 code in
  turn), output to /dev/null;
* ``run f16_to_e4m3`` reading ``--lines`` lines ``3C00`` from a pipe (``yes 3C00 |
  refnum run f16_to_e4m3``, cut at ``--lines``).

Run:  python benchmarks/memory.py [--lines 10000000] [--kinds tv,memh,jsonl,npz]
                                  [--refnum PATH]   (another checkout's root, to compare)

The figures are megabytes of peak RSS and CPU seconds of the child (user + system);
nothing is asserted: the target (verify of 10**7 lines under 200 MB) is read off the
table.  The inputs are written by a separate process, because Linux counts the
memory of the process that starts a child in the child's peak (exec records the
parent's high-water mark), so the measuring process imports nothing big.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TABLE = 1 << 16


def measure(argv, root, feed=None):
    """(exit status, peak RSS in kB, CPU seconds, last line of output) of ``python -m refnum argv``
    with refnum from the checkout at ``root`` (its working folder: ``-m`` looks there first);
    ``feed(pipe)`` writes its standard input.  ``run``'s output goes to /dev/null."""
    env = dict(os.environ, PYTHONPATH=root)
    with tempfile.TemporaryFile() as out, open(os.devnull, "wb") as null:
        proc = subprocess.Popen([sys.executable, "-m", "refnum", *argv], env=env, cwd=root, stderr=subprocess.STDOUT,
                                stdout=out if argv[0] == "verify" else null,
                                stdin=subprocess.PIPE if feed else subprocess.DEVNULL)
        writer = threading.Thread(target=feed, args=(proc.stdin,)) if feed else None
        if writer:
            writer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        if writer:
            writer.join()
        out.seek(max(0, os.fstat(out.fileno()).st_size - 200))
        last = out.read().decode(errors="replace").strip().splitlines()[-1:] or [""]
    return os.waitstatus_to_exitcode(status), usage.ru_maxrss, usage.ru_utime + usage.ru_stime, last[0]


def vector_files(folder, count, kinds):
    """The f16_to_f32 table repeated up to ``count`` lines, in each kind; returns {kind: path}."""
    from refnum.context import DEFAULT
    from refnum.vectors.functions import parse
    from refnum.vectors.lines import Layout
    from refnum.vectors.outputs import Row, encode

    function = parse("f16_to_f32")
    layout = Layout(function.sources, function.result)
    evaluate = function.evaluator(DEFAULT)
    rows = [Row(code, (code,), *evaluate(code, 0)) for code in range(TABLE)]
    paths = {}
    for kind in kinds:
        path = paths[kind] = folder / f"f16_to_f32.{kind}"
        if kind == "npz":                                   # one piece: the arrays of all rows
            full = [Row(i, rows[i % TABLE].operands, rows[i % TABLE].result, rows[i % TABLE].flags)
                    for i in range(count)]
            path.write_bytes(encode(kind, layout, full))
            continue
        with open(path, "wb") as f:
            for start in range(0, count, TABLE):
                f.write(encode(kind, layout, rows[:min(TABLE, count - start)], first=start == 0))
    return paths


def operand_file(folder, count):
    path = folder / "f16_codes.txt"
    table = "".join(f"{code:04X}\n" for code in range(TABLE))
    with open(path, "w") as f:
        for start in range(0, count, TABLE):
            f.write(table if count - start >= TABLE else table[:5 * (count - start)])
    return path


def feed_ones(count):
    def feed(pipe):
        block = b"3C00\n" * TABLE
        try:
            for start in range(0, count, TABLE):
                pipe.write(block if count - start >= TABLE else block[:5 * (count - start)])
        finally:
            pipe.close()
    return feed


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=10 ** 7)
    parser.add_argument("--kinds", default="tv", help="comma-separated: tv,memh,jsonl,npz (default tv)")
    parser.add_argument("--refnum", default=str(ROOT), help="root of the refnum checkout to measure")
    parser.add_argument("--write", metavar="FOLDER", help=argparse.SUPPRESS)   # the inputs, in a child
    args = parser.parse_args()
    if args.write:
        vector_files(Path(args.write), args.lines, args.kinds.split(","))
        operand_file(Path(args.write), args.lines)
        return
    kinds = args.kinds.split(",")
    print(f"refnum from {args.refnum}, {args.lines:,} lines; peak RSS of the child, CPU seconds")
    print(f"{'command':<52} {'input MB':>9} {'peak RSS MB':>12} {'CPU s':>7}  last line")
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        subprocess.run([sys.executable, __file__, "--write", str(folder), "--lines", str(args.lines),
                        "--kinds", args.kinds], check=True)
        cases = [(f"verify f16_to_f32 f16_to_f32.{kind}", ["verify", "f16_to_f32", str(folder / f"f16_to_f32.{kind}")],
                  folder / f"f16_to_f32.{kind}", None) for kind in kinds]
        codes = folder / "f16_codes.txt"
        cases.append(("run f16_to_e4m3 f16_codes.txt > /dev/null", ["run", "f16_to_e4m3", str(codes)], codes, None))
        for label, argv, path, feed in cases + [("yes 3C00 | head -n LINES | run f16_to_e4m3 > /dev/null",
                                                 ["run", "f16_to_e4m3"], None, feed_ones(args.lines))]:
            size = path.stat().st_size / 1e6 if path else 5 * args.lines / 1e6
            rc, rss, cpu, last = measure(argv, args.refnum, feed=feed)
            print(f"{label:<52} {size:>9.1f} {rss / 1024:>12.1f} {cpu:>7.1f}  {last[:60]} (exit {rc})")


if __name__ == "__main__":
    main()
