"""Writing a suite on a Dask cluster: its files, and pieces of the large ones, as Dask tasks.

:func:`write_suite` writes the same folder as :func:`refnum.vectors.suite.write_suite`, byte
for byte, with the work spread over the workers of a Dask cluster (``dask[distributed]``,
the optional ``dask`` extra).  The folder must be storage every worker and this process
share (the same path on every machine: NFS, Lustre, a cluster file system).

Units of work.  A file of at most :data:`PIECE_CASES` cases is one task, which writes the
file itself.  A larger file (an exhaustive binary16 operation is 2**32 cases) is cut into
``n = min(ceil(cases / PIECE_CASES), MAX_PIECES)`` pieces, the index ranges of
:func:`~refnum.vectors.suite.shard_range`; task ``i`` writes ``<path>.piece-<i>-of-<n>``,
and when all of them are there this process concatenates them into the file (the text
kinds concatenate exactly: spec/suites.md, Shards) and removes them.  An npz archive is
one piece.  Tasks are submitted in suite order, so few files are in progress at once.

Faults.  As in :func:`~refnum.vectors.suite.write_suite`: every file and piece is written
under a temporary name and renamed; this process alone keeps the journal
(``.refnum-journal.json``), which records each finished piece and file with its SHA-256;
a rerun removes the temporary files of killed tasks and the pieces no longer needed, skips
every intact piece and file the journal or previous manifest records, and computes the
rest.  At the end it writes README.md, manifest.json and SHA256SUMS, then checks the whole
folder as ``refnum manifest check`` does.
"""

from __future__ import annotations

import contextlib
import logging
import os
import posixpath
import re
import warnings
from typing import NamedTuple

from ..errors import IntegrityError, RefnumError
from . import suite

PIECE_CASES = 1 << 22                   # about 20 s of one core for a binary16 operation
MAX_PIECES = 256                        # pieces of one file, so that its journal stays small
CONNECT_TIMEOUT = 10                    # seconds to reach a scheduler before giving up
INSTALL_HINT = ("--dask needs dask[distributed]: pip install 'refnum[dask]' "
                "(from a checkout: pip install '.[dask]')")
_PIECE = re.compile(r"\.piece-\d{5}-of-\d{5}")


class Unit(NamedTuple):
    """One task: cases ``[lo, hi)`` of a file, written to ``path`` (the file, or one of its pieces)."""

    file: suite.FilePlan
    path: str
    spec: dict
    lo: int
    hi: int

    @property
    def piece(self):
        return self.path != self.file.path


