"""The ``refnum`` command line (users of TestFloat should feel at home).

::

    refnum formats                         every catalog format, one line each
    refnum info FORMAT                     parameters, special codes, range
    refnum table FORMAT [--markdown]       every code with its exact value (formats <= 16 bits)
    refnum explain FORMAT CODE|VALUE       bit fields, exact value, neighbours, how a value rounds
    refnum run FUNCTION [opts] [FILE]      read operand lines, write complete vector lines
    refnum gen FUNCTION [opts]             generate cases, write complete vector lines
    refnum verify FUNCTION [opts] FILE     check vector lines; last line "N passed, M failed"
    refnum suite [--out DIR] [--seed N]    write the conformance corpus (gen --suite corpus)
    refnum manifest check|join DIR         re-hash a vector folder (exit 3 on a mismatch); join shards
    refnum crosscheck BACKEND [--quick]    run refnum's cases through ml_dtypes, numpy, gfloat, torch
                                           or softfloatpy; report agreement, known differences applied
    refnum block quantize|dequantize|explain|list SCHEME ...   shared-scale blocks (refnum.blocks.cli)
    refnum dot MODEL|PRESET [opts] [FILE]  dot products of a hardware preset or a model (refnum.dot.cli)
    refnum study NAME|--list [--plot]      the seed-paper studies (refnum.studies.cli)
    refnum plot FORMAT [-o FILE]           teaching views of a format (the plot extra)

FUNCTION is a TestFloat name, ``<src>_to_<dst>`` or ``<fmt>_<op>``, with any
catalog name, alias or family name (``f32_to_f16``, ``f16_to_i32``, ``e4m3_to_bf16``,
``f16_add``, ``f32_mulAdd``, ``f16_lt_quiet``, ``p3109_k8p4se_mul``); an operation
may name a result format, ``<fmt>_<op>_to_<result>`` (``e4m3_mul_to_f32``), and
``--operand-formats A,B[,C]`` gives operands formats of their own (``bf16_mulAdd_to_f32
--operand-formats bf16,bf16,f32``); see :mod:`refnum.vectors.functions` and
:mod:`refnum.arith`.  Vector lines
are TestFloat's (:mod:`refnum.vectors.lines`): upper-case fixed-width hex
operands, result and two hex digits of IEEE flags, one space apart.

Semantics options: ``--profile NAME`` is applied first and every explicit option
then overrides it (``Context.profile(name).replace(...)``).  Rounding is
``--rounding MODE`` (rne rna rtz rup rdn rto sr-a sr-b sr-c, or TestFloat's
near_even near_maxMag minMag max min odd), also written TestFloat's way as
``-rnear_even``, ``-rminMag``, ``-rodd``.  ``-exact``/``-notexact`` and
``-tininessbefore``/``-tininessafter`` are accepted with a single dash too.

Stochastic rounding (sr-a, sr-b, sr-c) needs ``--sr-bits N``; the random integer R
is then one more operand column (the last), ``ceil(N/4)`` hex digits.  ``gen``
draws R as :func:`refnum.vectors.cases.operands_with_random` does (the seed's
generator, after the operands), like the published corpus.  ``--sr-bits`` with any other rounding
mode is rejected, because it would change the number of columns.

Exit status: 0 success, 1 ``verify`` found mismatches (or ``crosscheck`` a disagreement no
known difference explains), 2 usage or input error, 3 ``manifest check`` found a file that
does not match its folder's manifest.
Errors are one line ``refnum: ...`` on stderr, never a traceback; with ``-o FILE``
output goes to a temporary file in the same folder that replaces FILE only on
success, so a failed run leaves no partial file.  ``run`` and ``verify`` read their
input in bounded pieces as it arrives (:func:`refnum.vectors.lines.pieces`) and
answer each piece before reading the next; an input with no case is an error.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import os
import sys

from . import __version__
from .errors import RefnumError

EXIT_OK, EXIT_MISMATCH, EXIT_ERROR, EXIT_INTEGRITY = 0, 1, 2, 3
_CHUNK_LINES = 8192
_TABLE_BITS = 16
_STOCHASTIC = ("sr-a", "sr-b", "sr-c")


class UsageError(RefnumError):
    """A command-line mistake argparse found."""


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise UsageError(f"{message} (try '{self.prog} --help')")


def main(argv=None):
    """Run the command; returns the exit status (the console script passes it to sys.exit)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _build_parser()
    try:
        args = _parse(parser, _explain_negatives(argv))
        if args.command is None:
            raise UsageError("choose a command: formats, info, table, explain, run, gen, verify, suite,"
                             " manifest, crosscheck, block, dot, study, plot (try 'refnum --help')")
        return args.command(args)
    except SystemExit as done:                       # --help, --version
        return done.code if isinstance(done.code, int) else EXIT_OK
    except RefnumError as err:
        return _fail(str(err))
    except BrokenPipeError:                          # `refnum table f16 | head`
        _silence_stdout()
        return EXIT_OK
    except OSError as err:
        where = f" '{err.filename}'" if err.filename else ""
        return _fail(f"cannot access{where}: {err.strerror or err}")
    except KeyboardInterrupt:
        return 130


