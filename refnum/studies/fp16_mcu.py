"""FP16 on a microcontroller (Nadalini et al. 2023): matrix products accumulated in 16 bits.

PULP-TrainLib's FP16 matrix-multiplication kernels (hardware-accumulators notes §2.1)
keep their accumulators in the 16-bit format itself, ``v2f16 temp += A_v * B_v``, in
two lane patterns: (a) the two SIMD lanes hold two output columns, so each output is
one sequential chain over k; (b) the lanes hold the even and the odd k, and the two
lane sums are added at the end.  Whether ``temp += a * b`` is one fused FMA (one
rounding) or a multiply then an add (two roundings) depends on the compiler, so both
are computed.  Against them: FP32 accumulation with the widening FMA ``vfwmacc``
(one rounding per product) and with Snitch's expanding ``vfdotpex.s.h`` (two products
and the accumulator fused, one rounding per pair).  Every one is a :mod:`refnum.dot`
model or preset; this module only feeds them data and measures.

Data: ``size`` dot products of length K (a row of ``A`` against ``size`` columns of
``B``: one output row of a matrix product), for K in :data:`KS`, each K using the first
K elements of the same vectors; elements are exact samples
(:mod:`refnum.studies.samples`) rounded to the operand format with round to nearest
even.  ``uniform(0,1)`` is the absolute value of the symmetric uniform samples
(nonnegative, like post-ReLU activations: the sums only grow).

Measure: the relative error of the output row,
``sum_j |D_j - S_j| / sum_j |S_j|``, an exact rational.  In the accumulation table
``S_j`` is the exact dot product of the rounded operands (the error of the
accumulation alone); in the format table it is the exact dot product of the
unrounded data (input rounding and accumulation together).  The tables show each
ratio rounded to three significant digits, ties to even
(:func:`refnum.studies.tables.scientific`); the figure draws the same ratios.
"""

from __future__ import annotations

from ..catalog import lookup
from ..context import Context
from ..errors import RefnumError
from ..dot import Sequential, preset, result_format
from ..dot.models import dot
from ..rounding import project
from ..values import Value
from .samples import sample
from .tables import DyadicSum, Report, Table, relative_error, scientific

NAME = "fp16-mcu"
TITLE = "FP16 SIMD matrix products on a RISC-V MCU: 16-bit accumulation against FP32, binary16 against bfloat16"
PAPER = ("Nadalini, Rusci, Benini, Conti, Reduced Precision Floating-Point Optimization for Deep Neural "
         "Network On-Device Learning on MicroControllers (arXiv:2305.19167)")
DEFAULT_SIZE = 8

KS = (16, 64, 256, 1024)
DISTRIBUTIONS = ("uniform(0,1)", "gaussian", "laplace")
CONTEXT = Context.profile("riscv")
ROUND = Context(rounding="rne")             # data -> operand format


def _kernel(fmt, lanes, fused):
    return Sequential(fmt, lanes=lanes, fused=fused)


# label: (operand format, model); the accumulation table's columns, binary16 operands
ACCUMULATION = {
    "f16 fma": ("binary16", _kernel("binary16", 1, True)),
    "f16 mul+add": ("binary16", _kernel("binary16", 1, False)),
    "f16x2 fma": ("binary16", preset("pulp_fp16_simd2").model),
    "f16x2 mul+add": ("binary16", _kernel("binary16", 2, False)),
    "vfwmacc f32": ("binary16", preset("riscv_vfwmacc_f16").model),
    "vfdotpex f32": ("binary16", preset("riscv_vfdotpex_s_h").model),
}
# the format table's columns: the same kernel and FP32 accumulation with either 16-bit format
FORMATS = {
    "f16x2 fma": ("binary16", preset("pulp_fp16_simd2").model),
    "bf16x2 fma": ("bfloat16", _kernel("bfloat16", 2, True)),
    "f16 vfwmacc f32": ("binary16", preset("riscv_vfwmacc_f16").model),
    "bf16 vfwmaccbf16 f32": ("bfloat16", preset("riscv_vfwmaccbf16").model),
}
UNIT_ROUNDOFF = "unit roundoff u: binary16 2**-11 (4.88e-04), bfloat16 2**-8 (3.91e-03), binary32 2**-24 (5.96e-08)"


