"""Writing suites: files of vectors, manifests, shards, worker processes, resumption.

:func:`write_suite` writes every :class:`~refnum.vectors.plan.Entry` of a suite into a
folder, one file each, in one output kind (:mod:`refnum.vectors.outputs`), then
``README.md``, ``manifest.json`` (every semantic parameter of every file, its case
count, byte count and SHA-256) and ``SHA256SUMS`` (``sha256sum -c`` format: the
vector files, then README.md and manifest.json, so every byte of the folder is
covered by a hash).  :func:`check_manifest` re-hashes all of it and accounts for
every file of the folder.

Determinism.  A file's bytes depend only on its entry, the seed and the refnum
version: cases come from the canonical enumeration (:func:`refnum.vectors.plan.
enumerate_cases`), chunks of :data:`CHUNK` cases are computed in order, or by
``jobs`` worker processes and reassembled in order.

Shards.  ``shard=(i, n)`` writes, for every file, the cases of index
``floor(i * len / n)`` up to ``floor((i + 1) * len / n)`` to ``<path>.part-<i>-of-<n>``
and the shard's own ``manifest.part-<i>-of-<n>.json``; for the text kinds the parts of
a file, concatenated in order, are the file (:func:`join_shards` does that and checks
every hash).  Each shard runs anywhere (a Slurm array task, a Ray task);
:mod:`refnum.vectors.dask` spreads a suite over a Dask cluster by itself.

Faults.  Every file is written to a temporary name in its folder (``.tmp-<random><name>``)
and renamed, so an interrupted run leaves complete files only, plus, when it was killed
(SIGKILL, power loss), the temporary file it was writing: the next run of the same files
removes those first.  A journal (``.refnum-journal.json``) records each finished file;
running again skips every file whose record matches the entry and whose bytes still hash
to the recorded SHA-256 (``force`` rewrites all).  Worker processes end when their parent
does (:func:`end_with_parent`).
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import itertools
import json
import os
import posixpath
import re
import sys
import tempfile
import threading
import time
from typing import NamedTuple

from .. import __version__
from ..errors import IntegrityError, RefnumError
from . import outputs
from .plan import enumerate_cases

CHUNK = 1 << 14
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
README = "README.md"
TEMPORARY = ".tmp-"                         # files are written under .tmp-<random><name>, then renamed


def part_suffix(shard):
    i, n = shard
    return "" if n == 1 else f".part-{i:05d}-of-{n:05d}"


def shard_range(length, shard):
    """The fixed index range ``[lo, hi)`` of shard ``i`` of ``n`` over ``length`` cases."""
    i, n = shard
    return length * i // n, length * (i + 1) // n


def check_shard(shard):
    i, n = shard
    if not (isinstance(i, int) and isinstance(n, int) and n >= 1 and 0 <= i < n):
        raise RefnumError(f"bad shard {i}/{n}: need 0 <= i < N")
    return i, n


# -- computing ---------------------------------------------------------------------------

@functools.lru_cache(maxsize=16)
def _evaluator(entry):
    return entry.parsed().evaluator(entry.context())


def rows(entry, seed, lo, hi, intermediate=False, cases=None):
    """The :class:`~refnum.vectors.outputs.Row` of cases ``lo <= index < hi`` (``cases``: those
    cases, when the caller has them already)."""
    evaluate, stochastic = _evaluator(entry), bool(entry.sr_bits)
    before_rounding = _intermediate(entry) if intermediate else None
    out = []
    for index, case in enumerate(enumerate_cases(entry, seed)[lo:hi] if cases is None else cases, lo):
        code, flags = evaluate(*case) if stochastic else evaluate(*case, 0)
        exact, grs = before_rounding(case) if intermediate else (None, None)
        out.append(outputs.Row(index, tuple(case), code, flags, exact, grs))
    return out


def _intermediate(entry):
    """``f(case) -> (exact, grs)``: the exact value before rounding and its guard/round/sticky
    bits (None for specials), with the entry's function and context bound once."""
    from ..arith import unrounded
    from ..convert import decode
    from ..rounding import guard_round_sticky

    f, ctx = entry.parsed(), entry.context()

    def before_rounding(case):
        operands, rand = (case[:-1], case[-1]) if entry.sr_bits else (case, 0)
        if f.operation == "convert":
            value = decode(operands[0], f.sources[0], ctx)
        else:
            result = unrounded(f.operation, operands, f.sources, ctx, out=f.result, rand=rand)
            if result is None:
                return None, None
            value = result[0]
        return (value if value.kind == "finite" else None), guard_round_sticky(value, f.result)
    return before_rounding