def units(f, kind, piece_cases=PIECE_CASES):
    """The :class:`Unit` list of file plan ``f``: itself, or its pieces."""
    cases = f.hi - f.lo
    n = 1 if kind == "npz" else min(-(-cases // piece_cases), MAX_PIECES)
    if n <= 1:
        return [Unit(f, f.path, f.spec, f.lo, f.hi)]
    out = []
    for i in range(n):
        lo, hi = suite.shard_range(cases, (i, n))
        path = f"{f.path}.piece-{i:05d}-of-{n:05d}"
        spec = dict(f.spec, path=path, piece={"index": i, "of": n, "cases": [f.lo + lo, f.lo + hi]})
        out.append(Unit(f, path, spec, f.lo + lo, f.lo + hi))
    return out


def write_unit(outdir, entry, seed, kind, intermediate, path, lo, hi):
    """The task: write cases ``[lo, hi)`` of ``entry``'s file to ``outdir/path``; (sha256, size)."""
    return suite.write_cases(os.path.join(outdir, path), entry, seed, kind, intermediate, lo, hi)


def write_suite(outdir, entries, scheduler, *, seed=1, kind="tv", intermediate=False, force=False,
                progress=None, description="", command=None, piece_cases=PIECE_CASES):
    """Write ``entries`` into ``outdir`` with the workers of ``scheduler``; return the
    :class:`~refnum.vectors.suite.Manifest` (the same bytes as ``suite.write_suite``).

    ``scheduler``: a scheduler address (``tcp://host:8786``), ``local:N`` for a
    ``LocalCluster`` of N worker processes on this machine, or a ``distributed.Client``.
    ``progress(message)`` is called once per finished task.  A folder that fails the final
    check is an :class:`~refnum.errors.IntegrityError`.
    """
    with connect(scheduler) as client:
        plan = suite.plan_suite(outdir, entries, seed=seed, kind=kind, intermediate=intermediate, force=force)
        work = {f.path: units(f, kind, piece_cases) for f in plan.work()}
        pieces = {u.path for us in work.values() for u in us if u.piece}
        every_piece = [u.path for f in plan.files for u in units(f, kind, piece_cases) if u.piece]
        removed = suite.remove_leftovers(plan.outdir, every_piece) + _remove_stale_pieces(plan, pieces)
        plan = plan._replace(removed=tuple(sorted(plan.removed + removed)))
        done = {u.path for us in work.values() for u in us
                if suite.complete_record(plan.outdir, plan.journal.get(u.path), u.spec)}
        todo = [u for us in work.values() for u in us if u.path not in done]
        futures = {client.submit(write_unit, plan.outdir, u.file.entry, seed, kind, intermediate, u.path,
                                 u.lo, u.hi, pure=False): u for u in todo}
        try:
            _collect(plan, work, done, futures, progress)
        finally:
            client.cancel(list(futures))
    manifest = plan.finish(description, command)
    checked, problems = suite.check_manifest(plan.outdir)
    if problems:
        raise IntegrityError(f"{plan.outdir}: after the Dask run, manifest check finds {len(problems)} problems,"
                             f" the first: {problems[0]}")
    return manifest


def _collect(plan, work, done, futures, progress):
    """Journal each finished task as it comes; join a file's pieces when they are all there."""
    from distributed import as_completed

    total = sum(f.hi - f.lo for f in plan.work())
    finished = sum(u.hi - u.lo for us in work.values() for u in us if u.path in done)
    for us in work.values():                       # files whose pieces a run killed while joining finished
        if us[0].piece and all(u.path in done for u in us):
            _join(plan, us)
    for number, future in enumerate(as_completed(futures), 1):
        u = futures[future]
        digest, size = future.result()
        plan.journal[u.path] = dict(u.spec, cases=u.hi - u.lo, bytes=size, sha256=digest)
        plan.save_journal()
        done.add(u.path)
        us = work[u.file.path]
        if u.piece and all(p.path in done for p in us):
            _join(plan, us)
        finished += u.hi - u.lo
        if progress is not None:
            progress(f"{number}/{len(futures)} tasks, {finished:,} of {total:,} cases"
                     f" ({100 * finished // max(total, 1)}%): {u.path}")


def _join(plan, pieces):
    """Concatenate a file's pieces into the file, journal it, and remove the pieces."""
    f = pieces[0].file
    blocks = (block for p in pieces for block in _blocks(os.path.join(plan.outdir, p.path)))
    digest, size = suite.write_pieces(os.path.join(plan.outdir, f.path), blocks)
    for p in pieces:
        plan.journal.pop(p.path, None)
    plan.journal_file(f, digest, size)
    for p in pieces:
        os.remove(os.path.join(plan.outdir, p.path))


def _blocks(path, size=1 << 24):
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(size), b"")


def _remove_stale_pieces(plan, wanted):
    """Remove the pieces of this run's files that it does not need (left by a run killed while
    joining, or cut otherwise); the removed paths."""
    removed = []
    for folder, names in _by_folder(f.path for f in plan.files).items():
        with contextlib.suppress(OSError):
            for candidate in os.listdir(os.path.join(plan.outdir, folder)):
                path = posixpath.join(folder, candidate)
                stem, _, _ = candidate.rpartition(".piece-")
                if (stem in names and _PIECE.fullmatch(candidate[len(stem):]) and path not in wanted
                        and os.path.isfile(os.path.join(plan.outdir, path))):
                    os.remove(os.path.join(plan.outdir, path))
                    plan.journal.pop(path, None)
                    removed.append(path)
    return tuple(removed)


def _by_folder(paths):
    folders = {}
    for path in paths:
        folder, name = posixpath.split(path)
        folders.setdefault(folder, set()).add(name)
    return folders


@contextlib.contextmanager
def connect(scheduler):
    """A ``distributed.Client`` of ``scheduler`` (see :func:`write_suite`), closed afterwards
    unless it was given; every failure to reach it is one :class:`RefnumError` line."""
    try:
        import distributed
    except ImportError:
        raise RefnumError(INSTALL_HINT) from None
    if isinstance(scheduler, distributed.Client):
        yield scheduler
        return
    with contextlib.ExitStack() as stack:
        stack.enter_context(_quiet_logs())
        address = _cluster(stack, distributed, scheduler)
        try:
            client = distributed.Client(address, timeout=CONNECT_TIMEOUT)
        except Exception as err:                   # OSError, TimeoutError, ValueError: one line whatever it is
            raise RefnumError(f"cannot reach the Dask scheduler {scheduler!r}: {_first_line(err)}") from None
        stack.enter_context(client)
        yield client


def _cluster(stack, distributed, scheduler):
    """The address to connect to: ``scheduler``, or that of a ``LocalCluster`` for ``local:N``."""
    if not isinstance(scheduler, str) or not scheduler:
        raise RefnumError(f"--dask takes a scheduler address or local:N, not {scheduler!r}")
    if not scheduler.startswith("local:"):
        return scheduler
    workers = scheduler[len("local:"):]
    if not (workers.isdigit() and int(workers) >= 1):
        raise RefnumError(f"--dask {scheduler}: local:N needs a number of workers N >= 1")
    try:
        with warnings.catch_warnings():             # "port 8787 is in use": the status page takes a free one
            warnings.simplefilter("ignore")
            cluster = distributed.LocalCluster(n_workers=int(workers), threads_per_worker=1, processes=True,
                                               dashboard_address=":0", silence_logs=logging.ERROR)
    except Exception as err:                       # a worker process that cannot start, no free port ...
        raise RefnumError(f"--dask {scheduler}: the local cluster did not start: {_first_line(err)}") from None
    stack.enter_context(cluster)
    return cluster.scheduler_address


@contextlib.contextmanager
def _quiet_logs():
    """Dask's own log lines (INFO and WARNING) stay off standard error, which is refnum's."""
    loggers = [logging.getLogger(name) for name in ("distributed", "dask")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels):
            logger.setLevel(level)


def _first_line(err):
    text = str(err).strip().splitlines()
    return text[0] if text else type(err).__name__
