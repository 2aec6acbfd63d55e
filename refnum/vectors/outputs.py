"""Output formats of test vectors: written, and read back for ``refnum verify``.

One case is a :class:`Row`: its index in the file's canonical enumeration, the
operand codes in the :class:`~refnum.vectors.lines.Layout`'s column order (the
stochastic-rounding random integer R last), the result code and the flag byte
(only the five IEEE 754 flags are written: ``flags & 0x1F``).  With
intermediate columns a row also carries the exact value before rounding and the
guard, round and sticky bits.  Four kinds (spec/vectors-formats.md is the
normative description, with examples):

``tv``
    TestFloat 3e vector lines (:mod:`refnum.vectors.lines`), readable by
    ``testfloat_ver``.  No header and no intermediate columns: the format is
    TestFloat's and stays exactly that.
``memh``
    One SystemVerilog ``$readmemh`` word per case: the fields concatenated at
    the formats' bit widths, operands first (most significant), then result,
    then the 5 flag bits in ``[4:0]``; intermediate fields sit above the
    operands so every other field keeps its bit range.  A header of ``//``
    comment lines names every field and its ``[hi:lo]``.
``jsonl``
    One JSON object per case, keys in a fixed order, codes as fixed-width
    upper-case hex strings; with intermediate columns the exact decimal value
    and the guard/round/sticky bits.
``npz``
    A NumPy ``.npz`` archive written with the standard library only: one
    little-endian unsigned array per column.

The text kinds are written in chunks: encoding rows in pieces (``first=True``
for the first piece only) and concatenating gives exactly the bytes of
encoding them at once.  An npz archive is one piece; shards of an npz suite are
separate archives whose arrays concatenate.
"""

from __future__ import annotations

import array
import ast
import contextlib
import io
import json
import lzma
import re
import shutil
import sys
import tempfile
import zipfile
import zlib
from operator import itemgetter
from typing import NamedTuple

from ..errors import RefnumError
from ..values import Value
from .lines import IEEE_FLAGS, numbered_lines, plural, read_vectors

KINDS = ("tv", "memh", "jsonl", "npz")
EXTENSIONS = {"tv": ".tv", "memh": ".memh", "jsonl": ".jsonl", "npz": ".npz"}
FLAG_BITS = 5
OPERAND_NAMES = "abcdefgh"
NPZ_MAX_BITS = 64
_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
_FLAG_MEANING = "IEEE 754 flags: bit 4 invalid, 3 divide by zero, 2 overflow, 1 underflow, 0 inexact"


class Row(NamedTuple):
    """One case: ``flags`` is the flag byte; ``exact`` a Value (or None), ``grs`` (g, r, s) or None."""

    index: int
    operands: tuple
    result: int
    flags: int
    exact: object = None
    grs: tuple | None = None


class Field(NamedTuple):
    """One column of a written case: its name, width in bits and what it holds."""

    name: str
    bits: int
    meaning: str


INTERMEDIATE_FIELDS = (
    Field("grs_valid", 1, "1 when grs holds guard, round and sticky bits (0 for zero, Inf and NaN results)"),
    Field("grs", 3, "guard, round, sticky bits of the exact value at the result's precision"),
)


def fields(layout):
    """The columns of ``layout``: operands (a, b, c ..., R), result, flags.

    >>> from refnum import lookup
    >>> from refnum.vectors.lines import Layout
    >>> [f[:2] for f in fields(Layout([lookup("e4m3")] * 2, lookup("e4m3"), sr_bits=3))]
    [('a', 8), ('b', 8), ('R', 3), ('result', 8), ('flags', 5)]
    """
    if len(layout.operand_formats) > len(OPERAND_NAMES):
        raise RefnumError(f"at most {len(OPERAND_NAMES)} operand columns can be named")
    columns = [Field(name, f.k, f"operand {name}: {f.name} code")
               for name, f in zip(OPERAND_NAMES, layout.operand_formats)]
    if layout.sr_bits:
        columns.append(Field("R", layout.sr_bits, "the random integer R of stochastic rounding"))
    columns.append(Field("result", layout.result_format.k, f"expected result: {layout.result_format.name} code"))
    columns.append(Field("flags", FLAG_BITS, "expected " + _FLAG_MEANING))
    return columns


def operand_names(layout):
    """The names of the operand columns: a, b, c ..., then R when stochastic."""
    return tuple(f.name for f in fields(layout)[:layout.noperands])


# -- writing -----------------------------------------------------------------------

