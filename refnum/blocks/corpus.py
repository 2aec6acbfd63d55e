"""The block vectors: every element code against scale boundaries, and the amax values where
the scale rules disagree, for MXFP8/6/4, MXINT8 and NVFP4 (``refnum block gen``).

A vector line is ``X1 ... Xn | <block line>``: the binary32 codes of the inputs, then the
block refnum computes (spec/vectors-formats.md, "Block lines").  Files are
``<scheme>/<rule>_<cases>.tv`` with ``manifest.json`` (every scheme field, the rule, case
count, bytes, SHA-256) and ``SHA256SUMS``, the layout ``refnum manifest check`` reads.
Bytes depend only on the refnum version: the cases are enumerated, not drawn.
"""

from __future__ import annotations

import dataclasses
import json
import os
from fractions import Fraction

from .. import __version__
from ..catalog import lookup
from ..context import Context
from ..rounding import project
from ..values import Value
from .cli import block_line, parse_block_line
from .quantize import quantize
from .scale import emax_elem, max_value
from .schemes import scheme

MX_SCHEMES = ("mxfp8_e4m3", "mxfp8_e5m2", "mxfp6_e2m3", "mxfp6_e3m2", "mxfp4", "mxint8")
MX_RULES = ("floor", "ceil", "even", "rceil")
_F32 = lookup("binary32")
_RN = Context()


def plan():
    """[(path, scheme, cases name)] of every corpus file, in order."""
    files = [(f"{name}/{rule}_{cases}.tv", scheme(name, rule=rule), cases)
             for name in MX_SCHEMES for rule in MX_RULES for cases in ("elements", "amax")]
    return files + [(f"nvfp4/nvfp4_{cases}.tv", scheme("nvfp4"), cases) for cases in ("elements", "amax")]


def f32(q):
    """The binary32 code nearest to q (the corpus inputs are binary32)."""
    return project(Value.from_fraction(Fraction(q)), _F32, _RN)[0]


def element_blocks(s):
    """Every element value and every midpoint between neighbours, both signs, times 2**E for
    E at both ends of the scale range and between; each block starts with max * 2**E, which
    fixes the FLOOR scale at 2**E."""
    fmt = s.element_format
    top = max_value(fmt)
    pos = sorted({v for v in (fmt.decode(c) for c in range(fmt.ncodes)) if v.is_finite
                  for v in [v.to_fraction()] if 0 <= v <= top})
    grid = pos + [(a + b) / 2 for a, b in zip(pos, pos[1:])]
    grid = sorted(grid) + [-v for v in sorted(grid) if v]
    blocks = []
    for e in (-127, -20, 0, 20, 126 - emax_elem(fmt)):
        scale = Fraction(2) ** e
        for i in range(0, len(grid), s.k - 1):
            piece = [f32(v * scale) for v in grid[i:i + s.k - 1]]
            blocks.append([f32(top * scale)] + piece + [0] * (s.k - 1 - len(piece)))   # full blocks: +0 pads
    return blocks


def amax_blocks(s):
    """Blocks whose amax sits where FLOOR, CEIL, EVEN and RCEIL (and float log2) part ways:
    powers of two and their binary32 neighbours, the element maximum m * 2**n and its
    neighbours, and EVEN's round-up point (2 - 2**-(mbits+1)) * 2**n."""
    fmt = s.element_format
    m = fmt.m if fmt.kind == "float" else fmt.width - 2
    top = max_value(fmt)
    ulp = Fraction(1, 1 << 23)
    marks = [Fraction(1), 1 + ulp, 2 - ulp, top, top * (1 + ulp), top * (1 - ulp / 2),
             2 - Fraction(1, 1 << (m + 1)), 2 - Fraction(1, 1 << (m + 1)) - ulp]
    blocks = []
    for n in (-130, -100, -1, 0, 1, 50, 126 - emax_elem(fmt)):
        for mark in marks:
            amax = mark * Fraction(2) ** n
            rest = [amax * Fraction((-1) ** j, j + 2) for j in range(s.k - 1)]
            block = [f32(amax)] + [f32(v) for v in rest]
            if block not in blocks:                        # marks that meet in binary32 near the bottom
                blocks.append(block)
    return blocks


_CASES = {"elements": element_blocks, "amax": amax_blocks}


KINDS = ("tv", "jsonl", "memh", "npz")


def vector_line(s, codes, kind="tv"):
    """``X1 ... Xn | <block line>`` of binary32 input codes, or its JSON object (``jsonl``)."""
    b = quantize([_F32.decode(c) for c in codes], s)
    if kind == "tv":
        return " ".join(f"{c:08X}" for c in codes) + " | " + block_line(b)
    record = {"inputs": [f"{c:08X}" for c in codes], "scale": b.scale, "elements": list(b.elements),
              "scale_flags": b.scale_flags, "flags": list(b.flags)}
    if b.tensor_scale is not None:
        record["tensor_scale"] = f"{b.tensor_scale:08X}"
    return json.dumps(record, sort_keys=True, separators=(",", ":"))


def check_line(s, line, where=0):
    """None when a vector line agrees with refnum, else a one-line description."""
    inputs, bar, block = line.partition("|")
    from ..errors import RefnumError
    if not bar:
        raise RefnumError(f"line {where}: expected 'X1 ... Xn | block line'")
    try:
        codes = [int(x, 16) for x in inputs.split()]
    except ValueError:
        raise RefnumError(f"line {where}: inputs must be binary32 hex codes") from None
    for c in codes:
        _F32.check_code(c)
    want = vector_line(s, codes).partition("|")[2].strip()
    got = parse_block_line(block, s, where)
    if block_line(got) == want or (":" not in block and want.partition(" :")[0] == block.strip()):
        return None
    return f"line {where}: {block.strip()} expected {want}"