def _parse(parser, argv):
    """parse_args, also taking an optional FILE after the options (``run F --rounding rtz FILE``).

    argparse fills ``FUNCTION [FILE]`` before it sees the options, so a FILE
    given after them comes back unrecognised; it is taken here as the FILE.
    """
    args, extra = parser.parse_known_args(argv)
    if len(extra) == 1 and (extra[0] == "-" or not extra[0].startswith("-")) and getattr(args, "file", None) == "-":
        args.file = extra[0]
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def _fail(message):
    print(f"refnum: {message}", file=sys.stderr)
    return EXIT_ERROR


def _silence_stdout():
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def _explain_negatives(argv):
    """Let ``refnum explain e4m3 -inf`` work: a negative VALUE is not an option."""
    if not argv or argv[0] != "explain" or "--" in argv:
        return argv
    from .values import parse

    def is_number(arg):
        try:
            parse(arg)
        except ValueError:
            return False
        return arg.startswith("-") and len(arg) > 1

    numbers = [a for a in argv[1:] if is_number(a)]
    return [argv[0]] + [a for a in argv[1:] if not is_number(a)] + (["--"] + numbers if numbers else [])


# -- the parser ---------------------------------------------------------------------------

def _build_parser():
    parser = _Parser(prog="refnum", allow_abbrev=False,
                     description="refnum: bit-exact reference for the number formats of ML arithmetic.",
                     epilog="Exit status: 0 ok, 1 mismatches (verify) or unexplained disagreements (crosscheck),"
                            " 2 usage or input error, 3 manifest check found a problem.")
    parser.add_argument("--version", action="version", version=f"refnum {__version__}")
    parser.set_defaults(command=None)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", parser_class=_Parser)

    def command(name, handler, help_text, parents=(), epilog=None):
        p = sub.add_parser(name, help=help_text, description=help_text, parents=list(parents),
                           allow_abbrev=False, epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.set_defaults(command=handler)
        return p

    command("formats", cmd_formats, "list every catalog format, one line each")
    command("info", cmd_info, "parameters, special codes and range of a format").add_argument(
        "format", metavar="FORMAT")
    p = command("table", cmd_table, "every code of a format (<= 16 bits) with its exact value")
    p.add_argument("format", metavar="FORMAT")
    p.add_argument("--markdown", action="store_true", help="write a Markdown table")
    p = command("explain", cmd_explain, "bit fields, exact value and neighbours of a code, "
                "or how a value rounds in each mode", [_semantics_options(rounding=False)])
    p.add_argument("format", metavar="FORMAT")
    p.add_argument("operand", metavar="CODE|VALUE",
                   help="a code, written 0x7E or 0b01111110; anything else is a value (465, 0.1, 1e-3, 1/3,"
                        " 0x1.8p-3, inf): 10 is the value ten.  Bare hex (7E) is refused, and so is hex that"
                        " also reads as a number (1e2: the value 100 or the code 0x1E2), naming both readings")
    p = command("run", cmd_run, "read operand lines, write complete vector lines",
                [_semantics_options(), _output_option()], _LINES_HELP + _READING_HELP)
    _function_argument(p)
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="operand lines (default: standard input)")
    p = command("gen", cmd_gen, "generate cases (exhaustive for <= 16-bit sources and <= 2**16 operand"
                " tuples, else TestFloat-style) as vector lines, or a whole suite into a folder",
                [_semantics_options(), _output_option()], _LINES_HELP + _GEN_HELP)
    p.add_argument("function", metavar="FUNCTION", nargs="?",
                   help="e.g. f32_to_f16, f16_add, e4m3_mul_to_f32 (or --suite)")
    p.add_argument("--operand-formats", metavar="A,B[,C]",
                   help="a format for each operand of an operation (default: the function name's)")
    p.add_argument("--suite", metavar="NAME|FILE", help="a built-in suite (" + ", ".join(_builtin_suites())
                   + ", blocks, dot) or a .toml/.json suite file; needs --out")
    p.add_argument("--out", metavar="DIR", help="write files, manifest.json and SHA256SUMS into DIR")
    p.add_argument("--format", dest="kind", choices=("tv", "memh", "jsonl", "npz"), default="tv",
                   help="output format (default tv, TestFloat lines)")
    p.add_argument("--intermediate", action="store_true",
                   help="add the exact value before rounding and guard/round/sticky bits (memh, jsonl)")
    p.add_argument("--cases", choices=("auto", "exhaustive", "level1", "level2", "random", "boundaries"),
                   help="case generator (default auto: exhaustive when small, else --level)")
    p.add_argument("--level", "-level", type=int, choices=(1, 2), default=1, help="TestFloat-style level")
    p.add_argument("--seed", "-seed", type=int, default=None, help="seed of the generators (default 1, or the suite's)")
    p.add_argument("-n", "--count", dest="count", type=_case_count, metavar="COUNT",
                   help="number of cases, at most 2**24 = 16,777,216 (default: every code for <= 16-bit"
                        " sources, else the level's)")
    p.add_argument("--shard", type=_shard, metavar="I/N", default=(0, 1),
                   help="write only shard I of N (0 <= I < N): a fixed index range of every file")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N", help="worker processes (--out)")
    p.add_argument("--force", action="store_true", help="rewrite files a previous run already completed")
    p.add_argument("--dask", metavar="SCHEDULER",
                   help="compute on a Dask cluster (--out on storage its workers share): a scheduler address"
                        " (tcp://host:8786) or local:N for N worker processes here; needs refnum[dask]")
    p.add_argument("--progress", action="store_true",
                   help="report each finished file (with --dask, task) on standard error (always when it is a terminal)")
    p = command("verify", cmd_verify, "check vector lines against refnum; last line 'N passed, M failed'",
                [_semantics_options()], _LINES_HELP + _READING_HELP)
    _function_argument(p)
    p.add_argument("file", metavar="FILE", help="vectors ('-' for standard input)")
    p.add_argument("--format", dest="kind", choices=("tv", "memh", "jsonl", "npz"),
                   help="input format (default: from the file's extension, else tv)")
    p.add_argument("--errors", "-errors", type=_count, default=20, metavar="N",
                   help="print at most N mismatches (default 20; 0 = all)")
    p.add_argument("--nan-check", choices=("strict", "lenient"), default="strict",
                   help="strict: NaN results must match bit for bit; lenient: any NaN passes where refnum"
                        " gives a NaN and the flags agree (testfloat_ver without -checkNaNs)")
    p.add_argument("--summary-json", metavar="FILE", help="also write a JSON summary (atomically)")
    p = command("suite", cmd_suite, "write the conformance vector corpus (refnum gen --suite corpus)")
    p.add_argument("--out", default="vectors", metavar="DIR", help="output folder (default: vectors)")
    p.add_argument("--seed", type=int, default=None,
                   help="seed of the case generators (default: the corpus's own, 1); the seed is in every"
                        " file's manifest record")
    p.add_argument("--jobs", "-j", type=_positive_int, default=1, metavar="N", help="worker processes")
    p.add_argument("--force", action="store_true",
                   help="rewrite every file, even those already complete (and write over a damaged manifest)")
    p = command("manifest", cmd_manifest, "check a vector folder's hashes, or join its shards")
    p.add_argument("action", choices=("check", "join"),
                   help="check: re-hash every file, report every file the manifest does not list (exit 3 on"
                        " any problem); join: check, then concatenate shard parts (exit 3 if one fails)")
    p.add_argument("dir", metavar="DIR")
    from .blocks.cli import add_block_command
    add_block_command(sub, _semantics_options, _output_option)
    p = command("crosscheck", cmd_crosscheck, "compare refnum with a peer library (ml_dtypes, numpy, gfloat,"
                " torch, softfloatpy, mmasim); exit 1 on a disagreement no known difference explains")
    p.add_argument("backend", metavar="BACKEND", help="ml_dtypes, numpy, gfloat, torch, softfloatpy or mmasim")
    p.add_argument("--quick", action="store_true", help="a seeded sample of each check (seconds), not the full run")
    p.add_argument("--json", metavar="FILE", help="also write a JSON summary (atomically)")
    p.add_argument("--seed", type=int, default=1, help="seed of the sampled and random cases (default 1)")
    from .dot.cli import register as register_dot
    from .studies.cli import register as register_studies

    register_dot(command, _semantics_options, _output_option)
    register_studies(command, _positive_int)
    return parser


