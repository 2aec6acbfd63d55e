"""INT16 dynamic fixed point with INT32 accumulators (Das et al. 2018).

Das et al. train CNNs with INT16 tensors that share one exponent per tensor (dynamic
fixed point, DFP: value_n = I_n * 2**Es, ``Es = floor(log2 amax) - 14``) and INT16 x
INT16 multiply-adds accumulating into INT32, which can overflow; their remedy is to
accumulate in INT32 over a bounded chunk of the reduction only, convert each partial
sum to FP32 and add the chunks in FP32 (hardware-accumulators notes §1.2-1.5).  Two
effects are computed here, with refnum's DFP quantizer (the ``dfp16`` block scheme,
:mod:`refnum.blocks`) and its DFP dot pipeline (:func:`refnum.dot.integer.dfp_dot`):

* **quantization**: for each distribution a tensor A of ``size`` rows of :data:`K`
  exact samples is quantized to DFP INT16 under each rounding mode of
  :data:`MODES`, and cast to binary16 and bfloat16 (round to nearest even, no scale);
  the SQNR ``sum x**2 / sum (x - x_q)**2`` is exact, shown in dB;
* **INT32 overflow**: A and a second tensor B of the same distribution (each with its own
  exponent, rounded to nearest even) give the dot products ``A_i . B_i`` (independent
  operands) and ``A_i . A_i`` (a row with itself: every product positive, a squared
  norm), over the first K elements of each row.  "overflow" is the share of the
  ``size`` dot products whose INT32 accumulator overflowed (``vpdpwssd``: pairs of
  products, wrapping) when the whole reduction is one chunk, and with chunks of
  :data:`CHUNK`.  The errors are ``sum |D - S| / sum |S|`` at K = 1024 of the binary32
  results against the exact dot products of the DFP operands, shown to three
  significant digits (ties to even).  "safe chunk" is the largest power of two whose
  chunks never overflow in these data; "bound" the chunk length that cannot
  overflow for any data of these tensors, ``floor((2**31 - 1) / (max|I_a| max|I_b|))``.
"""

from __future__ import annotations

import random
from fractions import Fraction

from ..blocks import quantize
from ..catalog import lookup
from ..blocks.dfp import from_block
from ..context import Context
from ..dot.integer import dfp_dot
from .quantize import Quantizer, largest, noise_ratio, parts
from .samples import sample
from .tables import Report, Table, decibels, fixed, relative_error, scientific

NAME = "dfp-int16"
TITLE = "INT16 dynamic fixed point: SQNR per rounding mode against binary16 and bfloat16, INT32 overflow and chunking"
PAPER = ("Das et al., Mixed Precision Training of Convolutional Neural Networks using Integer Operations "
         "(arXiv:1802.00930, ICLR 2018)")
DEFAULT_SIZE = 8

K = 1024
KS = (16, 64, 256, 1024)
CHUNK = 64
DISTRIBUTIONS = ("gaussian", "laplace", "student-t(2)")
SR_BITS = 16
MODES = {"rne": Context(rounding="rne"), "rna": Context(rounding="rna"), "rtz": Context(rounding="rtz"),
         "rdn": Context(rounding="rdn"), f"sr-a N={SR_BITS}": Context(rounding="sr-a", sr_bits=SR_BITS)}
FLOATS = {"binary16": "binary16", "bfloat16": "bfloat16"}
INT32_MAX = 2**31 - 1


def dfp(values, ctx, rand=None):
    """``(integers, Es)``: one tensor quantized to DFP INT16 (``dfp16``, one exponent)."""
    d = from_block(quantize(values, "dfp16", ctx, rand))
    return list(d.integers), d.exponent


def dfp_sqnr(tensor, integers, es):
    """Exact SQNR of the exact values ``tensor`` against their DFP ``integers * 2**es``."""
    return noise_ratio((((-num if sign else num), exp), (i, es)) for (sign, num, exp), i in zip(tensor, integers))


def quantization(values, seed, distribution):
    """``{column: exact SQNR}``: DFP INT16 under each mode, and binary16 and bfloat16."""
    tensor = [(v.sign, v.num, v.exp) for v in values]
    rng = random.Random(f"{seed}:{NAME}:rounding:{distribution}")
    out = {}
    for label, ctx in MODES.items():
        rand = [rng.getrandbits(ctx.sr_bits) for _ in values] if ctx.sr_bits else None
        out[f"DFP16 {label}"] = dfp_sqnr(tensor, *dfp(values, ctx, rand))
    nonzero = parts(values)
    for label, name in FLOATS.items():
        q = Quantizer(name)
        out[label] = q.sqnr(nonzero, largest(q.fmt))
    return out


def rows(values, size):
    return [values[i * K:(i + 1) * K] for i in range(size)]


