"""Accumulators and dot products: the floating-point models (:mod:`refnum.dot.models`) and the
hardware presets as a data table (:mod:`refnum.dot.presets`).  Integer accumulators live in
``refnum.dot.integer``.

>>> from refnum.dot import run_dot
>>> run_dot("h100_wgmma_f16_f32", [0x3C00] * 16, [0x3C00] * 16, 0)     # 16 * 1.0 * 1.0 + 0
(1098907648, 0)
"""

from __future__ import annotations

from ..context import Context
from ..errors import RefnumError
from .models import Exact, Fused, Gemm, Sequential, Tree, dot, result_format
from .presets import PRESETS, Preset, preset

__all__ = ["Exact", "Fused", "Gemm", "Sequential", "Tree", "Preset", "PRESETS", "preset", "dot",
           "run_dot", "result_format"]


def run_dot(spec, a, b, c, formats=None, ctx=None):
    """``(code, flags)`` of ``sum a[k] * b[k] + c`` under a preset (or its name) or a model.

    A preset supplies the operand formats and the context profile; ``formats``
    ``(fa, fb, fc)`` and ``ctx`` override them (a model needs ``formats``).
    """
    if isinstance(spec, str):
        spec = preset(spec)
    if isinstance(spec, Preset):
        formats = formats or spec.operands
        ctx = ctx or Context.profile(spec.profile)
        spec = spec.model
    if formats is None:
        raise RefnumError("formats: a model needs the operand formats (fa, fb, fc)")
    return dot(spec, a, b, c, formats, ctx)