def _function_argument(p):
    p.add_argument("function", metavar="FUNCTION",
                   help="e.g. f32_to_f16, f16_to_i32, e4m3_to_bf16, f16_add, f32_mulAdd, e4m3_mul_to_f32")
    p.add_argument("--operand-formats", metavar="A,B[,C]",
                   help="a format for each operand of an operation (default: the function name's)")


_LINES_HELP = """\
vector lines (TestFloat's): operands result flags, upper-case fixed-width hex, one
space apart; flags are 2 hex digits, bit 0 inexact, 1 underflow, 2 overflow,
3 divide-by-zero, 4 invalid.  With stochastic rounding (--rounding sr-a/sr-b/sr-c
--sr-bits N) the random integer R is one more operand column, the last.  Input may
use lower-case hex and \\r\\n; blank lines and lines starting with '#' are skipped.
gen draws R from the seed's generator after the operands, as the corpus in vectors/ does.

exit status: 0 ok, 1 verify found mismatches, 2 usage or input error."""

_READING_HELP = """

reading: every field has its column's full width (binary16 '3C00', not '3C0' or
'03C00'), a line holds at most 1,048,576 characters, and an input with no case
(empty, or only blank and comment lines) is an error (exit 2), never a pass.
Input is read, checked and answered in pieces as it arrives, so memory stays
bounded and results of a pipe appear while it is still open; after an input
error, standard output may hold the lines before it (-o FILE is replaced only
when the whole input succeeds)."""


