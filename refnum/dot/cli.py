"""``refnum dot MODEL|PRESET [opts] [FILE]``: dot products over vector lines.

A dot-product line (spec/vectors-formats.md) holds, for K products::

    A[0] ... A[K-1] B[0] ... B[K-1] C [D FLAGS]

upper-case fixed-width hex codes of the operand formats (the preset's, or
``--formats A,B,C``), the addend C, and in complete lines the result D (a code of
the model's result format) and two hex digits of IEEE flags.  K is read from the
first line and must be the same on every line.  ``refnum dot`` completes operand
lines; ``--verify`` checks complete lines (last line "N passed, M failed", exit 1
on a mismatch).

PRESET is a row of :mod:`refnum.dot.presets` (``--list`` prints them) or of the
integer table (``refnum.dot.integer.INTEGER_PRESETS``, when present).  MODEL is
``exact``, ``sequential``, ``tree`` or ``fused`` with its options.
"""

from __future__ import annotations

from ..errors import RefnumError

MODELS = ("exact", "sequential", "tree", "fused")

_HELP = """\
lines: A[0] .. A[K-1] B[0] .. B[K-1] C [D FLAGS], upper-case hex codes one space apart
(K from the first line); output lines append the result D and 2 hex digits of IEEE flags.

models: exact (Kulisch, one rounding), sequential (FMA chain; --unfused, --lanes),
tree (balanced pairwise, rounded adds), fused (aligned truncation: --L, --F,
--intermediate); --promote-every N adds the model's partial sums every N products
into an FP32 accumulator; --out FORMAT converts the result (RNE).

vectors: refnum gen --suite dot --out DIR writes a file of random and adversarial cases
for every preset (the corpus's vectors/dot); --verify checks any of them.

exit status: 0 ok, 1 --verify found mismatches, 2 usage or input error."""


def register(command, semantics_options, output_option):
    """Add the ``dot`` subcommand through refnum.cli's ``command`` helper."""
    from ..cli import _count as _natural, _positive_int as _positive

    p = command("dot", cmd_dot, "dot products of a hardware preset or a model over vector lines",
                [semantics_options(), output_option()], _HELP)
    p.add_argument("spec", metavar="MODEL|PRESET", nargs="?", help="a preset (--list) or " + ", ".join(MODELS))
    p.add_argument("file", metavar="FILE", nargs="?", default="-", help="lines (default: standard input)")
    p.add_argument("--list", action="store_true", help="list the presets and exit")
    p.add_argument("--verify", action="store_true", help="check complete lines (D and FLAGS) instead")
    p.add_argument("--gen", type=_positive, metavar="N",
                   help="write N generated cases (random and adversarial families) instead of reading FILE")
    p.add_argument("--k", type=_positive, default=16, metavar="K", help="products per generated case (default 16)")
    p.add_argument("--seed", type=int, default=1, help="seed of --gen (default 1)")
    p.add_argument("--explain", action="store_true",
                   help="print each operand line's products, alignment, truncation and roundings")
    p.add_argument("--formats", metavar="A,B,C", help="formats of a, b and the addend (default: the preset's)")
    p.add_argument("--out", metavar="FORMAT", help="convert the result into FORMAT (RNE), as a kernel epilogue")
    g = p.add_argument_group("model options")
    g.add_argument("--result", metavar="FORMAT",
                   help="accumulator / result format of the model (default binary32)")
    g.add_argument("--L", dest="block", type=_positive, metavar="N", help="fused: products per block")
    g.add_argument("--F", dest="fraction", type=_natural, metavar="N", help="fused: fraction bits kept")
    g.add_argument("--intermediate", metavar="FORMAT", help="fused: format of the block result (e.g. e8m13)")
    g.add_argument("--group", type=_positive, metavar="N", help="exact, tree: products per rounding")
    g.add_argument("--lanes", type=_positive, metavar="N", help="sequential: interleaved lanes (default 1)")
    g.add_argument("--unfused", action="store_true", help="sequential: multiply then add (two roundings)")
    g.add_argument("--promote-every", type=_positive, metavar="N",
                   help="restart the model every N products, adding into an FP32 accumulator (RNE)")
    return p


# -- what to compute --------------------------------------------------------------------------

def integer_presets():
    """The integer table of ``refnum.dot.integer`` when that module exists, else empty."""
    try:
        from . import integer
    except ImportError:
        return {}
    return integer.INTEGER_PRESETS


