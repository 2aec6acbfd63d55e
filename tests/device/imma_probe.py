"""Probe NVIDIA IMMA (``mma.sync ... .s32.{s8,u8,s4}...s32``, with and without ``.satfinite``)
on a GPU and record what it returns, for ``tests/test_dot_integer.py``.

Run from the repository root on a machine with an NVIDIA GPU of compute capability >= 8.0,
CuPy and NumPy (never in the default test suite), and keep the record as shared data
(``$REFNUM_SHARED_DATA/imma/imma.jsonl``, default ``/work/shared/data``), where
``test_imma_presets_reproduce_the_gpu_record`` reads it::

    python tests/device/imma_probe.py imma.jsonl

One warp per ``mma``: A is 16 x k (row-major), B is k x 8 (column-major), C and D
16 x 8.  The fragment layouts are the PTX ISA's (9.7.14.5.x, "Matrix fragments for
mma.m16n8k16 / m16n8k32 / m16n8k64" with integer types): with ``g = lane >> 2``
and ``t = lane & 3``, A register r holds row ``g + 8 * (r & 1)``, 32-bit word
``t + 4 * (r >> 1)`` of that row; B register r holds word ``t + 4 * r`` of column
``g``; C/D register r holds row ``g + 8 * (r >> 1)``, column ``2 * t + (r & 1)``.
A word packs 4 bytes (or 8 nibbles), element 0 in the low bits.

Operands are chosen to tell the saturation granularities apart: rows and columns
whose products alternate in sign in blocks of 1, 2, 4, 8 or 16 (so that partial
sums inside one instruction leave the int32 range while the whole group does
not), random rows and columns, and addends C at and near INT32 max and min.  Each
output line is one ``mma``: its preset name (refnum.dot.integer.INTEGER_PRESETS),
the operand values, C and the D the GPU returned.  The script also prints, per
preset, how many outputs each candidate granularity reproduces.
"""

import json
import random
import sys

KERNEL = r"""
extern "C" __global__ void probe(const int* A, const int* B, const int* C, int* D) {
    const int W = %(words)d;                 // 32-bit words per row of A / column of B
    const int m = blockIdx.x, lane = threadIdx.x, g = lane >> 2, t = lane & 3;
    const int* a = A + m * 16 * W;
    const int* b = B + m * 8 * W;
    const int* c = C + m * 128;
    int* d = D + m * 128;
    unsigned ra[4], rb[2];
    for (int r = 0; r < %(a_regs)d; ++r) ra[r] = a[(g + 8 * (r & 1)) * W + t + 4 * (r >> 1)];
    for (int r = 0; r < %(b_regs)d; ++r) rb[r] = b[g * W + t + 4 * r];
    int rc[4], rd[4];
    for (int r = 0; r < 4; ++r) rc[r] = c[(g + 8 * (r >> 1)) * 8 + 2 * t + (r & 1)];
    asm volatile("%(instruction)s %(operands)s;\n"
                 : "=r"(rd[0]), "=r"(rd[1]), "=r"(rd[2]), "=r"(rd[3])
                 : %(inputs)s);
    for (int r = 0; r < 4; ++r) d[(g + 8 * (r >> 1)) * 8 + 2 * t + (r & 1)] = rd[r];
}
"""

PTX_TYPE = {"int8": "s8", "uint8": "u8", "int4": "s4", "uint4": "u4"}
BITS = {"int8": 8, "uint8": 8, "int4": 4, "uint4": 4}
INT32_MAX, INT32_MIN = 2**31 - 1, -2**31
MMAS_PER_PRESET = 6


def kernel_source(preset):
    shape = preset.name.split("_")[1]
    k = preset.group
    words = k * BITS[preset.operand_formats[0]] // 32
    a_regs, b_regs = words // 2, words // 4
    sat = ".satfinite" if preset.overflow == "saturate" else ""
    ta, tb = (PTX_TYPE[f] for f in preset.operand_formats)
    n = 4 + a_regs + b_regs + 4
    groups, i = [], 0
    for size in (4, a_regs, b_regs, 4):
        groups.append("{" + ", ".join(f"%{j}" for j in range(i, i + size)) + "}")
        i += size
    inputs = [f'"r"(ra[{r}])' for r in range(a_regs)] + [f'"r"(rb[{r}])' for r in range(b_regs)]
    inputs += [f'"r"(rc[{r}])' for r in range(4)]
    assert i == n
    return KERNEL % dict(words=words, a_regs=a_regs, b_regs=b_regs, inputs=", ".join(inputs),
                         instruction=f"mma.sync.aligned.{shape}.row.col{sat}.s32.{ta}.{tb}.s32",
                         operands=", ".join(groups))


