"""The published conformance corpus: curated conversion vectors with a manifest.

:func:`write_suite` writes one file per (conversion function, rounding mode,
saturation policy where it matters) in TestFloat's line format
(:mod:`refnum.vectors.lines`), a ``MANIFEST.json`` that states everything a file
depends on (formats, every context knob, seed, line count, SHA-256) and a
``README.md`` on how to consume it.

Sources of at most 16 bits are exhaustive; wider ones use level-1 cases of
:func:`refnum.vectors.cases.operands` with the given seed, the same operand list
for every mode of one source (as TestFloat does).  Output is byte-deterministic:
the same refnum version and seed give identical bytes.  Each file is written to
a temporary name and renamed into place, the manifest last.

The curated list is :func:`curated`; its size is bounded (about 16 MB) because
a 16-bit source costs 65,536 lines per file: exhaustive 16-bit files are kept
for the most used ML targets in ``rne``, everything else comes from f32/f64.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import tempfile
from dataclasses import dataclass

from .. import __version__
from ..catalog import short_name
from ..context import Context
from ..convert import as_format, convert
from .cases import EXHAUSTIVE_BITS, operands, operands_with_random
from .lines import Layout

MODES = ("rne", "rna", "rtz", "rup", "rdn", "rto")
STOCHASTIC = ("sr-a", "sr-b", "sr-c")
SR_BITS = 8
LEVEL = 1
MANIFEST = "MANIFEST.json"
README = "README.md"
SUFFIX = ".tv"

# Every format of at most 8 bits in the catalogue, and the P3109 K=8 family.
OCP_AND_ML_8BIT = ("e4m3", "e5m2", "e4m3fnuz", "e5m2fnuz", "e4m3b11fnuz", "float8_e4m3", "float8_e3m4",
                   "e2m3", "e3m2", "e2m1", "e8m0", "ue4m3")
P3109_EXTENDED = tuple(f"p3109_k8p{p}se" for p in range(1, 8)) + tuple(f"p3109_k8p{p}ue" for p in range(1, 9))
P3109_FINITE = tuple(f"p3109_k8p{p}sf" for p in range(1, 8)) + tuple(f"p3109_k8p{p}uf" for p in range(1, 9))
NARROW = OCP_AND_ML_8BIT + P3109_EXTENDED + P3109_FINITE

# Overflow policies published besides each target's catalog default.
SATURATION_VARIANTS = {
    "e4m3": ("none",), "e5m2": ("none",),                       # OFP8 non-SAT
    "e4m3fnuz": ("none",), "e5m2fnuz": ("none",),               # overflow -> NaN (ml_dtypes)
    "p3109_k8p3se": ("satnone", "propagate"), "p3109_k8p4se": ("satnone", "propagate"),
}
EXHAUSTIVE_16BIT = {"f16": ("e4m3", "e5m2", "e2m3", "e3m2", "e2m1", "e8m0"), "bf16": ("e4m3", "e5m2")}
STOCHASTIC_TARGETS = ("e4m3", "e5m2", "e2m1", "bf16")


@dataclass(frozen=True)
class Entry:
    """One published file: a conversion under one context."""

    source: str
    target: str
    rounding: str = "rne"
    saturation: str | None = None       # None: the target's catalog default
    profile: str = "default"
    sr_bits: int = 0

    @property
    def function(self):
        return f"{short_name(as_format(self.source))}_to_{short_name(as_format(self.target))}"

    @property
    def path(self):
        name = self.rounding + (f"_n{self.sr_bits}" if self.sr_bits else "")
        if self.saturation is not None:
            name += f"_saturate-{self.saturation}"
        return f"{self.function}/{name}{SUFFIX}"

    def context(self):
        return Context.profile(self.profile, rounding=self.rounding, saturation=self.saturation,
                               sr_bits=self.sr_bits)


def curated():
    """The corpus, in manifest order."""
    entries = []

    def add(source, target, modes=MODES, saturations=(None,), profile="default"):
        entries.extend(Entry(source, target, mode, sat, profile) for sat in saturations for mode in modes)

    for target in NARROW:                                   # exact decodes: mode-independent
        add(target, "f32", modes=("rne",))
    for target in OCP_AND_ML_8BIT + P3109_EXTENDED:
        add("f32", target, saturations=(None,) + SATURATION_VARIANTS.get(target, ()))
    for target in P3109_FINITE:
        add("f32", target, modes=("rne",))
    for target in OCP_AND_ML_8BIT:
        add("f64", target)
    for source, targets in EXHAUSTIVE_16BIT.items():
        for target in targets:
            add(source, target, modes=("rne",))
    for source, target in (("f32", "bf16"), ("f32", "f16"), ("f64", "f16"), ("i32", "f16")):
        add(source, target, profile="riscv")
    add("f16", "i32", modes=("rne", "rtz"), profile="riscv")
    for target in STOCHASTIC_TARGETS:
        entries.extend(Entry("f32", target, mode, None, "default", SR_BITS) for mode in STOCHASTIC)
    return entries


# -- writing ------------------------------------------------------------------------

def vector_lines(entry, seed=1):
    """The lines of one entry's file (each ends in a newline)."""
    src, dst, ctx = as_format(entry.source), as_format(entry.target), entry.context()
    layout = Layout([src], dst, entry.sr_bits)
    if entry.sr_bits:
        cases = operands_with_random(src, entry.sr_bits, level=LEVEL, seed=seed)
        return [layout.format_line((a, r), *convert(a, src, dst, ctx, r)) for a, r in cases]
    return [layout.format_line((a,), *convert(a, src, dst, ctx)) for a in operands(src, level=LEVEL, seed=seed)]