def encode(kind, layout, rows, *, first=True, intermediate=False, comments=()):
    """The bytes of ``rows`` written as ``kind``.

    ``first``: this piece begins the file (only it gets memh's header).
    ``intermediate``: add the exact value and guard/round/sticky columns (memh,
    jsonl and npz; ``tv`` refuses, being TestFloat's format).  ``comments``:
    lines describing the function and its semantics, for memh's header.
    """
    writer = _writer(kind)
    if intermediate and kind == "tv":
        raise RefnumError("tv is TestFloat's line format and has no intermediate columns;"
                          " write memh, jsonl or npz for them")
    rows = rows if isinstance(rows, list) else list(rows)
    if intermediate:
        rows = [row if type(row) is Row else _as_row(number, row) for number, row in enumerate(rows)]
    _check_rows(layout, rows, intermediate)
    return writer(layout, rows, first, intermediate, comments)


def _as_row(number, row):
    try:
        return Row(*row)
    except TypeError:
        raise RefnumError(f"row {number}: expected (index, operands, result, flags[, exact, grs])") from None


def _writer(kind):
    try:
        return _WRITERS[kind]
    except (KeyError, TypeError):
        raise RefnumError(f"unknown output format {kind!r} (known: {', '.join(KINDS)})") from None


def _encode_tv(layout, rows, first, intermediate, comments):
    line = layout.format_line
    return "".join([line(row[1], row[2], row[3]) for row in rows]).encode("ascii")


def _encode_memh(layout, rows, first, intermediate, comments):
    word = _MemhWord(layout, intermediate)
    out = word.header(comments) if first else []
    template = f"%0{word.digits}X"
    pack = word.pack
    if intermediate:
        for row in rows:
            text = template % pack(row)
            out.append(text if row[4] is None else f"{text} // exact {_exact_text(row[4])}")
    else:
        out.extend([template % pack(row) for row in rows])
    return "".join(line + "\n" for line in out).encode("ascii")


def _encode_jsonl(layout, rows, first, intermediate, comments):
    widths = layout.widths + (layout.result_width, 2)
    keys = operand_names(layout) + ("result", "flags")
    template = '{"id":%d,' + ",".join(f'"{k}":"%0{w}X"' for k, w in zip(keys, widths))
    masked = [(row[0], *row[1], row[2], row[3] & IEEE_FLAGS) for row in rows]
    if not intermediate:
        template += "}\n"
        return "".join([template % values for values in masked]).encode("ascii")
    template += ',"exact":%s,"grs":%s}\n'
    return "".join([template % (*values, _json_exact(row[4]), _json_grs(row[5]))
                    for values, row in zip(masked, rows)]).encode("ascii")


def _encode_npz(layout, rows, first, intermediate, comments):
    if not first:
        raise RefnumError("an npz archive is written in one piece: give all its rows at once"
                          " (shards of an npz suite are separate archives)")
    columns = fields(layout) + (list(INTERMEDIATE_FIELDS) if intermediate else [])
    for f in columns:
        if f.bits > NPZ_MAX_BITS:
            raise RefnumError(f"npz holds codes of at most {NPZ_MAX_BITS} bits; column {f.name} has {f.bits}"
                              " (write tv, memh or jsonl)")
    values = [[row[1][i] for row in rows] for i in range(layout.noperands)]
    values += [[row[2] for row in rows], [row[3] & IEEE_FLAGS for row in rows]]
    if intermediate:
        values += [[int(row[5] is not None) for row in rows], [_grs_int(row[5]) for row in rows]]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for f, column in zip(columns, values):
            info = zipfile.ZipInfo(f.name + ".npy", date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_STORED
            info.create_system = 3                      # Unix, whatever machine writes it
            info.external_attr = 0o100644 << 16
            archive.writestr(info, npy_bytes(column, f.bits))
    return buffer.getvalue()


def npy_dtype(bits):
    """The ``.npy`` type of the smallest unsigned integer holding ``bits`` bits, and its size in bytes."""
    for size in (1, 2, 4, 8):
        if bits <= 8 * size:
            return ("|u1" if size == 1 else f"<u{size}"), size
    raise RefnumError(f"npz holds codes of at most {NPZ_MAX_BITS} bits, not {bits}")


def npy_bytes(values, bits):
    """A ``.npy`` file (format version 1.0) of a 1-D unsigned array holding ``values``.

    Layout (NumPy NEP 1): the magic ``\\x93NUMPY``, version bytes 1 and 0, the
    header length as a little-endian uint16, then an ASCII Python-literal dict
    padded with spaces and ended by ``\\n`` so that the data starts at a
    multiple of 64 bytes, then the raw little-endian values.
    """
    descr, size = npy_dtype(bits)
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%d,), }" % (descr, len(values))
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    data = bytes(values) if size == 1 else b"".join(v.to_bytes(size, "little") for v in values)
    return b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header.encode("ascii") + data


