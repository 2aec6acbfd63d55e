"""What a study reports: exact sums, tables rendered byte for byte the same, decibels.

Everything a study computes is exact; the only inexact step is the last one,
:func:`decibels`, which turns an exact ratio into the number a reader expects.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import mpmath

DB_PRECISION = 64             # bits of the logarithm behind a decibel value


class DyadicSum:
    """An exact running sum of dyadic terms ``num * 2**exp`` (integers), kept as one integer
    over the smallest power of two seen: adding is a shift and an integer addition, where a
    Fraction sum would compute a gcd at every step."""

    __slots__ = ("num", "exp")

    def __init__(self):
        self.num, self.exp = 0, 0

    def add(self, num, exp):
        if exp < self.exp:
            self.num <<= self.exp - exp
            self.exp = exp
        self.num += num << (exp - self.exp)

    def value(self):
        return Fraction(self.num) * Fraction(2) ** self.exp


def difference(a, a_exp, b, b_exp):
    """``(d, e)`` with ``a * 2**a_exp - b * 2**b_exp == d * 2**e`` exactly."""
    e = min(a_exp, b_exp)
    return (a << (a_exp - e)) - (b << (b_exp - e)), e


def relative_error(results, references):
    """``sum |D_j - S_j| / sum |S_j|`` of results and exact references, both sequences of
    signed dyadic ``(num, exp)`` pairs: an exact ratio."""
    error, size = DyadicSum(), DyadicSum()
    for (d, d_exp), (s, s_exp) in zip(results, references):
        n, e = difference(d, d_exp, s, s_exp)
        error.add(abs(n), e)
        size.add(abs(s), s_exp)
    return error.value() / size.value()


def decibels(ratio):
    """``10 log10(ratio)`` of an exact positive ratio, to 0.01 dB, as an exact Fraction.

    The logarithm is mpmath's, rounded to the nearest hundredth (mpmath's ``nint``);
    this is the one inexact step of every study.  It is computed at 64 bits and again
    at twice the precision, doubling until two successive results round alike, so a
    value near the midpoint between two hundredths is settled by more bits rather
    than by chance.  ``None`` for an infinite ratio (no noise).

    >>> str(decibels(Fraction(100))), str(decibels(Fraction(1, 2)))
    ('20', '-301/100')
    """
    if ratio is None:
        return None
    bits, previous = DB_PRECISION, None
    while True:
        with mpmath.workprec(bits):
            hundredths = int(mpmath.nint(1000 * mpmath.log10(mpmath.mpf(ratio.numerator) / ratio.denominator)))
        if hundredths == previous:
            return Fraction(hundredths, 100)
        bits, previous = 2 * bits, hundredths


def fixed(q, places=2):
    """An exact rational (already on the grid of ``places`` decimals) written with
    exactly ``places`` decimals; ``inf`` for None."""
    if q is None:
        return "inf"
    scaled = round(q * 10**places)
    sign = "-" if scaled < 0 else ""
    whole, part = divmod(abs(scaled), 10**places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def scientific(q, digits=3):
    """A nonnegative exact rational rounded to ``digits`` significant decimal digits, ties to
    even (Python's exact ``round`` of a Fraction), written ``d.dde-XX``; ``0`` for zero.

    >>> scientific(Fraction(1, 3)), scientific(Fraction(12345, 10)), scientific(Fraction(9996, 10**7))
    ('3.33e-01', '1.23e+03', '1.00e-03')
    """
    if q == 0:
        return "0"
    e = len(str(q.numerator)) - len(str(q.denominator))
    e -= Fraction(10) ** e > q                          # now 10**e <= q < 10**(e + 1)
    m = round(q / Fraction(10) ** (e - digits + 1))
    if m == 10**digits:                                 # 9.995 -> 10.0: one digit more
        m, e = m // 10, e + 1
    s = str(m)
    return f"{s[0]}.{s[1:]}e{e:+03d}"


@dataclass
class Table:
    """A titled table of text cells, rendered as aligned text or Markdown."""

    title: str
    columns: list
    rows: list
    notes: list = field(default_factory=list)

    def text(self):
        widths = [max(len(str(r[i])) for r in [self.columns, *self.rows]) for i in range(len(self.columns))]

        def line(cells):
            first = f"{cells[0]:<{widths[0]}}"
            rest = [f"{c:>{w}}" for c, w in zip(cells[1:], widths[1:])]
            return "  ".join([first, *rest]).rstrip()
        out = [self.title, line(self.columns), *(line(r) for r in self.rows)]
        return "\n".join(out + self.notes) + "\n"

    def markdown(self):
        out = [f"**{self.title}**", "", "| " + " | ".join(self.columns) + " |",
               "|" + "|".join("---" if i == 0 else "---:" for i in range(len(self.columns))) + "|"]
        out += ["| " + " | ".join(str(c) for c in r) + " |" for r in self.rows]
        if self.notes:
            out += [""] + self.notes
        return "\n".join(out) + "\n"


@dataclass
class Report:
    """A study's result: its heading, its tables and the numbers its figure draws."""

    name: str
    heading: str
    tables: list
    data: dict = field(default_factory=dict)

    def text(self):
        return self.heading + "\n\n" + "\n".join(t.text() for t in self.tables)

    def markdown(self):
        return f"# {self.heading}\n\n" + "\n".join(t.markdown() for t in self.tables)