def _semantics_options(rounding=True):
    from .context import PROFILES

    p = _Parser(add_help=False, allow_abbrev=False)
    g = p.add_argument_group("semantics (--profile first, then each option below overrides it)")
    g.add_argument("--profile", metavar="NAME", help=", ".join(sorted(PROFILES, key=lambda n: n == "default")))
    if rounding:
        g.add_argument("--rounding", "-r", metavar="MODE",
                       help="rne rna rtz rup rdn rto sr-a sr-b sr-c, or TestFloat's near_even near_maxMag"
                            " minMag max min odd (also -rnear_even ...); default rne")
        g.add_argument("--sr-bits", type=_positive_int, metavar="N",
                       help="random bits of stochastic rounding; R is then the last operand column")
    g.add_argument("--tininess", choices=("after", "before"))
    g.add_argument("-tininessafter", dest="tininess", action="store_const", const="after", help=argparse.SUPPRESS)
    g.add_argument("-tininessbefore", dest="tininess", action="store_const", const="before",
                   help=argparse.SUPPRESS)
    g.add_argument("--exact", "-exact", dest="exact", action="store_const", const=True,
                   help="float -> integer raises inexact (TestFloat -exact)")
    g.add_argument("--notexact", "-notexact", dest="exact", action="store_const", const=False)
    g.add_argument("--saturate", choices=("none", "finite", "propagate", "satnone", "default"),
                   help="overflow policy (default: the target format's)")
    g.add_argument("--ftz", action="store_const", const=True, help="flush tiny results to zero")
    g.add_argument("--daz", action="store_const", const=True, help="read subnormal inputs as zero")
    for knob, choices in _choice_knobs().items():         # every other Context knob, by name
        g.add_argument("--" + knob.replace("_", "-"), choices=choices, help=_KNOB_HELP.get(knob))
    return p


_KNOB_HELP = {
    "nan": "NaN result encoding",
    "invalid_int": "float -> integer result for NaN and out of range",
    "nan_missing": "NaN into a format without NaN",
    "zero_missing": "zero into a format without zero",
    "lowest_binade": "rounding in the lowest binade of a format without zero (E8M0)",
    "p1_parity": "ties of precision-1 formats",
    "nan_priority": "which NaN operand a payload-keeping profile propagates",
    "inf_zero_nan": "fma(Inf, 0, qNaN): signal invalid or not",
    "fma_nan_order": "fma NaN operands: the product's first (SoftFloat, x86) or the addend's (Arm)",
    "div_by_zero": "x / 0: a signed infinity (IEEE) or NaN (P3109)",
    "rto_overflow": "round-to-odd overflow: largest finite (SoftFloat) or Inf (Arm BF16)",
    "nan_fill": "trailing bits of a NaN without payload: the quiet bit (IEEE) or all ones (CUDA, torch)",
    "overflow_nan": "sign of the NaN of an E4M3 non-saturating overflow: as --nan says, or the value's (CUDA)",
    "unsigned_negative": "negative into an unsigned format (E8M0): clamp, nan, |x| (CUDA, torch),"
                         " or default: by --saturate",
}


def _choice_knobs():
    """The Context knobs with a fixed set of choices, apart from those with their own options;
    a knob whose choices include None (unsigned_negative) spells it "default", as --saturate does."""
    from .context import _CHOICES

    return {k: tuple("default" if c is None else c for c in v) for k, v in _CHOICES.items()
            if k not in ("rounding", "saturation", "tininess")}


def _output_option():
    p = _Parser(add_help=False, allow_abbrev=False)
    p.add_argument("-o", "--output", metavar="FILE", help="write here (atomically) instead of standard output")
    return p


_GEN_HELP = """

folders: with --out DIR (or --suite), every file goes to DIR/<function>/<mode>...<ext>
with manifest.json (every semantic parameter, case counts, SHA-256) and SHA256SUMS;
a rerun skips files already complete; --shard I/N writes <file>.part-I-of-N pieces and
'refnum manifest join DIR' concatenates them; 'refnum manifest check DIR' re-hashes
(exit 3 on any mismatch)."""


def _builtin_suites():
    from .vectors.plan import builtin_suites

    return builtin_suites()


def _shard(text):
    try:
        i, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected I/N, got '{text}'") from None
    if not (n >= 1 and 0 <= i < n):
        raise argparse.ArgumentTypeError(f"shard {text}: need 0 <= I < N")
    return i, n


def _case_count(text):
    from .vectors.plan import MAX_COUNT

    value = _positive_int(text)
    if value > MAX_COUNT:
        raise argparse.ArgumentTypeError(f"{text} cases: refnum's limit is {MAX_COUNT:,} per file"
                                         " (write several files with different --seed)")
    return value


def _positive_int(text):
    value = _count(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got '{text}'")
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got '{text}'") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got '{text}'")
    return value


