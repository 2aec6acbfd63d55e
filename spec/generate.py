"""Regenerate the generated blocks of the ``spec/`` chapters from refnum itself.

Value tables, parameter tables, the profile table and the flag byte are never typed
by hand: each lives between an opening marker comment and its closing partner, and
this script rewrites what lies between them.

=================================================  ==========================================
marker                                             block
=================================================  ==========================================
``<!-- table:FORMAT -->`` ... ``<!-- /table -->``    every code of FORMAT with its exact value
                                                   (``refnum.describe.markdown_table``)
``<!-- params:F1,F2 -->`` ... ``<!-- /params -->``   one row of parameters per format
``<!-- profiles -->`` ... ``<!-- /profiles -->``     every Context knob under every profile
``<!-- flags -->`` ... ``<!-- /flags -->``           the flag byte (``refnum.Flag``)
``<!-- specials:OP,FORMAT[,PROFILE] -->``          OP on the special operands of FORMAT: a square
``... <!-- /specials -->``                         table for a two-operand OP; for one-operand
                                                   operations (``sqrt+neg``) one row each
``<!-- pairs:SET,FORMAT[,PROFILE] -->``            the operations of a named set (``PAIR_SETS``)
``... <!-- /pairs -->``                            on its operand pairs
``<!-- nan-rules:FORMAT -->``                      the NaN cases of ``NAN_CASES`` under the
``... <!-- /nan-rules -->``                        profiles of ``NAN_COLUMNS``, side by side
``<!-- profile-diff:A,B -->``                      every code of ``HARDWARE_CONVERSIONS`` where
``... <!-- /profile-diff -->``                     profiles A and B give different results, by class
=================================================  ==========================================

Usage::

    python spec/generate.py            # rewrite every chapter in place
    python spec/generate.py --check    # exit 1 and name the stale chapters

The output depends only on the catalogue, the profiles and the code: running it
twice gives the same bytes (``tests/test_spec.py`` checks that every chapter is
current).
"""

from __future__ import annotations

import dataclasses
import pathlib
import re
import sys

from refnum import PROFILES, Context, Flag, arith, decode, from_value, lookup
from refnum.catalog import aliases_of
from refnum.convert import converter
from refnum.describe import markdown_table
from refnum.formats import FloatFormat

SPEC_DIR = pathlib.Path(__file__).resolve().parent

KINDS = "table|params|profiles|flags|specials|pairs|nan-rules|profile-diff|dot-presets"
BLOCK = re.compile(rf"<!-- ({KINDS})(?::([^ ]*))? -->\n(.*?)<!-- /\1 -->", re.S)
OPENING = re.compile(rf"<!-- ({KINDS})(?::[^ ]*)? -->")

# What a profile changes is shown in bold; the knob's meaning is one line of prose.
KNOB_MEANING = {
    "rounding": "rounding direction ([rounding.md](rounding.md))",
    "saturation": "overflow policy; `None` = the target format's catalogue default ([overflow.md](overflow.md))",
    "tininess": "when a tiny result is detected ([tininess.md](tininess.md))",
    "ftz": "flush tiny results to zero ([tininess.md](tininess.md#ftz-flush-tiny-results-to-zero))",
    "daz": "read subnormal operands as zero ([tininess.md](tininess.md#daz-read-subnormal-operands-as-zero))",
    "nan": "how a NaN result is encoded ([below](#nan-encodings))",
    "nan_sign": "sign bit of a NaN that refnum creates",
    "nan_missing": "NaN into a format without NaN ([overflow.md](overflow.md#nan-into-formats-without-nan))",
    "zero_missing": "zero into a format without zero (E8M0)",
    "lowest_binade": "rounding in the lowest binade of a precision-1 format without zero (E8M0)",
    "p1_parity": "which neighbour is even for precision-1 formats ([rounding.md](rounding.md#precision-1-formats))",
    "invalid_int": "integer result of an invalid float-to-integer conversion ([encodings-generic.md](encodings-generic.md#integers))",
    "exact": "float-to-integer conversions and roundToInt raise inexact (TestFloat `-exact`)",
    "sr_bits": "random bits N of a stochastic rounding",
    "nan_priority": "which NaN operand is propagated when payloads are kept ([arithmetic.md](arithmetic.md#nan-operands))",
    "inf_zero_nan": "whether fma(Inf, 0, qNaN) signals invalid ([arithmetic.md](arithmetic.md#fused-multiply-add))",
    "fma_nan_order": "fma's NaN operands: the factors' first or the addend's (Arm) ([arithmetic.md](arithmetic.md#fused-multiply-add))",
    "div_by_zero": "x / 0: signed infinity (IEEE) or NaN (P3109) ([arithmetic.md](arithmetic.md#division))",
    "rto_overflow": "round to odd on overflow (saturation none): largest finite (SoftFloat) or Inf (Arm BF16)",
    "nan_fill": "trailing field of a NaN without payload: the quiet bit or all ones ([below](#nan-encodings))",
    "overflow_nan": "sign of the NaN an overflow gives (E4M3 non-saturating): as `nan` says, or the value's ([overflow.md](overflow.md))",
    "unsigned_negative": "negative value into an unsigned format; `None` = by the overflow policy ([overflow.md](overflow.md#negative-values-into-unsigned-formats))",
}