def overflow(a, b, size):
    """The overflow columns of one workload: ``a`` and ``b`` are ``(integers, Es)`` tensors."""
    (ia, ea), (ib, eb) = a, b
    ra, rb = rows(ia, size), rows(ib, size)
    share = [Fraction(sum(dfp_dot(x[:k], ea, y[:k], eb, chunk=k).overflowed > 0 for x, y in zip(ra, rb)), size)
             for k in KS]
    chunked = [dfp_dot(x, ea, y, eb, chunk=CHUNK) for x, y in zip(ra, rb)]
    one = [dfp_dot(x, ea, y, eb, chunk=K) for x, y in zip(ra, rb)]
    exact = [(sum(p * q for p, q in zip(x, y)), ea + eb) for x, y in zip(ra, rb)]
    return {"share": share, "chunked": Fraction(sum(r.overflowed > 0 for r in chunked), size),
            "error one chunk": relative_error([_binary32(r.code) for r in one], exact),
            "error chunked": relative_error([_binary32(r.code) for r in chunked], exact),
            "safe chunk": _safe_chunk(ra, ea, rb, eb),
            "bound": INT32_MAX // (max(map(abs, ia)) * max(map(abs, ib)))}


def _binary32(code):
    v = lookup("binary32").decode(code)
    return (-v.num if v.sign else v.num), v.exp


def _safe_chunk(ra, ea, rb, eb):
    """The largest power of two (at most K) whose chunks overflow in none of the dot products."""
    chunk = K
    while chunk > 1 and any(dfp_dot(x, ea, y, eb, chunk=chunk).overflowed for x, y in zip(ra, rb)):
        chunk //= 2
    return chunk


def measure(seed, size):
    """``{"sqnr": {distribution: {column: ratio}}, "overflow": {(distribution, workload): columns}}``."""
    out = {"sqnr": {}, "overflow": {}}
    for distribution in DISTRIBUTIONS:
        a_values = sample(distribution, size * K, seed)
        b_values = sample(distribution, size * K, f"{seed}:b")
        out["sqnr"][distribution] = quantization(a_values, seed, distribution)
        a, b = dfp(a_values, MODES["rne"]), dfp(b_values, MODES["rne"])
        out["overflow"][(distribution, "A.B")] = overflow(a, b, size)
        out["overflow"][(distribution, "A.A")] = overflow(a, a, size)
    return out


def run(seed=1, size=DEFAULT_SIZE):
    results = measure(seed, size)
    columns = list(next(iter(results["sqnr"].values())))
    sqnr = Table(f"SQNR in dB of {size} x {K} samples per distribution, one tensor exponent (seed {seed})",
                 ["distribution", *columns],
                 [[d, *(fixed(decibels(row[c])) for c in columns)] for d, row in results["sqnr"].items()],
                 [f"DFP16: Es = floor(log2 amax) - 14; sr-a draws {SR_BITS} random bits per element"])
    ovf = Table(f"INT32 overflow (vpdpwssd, wrapping): % of {size} dot products per K; errors at K = {K} (seed {seed})",
                ["distribution", "dot", *(f"K={k}" for k in KS), f"chunk {CHUNK}", "error 1 chunk",
                 f"error chunk {CHUNK}", "safe chunk", "bound"],
                [[d, w, *(_percent(s) for s in r["share"]), _percent(r["chunked"]), scientific(r["error one chunk"]),
                  scientific(r["error chunked"]), str(r["safe chunk"]), str(r["bound"])]
                 for (d, w), r in results["overflow"].items()],
                ["A.B: independent tensors; A.A: a row with itself (every product >= 0)",
                 f"chunk {CHUNK}: INT32 partial sums of {CHUNK} products, each converted to binary32 and added in"
                 " binary32 (refnum.dot.integer.dfp_dot)"])
    data = {"sqnr": {d: {c: decibels(q) for c, q in row.items()} for d, row in results["sqnr"].items()},
            "share": {f"{d} {w}": r["share"] for (d, w), r in results["overflow"].items()}}
    return Report(NAME, f"{NAME}: {TITLE}", [sqnr, ovf], data)


def _percent(share):
    """An exact share in percent, to one decimal (ties to even)."""
    return fixed(100 * share, 1)


def draw(report, figure):
    """Left: SQNR per distribution and column; right: overflow share against K (one chunk)."""
    from .plots import as_float

    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    distributions = list(report.data["sqnr"])
    for column in next(iter(report.data["sqnr"].values())):
        left.plot(range(len(distributions)), [as_float(report.data["sqnr"][d][column]) for d in distributions],
                  marker="o", label=column)
    left.set_xticks(range(len(distributions)), distributions)
    left.set_ylabel("SQNR (dB)")
    left.legend(fontsize=7)
    for label, share in report.data["share"].items():
        right.plot(KS, [as_float(100 * s) for s in share], marker="o", label=label)
    right.set_xscale("log", base=2)
    right.set_xlabel("K (one INT32 chunk)")
    right.set_ylabel("dot products that overflow INT32 (%)")
    right.legend(fontsize=7)
    figure.suptitle("Das et al.: DFP INT16 with INT32 accumulators")
