"""``refnum block``: quantize, dequantize and explain shared-scale blocks from the command line.

::

    refnum block list                                 every scheme, one line each
    refnum block quantize SCHEME [opts] [FILE]        values (or --codes-of FORMAT codes) -> block lines
    refnum block dequantize SCHEME [FILE]             block lines -> exact values, one line a block
    refnum block explain SCHEME VALUE...              amax, the scale under every rule, each element
    refnum block gen [--out DIR]                      the block vector corpus (vectors/blocks)
    refnum block verify SCHEME [opts] FILE            check 'X1 ... Xn | block line' vectors

Input values are whitespace- or comma-separated; 1D schemes take them in reading
order, k per block (the last block may be shorter); 2D schemes (``tile``) read
one matrix row per line.  With stochastic rounding a value is written
``VALUE:R`` with its random integer R.  A block line is
``[T] SCALE E1 ... En : SF F1 ... Fn`` (upper-case hex codes; T the FP32
per-tensor scale of two-level schemes; SF and Fi the flags of the scale and of
each element), see spec/vectors-formats.md.
"""

from __future__ import annotations

import re

from ..context import Flag
from ..convert import decode, exact
from ..errors import RefnumError
from .quantize import Block, dequantize, quantize, quantize_tensor
from .scale import RULES_POW2, choose, max_value, tensor_scale_of
from .schemes import LOG2S, NONFINITE, RULES, SCALE_OVERFLOW, SCHEMES, scheme

_SEPARATORS = re.compile(r"[\s,]+")


def add_block_command(sub, semantics_options, output_option):
    """Register ``refnum block`` on the subparsers ``sub`` of the main parser."""
    import argparse

    block = sub.add_parser("block", help="shared-scale blocks: quantize, dequantize, explain (MX, NVFP4, BFP, "
                           "DFP, FP8 recipes)", description="quantize, dequantize, explain and write vectors of shared-scale blocks (MX, NVFP4, BFP,"
                           " DFP, FP8 recipes)", allow_abbrev=False,
                           formatter_class=argparse.RawDescriptionHelpFormatter, epilog=_EPILOG)
    block.set_defaults(command=_missing_action)
    actions = block.add_subparsers(title="actions", metavar="ACTION", parser_class=type(block))
    p = actions.add_parser("list", help="every block scheme, one line each", allow_abbrev=False)
    p.set_defaults(command=cmd_list)
    p = actions.add_parser("quantize", help="values -> block lines", allow_abbrev=False, epilog=_EPILOG,
                           parents=[semantics_options(), output_option(), _scheme_options()],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(command=cmd_quantize)
    p.add_argument("--codes-of", metavar="FORMAT", help="the input tokens are hex codes of FORMAT, not values")
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="values (default: standard input)")
    p = actions.add_parser("dequantize", help="block lines -> exact values", allow_abbrev=False, epilog=_EPILOG,
                           parents=[output_option(), _scheme_options()],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
    p.set_defaults(command=cmd_dequantize)
    p.add_argument("--hex", action="store_true", help="write C99 hex floats instead of exact decimals")
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="block lines (default: standard input)")
    p = actions.add_parser("gen", help="write the block vector corpus (manifest.json, SHA256SUMS)",
                           allow_abbrev=False)
    p.set_defaults(command=cmd_gen)
    p.add_argument("--out", default="vectors/blocks", metavar="DIR", help="output folder (default: vectors/blocks)")
    p.add_argument("--format", dest="kind", choices=("tv", "jsonl", "memh", "npz"), default="tv",
                   help="tv: 'X1 ... Xn | block line'; jsonl: one JSON object per block; memh: one"
                        " $readmemh word per block; npz: NumPy arrays (spec/vectors-formats.md)")
    p = actions.add_parser("verify", help="check block vector lines 'X1 ... Xn | block line'; last line"
                           " 'N passed, M failed'", allow_abbrev=False, parents=[_scheme_options()])
    p.set_defaults(command=cmd_verify)
    p.add_argument("file", metavar="FILE", help="vector lines ('-' for standard input)")
    p.add_argument("--errors", type=int, default=20, metavar="N", help="print at most N mismatches (default 20)")
    p = actions.add_parser("explain", help="amax, the scale under every rule, and each element's rounding",
                           allow_abbrev=False, parents=[semantics_options(), _scheme_options()])
    p.set_defaults(command=cmd_explain)
    p.add_argument("values", metavar="VALUE", nargs="+", help="the block's values (at most k)")


_EPILOG = """\
block line: [T] SCALE E1 ... En : SF F1 ... Fn   (hex; T only for two-level schemes
such as nvfp4; flags bit 0 inexact, 1 underflow, 2 overflow, 4 invalid, 5 saturated)

example:  printf '1.5 -0.3 100 7\\n' | refnum block quantize mxfp8_e4m3"""


