"""The dot-product vectors: one file per preset, floating-point and integer, of seeded random
and adversarial cases (``refnum gen --suite dot``; ``refnum suite`` writes them into ``dot/``).

A line is a complete dot-product line ``A[0] ... A[K-1] B[0] ... B[K-1] C D FLAGS``
(spec/vectors-formats.md, "Dot-product lines"), which ``refnum dot PRESET --verify FILE``
checks.  Files are ``float/<preset>.tv`` (the families of :func:`refnum.dot.cases.cases`)
and ``integer/<preset>.tv`` (those of :func:`refnum.dot.cases.integer_cases`), with
``manifest.json`` (preset, model, operand and result formats, K, the cases of each family,
seed, bytes, SHA-256) and ``SHA256SUMS``, the layout ``refnum manifest check`` reads.  Each
file's cases come from a generator seeded by the preset's name: the bytes depend only on
the refnum version.
"""

from __future__ import annotations

import collections
import json
import os
import random

from ..catalog import lookup
from ..vectors.lines import IEEE_FLAGS, Layout
from . import run_dot
from .cases import cases, integer_cases
from .integer import INTEGER_PRESETS, run_integer_dot
from .models import Fused, Gemm, result_format
from .presets import PRESETS, model_summary

KINDS = ("tv", "jsonl", "memh", "npz")
CASES = 100                         # per file: 20 of each floating family, 25 of each integer one
SEED = "refnum dot corpus"


def plan():
    """[(path, preset)] of every corpus file, in order: the floating presets, then the integer."""
    return ([(f"float/{name}.tv", p) for name, p in PRESETS.items()]
            + [(f"integer/{name}.tv", p) for name, p in INTEGER_PRESETS.items()])


def products(preset):
    """K of a preset's cases: two of its instructions (blocks, groups), so that the chain from
    one to the next is in every case; a GEMM with promotion, two promotion intervals."""
    model = getattr(preset, "model", preset)
    if isinstance(model, Gemm):
        return 2 * model.promote_every if model.promote_every else 4 * model.inner.L
    if isinstance(model, Fused):
        return 2 * model.L
    group = getattr(model, "group", None)
    return 2 * group if group and group > 1 else 16


def preset_cases(preset, n=CASES):
    """``[(family, a, b, c)]`` of a preset's file (codes), from its own seeded generator."""
    rng = random.Random(f"{SEED} {preset.name}")
    k = products(preset)
    if preset.name in INTEGER_PRESETS:
        return integer_cases(preset, k, n, rng)
    return cases(preset.model, preset.operands, k, n, rng)


def formats(preset):
    """(a, b, c, result) catalogue formats of a preset (floating or integer)."""
    if preset.name in INTEGER_PRESETS:
        return preset.formats + (preset.formats[2],)
    return tuple(lookup(n) for n in (*preset.operands, result_format(preset.model)))


def evaluate(preset, a, b, c):
    """``(code, flags)`` of one case, as ``refnum dot PRESET`` computes it."""
    if preset.name in INTEGER_PRESETS:
        return run_integer_dot(preset, a, b, c)
    return run_dot(preset, a, b, c)


def file_bytes(preset, kind="tv"):
    """The bytes of a preset's corpus file as ``kind`` (one of :data:`KINDS`) and its cases."""
    fa, fb, fc, fd = formats(preset)
    rows = preset_cases(preset)
    k = len(rows[0][1])
    results = [evaluate(preset, a, b, c) for _, a, b, c in rows]
    if kind in ("memh", "npz"):
        cases = [(a, b, c, d, flags & IEEE_FLAGS) for (_, a, b, c), (d, flags) in zip(rows, results)]
        return _ENCODERS[kind]((fa, fb, fc, fd), k, cases), rows
    layout = Layout([fa] * k + [fb] * k + [fc], fd)
    lines = [layout.format_line(a + b + [c], *result) for (_, a, b, c), result in zip(rows, results)]
    return "".join(line if kind == "tv" else json_line(line, k) for line in lines).encode("ascii"), rows


def json_line(line, k):
    """The JSON object of a complete tv dot line: hex codes a, b, c, d and the flags (an integer)."""
    fields = line.split()
    record = {"a": fields[:k], "b": fields[k:2 * k], "c": fields[2 * k], "d": fields[2 * k + 1],
              "flags": int(fields[2 * k + 2], 16)}
    return json.dumps(record, sort_keys=True, separators=(",", ":")) + "\n"


