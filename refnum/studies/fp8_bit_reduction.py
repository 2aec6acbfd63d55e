"""To FP8 and back again (Lee et al. 2024): what each bit taken from the significand costs.

Lee et al. simulate incremental bit reductions of bfloat16 (E8M7) down to E8M3 and
compare with the FP8 formats E5M2 and E4M3.  Two effects of those formats are
computed here exactly:

* **quantization error**: the SQNR of ``size`` Gaussian samples cast to each format,
  under round to nearest even and under truncation (round toward zero, what a bit
  mask does; which of the two the paper used is not known, hardware-accumulators
  notes §2.2);
* **lost updates**: weights kept in the format and updated ``size`` times by small
  steps, ``w <- round(w + delta)``, the sum ``w + delta`` exact and rounded once.
  Round to nearest loses every step below half a unit in the last place; stochastic
  rounding keeps them on average, but only to the resolution of its N random bits
  (P3109 v4.0 §4.7.4 StochasticA: a fraction below ``2**-N`` ulp never rounds up).
  "lost" is the share of the exact total update that never reached the weights,
  ``1 - sum(w_T - w_0) / sum(delta)``; a negative share means stochastic rounding
  happened to overshoot.

Setup: :data:`WEIGHTS` weights ``w_0 = 1 + U`` (U uniform on (0, 1], rounded to the
format), steps ``delta = 2**-10 * 2U`` with fresh uniforms U (a drift of 2**-10 with
noise, about 1/8 ulp of E8M7 at 1 and 1/128 ulp of E4M3), the same steps for every
format and mode; the random integers R of stochastic rounding come from their own
seeded stream.  The stochastic columns are one sample each: with the default size their
spread is a few percent for E8M7 and about ten percent for the FP8 formats, whose
weights move only every hundred steps or so.
"""

from __future__ import annotations

import random
from fractions import Fraction

from ..catalog import lookup
from ..context import Context
from ..rounding import round_finite
from .quantize import Quantizer, largest, parts
from .samples import PRECISION, Sampler, exact, sample
from .tables import Report, Table, decibels, difference, fixed

NAME = "fp8-bit-reduction"
TITLE = "bit reductions of bfloat16 (E8M7 ... E8M3) and FP8: quantization error and lost updates"
PAPER = ("Lee et al., To FP8 and Back Again: Quantifying Reduced Precision Effects on LLM Training "
         "Stability (arXiv:2405.18710)")
DEFAULT_SIZE = 256

FORMATS = {"E8M7 (bf16)": "e8m7", "E8M6": "e8m6", "E8M5": "e8m5", "E8M4": "e8m4", "E8M3": "e8m3",
           "E5M2": "e5m2", "E4M3": "e4m3"}
WEIGHTS = 64
STEP_EXPONENT = -10
MODES = {"rne": Context(rounding="rne"), "rtz": Context(rounding="rtz"),
         **{f"sr-a N={n}": Context(rounding="sr-a", sr_bits=n) for n in (4, 8, 16)}}


def quantization_sqnr(fmt, tensor, ctx):
    """Exact SQNR of ``tensor`` cast to ``fmt`` (no scale: the clipping value is the format's max)."""
    quantizer = Quantizer(fmt, ctx)
    return quantizer.sqnr(tensor, largest(quantizer.fmt))


def training_data(seed, steps):
    """``(initial weights, steps)``: the exact starting values and each weight's update sequence."""
    sampler = Sampler(f"{seed}:weights")
    starts = [exact(1 + sampler.uniform()) for _ in range(WEIGHTS)]
    deltas = [[_step(sampler.rng) for _ in range(steps)] for _ in range(WEIGHTS)]
    return starts, deltas


def _step(rng):
    """``2**STEP_EXPONENT * 2U``, U uniform on (0, 1] as in Sampler.uniform, as ``(num, exp)``."""
    return rng.getrandbits(PRECISION) + 1, STEP_EXPONENT + 1 - PRECISION


def lost_share(fmt, ctx, starts, deltas, seed):
    """The exact share ``1 - sum(w_T - w_0) / sum(delta)`` of the updates that did not arrive."""
    fmt = lookup(fmt)
    rng = random.Random(f"{seed}:rounding:{ctx.sr_bits}")
    arrived = intended = Fraction(0)
    for start, steps in zip(starts, deltas):
        w0 = code = round_finite(fmt, ctx, start.sign, start.num, start.exp, 1, 0)[0]
        for num, exp in steps:
            code = _update(fmt, ctx, code, num, exp, rng.getrandbits(ctx.sr_bits) if ctx.sr_bits else 0)
        arrived += fmt.decode(code).to_fraction() - fmt.decode(w0).to_fraction()
        intended += sum(Fraction(num) * Fraction(2) ** exp for num, exp in steps)
    return 1 - arrived / intended


def _update(fmt, ctx, code, num, exp, rand):
    """The code of ``decode(code) + num * 2**exp``, the exact sum rounded once."""
    sign, w_num, w_exp = fmt.finite_parts(code)
    total, total_exp = difference(-w_num if sign else w_num, w_exp, -num, exp)
    if total == 0:
        return 0
    return round_finite(fmt, ctx, int(total < 0), abs(total), total_exp, 1, rand)[0]


def run(seed=1, size=DEFAULT_SIZE):
    tensor = parts(sample("gaussian", size, seed))
    sqnr = {label: [decibels(quantization_sqnr(name, tensor, MODES[m])) for m in ("rne", "rtz")]
            for label, name in FORMATS.items()}
    error = Table(f"quantization SQNR in dB of {size} Gaussian samples (no scaling)",
                  ["format", "rne", "rtz", "rne-rtz"],
                  [[label, fixed(a), fixed(b), fixed(a - b)] for label, (a, b) in sqnr.items()],
                  ["each significand bit is worth about 6.02 dB (20 log10 2)"])
    starts, deltas = training_data(seed, size)
    lost = {label: {m: round(100 * lost_share(name, ctx, starts, deltas, seed), 1) for m, ctx in MODES.items()}
            for label, name in FORMATS.items()}
    updates = Table(f"updates lost, % of the exact total ({WEIGHTS} weights in [1, 2), {size} steps"
                    f" of 2**{STEP_EXPONENT} on average, seed {seed})", ["format", *MODES],
                    [[label, *(fixed(v, 1) for v in row.values())] for label, row in lost.items()])
    return Report(NAME, f"{NAME}: {TITLE}", [error, updates], {"sqnr": sqnr, "lost": lost})


def draw(report, figure):
    """Left: SQNR per format under rne and rtz; right: updates lost per format and mode."""
    from .plots import as_float

    formats = list(report.data["sqnr"])
    left, right = figure.add_subplot(1, 2, 1), figure.add_subplot(1, 2, 2)
    for i, mode in enumerate(("rne", "rtz")):
        left.plot(range(len(formats)), [as_float(report.data["sqnr"][f][i]) for f in formats],
                  marker="o", label=mode)
    modes = list(next(iter(report.data["lost"].values())))
    for mode in modes:
        right.plot(range(len(formats)), [as_float(report.data["lost"][f][mode]) for f in formats],
                   marker="o", label=mode)
    for axes, label in ((left, "quantization SQNR (dB)"), (right, "updates lost (%)")):
        axes.set_xticks(range(len(formats)), formats, rotation=45, ha="right")
        axes.set_ylabel(label)
        axes.legend()
    figure.suptitle("To FP8 and back: bit reductions of bfloat16")
