"""``refnum dot MODEL|PRESET --explain``: one dot product, step by step.

For a fused block: each product exactly, its alignment exponent, the block's largest
exponent E and grid ``2**(E-F)``, what each term keeps and what truncation drops, the
exact truncated sum and the one rounding.  For the other models: each rounding step.
Values are printed exactly, in C99 hexadecimal (``0x1.8p-3``).
"""

from __future__ import annotations

from ..convert import decode
from ..values import Value
from .models import Exact, Fused, Gemm, Sequential, Tree, _blocks, _decoded, result_format
from ..catalog import lookup


def explain(model, pb, ctx):
    """Lines describing how ``model`` computes the dot product ``pb``."""
    if isinstance(model, Gemm):
        return _gemm(model, pb, ctx)
    if isinstance(model, Fused):
        return _fused(model, pb, ctx)
    code, flags = model.dot(pb, ctx)
    out = lookup(result_format(model))
    kind = {Exact: "the exact sum rounded once", Sequential: "a chain of roundings, one per step",
            Tree: "a tree of rounded products and sums"}.get(type(model), type(model).__name__)
    pairs, c = _decoded(pb, ctx)
    lines = [f"{type(model).__name__}: {kind}"]
    lines += [f"  p{k} = {x.hex()} * {y.hex()}" for k, (x, y) in enumerate(pairs)]
    lines.append(f"  C = {c.hex()}")
    lines.append(_result(code, flags, out))
    return lines


def _fused(model, pb, ctx):
    out = lookup(model.out)
    lines = [f"Fused(L={model.L}, F={model.F}): {len(_blocks(len(pb.a), model.L))} block(s), "
             f"rounding {model.rounding} into {model.intermediate or out.name}"]
    c, fc = pb.c, pb.fc
    for number, (start, stop) in enumerate(_blocks(len(pb.a), model.L)):
        block = pb.slice(start, stop, c, fc)
        pairs, cv = _decoded(block, ctx)
        lines.append(f"block {number}: products {start}..{stop - 1}, addend {cv.hex()}")
        terms = model.aligned_terms(pairs, cv, block)
        n, e, lost = model.truncated_sum(terms, model._has_zero(pairs, cv))
        if terms:
            lines.append(f"  E = {e + model.F}, grid 2^{e} (F = {model.F} fraction bits below 2^E)")
        names = [f"p{start + k}" for k, (x, y) in enumerate(pairs) if x.num and y.num] + (["C"] if cv.num else [])
        for name, (num, exp, align) in zip(names, terms):
            exact = Value.finite(int(num < 0), abs(num), exp)
            kept, dropped = _split(num, exp, e)
            lines.append(f"  {name:>4} = {exact.hex():<22} aligned at 2^{align}: keeps {kept.hex()}"
                         + (f", drops {dropped.hex()}" if dropped.num else ""))
        lines.append(f"  truncated sum = {Value.finite(int(n < 0), abs(n), e).hex()}"
                     + (" (bits were dropped: inexact)" if lost else ""))
        c, flags = model.block(block, out, ctx)
        fc = out
        lines.append(_result(c, flags, out))
    return lines


def _split(num, exp, lsb):
    """The part of ``num * 2**exp`` a truncation at ``2**lsb`` keeps, and the part it drops."""
    mag = abs(num)
    kept = mag >> (lsb - exp) << (lsb - exp) if lsb > exp else mag
    sign = int(num < 0)
    return Value.finite(sign, kept, exp), Value.finite(sign, mag - kept, exp)


def _gemm(model, pb, ctx):
    if model.promote_every is None:
        lines = explain(model.inner, pb, ctx)
    else:
        lines = [f"Gemm: the inner model restarted from +0 every {model.promote_every} products, each part"
                 f" added into {model.accumulator} ({model.promote_rounding})"]
        inner_out = lookup(result_format(model.inner))
        for start, stop in _blocks(len(pb.a), model.promote_every):
            lines.append(f"part {start}..{stop - 1}:")
            lines += ["  " + line for line in explain(model.inner, pb.slice(start, stop, 0, inner_out), ctx)]
    code, flags = model.dot(pb, ctx)
    return lines + ([f"epilogue into {model.out} (rne):"] if model.out else []) + [
        _result(code, flags, lookup(model.result_format))]


def _result(code, flags, fmt):
    from ..context import Flag

    value = decode(code, fmt)
    return f"  -> {fmt.name} {code:0{fmt.hex_digits}X} = {value.hex()}  flags {Flag.letters(flags)}"