class _MemhWord:
    """The bit positions of one layout's memh word."""

    def __init__(self, layout, intermediate):
        self.columns = (list(INTERMEDIATE_FIELDS) if intermediate else []) + fields(layout)
        self.bits = sum(f.bits for f in self.columns)
        self.digits = (self.bits + 3) // 4
        self.intermediate = intermediate
        self.ranges, top = {}, self.bits            # [hi:lo] of each field, the first one highest
        for f in self.columns:
            self.ranges[f.name] = (top - 1, top - f.bits)
            top -= f.bits
        shift = {name: low for name, (high, low) in self.ranges.items()}
        self.operand_shifts = tuple(shift[name] for name in operand_names(layout))
        self.result_shift = shift["result"]
        self.grs_shift = shift.get("grs", 0)
        self.slices = tuple((self.ranges[f.name][1], (1 << f.bits) - 1) for f in self.columns
                            if f not in INTERMEDIATE_FIELDS)

    def pack(self, row):
        word = row[2] << self.result_shift | row[3] & IEEE_FLAGS
        for code, shift in zip(row[1], self.operand_shifts):
            word |= code << shift
        if self.intermediate and row[5] is not None:
            word |= (8 | _grs_int(row[5])) << self.grs_shift
        return word

    def unpack(self, word):
        """The operand codes, result and flags in a word (intermediate fields are skipped)."""
        return tuple(word >> low & mask for low, mask in self.slices)

    def header(self, comments):
        pad = "" if self.bits == 4 * self.digits else f"; bits [{4 * self.digits - 1}:{self.bits}] are 0"
        lines = [f"refnum test vectors, memh: one $readmemh word per case, {self.digits} hex digits"
                 f" ({self.bits} bits used{pad})"]
        lines += [line for text in comments for line in str(text).splitlines()]
        lines.append(f"{'field':<10} {'bits':<10} contents")
        lines += [f"{f.name:<10} {'[%d:%d]' % self.ranges[f.name]:<10} {f.meaning} ({plural(f.bits, 'bit')})"
                  for f in self.columns]
        if self.intermediate:
            lines.append("a word may be followed by a comment '// exact <value>': the exact result before rounding")
        return ["// " + line for line in lines]


def _check_rows(layout, rows, intermediate):
    """RefnumError naming the first row whose fields do not fit the layout (column-wise, at C speed)."""
    n = layout.noperands
    try:
        shapes_ok = set(map(len, rows)) <= {4, 5, 6}
        operands = list(map(itemgetter(1), rows))
        shapes_ok = shapes_ok and set(map(len, operands)) <= {n}
    except TypeError:
        shapes_ok = False
    if not shapes_ok:
        number = next(i for i, row in enumerate(rows) if not (
            isinstance(row, tuple) and 4 <= len(row) <= 6 and isinstance(row[1], tuple) and len(row[1]) == n))
        raise RefnumError(f"row {number}: expected (index, {n} operand codes, result, flags[, exact, grs])")
    columns = [list(map(itemgetter(i), operands)) for i in range(n)]
    checks = [(f"operand {name}", column, limit)
              for name, column, limit in zip(operand_names(layout), columns, layout.limits)]
    checks += [("result", list(map(itemgetter(2), rows)), layout.result_limit),
               ("flags", list(map(itemgetter(3), rows)), 256), ("index", list(map(itemgetter(0), rows)), None)]
    for what, column, limit in checks:
        _check_column(what, column, limit)
    if intermediate:
        for number, row in enumerate(rows):
            exact, grs = row.exact, row.grs
            if not (exact is None or isinstance(exact, Value)
                    or (isinstance(exact, str) and exact.isprintable() and exact)):
                raise RefnumError(f"row {number}: exact must be a Value, a one-line string or None")
            if grs is not None and (not isinstance(grs, tuple) or len(grs) != 3
                                    or any(bit not in (0, 1) for bit in grs)):
                raise RefnumError(f"row {number}: grs must be three bits (guard, round, sticky) or None")