def data(distribution, seed, size):
    """``(a, columns)``: the exact row of A and the ``size`` columns of B, each ``max(KS)`` long."""
    n = max(KS)
    name = "uniform" if distribution == "uniform(0,1)" else distribution
    values = sample(name, n * (1 + size), seed)
    if name != distribution:
        values = [Value.finite(0, v.num, v.exp) if v.sign else v for v in values]
    return values[:n], [values[n * (j + 1):n * (j + 2)] for j in range(size)]


class Operands:
    """The data rounded once to a 16-bit format: codes, and the exact values of codes and data."""

    def __init__(self, fmt, values):
        self.fmt = lookup(fmt)
        self.codes = [project(v, self.fmt, ROUND)[0] for v in values]
        self.exact = [_signed(self.fmt, c) for c in self.codes]
        self.data = [_term(v) for v in values]


def _term(v):
    """``(signed num, exp)`` of a finite exact Value."""
    if not v.is_finite:
        raise RefnumError(f"fp16-mcu: a dot product left the accumulator's range ({v})")
    return (-v.num if v.sign else v.num), v.exp


def _signed(fmt, code):
    return _term(fmt.decode(code))


def exact_dot(x, y, k):
    """The exact ``sum x[i] * y[i]`` over ``i < k`` of ``(signed num, exp)`` pairs."""
    total = DyadicSum()
    for (n1, e1), (n2, e2) in zip(x[:k], y[:k]):
        total.add(n1 * n2, e1 + e2)
    return total.num, total.exp


def measure(seed, size):
    """``{table: {distribution: {label: [relative error for each K]}}}`` for both tables."""
    out = {"accumulation": {}, "formats": {}}
    for distribution in DISTRIBUTIONS:
        row, columns = data(distribution, seed, size)
        operands = {}

        def prepared(fmt):
            if fmt not in operands:
                operands[fmt] = Operands(fmt, row), [Operands(fmt, col) for col in columns]
            return operands[fmt]

        for table, models, reference in (("accumulation", ACCUMULATION, "exact"), ("formats", FORMATS, "data")):
            out[table][distribution] = {label: [relative_error(_results(model, *prepared(fmt), k),
                                                               _references(*prepared(fmt), k, reference))
                                                for k in KS]
                                        for label, (fmt, model) in models.items()}
    return out


def _results(model, a, bs, k):
    """Each column's dot product of length ``k`` under ``model``, as ``(signed num, exp)``."""
    out = []
    for b in bs:
        code, _ = dot(model, a.codes[:k], b.codes[:k], 0, (a.fmt, b.fmt, a.fmt), CONTEXT)
        out.append(_signed(lookup(result_format(model)), code))
    return out


def _references(a, bs, k, which):
    return [exact_dot(getattr(a, which), getattr(b, which), k) for b in bs]


def run(seed=1, size=DEFAULT_SIZE):
    results = measure(seed, size)
    accumulation = _table(f"accumulation error, binary16 operands: sum|D - S| / sum|S|, S the exact dot product of"
                          f" the operands ({size} dot products per K, seed {seed})", results["accumulation"],
                          [UNIT_ROUNDOFF])
    formats = _table(f"binary16 against bfloat16: the same error, S the exact dot product of the unrounded data"
                     f" ({size} dot products per K, seed {seed})", results["formats"], [])
    return Report(NAME, f"{NAME}: {TITLE}", [accumulation, formats], results)


def _table(title, results, notes):
    labels = list(next(iter(results.values())))
    rows = [[distribution, str(k), *(scientific(errors[label][i]) for label in labels)]
            for distribution, errors in results.items() for i, k in enumerate(KS)]
    return Table(title, ["distribution", "K", *labels], rows, notes)


def draw(report, figure):
    """Relative error against K (log-log), one panel per distribution: accumulation error above,
    binary16 against bfloat16 below."""
    from .plots import as_float

    for r, table in enumerate(("accumulation", "formats")):
        for c, distribution in enumerate(DISTRIBUTIONS):
            axes = figure.add_subplot(2, len(DISTRIBUTIONS), r * len(DISTRIBUTIONS) + c + 1)
            for label, errors in report.data[table][distribution].items():
                axes.plot(KS, [as_float(e) for e in errors], marker="o", label=label)
            axes.set_xscale("log", base=2)
            axes.set_yscale("log")
            axes.set_title(f"{distribution}: {'accumulation' if r == 0 else 'data'} error", fontsize=9)
            axes.set_xlabel("K")
            if c == 0:
                axes.set_ylabel("sum|D - S| / sum|S|")
                axes.legend(fontsize=7)
    figure.suptitle("FP16 SIMD on a microcontroller: 16-bit against FP32 accumulation")