class _Job:
    """The operand and result formats of the lines and a function ``(a, b, c) -> (code, flags)``."""

    def __init__(self, args, build_context):
        from ..catalog import lookup
        from ..context import Context
        from .models import Gemm, result_format
        from .presets import ALIASES, PRESETS, preset

        spec = (args.spec or "").strip().lower()
        ints = integer_presets()
        if spec in ints and not _model_options_given(args):
            self._integer(ints[spec], lookup)
            return
        if spec in MODELS:
            if not args.formats:
                raise RefnumError(f"model '{spec}' needs --formats A,B,C (the formats of a, b and the addend)")
            model, profile = _model(spec, args), None
        elif spec in PRESETS or spec in ALIASES:
            if _model_options_given(args):
                raise RefnumError(f"'{spec}' is a preset: model options apply to {', '.join(MODELS)} only")
            row = preset(spec)
            model, profile = row.model, row.profile
            args.formats = args.formats or ",".join(row.operands)
        else:
            preset(spec)                                    # the error names the closest preset
        if args.promote_every:
            model = Gemm(model, promote_every=args.promote_every)
        if args.out:
            model = Gemm(model, out=args.out)
        names = [f.strip() for f in args.formats.split(",")]
        if len(names) != 3:
            raise RefnumError(f"--formats: expected A,B,C (three formats), got '{args.formats}'")
        self.formats = tuple(lookup(n) for n in names)
        self.result = lookup(result_format(model))
        ctx = build_context(args)
        if profile and not args.profile:
            ctx = Context.profile(profile).replace(**_explicit(args, ctx))
        from .models import dot

        self.model, self.ctx = model, ctx
        self.evaluate = lambda a, b, c: dot(model, a, b, c, self.formats, ctx)

    def _integer(self, row, lookup):
        from . import integer

        fa, fb = (lookup(n) for n in row.operand_formats)
        acc = lookup(row.accumulator_format)
        self.formats, self.result = (fa, fb, acc), acc
        self.model = None

        def evaluate(a, b, c):
            value, flags = integer.integer_dot(row, [fa.integer_of(x) for x in a], [fb.integer_of(y) for y in b],
                                               acc.integer_of(c))
            return acc.code_of(value), flags
        self.evaluate = evaluate


def _model_options_given(args):
    return any(getattr(args, k) not in (None, False)
               for k in ("block", "fraction", "intermediate", "group", "lanes", "unfused", "result"))


def _explicit(args, ctx):
    """The knobs the command line set explicitly, to lay over a preset's profile."""
    from .. import cli

    knobs = ("tininess", "exact", "ftz", "daz", *cli._choice_knobs())
    changes = {k: getattr(ctx, k) for k in knobs if getattr(args, k, None) is not None}
    if getattr(args, "rounding", None):
        changes["rounding"] = ctx.rounding
    return changes


def _model(name, args):
    from .models import Exact, Fused, Sequential, Tree

    result = args.result or "binary32"
    if name == "fused":
        if args.block is None or args.fraction is None:
            raise RefnumError("model 'fused' needs --L N and --F N")
        rounding = args.rounding or "rtz"
        return Fused(args.block, args.fraction, out=result, rounding=rounding, intermediate=args.intermediate)
    if name == "exact":
        return Exact(result, group=args.group)
    if name == "tree":
        return Tree(result, group=args.group)
    return Sequential(result, fused=not args.unfused, lanes=args.lanes or 1)


# -- the command ------------------------------------------------------------------------------

def cmd_dot(args):
    """Read, compute and write piece by piece, as ``refnum run`` and ``verify`` do
    (:func:`refnum.vectors.lines.pieces`): memory stays bounded, a pipe's answers appear
    while it is open, ``-o FILE`` is replaced only on success, and an input without a
    case is an error, never a pass."""
    from .. import cli

    if args.list:
        cli._print_lines(list_lines())
        return cli.EXIT_OK
    if not args.spec:
        raise RefnumError("name a preset or a model (refnum dot --list shows the presets)")
    job = _Job(args, cli.build_context)
    if args.gen:
        return _generate(job, args, cli)
    if args.verify:
        return _verify(job, args, cli)
    answer = _explained if args.explain else _completed
    cases = 0
    with cli._input(args.file) as source, cli._output(None if args.explain else args.output) as out:
        for answers in _answers(job, source, 0, answer):
            out.write("".join(line for lines in answers for line in lines))
            out.flush()
            cases += len(answers)
    if not cases:
        raise RefnumError(cli._no_cases(args.file))
    return cli.EXIT_OK