FLAG_LETTER = {"INEXACT": "x", "UNDERFLOW": "u", "OVERFLOW": "o", "DIVBYZERO": "i", "INVALID": "v"}
FLAG_SOURCE = {"INEXACT": "IEEE 754-2019 §7.6", "UNDERFLOW": "IEEE 754-2019 §7.5",
               "OVERFLOW": "IEEE 754-2019 §7.4", "DIVBYZERO": "IEEE 754-2019 §7.3",
               "INVALID": "IEEE 754-2019 §7.2", "SATURATED": "refnum only (never in TestFloat lines)"}


# -- rendering one block ------------------------------------------------------------

def magnitude(s, q):
    """A short exact spelling of ``s * 2**q`` (s > 0): a decimal when it is short, else powers of two."""
    if 0 <= q and s.bit_length() + q <= 40:
        return str(s << q)
    if -24 <= q < 0 and s & (s - 1):
        text = _decimal(s, q)
        if len(text) <= 12:
            return text
    shift = (s & -s).bit_length() - 1
    s, q = s >> shift, q + shift
    if s == 1:
        return f"2^{q}"
    top = s.bit_length() - 1
    if s == (1 << (top + 1)) - 1:               # all ones: (2 - 2^-top) * 2^e
        return f"(2 - 2^-{top}) * 2^{q + top}"
    return f"{s} * 2^{q}"


def _decimal(s, q):
    digits = str(s * 5 ** -q).rjust(-q + 1, "0")
    return (digits[:q] + "." + digits[q:]).rstrip("0").rstrip(".")


def float_params_row(fmt):
    hexw = fmt.hex_digits
    layout = f"{int(fmt.signed)}/{fmt.w}/{fmt.m}"
    max_finite = magnitude(fmt.smax, fmt.qmax)
    min_normal = magnitude(1, fmt.emin)
    has_subnormals = fmt.zero and fmt.subnormals and fmt.m > 0
    min_sub = magnitude(1, fmt.emin - fmt.m) if has_subnormals else "-"
    inf = (f"0x{fmt.inf_code:0{hexw}X}" + (f", 0x{fmt.inf_code | fmt.sign_bit:0{hexw}X}" if fmt.signed else "")
           if fmt.has_inf else "none")
    if fmt.nan == "ieee":
        nan = f"E all ones, T != 0 (canonical 0x{fmt.canonical_nan:0{hexw}X})"
    elif fmt.nan == "top":
        nan = f"0x{fmt.canonical_nan:0{hexw}X}" + (f", 0x{fmt.canonical_nan | fmt.sign_bit:0{hexw}X}"
                                                     if fmt.signed else "")
    elif fmt.nan == "negzero":
        nan = f"0x{fmt.canonical_nan:0{hexw}X} only"
    else:
        nan = "none"
    zero = "none" if not fmt.zero else ("+0, -0" if fmt.negzero else "+0 only")
    cells = [f"`{fmt.name}`", " ".join(f"`{a}`" for a in aliases_of(fmt.name)) or "-", str(fmt.k), layout,
             str(fmt.bias), max_finite, min_normal, min_sub, zero, inf, nan, fmt.saturation]
    return "| " + " | ".join(cells) + " |"


