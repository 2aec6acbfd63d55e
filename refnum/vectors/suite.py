"""Writing suites: files of vectors, manifests, shards, worker processes, resumption.

:func:`write_suite` writes every :class:`~refnum.vectors.plan.Entry` of a suite into a
folder, one file each, in one output kind (:mod:`refnum.vectors.outputs`), then
``manifest.json`` (every semantic parameter of every file, its case count, byte
count and SHA-256) and ``SHA256SUMS`` (``sha256sum -c`` format).

Determinism.  A file's bytes depend only on its entry, the seed and the refnum
version: cases come from the canonical enumeration (:func:`refnum.vectors.plan.
enumerate_cases`), chunks of :data:`CHUNK` cases are computed in order, or by
``jobs`` worker processes and reassembled in order.

Shards.  ``shard=(i, n)`` writes, for every file, the cases of index
``floor(i * len / n)`` up to ``floor((i + 1) * len / n)`` to ``<path>.part-<i>-of-<n>``
and the shard's own ``manifest.part-<i>-of-<n>.json``; for the text kinds the parts of
a file, concatenated in order, are the file (:func:`join_shards` does that and checks
every hash).  Each shard runs anywhere (a Slurm array task, a Dask or Ray task).

Faults.  Every file is written to a temporary name in its folder and renamed, so an
interrupted run leaves complete files only.  A journal (``.refnum-journal.json``)
records each finished file; running again skips every file whose record matches the
entry and whose bytes still hash to the recorded SHA-256 (``force`` rewrites all).
"""

from __future__ import annotations

import concurrent.futures
import functools
import hashlib
import itertools
import json
import os
import sys
import tempfile

from .. import __version__
from ..errors import RefnumError
from . import outputs
from .plan import enumerate_cases

CHUNK = 1 << 14
MANIFEST = "manifest.json"
SUMS = "SHA256SUMS"
JOURNAL = ".refnum-journal.json"
README = "README.md"


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

def write_suite(outdir, entries, *, seed=1, kind="tv", intermediate=False, shard=(0, 1), jobs=1,
                force=False, progress=None, description="", command=None):
    """Write ``entries`` into ``outdir``; return the manifest (a dict)."""
    outdir = os.fspath(outdir)
    if kind not in outputs.KINDS:
        raise RefnumError(f"unknown output format '{kind}'; choose from {', '.join(outputs.KINDS)}")
    shard = check_shard(shard)
    paths = [e.path(outputs.EXTENSIONS[kind]) + part_suffix(shard) for e in entries]
    duplicates = {p for p in paths if paths.count(p) > 1}
    if duplicates:
        raise RefnumError(f"two suite entries write the same file: {sorted(duplicates)[0]}")
    os.makedirs(outdir, exist_ok=True)
    manifest_name = MANIFEST.replace(".json", part_suffix(shard) + ".json")
    journal = {} if force else _journal(outdir, manifest_name)
    plans = []                              # (path, spec, reusable record or None, (entry, lo, hi))
    for entry, path in zip(entries, paths):
        total = len(enumerate_cases(entry, seed))
        lo, hi = shard_range(total, shard)
        spec = dict(entry.describe(), path=path, kind=kind, intermediate=intermediate, seed=seed,
                    shard={"index": shard[0], "of": shard[1], "cases": [lo, hi], "file_cases": total},
                    refnum_version=__version__)
        record = _reusable(outdir, journal.get(path), spec)
        plans.append((path, spec, record, (entry, lo, hi)))
    work = [p for p in plans if p[2] is None]
    tasks = (t for _, _, _, (entry, lo, hi) in work for t in _tasks(entry, seed, kind, intermediate, lo, hi))
    several = sum(_chunk_count(kind, lo, hi) for _, _, _, (_, lo, hi) in work) > 1
    pool = concurrent.futures.ProcessPoolExecutor(jobs) if jobs > 1 and several else None
    records = []
    try:                                    # every file's chunks, computed in any order, used in order
        pieces = _in_order(pool, tasks, 4 * jobs)
        for number, (path, spec, record, (entry, lo, hi)) in enumerate(plans, 1):
            if record is None:
                chunks = itertools.islice(pieces, _chunk_count(kind, lo, hi))
                digest, size = _write_pieces(os.path.join(outdir, path), chunks)
                record = dict(spec, cases=hi - lo, bytes=size, sha256=digest)
                journal[path] = record
                _write_atomic(os.path.join(outdir, JOURNAL), _json_bytes({"manifest": manifest_name,
                                                                          "files": journal}))
            records.append(record)
            if progress:
                progress(f"{number}/{len(plans)} files, {path}: {record['cases']:,} cases")
    finally:
        if pool:
            pool.shutdown(cancel_futures=True)
    manifest = {
        "refnum_version": __version__,
        "description": description,
        "generator": command or "refnum.vectors.suite.write_suite",
        "seed": seed,
        "kind": kind,
        "intermediate": intermediate,
        "shard": {"index": shard[0], "of": shard[1]},
        "flags": {"0x01": "inexact", "0x02": "underflow", "0x04": "overflow", "0x08": "divide-by-zero",
                  "0x10": "invalid"},
        "files": records,
        "total_files": len(records),
        "total_cases": sum(r["cases"] for r in records),
        "total_bytes": sum(r["bytes"] for r in records),
    }
    old = _listed_paths(outdir, manifest_name)
    if shard[1] == 1:
        _write_atomic(os.path.join(outdir, README), readme(manifest).encode("utf-8"))
    _write_atomic(os.path.join(outdir, manifest_name), _json_bytes(manifest))
    _write_atomic(os.path.join(outdir, SUMS + part_suffix(shard)), sums_text(records).encode())
    for stale in old - set(paths):
        _remove(outdir, stale)
    if os.path.exists(os.path.join(outdir, JOURNAL)):
        os.remove(os.path.join(outdir, JOURNAL))
    return manifest


