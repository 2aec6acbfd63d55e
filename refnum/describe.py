"""Human-readable views of formats and codes: info, value tables, explain.

Shared by the command line (``refnum info/table/explain``) and the generated
tables of ``spec/``.
"""

from __future__ import annotations

from .catalog import aliases_of
from .formats import FloatFormat


def bits_string(fmt, code):
    """The code's bits grouped as sign.exponent.trailing (or plain for fixed point)."""
    raw = format(code, f"0{fmt.k}b")
    if not isinstance(fmt, FloatFormat):
        return raw
    s = 1 if fmt.signed else 0
    parts = [raw[:s], raw[s:s + fmt.w], raw[s + fmt.w:]]
    return ".".join(p for p in parts if p)


def classify(fmt, code):
    """IEEE 754 §5.7.2 class of a code: nan, inf, zero, subnormal, normal (fixed: integer)."""
    if not isinstance(fmt, FloatFormat):
        return "fixed"
    v = fmt.decode(code)
    if v.is_nan:
        return "snan" if v.signaling else "nan"
    if v.is_inf:
        return "inf"
    if v.num == 0:
        return "zero"
    return "subnormal" if fmt.is_subnormal_code(code) else "normal"


def value_rows(fmt):
    """(hex code, bits, class, exact value) for every code of a format of at most 16 bits."""
    if fmt.k > 16:
        raise ValueError(f"{fmt.name} has 2**{fmt.k} codes; tables stop at 16 bits")
    width = fmt.hex_digits
    return [(f"{c:0{width}X}", bits_string(fmt, c), classify(fmt, c), str(fmt.decode(c)))
            for c in range(fmt.ncodes)]


def markdown_table(fmt):
    lines = ["| code | bits | class | value |", "|---|---|---|---|"]
    lines += [f"| {h} | `{b}` | {k} | {v} |" for h, b, k, v in value_rows(fmt)]
    return "\n".join(lines) + "\n"


def info_lines(fmt):
    """Parameters, special codes and range of a format, one ``key: value`` per line."""
    lines = [f"name: {fmt.name}", f"aliases: {' '.join(aliases_of(fmt.name)) or '-'}",
             f"spec: {fmt.spec}", f"bits: {fmt.k}"]
    if isinstance(fmt, FloatFormat):
        hexw = fmt.hex_digits
        lines += [f"sign bit: {'yes' if fmt.signed else 'no'}", f"exponent bits: {fmt.w}",
                  f"trailing significand bits: {fmt.m} (precision {fmt.p})", f"bias: {fmt.bias}",
                  f"emin: {fmt.emin}", f"subnormals: {'yes' if fmt.subnormals and fmt.m and fmt.zero else 'no'}",
                  f"negative zero: {'yes' if fmt.negzero else 'no'}",
                  f"infinity: {f'0x{fmt.inf_code:0{hexw}X}' if fmt.has_inf else 'none'} ({fmt.inf or 'no Inf'})",
                  f"NaN: {f'0x{fmt.canonical_nan:0{hexw}X}' if fmt.has_nan else 'none'} ({fmt.nan or 'no NaN'})",
                  f"max finite: {fmt.decode(fmt.max_code())} (0x{fmt.max_code():0{hexw}X})",
                  f"min normal: 2**{fmt.emin}",
                  f"default saturation: {fmt.saturation}"]
    else:
        lines += [f"signed: {'yes' if fmt.signed else 'no'}", f"fraction bits: {fmt.frac}",
                  f"range: {fmt.decode(fmt.code_of(fmt.lo))} .. {fmt.decode(fmt.code_of(fmt.hi))}"]
    return lines
