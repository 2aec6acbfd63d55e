"""TestFloat's vector line format, read and written.

A vector line (TestFloat 3e ``testfloat_gen <function>``) is::

    <operand> [<operand> ...] <result> <flags>

upper-case, fixed-width, zero-padded hex (no ``0x``), one space between fields,
``\\n`` at the end.  Widths are the formats' hex digits (f16 4, f32 8, f64 16,
i32 8, e4m3 2, tf32 5 ...); flags are two hex digits holding the IEEE 754 flags
in TestFloat / RISC-V ``fflags`` order (bit 0 inexact ... bit 4 invalid) and
nothing else.  For stochastic rounding refnum adds one operand column: the
random integer R, ``ceil(N / 4)`` hex digits for N random bits.

Readers accept what ``testfloat_ver`` accepts: lower-case hex, ``\\r\\n`` line
ends, and any run of blanks between fields.  refnum additionally skips blank
lines and lines that start with ``#`` (write TestFloat ``-prefix`` lines as
``# ...`` to carry metadata).  Anything else that is not hex is an input error
naming the line.
"""

from __future__ import annotations

import functools
import itertools
import re

from ..errors import RefnumError

IEEE_FLAGS = 0x1F
_HEX_LINE = re.compile(r"[ \t]*[0-9A-Fa-f]+(?:[ \t]+[0-9A-Fa-f]+)*[ \t]*\r?\n?\Z")
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


def read_operands(lines, layout):
    """(line number, codes) of each operand line: the operands, R last when stochastic."""
    return _read(lines, layout.limits, plural(layout.noperands, "operand"), layout)


def read_vectors(lines, layout):
    """(line number, codes) of each vector line: operands, result, flags."""
    limits = layout.limits + (layout.result_limit, IEEE_FLAGS + 1)
    what = f"{plural(len(limits), 'field')} ({plural(layout.noperands, 'operand')}, result, flags)"
    return _read(lines, limits, what, layout)


def _read(lines, limits, what, layout):
    """Skip blank and ``#`` lines; check every other line's hex, field count and ranges.

    Each failure is a RefnumError naming the input line.  Plain input (every
    line exactly the expected hex fields, all in range) is read in bulk; anything
    else goes line by line, which is also what finds and names a bad line.
    """
    text = lines if isinstance(lines, str) else "".join(lines)
    rows = _plain_rows(text, limits)
    if rows is not None:
        yield from rows
        return
    match, expected = _HEX_LINE.match, len(limits)
    for number, line in enumerate(text.splitlines(keepends=True), 1):
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
        for code, limit in zip(codes, limits):
            if code >= limit:
                column = next(i for i, (c, lim) in enumerate(zip(codes, limits)) if c >= lim)
                raise RefnumError(f"input line {number}: {codes[column]:X} is out of range for "
                                  f"{layout.describe_column(column)}")
        yield number, codes


@functools.lru_cache(maxsize=None)
def _plain_input(nfields):
    """Whole input of lines holding exactly ``nfields`` hex fields, nothing else."""
    line = r"[0-9A-Fa-f]+" + r"[ \t]+[0-9A-Fa-f]+" * (nfields - 1) + r"[ \t]*"
    return re.compile(rf"(?:{line}\r?\n)*(?:{line})?")


def _plain_rows(text, limits):
    """``(line number, codes)`` rows of plain input in one pass, or None if the input is not plain."""
    n = len(limits)
    if not _plain_input(n).fullmatch(text):
        return None
    fields = text.split()
    codes = list(map(int, fields, itertools.repeat(16, len(fields))))
    for column, limit in enumerate(limits):
        if codes and max(codes[column::n]) >= limit:
            return None
    return enumerate(zip(*[iter(codes)] * n), 1)


def plural(n, what):
    return f"{n} {what}" + ("" if n == 1 else "s")


def _shorten(text, limit=40):
    return text if len(text) <= limit else text[:limit] + "..."