def _answers(job, source, extra, answer):
    """For each piece of ``source``, the list of ``answer(job, layout, k, number, codes)``
    of its data lines (a piece is answered whole before anything of it is written), the
    layout (and so K) fixed by the first data line; ``extra`` result columns per line."""
    from ..vectors.lines import pieces, read_operands, read_vectors

    read = read_vectors if extra else read_operands
    found = None
    for number, text in pieces(source):
        found = found or _layout(job, text, extra)
        if found is None:
            continue
        layout, k = found
        yield [answer(job, layout, k, line, codes) for line, codes in read(text, layout, number)]


def _layout(job, text, extra):
    """The Layout of these lines and K, read from the first line that holds data (None
    when the piece has none)."""
    from ..vectors.lines import Layout

    first = next((line.split() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")),
                 None)
    if first is None:
        return None
    fields = len(first) - extra
    if fields < 3 or fields % 2 == 0:
        raise RefnumError(f"input line: {len(first)} fields; a dot line is A[0..K-1] B[0..K-1] C"
                          + (" D FLAGS" if extra else "") + " (an odd count of at least 3 operands)")
    k = (fields - 1) // 2
    fa, fb, fc = job.formats
    return Layout([fa] * k + [fb] * k + [fc], job.result), k


def _split(codes, k):
    return codes[:k], codes[k:2 * k], codes[2 * k]


def _evaluated(job, number, operands, k):
    try:
        return job.evaluate(*_split(operands, k))
    except RefnumError as err:
        raise RefnumError(f"input line {number}: {err}") from None


def _completed(job, layout, k, number, codes):
    return [layout.format_line(codes, *_evaluated(job, number, codes, k))]


def _generate(job, args, cli):
    """``--gen N``: complete lines of N cases from :func:`refnum.dot.cases.cases` (seeded)."""
    import random

    from ..vectors.lines import Layout
    from .cases import cases

    if job.model is None:
        raise RefnumError("--gen covers the floating-point models and presets")
    fa, fb, fc = job.formats
    layout = Layout([fa] * args.k + [fb] * args.k + [fc], job.result)
    rows = []
    for _, a, b, c in cases(job.model, [f.name for f in job.formats], args.k, args.gen, random.Random(args.seed)):
        rows.append(layout.format_line(a + b + [c], *job.evaluate(a, b, c)))
    with cli._output(args.output) as f:
        f.write("".join(rows))
    return cli.EXIT_OK


def _explained(job, layout, k, number, codes):
    from .explain import explain
    from .models import Problem

    if job.model is None:
        raise RefnumError("--explain covers the floating-point models and presets")
    lines = [f"line {number}: {layout.format_operands(codes)}"]
    return [line + "\n" for line in lines + explain(job.model, Problem(*_split(codes, k), *job.formats), job.ctx)]


def _verify(job, args, cli):
    from ..context import Flag

    def checked(job, layout, k, number, codes):
        *operands, got, got_flags = codes
        code, flags = _evaluated(job, number, operands, k)
        if (code, flags & IEEE_FLAGS) == (got, got_flags):
            return None
        w = layout.result_width
        return f"line {number}: => {got:0{w}X} {Flag.letters(got_flags)}  expected {code:0{w}X} {Flag.letters(flags)}"

    from ..vectors.lines import IEEE_FLAGS

    passed = failed = 0
    with cli._input(args.file) as source:
        for mismatches in _answers(job, source, 2, checked):
            passed += mismatches.count(None)
            for mismatch in filter(None, mismatches):
                failed += 1
                print(mismatch, flush=True)
    if not passed + failed:
        raise RefnumError(cli._no_cases(args.file))
    print(f"{passed} passed, {failed} failed")
    return cli.EXIT_OK if failed == 0 else cli.EXIT_MISMATCH


def gen_suite(out, kind="tv"):
    """``refnum gen --suite dot``: the dot-product corpus of every preset into ``out``."""
    from ..blocks.cli import write_corpus
    from . import corpus

    return write_corpus(corpus, out, kind, "dot-product vectors", "dot products")


def list_lines():
    """One line per preset: name, operand formats, description; then the aliases."""
    from .presets import ALIASES, PRESETS

    rows = [(p.name, ",".join(p.operands), p.description) for p in PRESETS.values()]
    rows += [(name, ",".join(row.operand_formats) + "->" + row.accumulator_format, row.description)
             for name, row in integer_presets().items()]
    width = max(len(r[0]) for r in rows)
    fw = max(len(r[1]) for r in rows)
    lines = [f"{n:<{width}}  {f:<{fw}}  {d}" for n, f, d in rows]
    lines.append("")
    lines.append("aliases: " + ", ".join(f"{a} = {t}" for a, t in sorted(ALIASES.items())))
    lines.append("models: " + ", ".join(MODELS) + " (refnum dot --help)")
    return lines