def _check_column(what, column, limit):
    """Every value an int in [0, limit) (limit None: no upper bound); else name the first that is not."""
    if set(map(type, column)) <= {int, bool} and (
            not column or (min(column) >= 0 and (limit is None or max(column) < limit))):
        return
    number = next(i for i, v in enumerate(column)
                  if not isinstance(v, int) or v < 0 or (limit is not None and v >= limit))
    value = column[number]
    if not isinstance(value, int):
        raise RefnumError(f"row {number}: {what} is {ascii(value)}, not an integer")
    bound = f"below 0x{limit:X}" if limit is not None else "non-negative"
    raise RefnumError(f"row {number}: {what} 0x{value:X} is out of range (must be {bound})"
                      if value >= 0 else f"row {number}: {what} {value} is negative")


def _exact_text(exact):
    return exact if isinstance(exact, str) else str(exact)


def _json_exact(exact):
    return "null" if exact is None else json.dumps(_exact_text(exact))


def _json_grs(grs):
    return "null" if grs is None else '"%d%d%d"' % tuple(grs)


def _grs_int(grs):
    return 0 if grs is None else grs[0] << 2 | grs[1] << 1 | grs[2]


_WRITERS = {"tv": _encode_tv, "memh": _encode_memh, "jsonl": _encode_jsonl, "npz": _encode_npz}


# -- reading -----------------------------------------------------------------------

def decode(kind, data, layout):
    """``(location, operands, result, flags)`` of each case in ``data``, case by case.

    ``data`` is bytes, text, or a readable file (binary; text for the text kinds),
    read as it arrives in bounded pieces (:func:`~refnum.vectors.lines.pieces`;
    npz reads its arrays in bounded blocks, from a seekable file, or from a
    temporary copy of a pipe), so memory stays bounded whatever the input's size.
    ``location`` names the case for messages: ``"line 12"`` in the text kinds,
    ``"record 11"`` (0-based) in npz.  Intermediate columns are accepted and
    skipped.  Malformed input raises a one-line RefnumError naming the line or
    record; the cases before it have been yielded.
    """
    try:
        reader = _READERS[kind]
    except (KeyError, TypeError):
        raise RefnumError(f"unknown input format {kind!r} (known: {', '.join(KINDS)})") from None
    return reader(data, layout)


def _decode_tv(data, layout):
    n = layout.noperands
    for number, codes in read_vectors(data, layout):
        yield f"line {number}", tuple(codes[:n]), codes[n], codes[n + 1]


_MEMH_FIELD = re.compile(r"//\s*(\w+)\s+\[(\d+):(\d+)\]")
_MEMH_WORD = re.compile(r"[0-9A-Fa-f]+(?:_+[0-9A-Fa-f]+)*")


def _decode_memh(data, layout):
    plain, extended = _MemhWord(layout, False), _MemhWord(layout, True)
    n = layout.noperands
    declared, word = {}, None
    for number, line in numbered_lines(data):
        body, _, comment = line.partition("//")
        body = body.strip()
        if not body:
            m = _MEMH_FIELD.match("//" + comment) if comment else None
            if m and word is None:
                declared[m[1]] = (int(m[2]), int(m[3]))
            continue
        if "/*" in body or body.startswith("@"):
            what = "block comments" if "/*" in body else "address markers (@)"
            raise RefnumError(f"input line {number}: {what} are not supported in memh vectors")
        if not _MEMH_WORD.fullmatch(body):
            bad = next((c for c in body if c not in "0123456789ABCDEFabcdef_"), body)
            raise RefnumError(f"input line {number}: malformed memh word {ascii(_shorten(body))}"
                              f" ({ascii(bad)} is not a hex digit; one word per line)")
        digits = body.replace("_", "")
        if word is None:
            word = _memh_layout(number, len(digits), plain, extended, declared)
        if len(digits) != word.digits:
            raise RefnumError(f"input line {number}: memh word of {len(digits)} hex digits,"
                              f" expected {word.digits}")
        value = int(digits, 16)
        if value >> word.bits:
            raise RefnumError(f"input line {number}: bits above [{word.bits - 1}:0] are set in the memh word")
        codes = word.unpack(value)             # a field of k bits holds exactly the k-bit codes
        yield f"line {number}", codes[:n], codes[n], codes[n + 1]