def record(path, preset, rows, kind):
    """A manifest record's semantic fields (without bytes and hash)."""
    fa, fb, fc, fd = formats(preset)
    if preset.name in INTEGER_PRESETS:
        model = {"group": preset.group, "overflow": preset.overflow, "granularity": preset.granularity}
    else:
        model = {"model": model_summary(preset.model), "profile": preset.profile}
    families = collections.Counter(family for family, *_ in rows)
    return {"path": path, "preset": preset.name, "arithmetic": path.partition("/")[0],
            **model, "operand_formats": [fa.name, fb.name, fc.name], "result_format": fd.name,
            "k": len(rows[0][1]), "cases": len(rows), "families": dict(families), "format": kind,
            "seed": f"{SEED} {preset.name}"}


def write(outdir, kind="tv"):
    """Write the corpus into ``outdir`` (each file atomically), then README.md, manifest.json
    and SHA256SUMS as every refnum vector folder has them (spec/suites.md, "Manifests")."""
    from ..blocks.corpus import _write_bytes, publish
    from ..vectors.suite import file_sha256

    records = []
    for path, preset in plan():
        path = path[:-len(".tv")] + "." + kind
        data, rows = file_bytes(preset, kind)
        full = os.path.join(outdir, path)
        _write_bytes(full, data)
        records.append({**record(path, preset, rows, kind), "bytes": len(data), "sha256": file_sha256(full)})
    return publish(outdir, "refnum dot-product vectors: seeded random and adversarial cases (cancellation,"
                   " alignment-window edges, zeros, overflow, NaN/Inf; integer extremes, wrap and saturation"
                   " edges) for every floating-point and integer preset", kind, records, README)


def memh_fields(fmts, k):
    """[(name, bits)] of a case's memh word, most significant first: ``a0 .. a{K-1}``,
    ``b0 .. b{K-1}``, ``c``, ``d`` at their formats' widths, then the 5 IEEE flag bits in [4:0]."""
    fa, fb, fc, fd = fmts
    return ([(f"a{i}", fa.k) for i in range(k)] + [(f"b{i}", fb.k) for i in range(k)]
            + [("c", fc.k), ("d", fd.k), ("flags", 5)])


def _memh(fmts, k, cases):
    """One ``$readmemh`` word per case: the fields of :func:`memh_fields` concatenated."""
    from ..blocks.corpus import memh_words

    return memh_words([bits for _, bits in memh_fields(fmts, k)], [[*a, *b, c, d, f] for a, b, c, d, f in cases])


def _npz(fmts, k, cases):
    """Stored ``.npy`` arrays ``a`` and ``b`` (flat, row-major: reshape to (-1, K)), ``c``, ``d``
    and ``flags``, each the smallest unsigned type that holds its codes."""
    from ..blocks.corpus import npz_archive

    fa, fb, fc, fd = fmts
    return npz_archive([("a", [x for a, *_ in cases for x in a], fa.k), ("b", [y for _, b, *_ in cases for y in b], fb.k),
                        ("c", [case[2] for case in cases], fc.k), ("d", [case[3] for case in cases], fd.k),
                        ("flags", [case[4] for case in cases], 5)])


_ENCODERS = {"memh": _memh, "npz": _npz}


README = """\
# refnum dot-product vectors

Generated by `refnum gen --suite dot --out DIR` (and by `refnum suite`); do not edit by hand.
One file per preset (`refnum dot --list`): `float/<preset>.tv` holds 100 cases of K products,
20 of each family -- `raw` (uniform codes: NaN, Inf, subnormals), `similar` (cancellation),
`window` (terms at the edge of a fused block's alignment window), `zeros` (the zero exponent),
`overflow` (near the largest finite value); `integer/<preset>.tv` 100 cases, 25 of each of
`raw`, `extremes` (ends of the ranges, 0, +-1), `edge` (the accumulator at its largest or
smallest value or one past it at the first check point: wrap and saturation edges) and
`transient` (past the range at a product or group and back by the end).  K is two of the
preset's instructions (blocks or groups), or two promotion intervals of a GEMM.

Each line is `A[0] ... A[K-1] B[0] ... B[K-1] C D FLAGS` (spec/vectors-formats.md,
"Dot-product lines"; spec/dot-float.md and spec/dot-integer.md for the semantics).
`refnum dot PRESET --verify FILE` checks a file; `refnum manifest check DIR` re-hashes the
folder against `manifest.json` and `SHA256SUMS`.
"""
