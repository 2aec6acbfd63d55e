"""``refnum study`` and ``refnum plot``: the command line of the studies and teaching views.

:func:`register` adds both commands to refnum's parser (refnum/cli.py calls it), so
the studies stay a room of their own that nothing else imports.

::

    refnum study --list                                    the studies, one line each
    refnum study NAME [--seed N] [--size N] [--out DIR] [--plot] [--figure-format png|svg]
    refnum plot FORMAT [-o FILE.png|FILE.svg] [--rounding MODE] [--range LO,HI]
                       [--value X] [--sr-bits N]
"""

from __future__ import annotations

import os
import sys

from ..errors import RefnumError

EXIT_OK = 0
MAX_SR_BITS = 12                    # the distribution enumerates all 2**N random integers


def register(command, positive_int):
    """Add ``study`` and ``plot`` through refnum.cli's ``command(name, handler, help)`` helper."""
    p = command("study", cmd_study, "run a seed-paper study (seeded, exact): print its tables, optionally"
                " write them and its figure", epilog=_STUDY_HELP)
    p.add_argument("name", metavar="NAME", nargs="?", help="a study (--list shows them)")
    p.add_argument("--list", action="store_true", help="list the studies")
    p.add_argument("--seed", type=int, default=1, help="seed of the data (default 1)")
    p.add_argument("--size", type=positive_int, metavar="N", help="samples or steps (default: the study's)")
    p.add_argument("--out", metavar="DIR", help="also write DIR/NAME.md (the tables as Markdown)")
    p.add_argument("--plot", action="store_true",
                   help="write the figure DIR/NAME.png (DIR: --out, else the current folder); needs matplotlib")
    p.add_argument("--figure-format", choices=("png", "svg"), default="png", help="figure file type (default png)")
    p = command("plot", cmd_plot, "teaching views of a format: codes per binade, the rounding error of a mode,"
                " stochastic rounding's distribution for one value (needs matplotlib)")
    p.add_argument("format", metavar="FORMAT", help="a catalogue format of at most 16 bits")
    p.add_argument("-o", "--output", metavar="FILE", help="FILE.png or FILE.svg (default FORMAT.png)")
    p.add_argument("--rounding", "-r", default="rne", metavar="MODE",
                   help="mode of the rounding-error panel (default rne)")
    p.add_argument("--range", dest="interval", default="1,4", metavar="LO,HI",
                   help="interval of the rounding-error panel (exact numbers, default 1,4;"
                        " write --range=-1,1 when LO is negative)")
    p.add_argument("--value", metavar="X", help="the value stochastic rounding rounds (default 1 + ulp(1)/3)")
    p.add_argument("--sr-bits", type=positive_int, default=3, metavar="N",
                   help=f"random bits of stochastic rounding (default 3, at most {MAX_SR_BITS})")


_STUDY_HELP = """\
Each study is a small deterministic computation with refnum's exact models: the
same seed gives the same bytes.  Tables go to standard output; --out writes
NAME.md, --plot the figure (files are replaced atomically).  The chapters in
spec/papers/ explain each study and which claims of its paper it reproduces."""


def cmd_study(args):
    from . import STUDIES, run, study

    if args.list:
        if args.name:
            raise RefnumError("study: give a NAME or --list, not both")
        for name in STUDIES:
            print(f"{name:<18}  {study(name).TITLE}")
        return EXIT_OK
    if not args.name:
        raise RefnumError(f"study: give a NAME ({', '.join(STUDIES)}) or --list")
    module = study(args.name)
    if args.plot:
        from .plots import pyplot

        pyplot()                                    # a missing matplotlib fails before the work
    report = run(args.name, seed=args.seed, size=args.size)
    sys.stdout.write(report.text())
    folder = args.out or "."
    if args.out:
        os.makedirs(args.out, exist_ok=True)
        _write_text(os.path.join(args.out, f"{args.name}.md"), report.markdown())
    if args.plot:
        from .plots import study_figure

        path = os.path.join(folder, f"{args.name}.{args.figure_format}")
        study_figure(module, report, path)
        print(f"figure: {path}")
    return EXIT_OK


def _write_text(path, text):
    from ..cli import _output

    with _output(path) as out:
        out.write(text)


def cmd_plot(args):
    from ..catalog import lookup
    from ..context import canonical_rounding
    from . import plots

    fmt = lookup(args.format)
    path = args.output or f"{fmt.name}.png"
    plots.figure_format(path)
    if args.sr_bits > MAX_SR_BITS:
        raise RefnumError(f"--sr-bits {args.sr_bits}: at most {MAX_SR_BITS} (every random integer is tried)")
    lo, hi = _interval(args.interval)
    value = None if args.value is None else _number(args.value, "--value")
    figure = plots.format_figure(fmt, canonical_rounding(args.rounding), lo, hi, value, args.sr_bits)
    plots.save(figure, path)
    print(f"figure: {path}")
    return EXIT_OK


def _interval(text):
    pieces = text.split(",")
    if len(pieces) != 2:
        raise RefnumError(f"--range {text}: expected LO,HI")
    lo, hi = (_number(p, "--range") for p in pieces)
    if not lo < hi:
        raise RefnumError(f"--range {text}: need LO < HI")
    return lo, hi


def _number(text, option):
    from ..values import parse

    try:
        v = parse(text)
    except ValueError as err:
        raise RefnumError(f"{option}: {err}") from None
    if not v.is_finite:
        raise RefnumError(f"{option}: {text} is not a finite number")
    return v.to_fraction()