def _memh_layout(number, digits, plain, extended, declared):
    """The word (without or with intermediate fields) the input holds: the one its header declares,
    else the one of ``digits`` hex digits."""
    if declared:
        word = next((w for w in (plain, extended) if w.ranges == declared), None)
        if word is None:
            have = " ".join(f"{name}[{hi}:{lo}]" for name, (hi, lo) in declared.items())
            want = " ".join(f"{name}[{hi}:{lo}]" for name, (hi, lo) in plain.ranges.items())
            raise RefnumError(f"memh header declares {have}, but this function's words are {want}")
        return word
    word = {plain.digits: plain, extended.digits: extended}.get(digits)
    if word is None:
        raise RefnumError(f"input line {number}: memh word of {digits} hex digits, expected {plain.digits}"
                          f" (or {extended.digits} with intermediate fields)")
    return word


def _decode_jsonl(data, layout):
    keys = operand_names(layout) + ("result", "flags")
    limits = layout.limits + (layout.result_limit, IEEE_FLAGS + 1)
    widths = layout.widths + (layout.result_width, 2)
    what = [layout.describe_column(i) for i in range(len(keys))]
    for number, line in numbered_lines(data):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except (ValueError, RecursionError):   # RecursionError: brackets nested beyond the parser's depth
            record = None
        if not isinstance(record, dict):
            raise RefnumError(f"input line {number}: not a JSON object ({ascii(_shorten(line.strip()))})")
        codes = []
        for key, limit, width, column in zip(keys, limits, widths, what):
            text = record.get(key)
            if not isinstance(text, str):
                problem = "missing" if text is None else "not a string"
                raise RefnumError(f'input line {number}: field "{key}" is {problem} (hex digits of {column})')
            if not _HEX_DIGITS.fullmatch(text):
                raise RefnumError(f'input line {number}: field "{key}" is not hex: {ascii(_shorten(text))}')
            if len(text) != width:
                raise RefnumError(f'input line {number}: field "{key}" has {len(text)} hex digits,'
                                  f" expected {width} for {column}")
            code = int(text, 16)
            if code >= limit:
                raise RefnumError(f"input line {number}: {code:X} is out of range for {column}")
            codes.append(code)
        yield f"line {number}", tuple(codes[:-2]), codes[-2], codes[-1]


_HEX_DIGITS = re.compile(r"[0-9A-Fa-f]+", re.ASCII)
_NPZ_BLOCK = 1 << 16                    # records read from each array at a time
_ZIP_METHODS = {zipfile.ZIP_STORED: "stored", zipfile.ZIP_DEFLATED: "deflate", zipfile.ZIP_BZIP2: "bzip2",
                zipfile.ZIP_LZMA: "lzma"}   # APPNOTE 4.4.5 methods 0, 8, 12, 14: those zipfile reads
_ZIP_FAULTS = (zipfile.BadZipFile, zlib.error, lzma.LZMAError, OSError, EOFError, RuntimeError,
               NotImplementedError)     # corrupt or truncated data, bad checksums, other features


def _decode_npz(data, layout):
    keys = operand_names(layout) + ("result", "flags")
    limits = layout.limits + (layout.result_limit, IEEE_FLAGS + 1)
    with _seekable(data) as file:
        try:
            archive = zipfile.ZipFile(file)
        except (zipfile.BadZipFile, ValueError, EOFError, OSError) as e:
            raise RefnumError(f"npz input is not a zip archive ({e})") from None
        with archive:
            columns = [_NpyColumn(archive, key + ".npy", keys) for key in keys]
            lengths = {c.count for c in columns}
            if len(lengths) > 1:
                raise RefnumError("npz arrays differ in length: " + ", ".join(
                    f"{k} {c.count}" for k, c in zip(keys, columns)))
            n, count = layout.noperands, lengths.pop()
            for start in range(0, count, _NPZ_BLOCK):
                size = min(_NPZ_BLOCK, count - start)
                values = [c.read(start, size, limit, layout.describe_column(i))
                          for i, (c, limit) in enumerate(zip(columns, limits))]
                for record, codes in enumerate(zip(*values), start):
                    yield f"record {record}", codes[:n], codes[n], codes[n + 1]


@contextlib.contextmanager
def _seekable(data):
    """The archive as a seekable binary file (a zip keeps its directory at its end): bytes in
    memory, the file itself, or a temporary copy of a pipe."""
    if isinstance(data, (str, io.TextIOBase)):
        raise RefnumError("npz input is binary; read it as bytes")
    if isinstance(data, (bytes, bytearray, memoryview)):
        yield io.BytesIO(data)
    elif data.seekable():
        yield data
    else:
        with tempfile.TemporaryFile() as copy:
            shutil.copyfileobj(data, copy)
            copy.seek(0)
            yield copy