def fixed_params_row(fmt):
    lo, hi = fmt.decode(fmt.code_of(fmt.lo)), fmt.decode(fmt.code_of(fmt.hi))
    step = magnitude(1, -fmt.frac)
    cells = [f"`{fmt.name}`", " ".join(f"`{a}`" for a in aliases_of(fmt.name)) or "-", str(fmt.width),
             "yes" if fmt.signed else "no", str(fmt.frac), step, f"{lo} .. {hi}"]
    return "| " + " | ".join(cells) + " |"


def render_params(names):
    formats = [lookup(n) for n in names.split(",")]
    if all(isinstance(f, FloatFormat) for f in formats):
        head = ["| format | aliases | bits | S/E/M | bias | max finite | min normal | min subnormal | zeros "
                "| Inf | NaN | default saturation |", "|---" * 12 + "|"]
        rows = [float_params_row(f) for f in formats]
    elif all(f.kind == "fixed" for f in formats):
        head = ["| format | aliases | bits | signed | fraction bits | step | range |", "|---" * 7 + "|"]
        rows = [fixed_params_row(f) for f in formats]
    else:
        raise ValueError(f"params block mixes kinds: {names}")
    return "\n".join(head + rows) + "\n"


def render_profiles():
    names = list(PROFILES)
    default = Context()
    knobs = [f.name for f in dataclasses.fields(Context) if f.name != "name"]
    lines = ["| knob | " + " | ".join(f"`{n}`" for n in names) + " | meaning |",
             "|---" * (len(names) + 2) + "|"]
    for knob in knobs:
        cells = []
        for name in names:
            value = getattr(Context.profile(name), knob)
            text = f"`{value}`"
            cells.append(f"**{text}**" if value != getattr(default, knob) else text)
        lines.append(f"| `{knob}` | " + " | ".join(cells) + f" | {KNOB_MEANING.get(knob, '')} |")
    return "\n".join(lines) + "\n"


def render_flags():
    lines = ["| bit | mask | flag | TestFloat letter | defined by |", "|---|---|---|---|---|"]
    for flag in Flag:
        bit = int(flag).bit_length() - 1
        lines.append(f"| {bit} | `0x{int(flag):02X}` | {flag.name} | {FLAG_LETTER.get(flag.name, '-')} "
                     f"| {FLAG_SOURCE.get(flag.name, 'refnum')} |")
    return "\n".join(lines) + "\n"


# -- arithmetic (arithmetic.md): every cell is computed by refnum.arith ------------------

SPECIAL_OPERANDS = ("-Inf", "-1", "-0", "+0", "+1", "+Inf", "qNaN", "sNaN")
CELL_FLAGS = ((Flag.INVALID, "v"), (Flag.DIVBYZERO, "i"), (Flag.OVERFLOW, "o"), (Flag.UNDERFLOW, "u"),
              (Flag.INEXACT, "x"), (Flag.SATURATED, "s"))