def _scheme_options():
    import argparse

    p = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    p.add_argument("scheme", metavar="SCHEME", help="a block scheme ('refnum block list')")
    g = p.add_argument_group("scheme knobs (default: the scheme's)")
    g.add_argument("--scale-rule", choices=RULES, help="how the scale is chosen from amax")
    g.add_argument("-k", "--block-size", dest="k", type=int, metavar="K", help="elements per 1D block")
    g.add_argument("--log2", choices=LOG2S, help="floor/ceil of log2(amax): exact, or rounded to a float first")
    g.add_argument("--nonfinite", choices=NONFINITE, help="a NaN/Inf in a block: NaN scale, or per element")
    g.add_argument("--scale-overflow", choices=SCALE_OVERFLOW, help="an exponent above the scale format's range")
    g.add_argument("--headroom", type=int, metavar="N", help="added to the exponent of power-of-two rules")
    return p


def scheme_of(args):
    knobs = {"rule": args.scale_rule, "k": args.k, "log2": args.log2, "nonfinite": args.nonfinite,
             "scale_overflow": args.scale_overflow, "headroom": args.headroom}
    s = scheme(args.scheme)
    changes = {k: v for k, v in knobs.items() if v is not None}
    if "k" in changes and s.tile:
        raise RefnumError(f"-k: scheme {s.name} uses {s.tile[0]}x{s.tile[1]} tiles")
    return s.replace(**changes) if changes else s


def _missing_action(args):
    raise RefnumError("choose an action: list, quantize, dequantize, explain, gen, verify (try 'refnum block --help')")


def cmd_list(args):
    from .. import cli

    lines = []
    for s in SCHEMES.values():
        shape = f"{s.tile[0]}x{s.tile[1]}" if s.tile else f"k={s.k}"
        lines.append(f"{s.name:<18} {s.element:<13} scale {s.scale:<9} {shape:<9} rule {s.rule:<14} {s.spec}")
    cli._print_lines(lines)
    return cli.EXIT_OK


def cmd_quantize(args):
    from .. import cli

    s = scheme_of(args)
    ctx = cli.build_context(args)
    with cli._input(args.file) as f:               # a tensor scale or a tile needs every value first
        cells = [[_cell(tok, args.codes_of, ctx, where) for tok in _tokens(line)] for where, line in data_lines(f)]
    if not cells:
        raise RefnumError(cli._no_cases(args.file))
    with cli._output(args.output) as out:
        for b in quantize_cells(cells, s, ctx):
            out.write(block_line(b) + "\n")
    return cli.EXIT_OK


def data_lines(source):
    """``(number, line)`` of every line of ``source`` that holds data (not blank, not a
    ``#`` comment), read as it arrives in bounded pieces, as ``refnum run`` reads
    (:func:`refnum.vectors.lines.pieces`)."""
    from ..vectors.lines import pieces

    for first, text in pieces(source):
        for number, line in enumerate(text.splitlines(), first):
            if line.strip() and not line.lstrip().startswith("#"):
                yield number, line


def quantize_cells(cells, s, ctx):
    """The blocks of rows of (value, random integer) cells: 2D schemes cut the matrix into tiles,
    1D schemes read the values in order, k a block; a per-tensor scale covers every value."""
    rand = ctx.rounding.startswith("sr-")
    if s.tile:
        return quantize_tensor([[v for v, _ in row] for row in cells], s, ctx,
                               [[r for _, r in row] for row in cells] if rand else None)
    flat = [c for row in cells for c in row]
    tcode = None
    if s.tensor_scale:
        tcode = tensor_scale_of(s, max((abs(v.to_fraction()) for v, _ in flat if v.is_finite), default=0))[0]
    pieces = [flat[i:i + s.k] for i in range(0, len(flat), s.k)]
    return [quantize([v for v, _ in p], s, ctx, [r for _, r in p] if rand else None, tcode) for p in pieces]


def _tokens(line):
    return [t for t in _SEPARATORS.split(line.strip()) if t]


def _cell(token, src, ctx, where):
    """(exact value, random integer) of one input token ``VALUE[:R]``."""
    text, _, r = token.partition(":")
    stochastic = ctx.rounding.startswith("sr-")
    if stochastic != bool(r):
        raise RefnumError(f"line {where}: '{token}': " + ("write VALUE:R with a random integer R for stochastic"
                          " rounding" if stochastic else "':R' is only for stochastic rounding"))
    rand = None
    if r:
        try:
            rand = int(r, 0)
        except ValueError:
            raise RefnumError(f"line {where}: bad random integer '{r}'") from None
    if src is None:
        return exact(text), rand
    try:
        code = int(text, 16)
    except ValueError:
        raise RefnumError(f"line {where}: '{text}' is not a hex code of {src}") from None
    return decode(code, src), rand


def block_line(b):
    """``[T] SCALE E1 ... En : SF F1 ... Fn`` in upper-case hex."""
    s = b.scheme
    sd, ed = s.scale_format.hex_digits, s.element_format.hex_digits
    head = [f"{b.tensor_scale:08X}"] if b.tensor_scale is not None else []
    head += [f"{b.scale:0{sd}X}"] + [f"{c:0{ed}X}" for c in b.elements]
    flags = [f"{b.scale_flags:02X}"] + [f"{f:02X}" for f in b.flags]
    return " ".join(head) + " : " + " ".join(flags)