def describe(entry, ctx, data, lines):
    src, dst = as_format(entry.source), as_format(entry.target)
    return {
        "path": entry.path,
        "function": entry.function,
        "source": src.name,
        "destination": dst.name,
        "rounding": entry.rounding,
        "saturation": ctx.saturation_for(dst) if dst.kind == "float" else None,
        "saturation_is_catalog_default": entry.saturation is None,
        "profile": entry.profile,
        "context": dataclasses.asdict(ctx),
        "sr_bits": entry.sr_bits,
        "operand_columns": ["a", "R"] if entry.sr_bits else ["a"],
        "cases": "exhaustive" if src.k <= EXHAUSTIVE_BITS else f"level {LEVEL}",
        "lines": lines,
        "bytes": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }


def write_suite(outdir, *, seed=1, entries=None):
    """Write the corpus (``entries``, default :func:`curated`) into ``outdir``; return the manifest.

    Files a previous manifest in ``outdir`` listed and this one does not are removed.
    """
    entries = curated() if entries is None else list(entries)
    os.makedirs(outdir, exist_ok=True)
    old = _listed_paths(outdir)
    records = []
    for entry in entries:
        lines = vector_lines(entry, seed)
        data = "".join(lines).encode("ascii")
        _write_atomic(os.path.join(outdir, entry.path), data)
        records.append(describe(entry, entry.context(), data, len(lines)))
    manifest = {
        "refnum_version": __version__,
        "seed": seed,
        "generator": f"refnum.vectors.suite.write_suite(outdir, seed={seed})",
        "line_format": "operands result flags: upper-case fixed-width hex, single spaces, 2-digit flags"
                       " (TestFloat 3e); stochastic files have the operand columns 'a R'",
        "flags": {"0x01": "inexact", "0x02": "underflow", "0x04": "overflow", "0x08": "divide-by-zero",
                  "0x10": "invalid"},
        "files": records,
        "total_files": len(records),
        "total_lines": sum(r["lines"] for r in records),
        "total_bytes": sum(r["bytes"] for r in records),
    }
    _write_atomic(os.path.join(outdir, README), _readme(manifest).encode("utf-8"))
    _write_atomic(os.path.join(outdir, MANIFEST), (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode())
    for stale in old - {r["path"] for r in records}:
        _remove(outdir, stale)
    return manifest


def _listed_paths(outdir):
    try:
        with open(os.path.join(outdir, MANIFEST), encoding="utf-8") as f:
            return {r["path"] for r in json.load(f).get("files", [])}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return set()


def _remove(outdir, path):
    full = os.path.join(outdir, path)
    if path.endswith(SUFFIX) and os.path.isfile(full):
        os.remove(full)
        folder = os.path.dirname(full)
        if not os.listdir(folder):
            os.rmdir(folder)


def _write_atomic(path, data):
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=os.path.basename(path))
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)                # mkstemp makes 0600; a published file is world-readable
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


# -- README ---------------------------------------------------------------------------

def _readme(manifest):
    files = manifest["files"]
    functions = {}
    for r in files:
        functions.setdefault(r["function"], []).append(r)
    rows = []
    for name, rs in functions.items():
        modes = ", ".join(dict.fromkeys(
            r["rounding"] + (f" ({r['saturation']})" if not r["saturation_is_catalog_default"] else "")
            for r in rs))
        rows.append(f"| `{name}` | {rs[0]['cases']} | {rs[0]['lines']:,} | {modes} |")
    tenths_of_mb = (manifest["total_bytes"] + 50_000) // 100_000      # integer arithmetic: no floats here
    return _README_TEMPLATE.format(
        version=manifest["refnum_version"], seed=manifest["seed"], nfiles=manifest["total_files"],
        nlines=manifest["total_lines"], mb=f"{tenths_of_mb // 10}.{tenths_of_mb % 10}",
        table="\n".join(rows), sr_bits=SR_BITS)


