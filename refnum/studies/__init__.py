"""The seed-paper studies: small, seeded, exact computations that show the numerical
effects the papers refnum grew from rest on (spec/papers/).

Each study is a module with ``NAME``, ``TITLE``, ``PAPER``, ``DEFAULT_SIZE``,
``run(seed, size)`` returning a :class:`refnum.studies.tables.Report` (its tables
and the numbers a figure draws) and ``draw(report, figure)`` for the ``plot``
extra.  They use refnum's exact core only: data come from
:mod:`refnum.studies.samples` (exact values from a seeded generator), every
rounding is refnum's projection step and every sum is exact; the one inexact step,
turning an exact ratio into decibels for display, is
:func:`refnum.studies.tables.decibels`.  Nothing in refnum imports this package
except the command line (``refnum study NAME``).
"""

from __future__ import annotations

import importlib

from ..errors import RefnumError

STUDIES = {
    "fp8-vs-int8": "fp8_vs_int8",
    "fp8-bit-reduction": "fp8_bit_reduction",
    "fp16-mcu": "fp16_mcu",
    "dfp-int16": "dfp_int16",
}


def study(name):
    """The module of the study called ``name``."""
    if name not in STUDIES:
        import difflib                                         # only for the error message

        close = difflib.get_close_matches(name, list(STUDIES), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f"; choose from {', '.join(STUDIES)}"
        raise RefnumError(f"unknown study '{name}'{hint}")
    return importlib.import_module(f"{__name__}.{STUDIES[name]}")


def run(name, seed=1, size=None):
    """Run study ``name`` with ``seed`` and ``size`` (default: the study's): its Report."""
    module = study(name)
    if size is not None and size < 1:
        raise RefnumError(f"study size must be positive, got {size}")
    return module.run(seed=seed, size=module.DEFAULT_SIZE if size is None else size)