def parse_block_line(line, s, where=0):
    """The :class:`Block` of a block line (the flags part, after ':', is optional)."""
    codes, _, flags = line.partition(":")
    fields = codes.split()
    try:
        ints = [int(f, 16) for f in fields]
        flag_ints = [int(f, 16) for f in flags.split()]
    except ValueError:
        raise RefnumError(f"line {where}: expected hex codes, got '{line.strip()}'") from None
    tensor = ints.pop(0) if s.tensor_scale and ints else None
    if len(ints) < 2 or len(ints) - 1 > s.k:
        raise RefnumError(f"line {where}: a {s.name} block line holds a scale and 1 to {s.k} element codes")
    scale, elements = ints[0], tuple(ints[1:])
    s.scale_format.check_code(scale)
    for c in elements:
        s.element_format.check_code(c)
    if flag_ints and len(flag_ints) != len(elements) + 1:
        raise RefnumError(f"line {where}: {len(flag_ints)} flags for {len(elements)} elements (want one more)")
    flag_ints = flag_ints or [0] * (len(elements) + 1)
    return Block(s, scale, elements, tuple(flag_ints[1:]), flag_ints[0], tensor)


def cmd_dequantize(args):
    from .. import cli

    s = scheme_of(args)
    blocks = 0
    with cli._input(args.file) as f, cli._output(args.output) as out:
        for where, line in data_lines(f):
            values = dequantize(parse_block_line(line, s, where))
            out.write(" ".join(v.hex() if args.hex else str(v) for v in values) + "\n")
            blocks += 1
    if not blocks:
        raise RefnumError(cli._no_cases(args.file))
    return cli.EXIT_OK


def cmd_gen(args):
    return gen_suite(args.out, args.kind)


def gen_suite(out, kind="tv"):
    """``refnum block gen`` and ``refnum gen --suite blocks``: the block corpus into ``out``."""
    from . import corpus

    return write_corpus(corpus, out, kind, "block vectors", "blocks")


def write_corpus(corpus, out, kind, what, unit):
    """Write a corpus module's folder (``corpus.write``) into ``out`` as ``kind`` (one of
    ``corpus.KINDS``) and print its summary line: files and ``unit`` (what a case is)."""
    from .. import cli

    if kind not in corpus.KINDS:
        raise RefnumError(f"{what} are written as {', '.join(corpus.KINDS)}, not {kind}")
    manifest = corpus.write(out, kind)
    print(f"{manifest['total_files']} files, {sum(r['cases'] for r in manifest['files'])} {unit} in {out}")
    return cli.EXIT_OK


def cmd_verify(args):
    from .. import cli
    from .corpus import check_line

    s = scheme_of(args)
    passed = failed = 0
    with cli._input(args.file) as f:
        for where, line in data_lines(f):
            problem = check_line(s, line, where)
            if problem is None:
                passed += 1
                continue
            failed += 1
            if failed <= args.errors:
                print(problem, flush=True)
    if not passed + failed:
        raise RefnumError(cli._no_cases(args.file))
    print(f"{passed} passed, {failed} failed")
    return cli.EXIT_MISMATCH if failed else cli.EXIT_OK


def cmd_explain(args):
    from .. import cli

    s = scheme_of(args)
    ctx = cli.build_context(args)
    cli._print_lines(explain_lines(s, [exact(v) for v in args.values], ctx))
    return cli.EXIT_OK


def explain_lines(s, vals, ctx):
    """What ``refnum block explain`` prints: amax, every rule's scale, then each element."""
    finite = [abs(v.to_fraction()) for v in vals if v.is_finite]
    amax = max(finite, default=0)
    lines = [f"scheme   {s.name}: {s.element} elements, {s.scale} scale, rule {s.rule}, k={s.k}",
             f"amax     {exact(amax)}   (largest element value {exact(max_value(s.element_format))})"]
    if amax and not s.tensor_scale:
        for rule in RULES_POW2 + (() if s.scale != "binary32" else ("amax", "te_current")):
            for log2 in (("exact", "binary32", "binary64") if rule in ("floor", "ceil", "rceil") else ("exact",)):
                c = choose(s.replace(rule=rule, log2=log2), amax, None)
                label = rule if log2 == "exact" else f"{rule} (log2 in {log2})"
                value = decode(c.code, s.scale_format) if not s.exponent_scale else exact(c.divisor)
                lines.append(f"scale    {label:<26} 0x{c.code:0{s.scale_format.hex_digits}X} = {value}"
                             + (f"   flags {Flag.letters(c.flags)}" if c.flags else ""))
    b = quantize(vals, s, ctx, [0] * len(vals) if ctx.rounding.startswith("sr-") else None)
    lines.append(f"chosen   {block_line(b)}")
    for i, (v, code, flags, back) in enumerate(zip(vals, b.elements, b.flags, dequantize(b))):
        lines.append(f"element {i:>2}  {str(v):>14} -> 0x{code:0{s.element_format.hex_digits}X}"
                     f" = {decode(code, s.element_format)} x scale = {back}   flags {Flag.letters(flags)}")
    return lines
