"""FP8 versus INT8 (van Baalen et al. 2023; Kuzmin et al. 2022): SQNR with the best clipping.

For each distribution (light to heavy tails, :data:`refnum.studies.samples.DISTRIBUTIONS`)
a seeded tensor of ``size`` exact samples is quantized per tensor to INT8, INT4 and the
8-bit floating-point formats with 2, 3, 4 and 5 exponent bits (E2M5 ... E5M2: one sign
bit, every code finite, subnormals, a flexible bias), each with its best clipping
value.  The measure is the signal to quantization noise ratio
``SQNR = sum x**2 / sum (x - x_q)**2``, computed exactly and shown in dB.

Clipping grid: ``c = r * max|x|`` for ``r = 1`` and ``r = 2**-(k+1) * (4 + i) / 4``,
``k = 0..5``, ``i = 0..3`` (quarter steps in each octave, 25 values from 1/64 to 1).
The best clipping is the grid value with the largest exact SQNR (the largest ``r`` on a
tie).  For a floating-point format the clipping value is its largest value, which fixes
the flexible bias ``b = B + log2(max(F) / c)`` (the real-valued bias of Kuzmin et al.'s
quantizer, hardware-accumulators notes §2.3); for INT it fixes the scale ``c / 127``
(``c / 7`` for INT4).
"""

from __future__ import annotations

from fractions import Fraction

from .quantize import Quantizer, parts
from .samples import DISTRIBUTIONS, sample
from .tables import Report, Table, decibels, fixed

NAME = "fp8-vs-int8"
TITLE = "FP8 versus INT8: SQNR of INT8, INT4 and FP8 E2..E5 with flexible bias, best clipping"
PAPER = ("van Baalen et al., FP8 versus INT8 for efficient deep learning inference (arXiv:2303.17951); "
         "Kuzmin et al., FP8 Quantization: The Power of the Exponent (arXiv:2208.09225)")
DEFAULT_SIZE = 500

FORMATS = {"INT8": "int8", "INT4": "int4", "E2M5": "e2m5_fin", "E3M4": "e3m4_fin",
           "E4M3": "e4m3_fin", "E5M2": "e5m2_fin"}
FLOATS = ("E2M5", "E3M4", "E4M3", "E5M2")
CLIP_RATIOS = [Fraction(1)] + [Fraction(4 + i, 4 * 2 ** (k + 1)) for k in range(6) for i in (3, 2, 1, 0)]


def best_clipping(quantizer, tensor, amax):
    """``(sqnr, r)``: the largest exact SQNR over the clipping grid and its ratio ``r``
    (an infinite SQNR, None, beats everything; a tie keeps the larger ``r``)."""
    best = None
    for r in CLIP_RATIOS:
        q = quantizer.sqnr(tensor, r * amax)
        if best is None or _better(q, best[0]):
            best = (q, r)
            if q is None:
                break
    return best


def _better(q, than):
    return than is not None and (q is None or q > than)


def measure(seed, size):
    """``{distribution: {format label: (sqnr, r)}}`` for every distribution and format."""
    quantizers = {label: Quantizer(name) for label, name in FORMATS.items()}
    results = {}
    for distribution in DISTRIBUTIONS:
        values = sample(distribution, size, seed)
        amax = max(abs(v.to_fraction()) for v in values)
        tensor = parts(values)
        results[distribution] = {label: best_clipping(q, tensor, amax) for label, q in quantizers.items()}
    return results


def run(seed=1, size=DEFAULT_SIZE):
    results = measure(seed, size)
    db = {d: {label: decibels(q) for label, (q, _) in row.items()} for d, row in results.items()}
    sqnr = Table(f"SQNR in dB at the best clipping ({size} samples per distribution, seed {seed})",
                 ["distribution", *FORMATS, "best FP8", "FP8-INT8"],
                 [_sqnr_row(d, row, results[d]) for d, row in db.items()],
                 _crossover(results))
    clips = Table("best clipping value c / max|x|", ["distribution", *FORMATS],
                  [[d] + [str(r) for _, r in row.values()] for d, row in results.items()])
    return Report(NAME, f"{NAME}: {TITLE}", [sqnr, clips], {"db": db, "formats": list(FORMATS)})


def _best_float(row):
    """The label of the floating-point format with the largest exact SQNR (first on a tie)."""
    best = FLOATS[0]
    for label in FLOATS[1:]:
        if _better(row[label][0], row[best][0]):
            best = label
    return best


def _sqnr_row(distribution, db_row, row):
    best = _best_float(row)
    gap = None if db_row[best] is None or db_row["INT8"] is None else db_row[best] - db_row["INT8"]
    return [distribution, *(fixed(db_row[label]) for label in FORMATS), best,
            "n/a" if gap is None else ("+" if gap > 0 else "") + fixed(gap)]


def _crossover(results):
    """One note line per outcome: where INT8 is ahead, where the best FP8 is, and the crossover."""
    fp8_ahead = [d for d, row in results.items() if _better(row[_best_float(row)][0], row["INT8"][0])]
    int8_ahead = [d for d in results if d not in fp8_ahead]
    notes = [f"INT8 ahead of every FP8 on: {', '.join(int8_ahead) or 'none'}",
             f"best FP8 ahead of INT8 on:  {', '.join(fp8_ahead) or 'none'}"]
    if not (fp8_ahead and int8_ahead):
        return notes
    order = list(results)
    first = order.index(fp8_ahead[0])
    if all(order.index(d) < first for d in int8_ahead):
        notes.append(f"crossover: between {order[first - 1]} and {order[first]}"
                     " (distributions ordered by tail weight)")
    else:
        notes.append("crossover: not monotone in tail weight at this size and seed")
    return notes


def draw(report, figure):
    """SQNR (dB) of each format against the distributions, light tails to heavy."""
    from .plots import as_float

    axes = figure.add_subplot(1, 1, 1)
    distributions = list(report.data["db"])
    for label in report.data["formats"]:
        points = [report.data["db"][d][label] for d in distributions]
        axes.plot(range(len(distributions)), [as_float(p) for p in points], marker="o", label=label)
    axes.set_xticks(range(len(distributions)), distributions)
    axes.set_ylabel("SQNR (dB), best clipping")
    axes.set_title("FP8 versus INT8: per-tensor quantization SQNR")
    axes.legend()