def build_context(args):
    """The Context of the options: the profile first, then every explicit option."""
    from .context import Context, canonical_rounding

    knobs = ("tininess", "exact", "ftz", "daz", *_choice_knobs())
    changes = {k: None if getattr(args, k) == "default" else getattr(args, k)
               for k in knobs if getattr(args, k, None) is not None}
    if getattr(args, "saturate", None) is not None:
        changes["saturation"] = None if args.saturate == "default" else args.saturate
    rounding = getattr(args, "rounding", None)
    if rounding is not None:
        changes["rounding"] = canonical_rounding(rounding)
    sr_bits = getattr(args, "sr_bits", None)
    if sr_bits is not None:
        if changes.get("rounding") not in _STOCHASTIC:
            raise RefnumError("--sr-bits only applies to stochastic rounding (--rounding sr-a, sr-b or sr-c)")
        changes["sr_bits"] = sr_bits
    return Context.profile(args.profile or "default", **changes)


# -- formats, info, table, explain --------------------------------------------------------------

_FAMILIES = (
    ("p3109_k{K}p{P}{s|u}{e|f}", "IEEE P3109 v4.0 Binary{K}p{P}, signed/unsigned, extended/finite",
     "p3109_k8p4se"),
    ("ieee_k{K}p{P}", "IEEE 754 interchange-style format of K bits, precision P", "ieee_k12p5"),
    ("e{W}m{M}[_b{B}][_fn|_fnuz|_fin][_nosub][_u]", "generic ExMy: bias, specials, subnormals, sign",
     "e5m3_b11_fn"),
    ("i{N} ui{N} int{N} uint{N}", "integers of 1..128 bits (two's complement when signed)", "i32"),
    ("q{I}.{F} uq{I}.{F}", "fixed point, I integer bits (sign included), F fraction bits", "q1.7"),
    ("{format}@{scale}", "any format times an exact rational scale (flexible bias)", "e4m3@1/448"),
)


def cmd_formats(args):
    from .catalog import CATALOG, aliases_of
    from .formats import MAX_BIAS, MAX_BITS, MAX_EXPONENT_BITS

    rows = [(f.name, str(f.k), f.spec, " ".join(aliases_of(f.name)) or "-") for f in CATALOG.values()]
    name_w = max(len(r[0]) for r in rows)
    spec_w = max(len(r[2]) for r in rows)
    out = [f"{n:<{name_w}}  {b:>3}  {s:<{spec_w}}  aliases: {a}" for n, b, s, a in rows]
    out.append("")
    out.append(f"families ('refnum info NAME' for one; limits: 1..{MAX_EXPONENT_BITS} exponent bits, {MAX_BITS} bits,"
               f" |bias| <= 2**{MAX_BIAS.bit_length() - 1}):")
    pattern_w = max(len(p) for p, _, _ in _FAMILIES)
    out += [f"  {p:<{pattern_w}}  {d} (e.g. {e})" for p, d, e in _FAMILIES]
    _print_lines(out)
    return EXIT_OK


def _format(name):
    from .catalog import lookup
    return lookup(name)


def cmd_info(args):
    from . import describe

    fmt = _format(args.format)
    lines = describe.info_lines(fmt)
    _print_lines(lines)
    return EXIT_OK


def cmd_table(args):
    from . import describe

    fmt = _format(args.format)
    if fmt.k > _TABLE_BITS:
        raise RefnumError(f"{fmt.name} has 2**{fmt.k} codes; tables stop at {_TABLE_BITS} bits"
                          f" (try 'refnum explain {args.format} CODE')")
    if args.markdown:
        sys.stdout.write(describe.markdown_table(fmt))
        return EXIT_OK
    rows = describe.value_rows(fmt)
    bits_w = max(len(r[1]) for r in rows)
    class_w = max(len(r[2]) for r in rows)
    _print_lines(f"{h}  {b:<{bits_w}}  {k:<{class_w}}  {v}" for h, b, k, v in rows)
    return EXIT_OK


def cmd_explain(args):
    from . import describe

    fmt = _format(args.format)
    ctx = build_context(args)
    kind, operand = describe.read_code_or_value(fmt, args.operand)
    if kind == "code":
        lines = describe.explain_code_lines(fmt, operand)
    else:
        lines = describe.explain_value_lines(fmt, operand, ctx)
    _print_lines(lines)
    return EXIT_OK


def _print_lines(lines):
    write = sys.stdout.write
    batch = []
    for line in lines:
        batch.append(line)
        if len(batch) >= _CHUNK_LINES:
            write("\n".join(batch) + "\n")
            batch = []
    if batch:
        write("\n".join(batch) + "\n")


# -- run, gen, verify, suite ----------------------------------------------------------------

class _ResultTexts(dict):
    """result -> ``" <code> <flags>\\n"``, formatted on first use."""

    def __init__(self, template):
        super().__init__()
        self.template = template

    def __missing__(self, result):
        text = self[result] = self.template % (result[0], result[1] & 0x1F)
        return text