_README_TEMPLATE = """\
# refnum conformance vectors

Generated by refnum {version} with seed {seed}: {nfiles} files, {nlines:,} vector lines, {mb} MB.
Do not edit by hand: regenerate with `refnum suite --out vectors --seed {seed}` or

    python -c 'from refnum.vectors.suite import write_suite; write_suite("vectors")'

The same refnum version and seed give byte-identical files; `MANIFEST.json` holds the SHA-256 of each.

## Layout

One folder per conversion function, named as TestFloat names functions (`<source>_to_<destination>`,
with TestFloat's short names `f16 f32 f64 bf16 i32` and refnum's catalogue names otherwise), one file
per rounding mode:

    f32_to_e4m3/rne.tv                   catalog-default overflow policy of the destination
    f32_to_e4m3/rne_saturate-none.tv     the same with another policy (--saturate none)
    f32_to_e4m3/sr-a_n{sr_bits}.tv              stochastic rounding A with N = {sr_bits} random bits

`MANIFEST.json` lists every file with its function, source and destination formats, rounding mode,
effective saturation policy, profile and the full context (every knob), the random-bit count, how the
operands were chosen, its line count, byte count and SHA-256, plus the refnum version and seed.

## Line format

Exactly TestFloat 3e's `testfloat_gen` output: one case per line,

    <operand> <result> <flags>

in upper-case, zero-padded, fixed-width hex without `0x` (width = the format's bits rounded up to whole
hex digits: f64 16, f32 8, f16/bf16 4, i32 8, 8-bit formats 2, FP6 and FP4 1 or 2 digits as their code
needs), single spaces, `\\n` line ends. `<flags>` is two hex digits in TestFloat / RISC-V `fflags`
order: 01 inexact, 02 underflow, 04 overflow, 08 divide-by-zero, 10 invalid. Tininess is detected
after rounding. Stochastic files have one more operand column, the random integer R
(0 <= R < 2**N): `<operand> <R> <result> <flags>`; the rounding adds R to the discarded fraction
scaled to N bits as the P3109 interim report v4.0 §4.7.4 defines for variants A, B and C.

The IEEE files (`f32_to_f16`, `f64_to_f16`, `f32_to_bf16`, `i32_to_f16`, `f16_to_i32`) use the
`riscv` profile.  All but `f32_to_bf16` can be checked by Berkeley TestFloat 3e's own verifier
(RISCV specialization), e.g. `testfloat_ver -rnear_even -checkAll f32_to_f16 < f32_to_f16/rne.tv`;
the bf16 functions of TestFloat's development head accept such files without checking them.

## Consuming the vectors

* With refnum: `refnum verify FUNCTION --rounding MODE [--saturate POLICY] [--profile P]
  [--sr-bits N] FILE` (e.g. `refnum verify f32_to_e4m3 --rounding rne vectors/f32_to_e4m3/rne.tv`)
  recomputes every line and prints mismatches; the options of each file are in
  its manifest record (`context`). To check your implementation, replace the result and flags
  columns with its outputs and verify that file.
* In a testbench: read a line, drive the operand (and R), compare the result bits and the flags.
  Every field is plain hex, so SystemVerilog `$readmemh` can load a file into a memory whose word is
  as wide as the widest field: the fields of case i are words 3i, 3i+1, 3i+2 (4i ... 4i+3 for
  stochastic files).  `$readmemh` ignores the line structure, so count fields, not lines.
* Compare flags only if your hardware reports them; refnum never writes its own non-IEEE flag bits
  (such as "saturated") into these files.

## Contents

Sources of at most 16 bits are exhaustive (every code); wider sources use refnum's level-1 cases
(`refnum.vectors.cases.operands`): TestFloat-style exponent and significand patterns, the narrowing
boundaries of every <= 16-bit format (largest finite, overflow threshold and neighbours, smallest
subnormal and normal and their halves, ties above 1) and seeded random cases.  Non-IEEE destinations
use refnum's `default` profile (canonical NaNs, NaN into a format without NaN -> +max with invalid,
zero into E8M0 -> 2**-127, P3109 code-parity ties for precision-1 formats).

| function | operands | lines per file | modes (policy) |
|---|---|---|---|
{table}
"""
