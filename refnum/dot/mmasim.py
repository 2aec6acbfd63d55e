"""``refnum crosscheck mmasim``: the NVIDIA presets against MMA-Sim (``pip install mmasim``).

MMA-Sim (Xie et al., arXiv:2511.10909; github.com/microsoft/MMA-Sim) is a torch model of
the tensor cores.  For every preset with an MMA-Sim instruction this runs seeded cases
through both, as raw bit patterns (no Python floats cross: tensors are built from integer
codes and read back by ``view``), and compares result bits.  The cases are
:func:`refnum.dot.cases.cases`: raw bits, cancellation, the alignment window's edge, zeros
beside tiny products, overflow.

There is no known difference (spec/dot-float.md): the NVIDIA presets take MMA-Sim's NaN,
overflow, signed-zero and zero-exponent rules; any disagreement makes the exit status 1.
"""

from __future__ import annotations

import importlib
import random

from ..catalog import lookup
from ..errors import RefnumError
from .cases import cases
from .models import dot
from .presets import preset

# preset -> (MMA-Sim class, architecture, shape and type, K of one instruction)
INSTRUCTIONS = {
    "v100_mma_f16_f32": ("MMA", "Volta", "m8n8k4.f32.f16.f16.f32", 4),
    "v100_mma_f16_f16": ("MMA", "Volta", "m8n8k4.f16.f16.f16.f16", 4),
    **{f"{arch}_mma_{t}_f32": ("MMA", name, f"m16n8k16.f32.{t}.{t}.f32", 16)
       for arch, name in (("a100", "Ampere"), ("ada", "Ada Lovelace")) for t in ("f16", "bf16")},
    "a100_mma_f16_f16": ("MMA", "Ampere", "m16n8k16.f16.f16.f16.f16", 16),
    "ada_mma_f16_f16": ("MMA", "Ada Lovelace", "m16n8k16.f16.f16.f16.f16", 16),
    "a100_mma_tf32_f32": ("MMA", "Ampere", "m16n8k8.f32.tf32.tf32.f32", 8),
    "ada_mma_tf32_f32": ("MMA", "Ada Lovelace", "m16n8k8.f32.tf32.tf32.f32", 8),
    **{f"ada_mma_{t}_{o}": ("MMA", "Ada Lovelace", f"m16n8k32.{o}.{t}.{t}.{o}", 32)
       for t in ("e4m3", "e5m2") for o in ("f32", "f16")},
    "h100_wgmma_f16_f32": ("WGMMA", "Hopper", "m64n8k16.f32.f16.f16", 16),
    "h100_wgmma_bf16_f32": ("WGMMA", "Hopper", "m64n8k16.f32.bf16.bf16", 16),
    "h100_wgmma_f16_f16": ("WGMMA", "Hopper", "m64n8k16.f16.f16.f16", 16),
    "h100_wgmma_tf32_f32": ("WGMMA", "Hopper", "m64n8k8.f32.tf32.tf32", 8),
    **{f"h100_wgmma_{t}_f32": ("WGMMA", "Hopper", f"m64n8k32.f32.{t}.{t}", 32) for t in ("e4m3", "e5m2")},
}

_TORCH_DTYPE = {"binary16": "float16", "bfloat16": "bfloat16", "binary32": "float32", "tf32": "float32",
                "e4m3": "float8_e4m3fn", "e5m2": "float8_e5m2"}
_INT_OF_WIDTH = {8: "uint8", 16: "int16", 32: "int32"}


# -- running MMA-Sim on codes --------------------------------------------------------------------

def _tensor(torch, codes, fmt):
    """A tensor of ``fmt``'s torch dtype holding exactly these codes (via an integer view)."""
    bits = 32 if fmt.name == "tf32" else fmt.k
    if fmt.name == "tf32":
        codes = [c << 13 for c in codes]
    int_type = getattr(torch, _INT_OF_WIDTH[bits])
    signed = [c - (1 << bits) if bits > 8 and c >> (bits - 1) else c for c in codes]
    return torch.tensor(signed, dtype=int_type).view(getattr(torch, _TORCH_DTYPE[fmt.name]))


def _codes_of(torch, tensor):
    bits = tensor.element_size() * 8
    ints = tensor.view(getattr(torch, _INT_OF_WIDTH[bits])).tolist()
    return [x & ((1 << bits) - 1) for x in ints]


def mmasim_results(torch, mmasim, name, batch):
    kind, arch, shape, _ = INSTRUCTIONS[name]
    op = getattr(mmasim.nv_ptx, kind)(arch, shape)
    fa, fb, fc = (lookup(f) for f in preset(name).operands)
    k = len(batch[0][1])
    a = _tensor(torch, [x for _, a, _, _ in batch for x in a], fa).reshape(len(batch), k)
    b = _tensor(torch, [y for _, _, b, _ in batch for y in b], fb).reshape(len(batch), k)
    c = _tensor(torch, [c for _, _, _, c in batch], fc)
    return _codes_of(torch, op.dpa(a, b, c))


# -- the command ---------------------------------------------------------------------------------

def run(quick=False, seed=1, per_preset=None):
    """``(lines, disagreements)``: per preset, the cases compared and how many agree."""
    try:
        torch = importlib.import_module("torch")
        mmasim = importlib.import_module("mmasim")
        importlib.import_module("mmasim.nv_ptx")
    except ImportError as err:
        raise RefnumError(f"crosscheck mmasim needs torch and mmasim (pip install mmasim): {err}") from None
    rng = random.Random(seed)
    per_preset = per_preset or (100 if quick else 2000)
    lines, unexplained = [], 0
    for name, (_, _, _, k) in INSTRUCTIONS.items():
        p = preset(name)
        fmts = tuple(lookup(f) for f in p.operands)
        batch = cases(p.model, p.operands, k, per_preset, rng)
        theirs = mmasim_results(torch, mmasim, name, batch)
        bad = [(family, a, b, c, mine, other) for (family, a, b, c), other in zip(batch, theirs)
               if (mine := dot(p.model, a, b, c, fmts)[0]) != other]
        unexplained += len(bad)
        lines.append(f"{name}: {len(batch)} cases, {len(batch) - len(bad)} agree, {len(bad)} disagree")
        for family, a, b, c, mine, other in bad[:3]:
            lines.append(f"  {family}: a={[hex(x) for x in a]} b={[hex(y) for y in b]} c={c:#x}"
                         f" refnum {mine:#x} mmasim {other:#x}")
    return lines, unexplained


def main(quick=False, seed=1, out=None, json_path=None):
    """The ``refnum crosscheck mmasim`` command: print the report, write the JSON summary; exit status."""
    import sys

    out = out or sys.stdout
    lines, unexplained = run(quick=quick, seed=seed)
    lines.append(f"mmasim: {unexplained} disagreements no known difference explains")
    for line in lines:
        out.write(line + "\n")
    if json_path:
        from ..crosscheck import write_json_atomic
        write_json_atomic(json_path, {"backend": "mmasim", "seed": seed, "quick": quick, "report": lines,
                                      "unexplained": unexplained})
    return 0 if unexplained == 0 else 1