class _Job:
    """One function under one context: its line layout and its evaluator."""

    def __init__(self, args):
        from .vectors import functions, lines

        if not args.function:
            raise RefnumError(f"{args.command.__name__[4:]}: a FUNCTION is required")
        self.operand_formats = _operand_formats(getattr(args, "operand_formats", None))
        self.function = functions.parse(args.function, list(self.operand_formats) if self.operand_formats else None)
        self.ctx = build_context(args)
        self.stochastic = self.ctx.rounding in _STOCHASTIC
        self.layout = lines.Layout(self.function.sources, self.function.result,
                                   self.ctx.sr_bits if self.stochastic else 0)
        self.evaluate = self.function.evaluator(self.ctx)

    def completed(self, operand_lines, text):
        """Vector lines for canonical operand lines: each line's own text, then result and flags.

        The bulk path of ``refnum run`` (see Layout.canonical_operand_lines): ``text``
        holds exactly those lines, so its fields, read in one pass, are the operand
        columns in turn; the evaluator is mapped over the columns, and for narrow
        results each distinct result's text is formatted once.
        """
        from .convert import remembers

        evaluate, tail, n = self.evaluate, self.layout.result_template(), self.layout.noperands
        codes = list(map(int, text.split(), itertools.repeat(16)))
        columns = [codes[i::n] for i in range(n)] if n > 1 else [codes]
        results = map(evaluate, *columns) if self.stochastic else map(evaluate, *columns, itertools.repeat(0))
        if remembers(self.function.result):
            texts = _ResultTexts(tail)
            return [line + texts[result] for line, result in zip(operand_lines, results)]
        return [line + tail % (code, flags & 0x1F) for line, (code, flags) in zip(operand_lines, results)]

    def piece_lines(self, number, text):
        """(vector lines, number of cases) of one piece of operand lines whose first line is ``number``."""
        from .vectors.lines import read_operands

        operand_lines = self.layout.canonical_operand_lines(text)
        rows = None if operand_lines is not None else list(read_operands(text, self.layout, number))
        try:
            if rows is None:
                return "".join(self.completed(operand_lines, text)), len(operand_lines)
            return "".join(self.vector_lines(rows)), len(rows)
        except RefnumError as err:              # a value the context refuses (e.g. --nan-missing error)
            line = self.failing_line(read_operands(text, self.layout, number) if rows is None else rows)
            raise RefnumError(f"input line {line}: {err}") from None

    def failing_line(self, rows):
        """The number of the first (line number, codes) row whose evaluation raises RefnumError."""
        for number, codes in rows:
            try:
                next(self.vector_lines([(number, codes)]))
            except RefnumError:
                return number
        return "?"

    def vector_lines(self, rows):
        """Complete vector lines for (line number, operand codes) rows, R last when stochastic."""
        evaluate, format_line = self.evaluate, self.layout.format_line
        if self.stochastic:
            return (format_line(codes, *evaluate(*codes)) for _, codes in rows)
        return (format_line(codes, *evaluate(*codes, 0)) for _, codes in rows)


def _operand_formats(text):
    """The formats of ``--operand-formats A,B[,C]`` (None when the option is absent)."""
    if text is None:
        return None
    names = tuple(name.strip() for name in text.split(","))
    if not all(names):
        raise RefnumError(f"--operand-formats '{text}': give a format for each operand, e.g. bf16,bf16,f32")
    return names


def cmd_run(args):
    """Read, compute and write piece by piece (lines.pieces): memory stays bounded and the
    results of a pipe's lines appear as they arrive; ``-o FILE`` is replaced only on success."""
    from .vectors.lines import pieces

    job = _Job(args)
    cases = 0
    with _input(args.file) as source, _output(args.output) as out:
        for number, text in pieces(source):
            lines, count = job.piece_lines(number, text)
            out.write(lines)
            out.flush()
            cases += count
        if not cases:
            raise RefnumError(_no_cases(args.file))
    return EXIT_OK


def cmd_gen(args):
    """One function to standard output or -o FILE, or a suite (or one function) into --out DIR."""
    from .vectors import outputs, plan, suite

    if args.suite:
        if args.function:
            raise RefnumError("gen: give a FUNCTION or --suite, not both")
        if not args.out:
            raise RefnumError("gen --suite writes a folder: add --out DIR")
        if args.suite == "blocks":                   # shared-scale block vectors (refnum.blocks.corpus)
            from .blocks.cli import gen_suite
            return gen_suite(args.out, args.kind)
        if args.suite == "dot":                      # dot-product vectors of every preset (refnum.dot.corpus)
            from .dot.cli import gen_suite as gen_dot_suite
            return gen_dot_suite(args.out, args.kind)
        description, seed, entries = plan.load_suite(args.suite)
        return _write_folder(args, entries, seed if args.seed is None else args.seed, description)
    if args.out and args.output:
        raise RefnumError("gen: give -o FILE (one file) or --out DIR (a folder), not both")
    if args.dask and not args.out:
        raise RefnumError("gen --dask writes a folder: add --out DIR")
    job = _Job(args)
    cases = args.cases or ("auto" if args.level == 1 else "level2")
    entry = plan.Entry.from_context(args.function, job.ctx, cases=cases, count=args.count,
                                    operand_formats=job.operand_formats)
    seed = 1 if args.seed is None else args.seed
    if args.out:
        return _write_folder(args, [entry], seed, f"refnum gen {args.function}")
    lo, hi = suite.shard_range(len(plan.enumerate_cases(entry, seed)), args.shard)
    pieces = [suite.chunk_bytes(task) for task in suite._tasks(entry, seed, args.kind, args.intermediate, lo, hi)]
    data = b"".join(pieces)                          # computed in full before anything is written
    if args.kind == "npz" and (args.output is None or args.output == "-"):
        raise RefnumError("gen --format npz writes a binary archive: add -o FILE or --out DIR")
    with _output(args.output, binary=True) as out:
        out.write(data)
    return EXIT_OK