def sums_text(records):
    return "".join(f"{r['sha256']}  {r['path']}\n" for r in records)


def _reusable(outdir, record, spec):
    """The journal's record when it describes the same file and the bytes still match."""
    if not record or any(record.get(k) != v for k, v in spec.items()):
        return None
    full = os.path.join(outdir, spec["path"])
    if not os.path.isfile(full) or file_sha256(full) != record.get("sha256"):
        return None
    return record


def _journal(outdir, manifest_name):
    """Records of finished files: an interrupted run's journal, else the previous manifest."""
    for name in (JOURNAL, manifest_name):
        try:
            with open(os.path.join(outdir, name), encoding="utf-8") as f:
                doc = json.load(f)
        except (OSError, ValueError):
            continue
        if name == JOURNAL and doc.get("manifest") == manifest_name:
            return dict(doc.get("files", {}))
        if name == manifest_name:
            return {r["path"]: r for r in doc.get("files", []) if isinstance(r, dict) and "path" in r}
    return {}


def _write_pieces(path, pieces):
    """Stream byte pieces to a temporary file, then rename it to ``path``; (sha256, size)."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
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


def _write_atomic(path, data):
    _write_pieces(path, [data])


def _json_bytes(doc):
    return (json.dumps(doc, indent=1, sort_keys=True) + "\n").encode("utf-8")


def _listed_paths(outdir, manifest_name):
    try:
        with open(os.path.join(outdir, manifest_name), encoding="utf-8") as f:
            return {r["path"] for r in json.load(f).get("files", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


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


# -- checking and joining -------------------------------------------------------------------

def check_manifest(outdir):
    """``(checked, problems)``: every file of ``outdir``'s manifest(s) re-hashed; each problem
    is one line (missing file, size or SHA-256 mismatch, SHA256SUMS disagreeing)."""
    outdir = os.fspath(outdir)
    names = sorted(n for n in _listdir(outdir) if n == MANIFEST or (n.startswith("manifest.part-")
                                                                     and n.endswith(".json")))
    if not names:
        raise RefnumError(f"{outdir}: no manifest.json (not a refnum vector folder?)")
    checked, problems = 0, []
    for name in names:
        try:
            with open(os.path.join(outdir, name), encoding="utf-8") as f:
                records = json.load(f)["files"]
        except (OSError, ValueError, KeyError, TypeError) as err:
            problems.append(f"{name}: unreadable ({err})")
            continue
        sums = os.path.join(outdir, SUMS + name[len("manifest"):-len(".json")])
        try:
            with open(sums, encoding="utf-8") as f:
                if f.read() != sums_text(records):
                    problems.append(f"{os.path.basename(sums)} does not match {name}")
        except OSError:
            problems.append(f"{os.path.basename(sums)} is missing")
        for r in records:
            checked += 1
            full = os.path.join(outdir, r["path"])
            if not os.path.isfile(full):
                problems.append(f"{r['path']}: missing")
            elif os.path.getsize(full) != r["bytes"] or file_sha256(full) != r["sha256"]:
                problems.append(f"{r['path']}: SHA-256 mismatch (changed since it was written)")
    return checked, problems


def join_shards(outdir):
    """Concatenate the parts of every file (text kinds), checking every part's hash against its
    shard manifest; write the joined ``manifest.json`` and ``SHA256SUMS``; remove the parts."""
    outdir = os.fspath(outdir)
    names = sorted(n for n in _listdir(outdir) if n.startswith("manifest.part-") and n.endswith(".json"))
    if not names:
        raise RefnumError(f"{outdir}: no shard manifests (manifest.part-*-of-*.json) to join")
    shards = []
    for name in names:
        with open(os.path.join(outdir, name), encoding="utf-8") as f:
            shards.append(json.load(f))
    n = shards[0]["shard"]["of"]
    if sorted(s["shard"]["index"] for s in shards) != list(range(n)) or any(s["shard"]["of"] != n for s in shards):
        have = ", ".join(str(s["shard"]["index"]) for s in shards)
        raise RefnumError(f"{outdir}: shards of {n} needed, found {have}")
    if shards[0]["kind"] == "npz":
        raise RefnumError("npz shards are separate archives; load each and concatenate the arrays")
    checked, problems = check_manifest(outdir)
    if problems:
        raise RefnumError(f"{outdir}: {problems[0]}")
    joined = []
    for position, first in enumerate(shards[0]["files"]):
        parts = [s["files"][position] for s in shards]
        path = first["path"][:-len(part_suffix((0, n)))]
        pieces = (_read(os.path.join(outdir, p["path"])) for p in parts)
        digest, size = _write_pieces(os.path.join(outdir, path), pieces)
        record = dict(first, path=path, cases=sum(p["cases"] for p in parts), bytes=size, sha256=digest,
                      shard={"index": 0, "of": 1, "cases": [0, first["shard"]["file_cases"]],
                             "file_cases": first["shard"]["file_cases"]})
        joined.append(record)
    manifest = dict(shards[0], shard={"index": 0, "of": 1}, files=joined, total_files=len(joined),
                    total_cases=sum(r["cases"] for r in joined), total_bytes=sum(r["bytes"] for r in joined))
    _write_atomic(os.path.join(outdir, README), readme(manifest).encode("utf-8"))
    _write_atomic(os.path.join(outdir, MANIFEST), _json_bytes(manifest))
    _write_atomic(os.path.join(outdir, SUMS), sums_text(joined).encode())
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
`sha256sum -c`; `refnum manifest check DIR` re-hashes everything and exits 3 on any mismatch.

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