def chunk_bytes(task):
    """Bytes of one chunk: ``task = (entry, seed, kind, intermediate, lo, hi, first, cases)``;
    ``first`` (the chunk that starts at case 0) carries the file's header, so the chunks of
    any shards concatenate to the whole file.  ``cases`` are the chunk's operand tuples, so
    that worker processes do not enumerate the file's cases again."""
    entry, seed, kind, intermediate, lo, hi, first, cases = task
    ctx = entry.context()
    comments = (f"function {entry.name}: rounding {ctx.rounding}, overflow policy "
                f"{ctx.saturation_for(entry.parsed().result)}, tininess {ctx.tininess}, profile {ctx.name},"
                f" seed {seed}",) if first and kind == "memh" else ()
    return outputs.encode(kind, entry.layout(), rows(entry, seed, lo, hi, intermediate, cases),
                          first=first, intermediate=intermediate, comments=comments)


def _tasks(entry, seed, kind, intermediate, lo, hi):
    """The chunks of cases ``[lo, hi)`` of one file, as tasks for :func:`chunk_bytes`, made lazily.

    A materialised enumeration (level, random, boundary cases) travels with each task, so
    that workers need not rebuild it; an exhaustive one is indexed in the worker instead.
    """
    cases = enumerate_cases(entry, seed)
    materialised = isinstance(cases, list)
    if kind == "npz":                                 # an archive is one piece
        yield (entry, seed, kind, intermediate, lo, hi, True, cases[lo:hi] if materialised else None)
        return
    for start in range(lo, hi, CHUNK) if hi > lo else [lo]:
        stop = min(start + CHUNK, hi)
        yield (entry, seed, kind, intermediate, start, stop, start == 0, cases[start:stop] if materialised else None)