def _write_folder(args, entries, seed, description):
    from .vectors import suite

    kind, intermediate = getattr(args, "kind", "tv"), getattr(args, "intermediate", False)
    command = (f"refnum gen --suite {args.suite}" if getattr(args, "suite", None) else
               f"refnum gen {args.function}" if args.function else "refnum gen --suite corpus")
    command += f" --seed {seed} --format {kind}" + (" --intermediate" if intermediate else "")
    options = dict(seed=seed, kind=kind, intermediate=intermediate, force=getattr(args, "force", False),
                   progress=suite.stderr_progress if getattr(args, "progress", False) or sys.stderr.isatty() else None,
                   description=description, command=command)
    if getattr(args, "dask", None):
        from .vectors import dask

        if args.shard != (0, 1) or args.jobs != 1:
            raise RefnumError("gen --dask spreads the work itself: leave out --shard and --jobs")
        manifest = dask.write_suite(args.out, entries, args.dask, **options)
    else:
        manifest = suite.write_suite(args.out, entries, shard=getattr(args, "shard", (0, 1)), jobs=args.jobs,
                                     **options)
    done = manifest.outcome
    for path in done.removed:
        suite.stderr_progress(f"removed {path}, a partial file left by an interrupted run")
    print(f"{manifest['total_files']} files ({done.written} written, {done.skipped} already complete,"
          f" {done.repaired} repaired), {manifest['total_cases']:,} cases, {manifest['total_bytes']:,} bytes"
          f" in {args.out}")
    return EXIT_OK


def cmd_verify(args):
    """Check each case; print mismatches TestFloat-style as found; exit 1 if any.

    A case passes when refnum's result bits and IEEE flags both equal the file's
    (with ``--nan-check lenient``, any NaN result passes where refnum's is a NaN and the
    flags agree).  Every output format of ``refnum gen`` is read, case by case as the
    input arrives (outputs.decode), so memory stays bounded.  An input without a case is
    an error, not a pass.
    """
    from .vectors import outputs
    from .vectors.lines import IEEE_FLAGS

    job = _Job(args)
    layout, evaluate, arity, stochastic = job.layout, job.evaluate, job.function.arity, job.stochastic
    kind = args.kind or _kind_of(args.file)
    lenient = args.nan_check == "lenient"
    result_format = job.function.result
    is_nan = getattr(result_format, "is_nan_code", None) if lenient else None
    passed = failed = 0
    shown = []
    with _input(args.file) as source:
        for location, operands, got, got_flags in outputs.decode(kind, source, layout):
            expected, flags = evaluate(*operands) if stochastic else evaluate(*operands[:arity], 0)
            flags &= IEEE_FLAGS
            if got_flags == flags and (got == expected or (is_nan and is_nan(got) and is_nan(expected))):
                passed += 1
                continue
            failed += 1
            if args.errors == 0 or failed <= args.errors:
                line = _mismatch(location, layout, operands, got, got_flags, expected, flags)
                if args.summary_json:
                    shown.append(line)
                print(line, flush=True)
    if not passed + failed:
        raise RefnumError(_no_cases(args.file))
    if args.errors and failed > args.errors:
        print(f"({failed - args.errors} more mismatches not shown; --errors 0 shows all)")
    print(f"{passed} passed, {failed} failed")
    if args.summary_json:
        summary = {"function": args.function, "file": args.file, "format": kind, "context": job.ctx.name,
                   "rounding": job.ctx.rounding, "nan_check": args.nan_check, "passed": passed,
                   "failed": failed, "mismatches_shown": shown}
        import json

        with _output(args.summary_json) as out:
            out.write(json.dumps(summary, indent=1, sort_keys=True) + "\n")
    return EXIT_OK if failed == 0 else EXIT_MISMATCH


def _kind_of(path):
    from .vectors.outputs import EXTENSIONS

    for kind, extension in EXTENSIONS.items():
        if path.endswith(extension) or path.endswith(extension + ".part") or f"{extension}.part-" in path:
            return kind
    return "tv"