def operand_codes(fmt):
    """{symbol: code} of the operands a format has: the special values of SPECIAL_OPERANDS, and the
    NaNs of the NaN tables: qA, qB (quiet, payloads A and B, B negative) and sA, sB (signalling)."""
    codes = {"+0": 0, "+1": from_value("1", fmt)[0]}
    if fmt.signed:
        codes["-1"] = from_value("-1", fmt)[0]
        if fmt.negzero:
            codes["-0"] = fmt.sign_bit
    if fmt.has_inf:
        codes["+Inf"] = fmt.inf_code
        if fmt.signed:
            codes["-Inf"] = fmt.inf_code | fmt.sign_bit
    if fmt.has_nan:
        codes["qNaN"] = codes["qA"] = fmt.canonical_nan
        if fmt.nan == "top" and fmt.signed:
            codes["qB"] = fmt.canonical_nan | fmt.sign_bit
    if fmt.nan == "ieee":
        quiet = 1 << (fmt.m - 1)
        codes["sNaN"] = fmt.inf_code | quiet >> 1
        a, b = (0xA, 0xB) if quiet > 0xB else (0, 0)        # payloads where the field has room
        codes.update(qA=fmt.inf_code | quiet | a, qB=fmt.sign_bit | fmt.inf_code | quiet | b,
                     sA=fmt.inf_code | (a or quiet >> 1), sB=fmt.sign_bit | fmt.inf_code | (b or quiet >> 1))
    return codes


def flag_letters(flags):
    """The raised flags as letters: v i o u x (TestFloat's), s for refnum's saturated."""
    return "".join(letter for flag, letter in CELL_FLAGS if flags & flag)


def result_cell(op, code, flags, out):
    text = str(code) if op.boolean else str(decode(code, out))
    return f"{text} ({flag_letters(flags)})" if flags else text


def _arith_arguments(arg):
    """NAME,FORMAT[,PROFILE] -> (NAME, format, context): the default context unless a profile is named."""
    name, fmt, *profile = arg.split(",")
    return name, lookup(fmt), Context.profile(*profile) if profile else Context()


def _hex(code, fmt):
    return f"{code:0{fmt.hex_digits}X}"


