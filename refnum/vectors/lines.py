"""TestFloat's vector line format, read and written.

A vector line (TestFloat 3e ``testfloat_gen <function>``) is::

    <operand> [<operand> ...] <result> <flags>

upper-case, fixed-width, zero-padded hex (no ``0x``), one space between fields,
``\\n`` at the end.  Widths are the formats' hex digits (f16 4, f32 8, f64 16,
i32 8, e4m3 2, tf32 5 ...); flags are two hex digits holding the IEEE 754 flags
in TestFloat / RISC-V ``fflags`` order (bit 0 inexact ... bit 4 invalid) and
nothing else.  For stochastic rounding refnum adds one operand column: the
random integer R, ``ceil(N / 4)`` hex digits for N random bits.

Readers accept lower-case hex, ``\\r\\n`` (and ``\\r``) line ends and any run of
blanks between fields, as ``testfloat_ver`` does, and skip blank lines and lines
that start with ``#`` (write TestFloat ``-prefix`` lines as ``# ...`` to carry
metadata).  Every field has its column's full width, as TestFloat writes it: a
field of another width (``3C0`` or ``03C00`` for binary16) is an input error
naming the line and the field, as is anything else that is not hex, and a line of
more than :data:`MAX_LINE` characters.

Input is read in pieces of whole lines (:func:`pieces`) as it arrives, so a reader
holds one piece at a time, whatever the size of its input, and a pipe's lines are
read as soon as they are complete.
"""

from __future__ import annotations

import functools
import itertools
import re

from ..errors import RefnumError

IEEE_FLAGS = 0x1F
MAX_LINE = 1 << 20
"""The most characters (bytes, from a binary file) an input line may hold, its line end not counted:
a longer line is an input error, so that memory stays bounded whatever the input (``/dev/zero``
has no line end)."""
_BLOCK = 1 << 18                    # characters (or bytes) read at a time; below MAX_LINE
_HEX_LINE = re.compile(r"[ \t]*[0-9A-Fa-f]+(?:[ \t]+[0-9A-Fa-f]+)*[ \t]*\Z")
_HEX_FIELD = re.compile(r"[0-9A-Fa-f]+\Z")