def _range(fmt):
    bits = BITS[fmt]
    return (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if fmt.startswith("int") else (0, (1 << bits) - 1)


def vectors(fmt, k, count, rng):
    """``count`` length-k vectors of ``fmt``: sign-block patterns, extremes and random ones."""
    lo, hi = _range(fmt)
    out = []
    for block in (1, 2, 4, 8, 16):
        for first in (0, 1):
            if lo < 0:       # signed: +max / min blocks
                out.append([(hi if (j // block + first) % 2 == 0 else lo) for j in range(k)])
            else:            # unsigned: max / 0 blocks (the sign comes from the other operand)
                out.append([(hi if (j // block + first) % 2 == 0 else 0) for j in range(k)])
    out += [[hi] * k, [lo] * k]
    while len(out) < count:
        out.append([rng.randint(lo, hi) for _ in range(k)])
    rng.shuffle(out)
    return out[:count]


def addends(rng):
    """16 x 8 addends at and near the int32 bounds, and some anywhere."""
    near = [0, 1, 7, 100, 1000, 2**12, 2**14, 2**16, 2**18, 2**20]
    cs = []
    for i in range(128):
        kind = rng.randrange(5)
        if kind == 4:
            cs.append(rng.randint(INT32_MIN, INT32_MAX))
        else:
            d = rng.choice(near) + rng.randrange(64)
            cs.append(INT32_MAX - d if kind % 2 == 0 else INT32_MIN + d)
    return [cs[r * 8:(r + 1) * 8] for r in range(16)]


def pack(rows, bits):
    """Rows of element values -> rows of 32-bit words (element 0 in the low bits)."""
    per = 32 // bits
    mask = (1 << bits) - 1
    words = []
    for row in rows:
        ws = []
        for w in range(0, len(row), per):
            v = 0
            for i, x in enumerate(row[w:w + per]):
                v |= (x & mask) << (bits * i)
            ws.append(v - (1 << 32) if v >> 31 else v)
        words.append(ws)
    return words


def run(preset, cases):
    import cupy as cp
    import numpy as np
    kernel = cp.RawKernel(kernel_source(preset), "probe")
    bits = BITS[preset.operand_formats[0]]
    A = cp.asarray(np.array([pack(c["a"], bits) for c in cases], dtype=np.int32))
    B = cp.asarray(np.array([pack(c["b"], bits) for c in cases], dtype=np.int32))
    C = cp.asarray(np.array([c["c"] for c in cases], dtype=np.int32))
    D = cp.zeros_like(C)
    kernel((len(cases),), (32,), (A, B, C, D))
    cp.cuda.runtime.deviceSynchronize()
    for case, d in zip(cases, D.get().tolist()):
        case["d"] = d


def candidates(preset):
    from dataclasses import replace
    k = preset.group
    out = {f"group of {g}": replace(preset, group=g) for g in (1, 2, 4, 8, 16, 32, 64) if g <= k}
    out["end"] = replace(preset, granularity="end")
    return out


def agreement(preset, cases):
    from refnum.dot.integer import integer_dot
    counts = {}
    for label, model in candidates(preset).items():
        ok = total = 0
        for case in cases:
            for m in range(16):
                for n in range(8):
                    total += 1
                    ok += integer_dot(model, case["a"][m], case["b"][n], case["c"][m][n])[0] == case["d"][m][n]
        counts[label] = f"{ok}/{total}"
    return counts


def main(path):
    sys.path.insert(0, ".")
    from refnum.dot.integer import INTEGER_PRESETS
    rng = random.Random(20261204)
    with open(path, "w") as out:
        for name, preset in INTEGER_PRESETS.items():
            if not name.startswith("imma_"):
                continue
            fa, fb = preset.operand_formats
            cases = [dict(preset=name, a=vectors(fa, preset.group, 16, rng), b=vectors(fb, preset.group, 8, rng),
                          c=addends(rng)) for _ in range(MMAS_PER_PRESET)]
            run(preset, cases)
            print(name, json.dumps(agreement(preset, cases)), flush=True)
            for case in cases:
                out.write(json.dumps(case, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main(sys.argv[1])