def render_specials(arg):
    """A two-operand operation as a square table (x down, y across), or one-operand operations
    one row each, on the special operands of the format."""
    names, fmt, ctx = _arith_arguments(arg)
    codes = operand_codes(fmt)
    ops = [arith.operation(n) for n in names.split("+")]
    symbols = [s for s in SPECIAL_OPERANDS if s in codes]
    heads = [f"{s} `{_hex(codes[s], fmt)}`" for s in symbols]
    if ops[0].arity == 2:
        (op,) = ops
        lines = ["| x \\ y | " + " | ".join(heads) + " |", "|---" * (len(symbols) + 1) + "|"]
        for x in symbols:
            cells = [result_cell(op, *arith.compute(op.name, (codes[x], codes[y]), fmt, ctx), fmt)
                     for y in symbols]
            lines.append(f"| **{x}** | " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"
    lines = ["| operation | " + " | ".join(heads) + " |", "|---" * (len(symbols) + 1) + "|"]
    for op in ops:
        cells = [result_cell(op, *arith.compute(op.name, (codes[x],), fmt, ctx), fmt) for x in symbols]
        lines.append(f"| `{op.name}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


PAIR_SETS = {
    "minmax": (("minimum", "maximum", "minimumNumber", "maximumNumber", "minNum", "maxNum"),
               (("-0", "+0"), ("+0", "-0"), ("+1", "-Inf"), ("qNaN", "+1"), ("+1", "qNaN"),
                ("sNaN", "+1"), ("+1", "sNaN"), ("qNaN", "sNaN"))),
    "compare": (("eq", "lt", "le", "eq_signaling", "lt_quiet", "le_quiet", "totalOrder"),
                (("+1", "+1"), ("-0", "+0"), ("+0", "-0"), ("-Inf", "+1"), ("+1", "qNaN"),
                 ("qNaN", "+1"), ("sNaN", "+1"), ("qNaN", "-Inf"), ("-Inf", "qNaN"), ("sNaN", "qNaN"),
                 ("qNaN", "sNaN"))),
}


def render_pairs(arg):
    """The operations of a PAIR_SETS entry on its operand pairs, one row per pair."""
    name, fmt, ctx = _arith_arguments(arg)
    names, pairs = PAIR_SETS[name]
    codes = operand_codes(fmt)
    lines = ["| x | y | " + " | ".join(f"`{n}`" for n in names) + " |", "|---" * (len(names) + 2) + "|"]
    for x, y in pairs:
        if x not in codes or y not in codes:
            continue
        cells = [result_cell(arith.operation(n), *arith.compute(n, (codes[x], codes[y]), fmt, ctx), fmt)
                 for n in names]
        lines.append(f"| {x} `{_hex(codes[x], fmt)}` | {y} `{_hex(codes[y], fmt)}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# One row per case: how it is written, the operation and its operands (symbols of operand_codes).
NAN_CASES = (
    ("qA + 1", "add", ("qA", "+1")),
    ("1 + qB", "add", ("+1", "qB")),
    ("qA + qB", "add", ("qA", "qB")),
    ("qB + qA", "add", ("qB", "qA")),
    ("sA + 1", "add", ("sA", "+1")),
    ("qA + sB", "add", ("qA", "sB")),
    ("sA + qB", "add", ("sA", "qB")),
    ("Inf − Inf", "sub", ("+Inf", "+Inf")),
    ("0 × Inf", "mul", ("+0", "+Inf")),
    ("0 / 0", "div", ("+0", "+0")),
    ("1 / 0", "div", ("+1", "+0")),
    ("sqrt(−1)", "sqrt", ("-1",)),
    ("fma(Inf, 0, qB)", "mulAdd", ("+Inf", "+0", "qB")),
    ("fma(qA, 1, sB)", "mulAdd", ("qA", "+1", "sB")),
    ("fma(sA, 1, qB)", "mulAdd", ("sA", "+1", "qB")),
    ("fma(sA, 1, sB)", "mulAdd", ("sA", "+1", "sB")),
    ("neg(sA)", "neg", ("sA",)),
    ("neg(qB)", "neg", ("qB",)),
)

# The profiles compared, and one knob variant: SoftFloat's ARM-VFPv2 specialization (Arm with
# default-NaN mode off, FPCR.DN = 0): payloads kept, signalling NaNs first.
NAN_COLUMNS = (
    ("`riscv`", Context.profile("riscv")),
    ("`x86`", Context.profile("x86")),
    ("`softfloat_8086_sse`", Context.profile("softfloat_8086_sse")),
    ("`arm`", Context.profile("arm")),
    ("`ml_dtypes`", Context.profile("ml_dtypes")),
    ("`p3109`", Context.profile("p3109")),
    ("`arm`, `nan=payload`, `nan_priority=signaling`",
     Context.profile("arm", nan="payload", nan_priority="signaling")),
)


def render_nan_rules(arg):
    """NAN_CASES in one format under every context of NAN_COLUMNS: result code and flags in hex."""
    fmt = lookup(arg)
    codes = operand_codes(fmt)
    lines = ["| case | operands | " + " | ".join(head for head, _ in NAN_COLUMNS) + " |",
             "|---" * (len(NAN_COLUMNS) + 2) + "|"]
    for label, name, symbols in NAN_CASES:
        if not all(s in codes for s in symbols):
            continue
        operands = [codes[s] for s in symbols]
        cells = ["`%s %02X`" % (_hex(c, fmt), f) for c, f in
                 (arith.compute(name, operands, fmt, ctx) for _, ctx in NAN_COLUMNS)]
        lines.append(f"| {label} | `{' '.join(_hex(c, fmt) for c in operands)}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


# The conversions of NVIDIA's CUDA 13 intrinsics that an H200 was measured on (hardware-profiles.md):
# (source, target, rounding, saturation); None is the profile's own (decoding is exact).
HARDWARE_CONVERSIONS = (
    [(src, dst, "rne", sat) for src in ("f16", "bf16") for dst in ("e4m3", "e5m2") for sat in ("finite", "none")]
    + [("bf16", "e8m0", rounding, sat) for rounding in ("rtz", "rup") for sat in ("finite", "none")]
    + [(src, "f16", None, None) for src in ("e4m3", "e5m2", "e2m3", "e3m2", "e2m1")] + [("e8m0", "bf16", None, None)])


def _input_class(fmt, code):
    v = decode(code, fmt)
    if v.is_nan:
        return "NaN"
    if v.is_zero:
        return "±0"
    sign = "−" if v.sign else "+"
    return sign + "∞" if v.kind == "inf" else f"x {'<' if v.sign else '>'} 0"


def _results_cell(results, fmt, magnitudes):
    """One code, or "|x|'s code" (pipes escaped for the table) when every result is the magnitude's."""
    if len(set(results)) == 1:
        return f"`{_hex(results[0], fmt)}`"
    return "\\|x\\|'s code" if results == magnitudes else "various"


def render_profile_diff(arg):
    a, b = arg.split(",")
    lines = [f"| conversion | rounding, saturation | inputs | codes | `{a}` | `{b}` | example |",
             "|---|---|---|---|---|---|---|"]
    for src, dst, rounding, sat in HARDWARE_CONVERSIONS:
        s, d = lookup(src), lookup(dst)
        changes = {k: v for k, v in (("rounding", rounding), ("saturation", sat)) if v}
        fa, fb = (converter(s, d, Context.profile(p, **changes)) for p in (a, b))
        groups = {}
        for code in range(s.ncodes):
            ra, rb = fa(code)[0], fb(code)[0]
            if ra != rb:
                groups.setdefault(_input_class(s, code), []).append(code)
        for label, codes in groups.items():
            cells = [_results_cell([f(c)[0] for c in codes], d, [f(c & ~s.sign_bit)[0] for c in codes])
                     for f in (fa, fb)]
            x = codes[0]
            lines.append(f"| `{src}_to_{dst}` | {rounding or 'exact'}, {sat or 'profile'} | {label} | {len(codes)} | "
                         + " | ".join(cells) + f" | `{_hex(x, s)}` → `{_hex(fa(x)[0], d)}` / `{_hex(fb(x)[0], d)}` |")
    return "\n".join(lines) + "\n"


def render_dot_presets():
    """The hardware dot-product presets of refnum.dot.presets: model, operands, profile, evidence."""
    from refnum.dot.presets import PRESETS, model_summary

    lines = ["| preset | a, b, C | model | profile | evidence |", "|---|---|---|---|---|"]
    for p in PRESETS.values():
        lines.append(f"| `{p.name}` | {', '.join(p.operands)} | `{model_summary(p.model)}` | {p.profile}"
                     f" | {p.evidence} |")
    return "\n".join(lines) + "\n"


def render(kind, arg):
    """The body of one generated block."""
    renderers = {"table": lambda a: markdown_table(lookup(a)), "params": render_params,
                 "profiles": lambda a: render_profiles(), "flags": lambda a: render_flags(),
                 "specials": render_specials, "pairs": render_pairs, "nan-rules": render_nan_rules,
                 "profile-diff": render_profile_diff, "dot-presets": lambda a: render_dot_presets()}
    return renderers[kind](arg)


# -- rewriting a chapter --------------------------------------------------------------

def blocks(text):
    """(kind, argument) of every generated block in a chapter, in order."""
    found = [(m[1], m[2]) for m in BLOCK.finditer(text)]
    if len(found) != len(OPENING.findall(text)):
        raise ValueError("an opening marker has no closing partner")
    return found


def regenerate(text):
    """The chapter with every generated block rewritten.

    >>> regenerate("a\\n<!-- table:e2m1 -->\\nstale\\n<!-- /table -->\\nb").splitlines()[4]
    '| 0 | `0.00.0` | zero | 0 |'
    """
    blocks(text)
    return BLOCK.sub(lambda m: m[0][:m.start(3) - m.start()] + render(m[1], m[2]) + f"<!-- /{m[1]} -->", text)


def chapters():
    return sorted(SPEC_DIR.glob("*.md"))


def main(argv):
    check = "--check" in argv
    stale = []
    for path in chapters():
        text = path.read_text(encoding="utf-8")
        new = regenerate(text)
        if new != text:
            stale.append(path.name)
            if not check:
                path.write_text(new, encoding="utf-8")
    if check and stale:
        print("stale generated blocks in: " + ", ".join(stale) + " (run python spec/generate.py)")
        return 1
    print(("rewrote " if stale else "up to date: ") + ", ".join(stale or [p.name for p in chapters()]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