def _chunk_count(kind, lo, hi):
    return 1 if kind == "npz" or hi <= lo else -(-(hi - lo) // CHUNK)


def _in_order(pool, tasks, ahead):
    """``map(chunk_bytes, tasks)`` computed by ``pool`` (or here), at most ``ahead`` chunks ahead,
    results in task order: memory stays bounded however large the run."""
    if pool is None:
        yield from map(chunk_bytes, tasks)
        return
    pending = []
    for task in tasks:
        pending.append(pool.submit(chunk_bytes, task))
        if len(pending) >= ahead:
            yield pending.pop(0).result()
    for future in pending:
        yield future.result()


# -- writing -------------------------------------------------------------------------------

class Metadata(NamedTuple):
    """The files that describe one manifest's vector files (``suffix``: the shard's part suffix)."""

    manifest: str
    sums: str
    journal: str
    readme: str | None                      # a whole folder's README.md; a shard has none

    @classmethod
    def of(cls, suffix):
        return cls(f"manifest{suffix}.json", SUMS + suffix, f".refnum-journal{suffix}.json",
                   README if not suffix else None)

    @property
    def hashed(self):
        """The metadata files ``SHA256SUMS`` lists after the vector files, in that order."""
        return tuple(n for n in (self.readme, self.manifest) if n)


class Outcome(NamedTuple):
    """What one :func:`write_suite` did: files written anew, skipped as complete, rewritten because
    they were damaged or missing, and the partial files of an interrupted run it removed."""

    written: int
    skipped: int
    repaired: int
    removed: tuple


class Manifest(dict):
    """The manifest (the JSON document, as a dict) and, as ``outcome``, the :class:`Outcome`."""

    outcome = None


def write_suite(outdir, entries, *, seed=1, kind="tv", intermediate=False, shard=(0, 1), jobs=1,
                force=False, progress=None, description="", command=None):
    """Write ``entries`` into ``outdir``; return the :class:`Manifest`.

    First it removes the partial files an interrupted run of the same files left (temporary
    names of SIGKILLed writes); then it skips every file its previous manifest or journal
    records with the same semantics and whose bytes still hash to the record (``force``:
    none, and a damaged manifest or journal is ignored instead of refused).
    """
    plan = plan_suite(outdir, entries, seed=seed, kind=kind, intermediate=intermediate, shard=shard, force=force)
    work = plan.work()
    tasks = (t for f in work for t in _tasks(f.entry, seed, kind, intermediate, f.lo, f.hi))
    several = sum(_chunk_count(kind, f.lo, f.hi) for f in work) > 1
    pool = concurrent.futures.ProcessPoolExecutor(jobs, initializer=end_with_parent) if jobs > 1 and several else None
    try:                                    # every file's chunks, computed in any order, used in order
        pieces = _in_order(pool, tasks, 4 * jobs)
        for number, f in enumerate(plan.files, 1):
            if f.record is None:
                digest, size = write_pieces(os.path.join(plan.outdir, f.path),
                                             itertools.islice(pieces, _chunk_count(kind, f.lo, f.hi)))
                plan.journal_file(f, digest, size)
            if progress:
                progress(f"{number}/{len(plan.files)} files, {f.path}: {f.hi - f.lo:,} cases")
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    return plan.finish(description, command)


class FilePlan(NamedTuple):
    """One file of a run: its path, manifest record without the outcome (``spec``), the record of a
    complete copy to keep (or None: to write), and its entry with the case range ``[lo, hi)``."""

    path: str
    spec: dict
    record: dict | None
    entry: object
    lo: int
    hi: int


class Plan(NamedTuple):
    """What one run of :func:`write_suite` (or of :func:`refnum.vectors.dask.write_suite`) does,
    decided before anything is computed; ``journal`` records the finished files, by path."""

    outdir: str
    seed: int
    kind: str
    intermediate: bool
    shard: tuple
    meta: Metadata
    files: list
    journal: dict
    previous: dict
    removed: tuple
    repaired: int

    def work(self):
        """The files to write (those without a complete copy to keep)."""
        return [f for f in self.files if f.record is None]

    def journal_file(self, f, digest, size):
        """Record a finished file (of ``f.hi - f.lo`` cases) in the journal, on disk at once."""
        self.journal[f.path] = dict(f.spec, cases=f.hi - f.lo, bytes=size, sha256=digest)
        self.save_journal()

    def save_journal(self):
        _write_atomic(os.path.join(self.outdir, self.meta.journal),
                      _json_bytes({"manifest": self.meta.manifest, "files": self.journal}))

    def finish(self, description, command):
        """Write the manifest, README and SHA256SUMS of the files, all finished now; remove the files
        the previous manifest listed and this run does not, and the journal; return the Manifest."""
        records = [f.record or self.journal[f.path] for f in self.files]
        manifest = Manifest(
            refnum_version=__version__,
            description=description,
            generator=command or "refnum.vectors.suite.write_suite",
            seed=self.seed,
            kind=self.kind,
            intermediate=self.intermediate,
            shard={"index": self.shard[0], "of": self.shard[1]},
            flags={"0x01": "inexact", "0x02": "underflow", "0x04": "overflow", "0x08": "divide-by-zero",
                   "0x10": "invalid"},
            files=records,
            total_files=len(records),
            total_cases=sum(r["cases"] for r in records),
            total_bytes=sum(r["bytes"] for r in records),
        )
        write_metadata(self.outdir, manifest, meta=self.meta)
        for stale in set(self.previous) - {f.path for f in self.files}:
            _remove(self.outdir, stale)
        if os.path.exists(os.path.join(self.outdir, self.meta.journal)):
            os.remove(os.path.join(self.outdir, self.meta.journal))
        written = len(self.work())
        manifest.outcome = Outcome(written - self.repaired, len(self.files) - written, self.repaired, self.removed)
        return manifest


def plan_suite(outdir, entries, *, seed=1, kind="tv", intermediate=False, shard=(0, 1), force=False):
    """The :class:`Plan` of writing ``entries`` into ``outdir`` (see :func:`write_suite`), after
    removing the temporary files an interrupted run of the same files left."""
    outdir = os.fspath(outdir)
    if kind not in outputs.KINDS:
        raise RefnumError(f"unknown output format '{kind}'; choose from {', '.join(outputs.KINDS)}")
    shard = check_shard(shard)
    meta = Metadata.of(part_suffix(shard))
    paths = [e.path(outputs.EXTENSIONS[kind]) + part_suffix(shard) for e in entries]
    duplicates = {p for p in paths if paths.count(p) > 1}
    if duplicates:
        raise RefnumError(f"two suite entries write the same file: {sorted(duplicates)[0]}")
    os.makedirs(outdir, exist_ok=True)
    removed = remove_leftovers(outdir, paths + [n for n in meta if n])
    previous, journaled = _recorded(outdir, meta, force)
    journal = {} if force else {**previous, **journaled}
    files, repaired = [], 0
    for entry, path in zip(entries, paths):
        total = len(enumerate_cases(entry, seed))
        lo, hi = shard_range(total, shard)
        spec = dict(entry.describe(), path=path, kind=kind, intermediate=intermediate, seed=seed,
                    shard={"index": shard[0], "of": shard[1], "cases": [lo, hi], "file_cases": total},
                    refnum_version=__version__)
        known = journal.get(path) if _same_spec(journal.get(path), spec) else None
        record = complete_record(outdir, known, spec)
        repaired += bool(known) and record is None
        files.append(FilePlan(path, spec, record, entry, lo, hi))
    return Plan(outdir, seed, kind, intermediate, shard, meta, files, journal, previous, removed, repaired)


def end_with_parent():
    """Worker initializer: end this worker process when its parent dies.

    A worker that outlives a SIGKILLed ``refnum gen --jobs N`` would compute on, holding its
    parent's standard output and error open, so whoever reads them never sees their end.
    The worker watches ``os.getppid()``: on POSIX a process whose parent died is re-parented
    (to init or a subreaper), and then it exits at once.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(PARENT_POLL)
        os._exit(1)
    threading.Thread(target=watch, name="refnum-end-with-parent", daemon=True).start()


PARENT_POLL = 1                             # second between a worker's looks at its parent (no floats here)


def write_metadata(outdir, manifest, readme_text=None, meta=None):
    """README.md (a whole folder: ``readme_text``, else the suite's own), the manifest, then
    SHA256SUMS, which lists them after the vector files, so that the manifest's own bytes are
    covered by a hash.  ``meta``: a shard's names (default the whole folder's)."""
    meta = meta or Metadata.of("")
    text = readme_text if readme_text is not None else readme(manifest) if meta.readme else None
    described = {meta.readme: text.encode("utf-8")} if meta.readme else {}
    described[meta.manifest] = _json_bytes(manifest)
    for name, data in described.items():
        _write_atomic(os.path.join(outdir, name), data)
    lines = [(r["sha256"], r["path"]) for r in manifest["files"]]
    lines += [(hashlib.sha256(data).hexdigest(), name) for name, data in described.items()]
    _write_atomic(os.path.join(outdir, meta.sums), sums_text(lines).encode("ascii"))


def sums_text(lines):
    """``sha256sum -c`` input: one ``<hex digest>  <path>`` line per ``(digest, path)``."""
    return "".join(f"{digest}  {path}\n" for digest, path in lines)


def complete_record(outdir, record, spec):
    """``record`` when it describes ``spec``'s file and the file is there with its bytes, else None."""
    return record if _same_spec(record, spec) and _intact(outdir, record) else None


def _same_spec(record, spec):
    return bool(record) and all(record.get(k) == v for k, v in spec.items())


def _intact(outdir, record):
    """Whether the recorded file is there and its bytes still hash to the record."""
    full = os.path.join(outdir, record["path"])
    return os.path.isfile(full) and not os.path.islink(full) and file_sha256(full) == record["sha256"]


def _recorded(outdir, meta, force):
    """``(previous, journaled)``: the records, by path, of the previous manifest and of an
    interrupted run's journal.  Either file that is not refnum's is an error (the folder holds
    something else), or with ``force`` is ignored."""
    found = []
    for name, read in ((meta.manifest, manifest_records), (meta.journal, _journal_records)):
        try:
            found.append({r["path"]: r for r in read(outdir, name)})
        except IntegrityError as err:
            if not force:
                raise RefnumError(f"{outdir}: {err} (remove it, or rerun with --force to write over it)") from None
            found.append({})
    return tuple(found)


def remove_leftovers(outdir, paths):
    """Remove the temporary files (``.tmp-<random><name>``) a killed run left for any of ``paths``;
    the removed paths, sorted.  Other shards' files have other names, so shards may share a folder."""
    wanted = {}
    for path in paths:
        folder, name = posixpath.split(path)
        wanted.setdefault(folder, set()).add(name)
    removed = []
    for folder, names in wanted.items():
        try:
            candidates = os.listdir(os.path.join(outdir, folder))
        except OSError:
            continue
        for candidate in candidates:
            full = os.path.join(outdir, folder, candidate)
            if (candidate.startswith(TEMPORARY) and any(candidate.endswith(n) for n in names)
                    and os.path.isfile(full) and not os.path.islink(full)):
                os.remove(full)
                removed.append(posixpath.join(folder, candidate))
    return tuple(sorted(removed))


def write_pieces(path, pieces):
    """Stream byte pieces to a temporary file, then rename it to ``path``; (sha256, size)."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=TEMPORARY, suffix=os.path.basename(path))
    digest, size = hashlib.sha256(), 0
    try:
        with os.fdopen(fd, "wb") as f:
            for piece in pieces:
                f.write(piece)
                digest.update(piece)
                size += len(piece)
        os.chmod(tmp, 0o644)                # mkstemp makes 0600; a published file is world-readable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return digest.hexdigest(), size


def write_cases(path, entry, seed, kind, intermediate, lo, hi):
    """Write cases ``[lo, hi)`` of ``entry``'s file to ``path`` in this process, atomically; (sha256, size)."""
    return write_pieces(path, map(chunk_bytes, _tasks(entry, seed, kind, intermediate, lo, hi)))


def _write_atomic(path, data):
    write_pieces(path, [data])


def _json_bytes(doc):
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _remove(outdir, path):
    full = os.path.join(outdir, path)
    if os.path.isfile(full):
        os.remove(full)
        folder = os.path.dirname(full)
        if os.path.abspath(folder) != os.path.abspath(outdir) and not os.listdir(folder):
            os.rmdir(folder)


def file_sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def stderr_progress(message):
    print(f"refnum: {message}", file=sys.stderr, flush=True)


# -- reading manifests ---------------------------------------------------------------------------

_SHA256 = re.compile(r"[0-9a-f]{64}")


def read_manifest(outdir, name):
    """The manifest document ``outdir/name``, checked to be one refnum writes (else an
    :class:`~refnum.errors.IntegrityError` naming the first fault): ``files`` a list of
    records, each with a path inside the folder, a byte and case count and a SHA-256."""
    doc = _read_json(outdir, name)
    if not isinstance(doc, dict):
        raise IntegrityError(f"{name}: not a refnum manifest (a JSON object is expected)")
    files = doc.get("files")
    if not isinstance(files, list):
        raise IntegrityError(f"{name}: not a refnum manifest (\"files\" is not a list)")
    paths = set()
    for number, record in enumerate(files):
        _check_record(record, f"{name}: files[{number}]")
        if record["path"] in paths:
            raise IntegrityError(f"{name}: files[{number}]: {record['path']} is listed twice")
        paths.add(record["path"])
    shard = doc.get("shard")
    if not (isinstance(shard, dict) and _count(shard.get("index")) and _count(shard.get("of"))
            and shard["index"] < shard["of"]):
        raise IntegrityError(f"{name}: not a refnum manifest (no valid \"shard\" index and count)")
    if doc.get("kind") not in outputs.KINDS:
        raise IntegrityError(f"{name}: not a refnum manifest (\"kind\" is not one of {', '.join(outputs.KINDS)})")
    return doc


def manifest_records(outdir, name):
    """The checked records of manifest ``name``; none when there is no such file."""
    if not os.path.lexists(os.path.join(outdir, name)):
        return []
    return read_manifest(outdir, name)["files"]


def _journal_records(outdir, name):
    if not os.path.lexists(os.path.join(outdir, name)):
        return []
    doc = _read_json(outdir, name)
    if not (isinstance(doc, dict) and isinstance(doc.get("files"), dict)
            and doc.get("manifest") == "manifest" + name[len(".refnum-journal"):]):
        raise IntegrityError(f"{name}: not a refnum journal")
    for path, record in doc["files"].items():
        _check_record(record, f"{name}: {ascii(path)}")
        if record["path"] != path:
            raise IntegrityError(f"{name}: {ascii(path)} holds the record of {record['path']}")
    return list(doc["files"].values())


def _read_json(outdir, name):
    full = os.path.join(outdir, name)
    if os.path.islink(full) or not os.path.isfile(full):
        raise IntegrityError(f"{name}: not a regular file")
    try:
        with open(full, encoding="utf-8") as f:
            return json.load(f)
    except (ValueError, RecursionError) as err:
        raise IntegrityError(f"{name}: not JSON ({str(err).splitlines()[0][:80]})") from None


def _check_record(record, where):
    if not isinstance(record, dict):
        raise IntegrityError(f"{where} is not a record (a JSON object)")
    path = record.get("path")
    if not isinstance(path, str):
        raise IntegrityError(f"{where} has no path")
    problem = path_problem(path)
    if problem:
        raise IntegrityError(f"{where}: path {ascii(path)} {problem}")
    for key in ("bytes", "cases"):
        if not _count(record.get(key)):
            raise IntegrityError(f"{where} ({path}) has no valid {key!r} count")
    if not (isinstance(record.get("sha256"), str) and _SHA256.fullmatch(record["sha256"])):
        raise IntegrityError(f"{where} ({path}) has no valid 'sha256' (64 lower-case hex digits)")


def _count(value):
    return type(value) is int and value >= 0


def path_problem(path):
    """Why ``path`` may not name a file of a vector folder, or None: it must stay inside the
    folder (relative, no ``..``), use ``/`` between plain names, and not be hidden."""
    parts = path.split("/")
    if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
        return "is absolute: it leaves the folder"
    if ".." in parts:
        return "climbs out with '..': it leaves the folder"
    if "\\" in path or "\0" in path or not path.isprintable() or any(p in ("", ".") for p in parts):
        return "is not a plain relative path (a/b.tv)"
    if any(p.startswith(".") for p in parts):
        return "names a hidden file"
    return None


# -- checking and joining -------------------------------------------------------------------

def check_manifest(outdir):
    """``(checked, problems)``: every vector file of ``outdir``'s manifest(s) re-hashed, and
    every other file of the folder accounted for (a folder just below with a manifest of its
    own, such as ``blocks/``, is checked the same way and its files are accounted for by it).  Each problem is one line: a missing or
    changed file, a manifest or README whose bytes differ from ``SHA256SUMS``, a
    ``SHA256SUMS`` that disagrees with its manifest, a file no manifest lists (a stray file,
    the partial file of an interrupted run, a symbolic link).  A manifest that is not one
    refnum writes (malformed, or naming a path outside the folder) is an
    :class:`~refnum.errors.IntegrityError`.  Nothing outside the folder is ever read.
    """
    outdir = os.fspath(outdir)
    present = _folder_entries(outdir)
    sets = _metadata_sets(present)
    if not sets:
        raise RefnumError(f"{outdir}: no manifest.json (not a refnum vector folder?)")
    checked, problems, accounted = 0, [], set()
    for meta in sets:
        accounted.update(n for n in meta if n and n != meta.journal)
        if meta.manifest not in present:
            problems.append(f"{meta.manifest}: missing ({meta.sums} is there)")
            continue
        records = read_manifest(outdir, meta.manifest)["files"]
        accounted.update(r["path"] for r in records)
        problems += _check_sums(outdir, meta, records, present)
        for r in records:
            checked += 1
            problems += _check_file(outdir, r, present)
    for folder in _nested_folders(present, accounted):
        inner_checked, inner_problems = check_manifest(os.path.join(outdir, folder))
        checked += inner_checked
        problems += [f"{folder}/{problem}" for problem in inner_problems]
        accounted.update(path for path in present if path.startswith(folder + "/"))
    problems += [f"{path if path.isprintable() else ascii(path)}: {_foreign(path, kind)}"
                 for path, kind in sorted(present.items()) if path not in accounted]
    return checked, problems


def _nested_folders(present, accounted):
    """Folders just below the top that are vector folders of their own (their own
    ``manifest.json`` and ``SHA256SUMS``, e.g. the block corpus ``vectors/blocks``), which no
    manifest of the top lists: each is checked as a whole folder, by its own hashes."""
    return sorted(path[:-len("/manifest.json")] for path, kind in present.items()
                  if kind == "file" and path.count("/") == 1 and path.endswith("/manifest.json")
                  and path not in accounted)


def _check_sums(outdir, meta, records, present):
    """Problems of one SHA256SUMS: missing, disagreeing with its manifest's records, or listing
    other hashes of the manifest and README than their bytes have.  It is read only as far as
    the expected text goes (and a byte more), so a huge file costs no memory."""
    if present.get(meta.sums) != "file":
        return [f"{meta.sums} is missing"]
    described = [(file_sha256(os.path.join(outdir, n)), n) for n in meta.hashed if present.get(n) == "file"]
    problems = [f"{n}: missing" for n in meta.hashed if present.get(n) != "file"]
    vectors = sums_text([(r["sha256"], r["path"]) for r in records])
    expected = (vectors + sums_text(described)).encode("utf-8")
    with open(os.path.join(outdir, meta.sums), "rb") as f:
        data = f.read(len(expected) + 1)
    if data == expected:
        return problems
    text = data.decode("utf-8", errors="replace")
    listed = dict(reversed(line.split("  ", 1)) for line in text.splitlines() if "  " in line)
    for digest, name in described:
        if name not in listed:
            problems.append(f"{meta.sums} does not list {name}")
        elif listed[name] != digest:
            problems.append(f"{name}: SHA-256 mismatch with {meta.sums} (changed since it was written)")
    if not text.startswith(vectors) or problems == [] or len(data) > len(expected):
        problems.append(f"{meta.sums} does not match {meta.manifest}")
    return problems


def _check_file(outdir, record, present):
    path = record["path"]
    if path not in present:
        return [f"{path}: missing"]
    if present[path] != "file":
        return [f"{path}: {_foreign(path, present[path])}"]
    full = os.path.join(outdir, path)
    if os.path.getsize(full) != record["bytes"] or file_sha256(full) != record["sha256"]:
        return [f"{path}: SHA-256 mismatch (changed since it was written)"]
    return []


def _folder_entries(outdir):
    """``{path: kind}`` of everything in ``outdir`` but folders, without following symbolic
    links: kind is "file", "link" (a symbolic link, to a file or a folder) or "other"."""
    if not os.path.isdir(outdir):
        _listdir(outdir)                                # the one-line error
        raise RefnumError(f"{outdir}: not a folder")
    entries = {}
    for folder, dirs, files in os.walk(outdir):
        relative = os.path.relpath(folder, outdir)
        for name in dirs + files:
            full = os.path.join(folder, name)
            path = name if relative == "." else posixpath.join(relative.replace(os.sep, "/"), name)
            if os.path.islink(full):
                entries[path] = "link"
            elif name in files:
                entries[path] = "file" if os.path.isfile(full) else "other"
    return entries


def _metadata_sets(present):
    """The :class:`Metadata` of every manifest (or SHA256SUMS) at the top of the folder."""
    suffixes = set()
    for name in present:
        m = _METADATA_NAME.fullmatch(name)
        if m:
            suffixes.add(m[1] or m[2] or "")
    return [Metadata.of(suffix) for suffix in sorted(suffixes)]


_METADATA_NAME = re.compile(r"manifest(\.part-\d+-of-\d+)?\.json|SHA256SUMS(\.part-\d+-of-\d+)?")


def _foreign(path, kind):
    name = posixpath.basename(path)
    if kind == "link":
        return "a symbolic link (a vector folder holds files only; refnum does not follow it)"
    if kind == "other":
        return "not a regular file, and not in the manifest"
    if name.startswith(TEMPORARY):
        return "a partial file left by an interrupted run (run the same command again to finish and remove it)"
    if name.startswith(".refnum-journal"):
        return "the journal of an interrupted run (run the same command again to finish it)"
    return "not in the manifest (a foreign file)"


def join_shards(outdir):
    """Concatenate the parts of every file (text kinds), checking every part's hash against its
    shard manifest; write the joined ``manifest.json`` and ``SHA256SUMS``; remove the parts.

    A part that fails its check, or a part manifest that is not refnum's, is an
    :class:`~refnum.errors.IntegrityError`; missing shards are a :class:`RefnumError`.
    """
    outdir = os.fspath(outdir)
    names = sorted(n for n in _listdir(outdir) if n.startswith("manifest.part-") and n.endswith(".json"))
    if not names:
        raise RefnumError(f"{outdir}: no shard manifests (manifest.part-*-of-*.json) to join")
    shards = [read_manifest(outdir, name) for name in names]
    n = shards[0]["shard"]["of"]
    if sorted(s["shard"]["index"] for s in shards) != list(range(n)) or any(s["shard"]["of"] != n for s in shards):
        have = ", ".join(str(s["shard"]["index"]) for s in shards)
        raise RefnumError(f"{outdir}: shards of {n} needed, found {have}")
    if shards[0]["kind"] == "npz":
        raise RefnumError("npz shards are separate archives; load each and concatenate the arrays")
    suffix = part_suffix((0, n))
    files = [[r["path"][:-len(suffix)] for r in s["files"]] for s in shards]
    for s, name, listed in zip(shards, names, files):
        if listed != files[0] or s["kind"] != shards[0]["kind"]:
            raise IntegrityError(f"{name}: lists other files than {names[0]}")
    checked, problems = check_manifest(outdir)
    if problems:
        raise IntegrityError(problems[0])
    joined = []
    for position, first in enumerate(shards[0]["files"]):
        if not (isinstance(first.get("shard"), dict) and _count(first["shard"].get("file_cases"))):
            raise IntegrityError(f"{names[0]}: files[{position}] has no shard case count")
        parts = [s["files"][position] for s in shards]
        path = files[0][position]
        pieces = (_read(os.path.join(outdir, p["path"])) for p in parts)
        digest, size = write_pieces(os.path.join(outdir, path), pieces)
        record = dict(first, path=path, cases=sum(p["cases"] for p in parts), bytes=size, sha256=digest,
                      shard={"index": 0, "of": 1, "cases": [0, first["shard"]["file_cases"]],
                             "file_cases": first["shard"]["file_cases"]})
        joined.append(record)
    manifest = dict(shards[0], shard={"index": 0, "of": 1}, files=joined, total_files=len(joined),
                    total_cases=sum(r["cases"] for r in joined), total_bytes=sum(r["bytes"] for r in joined))
    write_metadata(outdir, manifest, meta=Metadata.of(""))
    for s, name in zip(shards, names):
        for r in s["files"]:
            os.remove(os.path.join(outdir, r["path"]))
        os.remove(os.path.join(outdir, name))
        os.remove(os.path.join(outdir, SUMS + name[len("manifest"):-len(".json")]))
    return manifest


def _read(path):
    with open(path, "rb") as f:
        return f.read()


def _listdir(outdir):
    try:
        return os.listdir(outdir)
    except OSError as err:
        raise RefnumError(f"{outdir}: {err.strerror}") from None


# -- README of a vector folder ------------------------------------------------------------------

def readme(manifest):
    """The README.md of a folder written by :func:`write_suite` (generated, byte-deterministic)."""
    groups = {}
    for r in manifest["files"]:
        groups.setdefault(r["function"], []).append(r)
    rows = []
    for name, rs in groups.items():
        variants = ", ".join(dict.fromkeys(
            r["rounding"] + (f" ({r['saturation']})" if not r["saturation_is_catalog_default"] else "")
            + (f" [{r['profile']}]" if r["profile"] != "default" else "") for r in rs))
        generator = rs[0]["case_generator"] + (f" {rs[0]['count']}" if rs[0]["count"] else "")
        rows.append(f"| `{name}` | {generator} | {rs[0]['cases']:,} | {variants} |")
    tenths_of_mb = (manifest["total_bytes"] + 50_000) // 100_000      # integer arithmetic: no floats here
    return _README.format(
        description=manifest["description"] or "refnum test vectors", generator=manifest["generator"],
        version=manifest["refnum_version"], seed=manifest["seed"], kind=manifest["kind"],
        nfiles=manifest["total_files"], ncases=manifest["total_cases"],
        mb=f"{tenths_of_mb // 10}.{tenths_of_mb % 10}", table="\n".join(rows))


_README = """\
# {description}

Generated by refnum {version}: {nfiles} files, {ncases:,} cases, {mb} MB, output format `{kind}`.
Do not edit by hand; regenerate with

    {generator}

(add `--out DIR`; `--jobs N` and `--shard I/N` give the same bytes).  The same refnum version,
suite and seed give byte-identical files on any machine.  `manifest.json` records, for every
file, every semantic parameter (operand and result format definitions, rounding, overflow
policy, tininess, profile, NaN policy, the full context, stochastic random-bit layout, case
generator, seed, case count) and its SHA-256; `SHA256SUMS` has the same hashes for
`sha256sum -c`, then those of this README and of `manifest.json`; `refnum manifest check DIR`
re-hashes everything, reports every file the manifest does not list, and exits 3 on any problem.

## Layout

One folder per function, named as TestFloat names functions (`<source>_to_<destination>` for
conversions, `<format>_<operation>` for arithmetic, with TestFloat's short names `f16 f32 f64 bf16
i32` and refnum's catalogue names otherwise; `_to_<result>` when an operation's result has another
format), one file per variant:

    <function>/<rounding>[_n<N>][_saturate-<policy>][_<profile>][_<knob>-<value>][_operands-<formats>][_<cases>]<ext>

`_n<N>`: stochastic rounding with N random bits; `_saturate-<policy>`: an overflow policy other
than the result format's catalogue default; `_<profile>`: a refnum profile other than `default`
(e.g. `_riscv`, TestFloat's RISCV specialization).

## Line format (`tv`)

TestFloat 3e's `testfloat_gen` output: one case per line, `<operands> <result> <flags>`, upper-case
zero-padded fixed-width hex without `0x` (a format's bits rounded up to whole hex digits), single
spaces, `\\n` line ends.  `<flags>` is two hex digits in TestFloat / RISC-V `fflags` order: 01
inexact, 02 underflow, 04 overflow, 08 divide-by-zero, 10 invalid.  Comparisons give a one-digit
result, 0 or 1.  Stochastic files have one more operand column, the random integer R
(0 <= R < 2**N), the last one.  Other formats (`memh`, `jsonl`, `npz`) are described in refnum's
spec/vectors-formats.md.

## Consuming

* With refnum: `refnum verify FUNCTION --rounding MODE [--saturate POLICY] [--profile P] [--sr-bits N]
  FILE` recomputes every case and prints mismatches; each file's options are in its manifest record
  (`context`).  To check an implementation, replace the result and flags columns with its outputs
  and verify that file.
* With TestFloat: files of IEEE functions under the `riscv` profile are checked by
  `testfloat_ver -r<mode> FUNCTION < FILE` (RISCV build).
* In a testbench: drive the operands (and R), compare the result bits, and the flags if the
  hardware reports them; refnum never writes its own non-IEEE flag bits here.

## Contents

| function | cases | cases per file | variants (rounding, policy, profile) |
|---|---|---|---|
{table}
"""