class _NpyColumn:
    """One array of an npz archive, a 1-D unsigned-integer ``.npy`` file (format 1.0, 2.0, 3.0),
    read in blocks; every fault of the member is a RefnumError naming it."""

    def __init__(self, archive, member, keys):
        self.member = member
        try:
            info = archive.getinfo(member)
        except KeyError:
            raise RefnumError(f"npz has no array {member!r} (this function's arrays: "
                              f"{', '.join(k + '.npy' for k in keys)})") from None
        if info.flag_bits & 1:
            self.fail("is encrypted (npz arrays are read unencrypted)")
        if info.compress_type not in _ZIP_METHODS:
            self.fail(f"compression method {info.compress_type} is not supported"
                      f" ({', '.join(f'{code} {name}' for code, name in _ZIP_METHODS.items())} are)")
        self.stream = self._guard(archive.open, info)
        size, self.width, self.order, self.count = self._header()
        if info.file_size - size != self.count * self.width:
            self.fail(f"holds {info.file_size - size} data bytes, expected {self.count * self.width}"
                      f" ({self.count} values of {self.width} bytes)")
        self.array = _ARRAY_TYPES[self.width]

    def fail(self, problem):
        raise RefnumError(f"npz member {self.member!r}: {problem}")

    def _guard(self, action, *args):
        try:
            return action(*args)
        except _ZIP_FAULTS as e:
            raise RefnumError(f"npz member {self.member!r} cannot be read ({e})") from None

    def _bytes(self, size):
        return self._guard(self.stream.read, size)

    def _header(self):
        """(header bytes, value width, byte order, value count) of the .npy header."""
        lead = self._bytes(10)
        if lead[:6] != b"\x93NUMPY" or len(lead) < 10:
            self.fail("not a .npy array (no \\x93NUMPY magic)")
        major = lead[6]
        if major == 1:
            size, start = int.from_bytes(lead[8:10], "little"), 10
        elif major in (2, 3):
            size, start = int.from_bytes(lead[8:10] + self._bytes(2), "little"), 12
        else:
            self.fail(f".npy format version {major}.{lead[7]} is not supported (1.0, 2.0, 3.0 are)")
        raw = self._bytes(size) if size <= 1 << 20 else b""
        if len(raw) != size:
            self.fail("truncated .npy header")
        try:
            header = ast.literal_eval(raw.decode("utf-8" if major == 3 else "latin-1"))
        except (ValueError, SyntaxError, UnicodeDecodeError, MemoryError, RecursionError):
            self.fail("malformed .npy header")
        if not isinstance(header, dict) or {"descr", "fortran_order", "shape"} - header.keys():
            self.fail("malformed .npy header (needs descr, fortran_order, shape)")
        descr, shape = header["descr"], header["shape"]
        m = _NPY_DESCR.fullmatch(descr) if isinstance(descr, str) else None
        if not m or (m[1] == "|" and m[2] != "1"):
            self.fail(f"array type {_shorten(repr(descr))} is not an unsigned integer type (<u1 <u2 <u4 <u8)")
        if not (isinstance(shape, tuple) and len(shape) == 1 and type(shape[0]) is int and shape[0] >= 0):
            self.fail(f"shape {_shorten(repr(shape))} is not one-dimensional")    # (True,) is no shape
        return start + size, int(m[2]), "big" if m[1] == ">" else "little", shape[0]

    def read(self, start, size, limit, column):
        """The values of records ``start`` .. ``start + size - 1``, each checked below ``limit``."""
        data = self._bytes(size * self.width)       # the last block's read checks the member's CRC
        if len(data) != size * self.width:
            self.fail(f"ends at record {start + len(data) // self.width}, before its last value")
        values = array.array(self.array, data)
        if self.order != sys.byteorder:
            values.byteswap()
        if max(values) >= limit:
            record = next(i for i, v in enumerate(values) if v >= limit)
            raise RefnumError(f"npz record {start + record}: {self.member[:-4]} = {values[record]:X}"
                              f" is out of range for {column}")
        return values


_NPY_DESCR = re.compile(r"([<>|])u([1248])")
_ARRAY_TYPES = {array.array(code).itemsize: code for code in "QLIHB"}


def _shorten(text, limit=40):
    return text if len(text) <= limit else text[:limit] + "..."


_READERS = {"tv": _decode_tv, "memh": _decode_memh, "jsonl": _decode_jsonl, "npz": _decode_npz}