class Layout:
    """The columns of one function's vector lines: operand formats, then result and flags."""

    def __init__(self, operand_formats, result_format, sr_bits=0):
        self.operand_formats = tuple(operand_formats)
        self.result_format = result_format
        self.sr_bits = sr_bits
        self.noperands = len(self.operand_formats) + (1 if sr_bits else 0)
        self.limits = tuple(1 << f.k for f in self.operand_formats) + ((1 << sr_bits,) if sr_bits else ())
        self.widths = tuple(f.hex_digits for f in self.operand_formats) + (((sr_bits + 3) // 4,) if sr_bits else ())
        self.result_width = result_format.hex_digits
        self.result_limit = 1 << result_format.k
        self._template = " ".join(f"%0{w}X" for w in self.widths + (self.result_width, 2)) + "\n"

    def describe_column(self, i):
        if i < len(self.operand_formats):
            f = self.operand_formats[i]
            return f"{f.name} ({f.k} bits)"
        if i == len(self.operand_formats) and self.sr_bits:
            return f"the random integer R ({self.sr_bits} bits)"
        if i == self.noperands:
            return f"result {self.result_format.name} ({self.result_format.k} bits)"
        return "flags (5 bits)"

    # -- writing ----------------------------------------------------------------
    def format_operands(self, codes):
        return " ".join(f"{c:0{w}X}" for c, w in zip(codes, self.widths))

    def format_line(self, codes, code, flags):
        return self._template % (*codes, code, flags & IEEE_FLAGS)

    def canonical_operand_lines(self, text):
        """The operand lines of input already in canonical form, or None.

        Canonical: every line exactly the operand fields, upper-case hex of the
        columns' full widths, single spaces, ``\n`` ends, every code in range.
        Such lines are their own operand text in the output, so the bulk path of
        ``refnum run`` only appends result and flags.
        """
        if not self._canonical_input().fullmatch(text):
            return None
        lines = text.splitlines()
        for column, (limit, width) in enumerate(zip(self.limits, self.widths)):
            if limit < 16 ** width and any(int(line.split(" ")[column], 16) >= limit for line in lines):
                return None                     # e.g. a 6-bit code written as 2 digits: 0x40 and up
        return lines

    def result_template(self):
        """``" <result> <flags>\n"`` as a %-template taking (code, flags)."""
        return f" %0{self.result_width}X %02X\n"

    def _canonical_input(self):
        line = " ".join(f"[0-9A-F]{{{w}}}" for w in self.widths)
        return re.compile(rf"(?:{line}\n)*")


def read_operands(source, layout, first=1):
    """(line number, codes) of each operand line: the operands, R last when stochastic.

    ``source`` is anything :func:`pieces` reads; ``first`` is the number of its
    first line (a piece of a longer input).
    """
    return _read(source, first, layout.limits, layout.widths, plural(layout.noperands, "operand"), layout)


def read_vectors(source, layout, first=1):
    """(line number, codes) of each vector line: operands, result, flags."""
    limits = layout.limits + (layout.result_limit, IEEE_FLAGS + 1)
    widths = layout.widths + (layout.result_width, 2)
    what = f"{plural(len(limits), 'field')} ({plural(layout.noperands, 'operand')}, result, flags)"
    return _read(source, first, limits, widths, what, layout)


def pieces(source, first=1):
    """``(number of its first line, text)`` of successive pieces of whole lines of ``source``.

    ``source`` is text, bytes (UTF-8) or a readable file, binary or text.  A file
    is read as its input arrives (``read1`` where it has it), so a piece holds
    the lines of a pipe that are complete, never waiting for more.  Line ends
    are universal newlines: ``\\r\\n`` and ``\\r`` come out as ``\\n``.  Every piece
    ends with ``\\n`` except the last when the input does not.  A line of more than
    MAX_LINE characters is a RefnumError naming it: the pieces of any input stay
    small.
    """
    number, carry = first, None
    for block in _blocks(source):
        nl, cr = ("\n", "\r") if isinstance(block, str) else (b"\n", b"\r")
        data = block if carry is None else carry + block
        held = data[-1:] == cr                      # perhaps the first half of a \r\n
        data = (data[:-1] if held else data).replace(cr + nl, nl).replace(cr, nl)
        end = data.rfind(nl) + 1
        piece, carry = data[:end], data[end:] + (cr if held else data[:0])
        if data.find(nl) > MAX_LINE:                # only a carried line can be this long
            _too_long(number)
        if len(carry) > MAX_LINE:
            _too_long(number + piece.count(nl))
        if piece:
            yield number, _decoded(piece, number)
            number += piece.count(nl)
    if carry:                                       # the last line, without a line end
        yield number, _decoded(carry.replace(cr, nl), number)


def _blocks(source):
    """Successive blocks of at most _BLOCK characters or bytes of text, bytes or a file."""
    if isinstance(source, (str, bytes, bytearray, memoryview)):
        data = source if isinstance(source, (str, bytes)) else bytes(source)
        for start in range(0, len(data), _BLOCK):
            yield data[start:start + _BLOCK]
        return
    read = getattr(source, "read1", None) or source.read
    while block := read(_BLOCK):
        yield block


def _decoded(piece, number):
    if isinstance(piece, str):
        return piece
    try:
        return piece.decode("utf-8")
    except UnicodeDecodeError as e:
        number += piece.count(b"\n", 0, e.start)
        raise RefnumError(f"input line {number}: not UTF-8 text") from None


def _too_long(number):
    raise RefnumError(f"input line {number}: longer than {MAX_LINE:,} characters (no line end?)")


def numbered_lines(source, first=1):
    """``(line number, line)`` of each line of ``source`` (as :func:`pieces` reads it), without its end."""
    for number, text in pieces(source, first):
        yield from _lines_of(number, text)


def _lines_of(first, piece):
    lines = piece.split("\n")
    if piece.endswith("\n"):
        lines.pop()
    return enumerate(lines, first)


def _read(source, first, limits, widths, what, layout):
    """Skip blank and ``#`` lines; check every other line's hex, field count, ranges and widths.

    Each failure is a RefnumError naming the input line.  A piece of plain input
    (every line exactly the expected hex fields, all in range) is read in bulk;
    any other piece goes line by line, which is also what finds and names a bad
    line.
    """
    for number, text in pieces(source, first):
        rows = _plain_rows(number, text, limits, widths)
        yield from (_checked_rows(number, text, limits, widths, what, layout) if rows is None else rows)


def _checked_rows(first, text, limits, widths, what, layout):
    match, expected = _HEX_LINE.match, len(limits)
    for number, line in _lines_of(first, text):
        if not match(line):
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            bad = next((f for f in stripped.split() if not _HEX_FIELD.match(f)), stripped)
            raise RefnumError(f"input line {number}: malformed hex {ascii(_shorten(bad))}"
                              " (fields are bare hex digits separated by spaces)")
        fields = line.split()
        if len(fields) != expected:
            raise RefnumError(f"input line {number}: expected {what}, got {len(fields)}")
        codes = [int(f, 16) for f in fields]
        for column, (code, limit) in enumerate(zip(codes, limits)):
            if code >= limit:
                raise RefnumError(f"input line {number}: {_shorten(f'{code:X}')} is out of range for "
                                  f"{layout.describe_column(column)}")
        for column, (field, width) in enumerate(zip(fields, widths)):
            if len(field) != width:
                raise RefnumError(f"input line {number}: field {column + 1} ({ascii(_shorten(field))}) has"
                                  f" {plural(len(field), 'hex digit')}, expected {width} for"
                                  f" {layout.describe_column(column)}")
        yield number, codes


@functools.lru_cache(maxsize=None)
def _plain_input(widths):
    """Lines holding exactly one hex field of each width, nothing else."""
    line = r"[ \t]+".join(f"[0-9A-Fa-f]{{{w}}}" for w in widths) + r"[ \t]*"
    return re.compile(rf"(?:{line}\n)*(?:{line})?")


def _plain_rows(first, text, limits, widths):
    """``(line number, codes)`` rows of a plain piece in one pass, or None if the piece is not plain."""
    n = len(limits)
    if not _plain_input(widths).fullmatch(text):
        return None
    fields = text.split()
    codes = list(map(int, fields, itertools.repeat(16, len(fields))))
    for column, limit in enumerate(limits):
        if codes and max(codes[column::n]) >= limit:
            return None
    return enumerate(zip(*[iter(codes)] * n), first)


def plural(n, what):
    return f"{n} {what}" + ("" if n == 1 else "s")


def _shorten(text, limit=40):
    return text if len(text) <= limit else text[:limit] + "..."
