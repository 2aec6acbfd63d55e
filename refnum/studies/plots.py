"""Figures of the studies and the teaching views of a format (the ``plot`` extra).

matplotlib draws with Python floats; every number reaches it through
:func:`as_float`, which rounds an exact value to binary64 once, in
:mod:`refnum.interop` (the one door for floats).  Figures are byte-deterministic:
PNG without a software or date stamp, SVG with a fixed ``svg.hashsalt`` and no date.
Files are written atomically (temporary file, then rename).
"""

from __future__ import annotations

import os
from fractions import Fraction

from ..context import Context
from ..errors import RefnumError
from ..interop import value_to_float
from ..rounding import project
from ..values import Value

INSTALL_HINT = ("matplotlib is missing: install the plot extra with pip install 'refnum[plot]'"
                " (from a checkout: pip install '.[plot]')")
FIGURE_FORMATS = ("png", "svg")
PLOT_BITS = 16                      # value lines enumerate every code, as `refnum table` does
STOCHASTIC = ("sr-a", "sr-b", "sr-c")


def pyplot():
    """matplotlib's pyplot on the non-interactive Agg backend, or a one-line error."""
    try:
        import matplotlib
    except ImportError:
        raise RefnumError(INSTALL_HINT) from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def as_float(q):
    """An exact Fraction (or None: no value) as the nearest binary64, for drawing."""
    return value_to_float(Value.nan() if q is None else Value.from_fraction(q))


def figure_format(path):
    """``png`` or ``svg`` from a file name's extension."""
    kind = os.path.splitext(path)[1][1:].lower()
    if kind not in FIGURE_FORMATS:
        raise RefnumError(f"{path}: a figure is .png or .svg")
    return kind


def save(figure, path):
    """Write ``figure`` to ``path`` (PNG or SVG by extension), deterministically; the file is
    replaced only when the whole figure is written (refnum.cli's atomic output)."""
    from ..cli import _output

    plt = pyplot()
    kind = figure_format(path)
    metadata = {"Software": None} if kind == "png" else {"Date": None, "Creator": None}
    try:
        with _output(path, binary=True) as f, plt.rc_context({"svg.hashsalt": "refnum", "svg.fonttype": "none"}):
            figure.savefig(f, format=kind, metadata=metadata)
    finally:
        plt.close(figure)


def study_figure(module, report, path):
    """Draw a study's figure into ``path``."""
    plt = pyplot()
    figure = plt.figure(figsize=(10, 5), layout="constrained")
    module.draw(report, figure)
    save(figure, path)


# -- teaching views of a format ----------------------------------------------------------

def binade_counts(fmt):
    """``{e: number of positive finite codes with value in [2**e, 2**(e+1))}``, every code decoded."""
    if fmt.k > PLOT_BITS:
        raise RefnumError(f"{fmt.name} has 2**{fmt.k} codes; value lines stop at {PLOT_BITS} bits")
    counts = {}
    for code in range(fmt.ncodes):
        v = fmt.decode(code)
        if v.is_finite and v.num and not v.sign:
            e = _ilog2(v.to_fraction())
            counts[e] = counts.get(e, 0) + 1
    return dict(sorted(counts.items()))


def _ilog2(q):
    """floor(log2(q)) of a positive rational, exactly."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    return e if Fraction(2) ** e <= q else e - 1


def rounding_errors(fmt, ctx, lo, hi, points=512):
    """``[(x, round(x) - x)]`` on ``points + 1`` evenly spaced exact values from ``lo`` to ``hi``;
    the error is None where the result is not finite."""
    rows = []
    for j in range(points + 1):
        x = lo + (hi - lo) * Fraction(j, points)
        got = fmt.decode(project(Value.from_fraction(x), fmt, ctx)[0])
        rows.append((x, got.to_fraction() - x if got.is_finite else None))
    return rows


def neighbours(fmt, x):
    """The two values of ``fmt`` around ``x`` (rounded toward zero and away from it)."""
    down = fmt.decode(project(Value.from_fraction(x), fmt, Context(rounding="rtz"))[0])
    up = fmt.decode(project(Value.from_fraction(x), fmt, Context(rounding="rup" if x > 0 else "rdn"))[0])
    return down, up


def stochastic_shares(fmt, x, sr_bits):
    """``{variant: share of the 2**N random integers R that round x away from zero}``,
    every R enumerated (an exact distribution, not a sample), and ``"exact"``: the
    fraction ``nu`` of the way from the lower neighbour to the upper one."""
    down, up = neighbours(fmt, x)
    if not (down.is_finite and up.is_finite) or down == up:
        raise RefnumError(f"{x} is not strictly between two finite values of {fmt.name}")
    lo, hi = down.to_fraction(), up.to_fraction()
    shares = {}
    for variant in STOCHASTIC:
        ctx = Context(rounding=variant, sr_bits=sr_bits)
        away = sum(fmt.decode(project(Value.from_fraction(x), fmt, ctx, r)[0]) == up for r in range(1 << sr_bits))
        shares[variant] = Fraction(away, 1 << sr_bits)
    shares["exact"] = (x - lo) / (hi - lo)
    return lo, hi, shares


def default_value(fmt):
    """One third of the way up from 1 to the next value (or, where 1 is the largest value,
    from the value below it): a value where the stochastic variants differ."""
    tiny = Fraction(1, 2**200)
    for x in (1 + tiny, 1 - tiny):
        down, up = neighbours(fmt, x)
        if down.is_finite and up.is_finite and down != up:
            lo = down.to_fraction()
            return lo + (up.to_fraction() - lo) / 3
    raise RefnumError(f"{fmt.name}: no two finite values around 1; give --value X")


def format_figure(fmt, rounding="rne", lo=Fraction(1), hi=Fraction(4), value=None, sr_bits=3):
    """Three panels: codes per binade, the rounding error of ``rounding`` on [lo, hi], and
    stochastic rounding's distribution for ``value``."""
    value = default_value(fmt) if value is None else value
    counts = binade_counts(fmt)                     # the data first: a bad argument is named
    errors = rounding_errors(fmt, Context(rounding=rounding, sr_bits=sr_bits), lo, hi)
    below, above, shares = stochastic_shares(fmt, value, sr_bits)   # with or without matplotlib
    plt = pyplot()
    figure = plt.figure(figsize=(15, 4), layout="constrained")
    line, error, sr = (figure.add_subplot(1, 3, i) for i in (1, 2, 3))
    line.bar(list(counts), list(counts.values()))
    line.set_xlabel("binade e: values in [2**e, 2**(e+1))")
    line.set_ylabel("positive codes")
    line.set_title(f"{fmt.name}: the value line, codes per binade")
    error.plot([as_float(x) for x, _ in errors], [as_float(d) for _, d in errors])
    error.set_xlabel("x")
    error.set_ylabel("round(x) - x")
    error.set_title(f"rounding error of {rounding} on [{_text(lo)}, {_text(hi)}]")
    labels = list(shares)
    sr.bar(labels, [as_float(s) for s in shares.values()])
    sr.set_ylabel(f"P(round to {_text(above)})")
    sr.set_title(f"stochastic rounding of {_text(value)}, N = {sr_bits}:\n{_text(below)} or {_text(above)}")
    return figure


def _text(q):
    return str(Value.from_fraction(q))