def _no_cases(path):
    where = "standard input" if path == "-" else path
    return f"{where}: no cases (the input is empty or holds only blank and comment lines)"


def _mismatch(location, layout, operands, got, got_flags, expected, flags):
    """TestFloat's error line: operands, => what the file has, expected what refnum computes."""
    from .context import Flag

    width = layout.result_width
    return (f"{location}: {layout.format_operands(operands)}  => {got:0{width}X} {Flag.letters(got_flags)}"
            f"  expected {expected:0{width}X} {Flag.letters(flags)}")


def cmd_suite(args):
    """The corpus: the element suite into ``--out``, then the block vectors (enumerated, not
    drawn: two seconds) into its folder ``blocks/`` and the dot-product vectors (seeded per
    preset: three seconds) into ``dot/``, each a vector folder of its own."""
    from .blocks import corpus
    from .dot import corpus as dot_corpus
    from .vectors import plan

    description, seed, entries = plan.load_suite("corpus")
    args.function = None
    status = _write_folder(args, entries, seed if args.seed is None else args.seed, description)
    manifest = corpus.write(os.path.join(args.out, "blocks"))
    print(f"{manifest['total_files']} block files, {sum(r['cases'] for r in manifest['files'])} blocks"
          f" in {os.path.join(args.out, 'blocks')}")
    manifest = dot_corpus.write(os.path.join(args.out, "dot"))
    print(f"{manifest['total_files']} dot files, {sum(r['cases'] for r in manifest['files'])} dot products"
          f" in {os.path.join(args.out, 'dot')}")
    return status


def cmd_manifest(args):
    """check: one line per problem, then the count; exit 3 on any.  A manifest that is not
    refnum's (malformed, or naming a path outside the folder), and for join a part that fails
    its check, is one line on stderr and exit 3 too."""
    from .errors import IntegrityError
    from .vectors import suite

    try:
        if args.action == "join":
            manifest = suite.join_shards(args.dir)
            print(f"joined {manifest['total_files']} files, {manifest['total_cases']:,} cases in {args.dir}")
            return EXIT_OK
        checked, problems = suite.check_manifest(args.dir)
    except IntegrityError as err:
        _fail(f"{args.dir}: {err}")
        return EXIT_INTEGRITY
    for line in problems:
        print(line)
    print(f"{checked} files checked, {len(problems)} problems")
    return EXIT_OK if not problems else EXIT_INTEGRITY


def cmd_crosscheck(args):
    from . import crosscheck

    return crosscheck.main(args.backend, quick=args.quick, seed=args.seed, json_path=args.json)


@contextlib.contextmanager
def _input(path):
    """A file or standard input ('-') as a binary stream, read as it arrives (lines.pieces);
    standard input already replaced by text (tests, embedding) is read as text."""
    if path == "-":
        yield getattr(sys.stdin, "buffer", sys.stdin)
        return
    with open(path, "rb") as f:
        yield f


@contextlib.contextmanager
def _output(path, binary=False):
    """Standard output, or a temporary file next to ``path`` that replaces it only on success."""
    if path is None or path == "-":
        if binary:
            sys.stdout.flush()
            buffer = getattr(sys.stdout, "buffer", None)
            yield buffer if buffer is not None else _TextBytes(sys.stdout)
            (buffer or sys.stdout).flush()
            return
        yield sys.stdout
        sys.stdout.flush()
        return
    import tempfile                                        # only here: keeps start-up short

    folder = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise _cannot_write(path, err) from None
    file = os.fdopen(fd, "wb") if binary else os.fdopen(fd, "w", encoding="ascii", newline="\n")
    try:
        yield _Destination(file, path)
    except BaseException:
        _discard(file, tmp)
        raise
    try:
        file.close()                                       # flushes: a full disk may show here
        os.chmod(tmp, 0o666 & ~_umask())                   # mkstemp makes it private
        os.replace(tmp, path)
    except OSError as err:
        _discard(file, tmp)
        raise _cannot_write(path, err) from None


def _discard(file, tmp):
    """Close and remove the temporary file of a failed -o FILE."""
    with contextlib.suppress(OSError):
        file.close()
    with contextlib.suppress(OSError):
        os.unlink(tmp)


def _cannot_write(path, err):
    """The error of writing -o FILE, naming FILE (never the temporary file behind it)."""
    return RefnumError(f"cannot write '{path}': {err.strerror or err}")


class _Destination:
    """The temporary file behind -o FILE: a failed write (a full disk) names FILE."""

    def __init__(self, file, path):
        self.file, self.path = file, path

    def write(self, data):
        try:
            return self.file.write(data)
        except OSError as err:
            raise _cannot_write(self.path, err) from None

    def __getattr__(self, name):
        return getattr(self.file, name)


class _TextBytes:
    """Bytes written to a text stream (standard output replaced by a StringIO in tests)."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, data):
        self.stream.write(data.decode("ascii"))


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


if __name__ == "__main__":                                  # pragma: no cover
    sys.exit(main())