def write(outdir, kind="tv"):
    """Write the corpus into ``outdir`` (each file atomically), then README.md, manifest.json
    and SHA256SUMS as every refnum vector folder has them (spec/suites.md, "Manifests"), so
    that ``refnum manifest check`` re-hashes it, alone or as a folder inside the corpus."""
    from ..vectors.suite import file_sha256

    records = []
    for path, s, cases in plan():
        path = path[:-len(".tv")] + "." + kind
        blocks = _CASES[cases](s)
        full = os.path.join(outdir, path)
        if kind in ("tv", "jsonl"):
            _write_bytes(full, "".join(vector_line(s, codes, kind) + "\n" for codes in blocks).encode("ascii"))
        else:
            _write_bytes(full, _ENCODERS[kind](s, [(codes, quantize([_F32.decode(c) for c in codes], s))
                                                   for codes in blocks]))
        fields = {k: (list(v) if isinstance(v, tuple) else v) for k, v in dataclasses.asdict(s).items()}
        records.append({"path": path, "scheme": fields, "case_set": cases, "cases": len(blocks), "format": kind,
                        "inputs": "binary32", "bytes": os.path.getsize(full), "sha256": file_sha256(full)})
    return publish(outdir, "refnum block vectors: element codes against scale boundaries and the amax "
                   "values where the scale rules disagree (MXFP8/6/4, MXINT8, NVFP4)", kind, records, README)


def publish(outdir, description, kind, records, readme):
    """Write the manifest of a one-shard vector folder (``records``: its files) with its README
    and SHA256SUMS (:func:`refnum.vectors.suite.write_metadata`); return the manifest."""
    from ..vectors.suite import write_metadata

    manifest = {"description": description, "kind": kind, "refnum_version": __version__,
                "shard": {"index": 0, "of": 1}, "total_files": len(records), "files": records}
    write_metadata(outdir, manifest, readme)
    return manifest


README = """\
# refnum block vectors

Generated by `refnum block gen --out DIR`; do not edit by hand.  One folder per scheme, one
file per scale rule and case set: `elements` (every element value and every midpoint between
neighbours, both signs, against scales at both ends of the E8M0 range and between) and `amax`
(amax at powers of two, at the element maximum and at EVEN's round-up point, with their
binary32 neighbours: where FLOOR, CEIL, EVEN and RCEIL part ways).

Each line is `X1 ... Xn | [T] SCALE E1 ... En : SF F1 ... Fn`: the binary32 codes of the inputs,
then the block (spec/vectors-formats.md, "Block lines"; spec/blocks.md for the semantics).
`refnum block verify SCHEME --scale-rule RULE FILE` checks a file; `refnum manifest check DIR`
re-hashes the folder against `manifest.json` and `SHA256SUMS`.
"""


def memh_fields(s):
    """[(name, bits)] of a block's memh word, most significant first."""
    k, sb, eb = s.k, s.scale_format.k, s.element_format.k
    return ([(f"x{i}", 32) for i in range(k)] + ([("tensor_scale", 32)] if s.tensor_scale else [])
            + [("scale", sb)] + [(f"e{i}", eb) for i in range(k)] + [("scale_flags", 8)]
            + [(f"f{i}", 8) for i in range(k)])


def _memh(s, cases):
    """One ``$readmemh`` word per block: the fields of :func:`memh_fields` concatenated."""
    rows = [list(codes) + ([b.tensor_scale] if s.tensor_scale else []) + [b.scale, *b.elements, b.scale_flags, *b.flags]
            for codes, b in cases]
    return memh_words([bits for _, bits in memh_fields(s)], rows)


def memh_words(widths, rows):
    """The ``$readmemh`` lines of ``rows`` (one word each): each row's values packed at the bit
    ``widths``, the first most significant, in upper-case hex of the whole words' digits."""
    digits = (sum(widths) + 3) // 4
    lines = []
    for values in rows:
        word = 0
        for bits, v in zip(widths, values):
            word = word << bits | v
        lines.append(f"{word:0{digits}X}\n")
    return "".join(lines).encode("ascii")


def _npz(s, cases):
    """NumPy arrays (stored, no compression): ``inputs``, ``elements`` and ``flags`` flat, row-major
    (reshape to (-1, k)); ``scale``, ``scale_flags`` and, for two-level schemes, ``tensor_scale``."""
    columns = [("inputs", [c for codes, _ in cases for c in codes], 32)]
    if s.tensor_scale:
        columns.append(("tensor_scale", [b.tensor_scale for _, b in cases], 32))
    columns += [("scale", [b.scale for _, b in cases], s.scale_format.k),
                ("elements", [e for _, b in cases for e in b.elements], s.element_format.k),
                ("scale_flags", [b.scale_flags for _, b in cases], 8),
                ("flags", [f for _, b in cases for f in b.flags], 8)]
    return npz_archive(columns)


def npz_archive(columns):
    """The bytes of an ``.npz`` (a zip, stored, fixed dates) of ``columns`` ``(name, values,
    bits)``: one ``name.npy`` each, the smallest unsigned type that holds ``bits``."""
    import io
    import zipfile

    from ..vectors.outputs import npy_bytes

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name, values, bits in columns:
            info = zipfile.ZipInfo(name + ".npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.create_system = 3                          # Unix, whatever machine writes it
            info.external_attr = 0o100644 << 16
            archive.writestr(info, npy_bytes(values, bits))
    return buffer.getvalue()


_ENCODERS = {"memh": _memh, "npz": _npz}


def _write_bytes(path, data):
    import tempfile

    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".block.", suffix=".tmp", dir=os.path.dirname(path) or ".")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise
