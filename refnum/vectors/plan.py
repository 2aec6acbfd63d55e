"""What a vector file holds: an :class:`Entry` (function x context x case generator) and the
canonical enumeration of its cases; suites of entries, declared in TOML or JSON.

Every file of a suite is one Entry.  Its cases are numbered 0, 1, ..., n - 1 in one
canonical order that depends only on the entry and the seed, so any range of them
can be computed on its own: that is what ``--shard i/N`` (a fixed index range of
every file) and ``--jobs N`` (chunks of a file computed by worker processes) rely on.

Case generators (``cases``):

``exhaustive``  every operand tuple, the first operand's code varying slowest;
``level1``, ``level2``  TestFloat-style patterns mixed with seeded random operands
                (:func:`refnum.vectors.cases.operands` for one operand,
                :func:`refnum.vectors.cases.operand_tuples` for more);
``random``      ``count`` tuples of uniformly random codes (one ``random.Random(seed)``);
``boundaries``  each operand from the format's targeted boundary codes (largest
                finite, the overflow threshold and its neighbours, the subnormal
                edge, ties and near-ties above 1: :func:`refnum.vectors.cases.boundary_codes`),
                every combination, for one or two operands (``count``: a seeded
                sample of them, in order);
``auto``        exhaustive when there are at most 2**16 tuples, else level1.

A stochastic rounding adds the random integer R as the last column, drawn from the
seed's generator after all operands.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import json
import os
import random
from dataclasses import dataclass

from ..arith import BOOL
from ..catalog import short_name
from ..context import Context, canonical_rounding
from ..errors import RefnumError
from . import cases as casegen
from .functions import parse
from .lines import Layout

CASE_KINDS = ("auto", "exhaustive", "level1", "level2", "random", "boundaries")
EXHAUSTIVE_LIMIT = 1 << 16          # "auto" enumerates up to this many tuples
STOCHASTIC_LIMIT = 1 << 24          # R is drawn per case: larger exhaustive files cannot be stochastic
MAX_COUNT = 1 << 24                 # a file's cases are listed in memory: refnum's limit on ``count``


@dataclass(frozen=True)
class Entry:
    """One output file: a function under one context, with one case generator."""

    function: str
    rounding: str = "rne"
    saturation: str | None = None       # None: the result format's catalog default
    profile: str = "default"
    sr_bits: int = 0
    cases: str = "auto"
    count: int | None = None            # cases of "random"; a cut or cycle of the others
    operand_formats: tuple | None = None
    knobs: tuple = ()                   # other Context knobs: sorted (name, value) pairs

    def __post_init__(self):
        object.__setattr__(self, "rounding", canonical_rounding(self.rounding))
        if self.count is not None and (type(self.count) is not int or not 1 <= self.count <= MAX_COUNT):
            raise RefnumError(f"{self.function}: count must be an integer from 1 to {MAX_COUNT:,}, got {self.count!r}")
        if type(self.sr_bits) is not int or (self.sr_bits > 0) != self.rounding.startswith("sr-"):
            raise RefnumError(f"{self.function}: sr_bits {self.sr_bits!r} with rounding {self.rounding}: stochastic"
                              " rounding (sr-a, sr-b, sr-c) needs sr_bits >= 1, every other mode none")
        if self.cases not in CASE_KINDS:
            raise RefnumError(f"unknown case generator '{self.cases}'; choose from {', '.join(CASE_KINDS)}")
        if self.cases == "random" and not self.count:
            raise RefnumError(f"{self.function}: cases 'random' needs a count")
        self.parsed()                   # a bad name fails here, not halfway through a suite
        self.context()                  # and so does a bad profile or knob

    # -- what it means --------------------------------------------------------------
    def parsed(self):
        return _parse(self.function, self.operand_formats)

    @classmethod
    def from_context(cls, function, ctx, **kw):
        """The entry whose context is ``ctx`` (every knob that differs from its profile's becomes a knob)."""
        base = Context.profile(ctx.name)
        knobs = tuple(sorted((f.name, getattr(ctx, f.name)) for f in dataclasses.fields(Context)
                             if f.name not in ("name", "rounding", "saturation", "sr_bits")
                             and getattr(ctx, f.name) != getattr(base, f.name)))
        saturation = ctx.saturation if ctx.saturation != base.saturation else None
        return cls(function, ctx.rounding, saturation, ctx.name, ctx.sr_bits, knobs=knobs, **kw)

    def context(self):
        changes = dict(self.knobs, rounding=self.rounding, sr_bits=self.sr_bits)
        if self.saturation is not None:
            changes["saturation"] = self.saturation
        return Context.profile(self.profile, **changes)

    def layout(self):
        f = self.parsed()
        return Layout(f.sources, f.result, self.sr_bits)

    @property
    def name(self):
        """The function's name with TestFloat's short format names (``f32_to_e4m3``)."""
        f = self.parsed()
        if f.operation == "convert":
            return f"{short_name(f.sources[0])}_to_{short_name(f.result)}"
        name = f"{short_name(f.sources[0])}_{f.operation}"
        if f.result is not BOOL and f.result is not f.sources[0]:
            name += f"_to_{short_name(f.result)}"
        return name

    def path(self, extension=".tv"):
        """``<function>/<rounding>[_n<N>][_saturate-<policy>][_<knob>-<value>...][_<cases>].<ext>``."""
        stem = self.rounding + (f"_n{self.sr_bits}" if self.sr_bits else "")
        if self.saturation is not None:
            stem += f"_saturate-{self.saturation}"
        if self.profile != "default":
            stem += f"_{self.profile}"
        for knob, value in self.knobs:
            stem += f"_{knob}-{value}"
        if self.operand_formats:
            stem += "_operands-" + "-".join(short_name(f) for f in self.parsed().sources)
        if self.cases not in ("auto", "exhaustive", "level1"):
            stem += f"_{self.cases}" + (f"{self.count}" if self.count else "")
        return f"{self.name}/{stem}{extension}"

    def describe(self):
        """Every semantic parameter of the file, for its manifest record."""
        f, ctx = self.parsed(), self.context()
        return {
            "function": self.name,
            "operation": f.operation,
            "operand_formats": [_format_record(s) for s in f.sources],
            "result_format": _format_record(f.result),
            "rounding": self.rounding,
            "saturation": ctx.saturation_for(f.result) if f.result.kind == "float" else None,
            "saturation_is_catalog_default": self.saturation is None,
            "tininess": ctx.tininess,
            "profile": self.profile,
            "nan": {"encoding": ctx.nan, "sign": ctx.nan_sign, "priority": ctx.nan_priority,
                    "missing": ctx.nan_missing},
            "context": dataclasses.asdict(ctx),
            "stochastic": ({"column": "R", "bits": self.sr_bits, "drawn": "after the operands, same generator"}
                           if self.sr_bits else None),
            "case_generator": self.cases,
            "count": self.count,
            "operand_columns": list("abc"[:len(f.sources)]) + (["R"] if self.sr_bits else []),
        }


@functools.lru_cache(maxsize=512)
def _parse(function, operand_formats):
    return parse(function, list(operand_formats) if operand_formats else None)


def _format_record(fmt):
    """The parameters that define a format, for manifests."""
    if fmt is BOOL:
        return {"name": "bool", "kind": "boolean", "bits": 1}
    record = {"name": fmt.name, "kind": fmt.kind, "bits": fmt.k}
    if fmt.kind == "float":
        record.update(exponent_bits=fmt.w, trailing_bits=fmt.m, bias=fmt.bias, signed=fmt.signed,
                      nan=fmt.nan, inf=fmt.inf, subnormals=fmt.subnormals, zero=fmt.zero,
                      default_saturation=fmt.saturation, spec=fmt.spec)
    elif fmt.kind == "fixed":
        record.update(width=fmt.width, fraction_bits=fmt.frac, signed=fmt.signed)
    else:
        record.update(base=_format_record(fmt.base), scale=str(fmt.scale))
    return record


# -- the canonical enumeration ----------------------------------------------------------------

class Product:
    """Every operand tuple of some formats, in order, indexable without being built."""

    def __init__(self, sizes):
        self.sizes = tuple(sizes)
        self.n = functools.reduce(lambda a, b: a * b, self.sizes, 1)

    def __len__(self):
        return self.n

    def __getitem__(self, index):
        if isinstance(index, slice):
            start, stop, step = index.indices(self.n)
            return [self[i] for i in range(start, stop, step)]
        out = []
        for size in reversed(self.sizes):
            index, digit = divmod(index, size)
            out.append(digit)
        return tuple(reversed(out))


def enumerate_cases(entry, seed=1):
    """The canonical list (or :class:`Product`) of the entry's operand tuples, R last."""
    return _cases(entry, seed)


@functools.lru_cache(maxsize=8)
def _cases(entry, seed):
    sources = entry.parsed().sources
    kind = entry.cases
    total = functools.reduce(lambda a, f: a * f.ncodes, sources, 1)
    if kind == "auto":
        kind = "exhaustive" if total <= EXHAUSTIVE_LIMIT else "level1"
    if kind == "exhaustive" and not entry.sr_bits and entry.count is None:
        return Product(f.ncodes for f in sources)
    if kind == "exhaustive" and total > STOCHASTIC_LIMIT:
        raise RefnumError(f"{entry.function}: {total:,} cases are too many to enumerate with a count or "
                          "random column; shard the plain enumeration instead")
    if kind in ("exhaustive", "level1", "level2"):
        level = 2 if kind == "level2" else 1
        count = entry.count
        if kind == "exhaustive" and count is None:
            count = total
        if len(sources) == 1:
            if entry.sr_bits:
                return casegen.operands_with_random(sources[0], entry.sr_bits, level=level, seed=seed, count=count)
            return [(c,) for c in casegen.operands(sources[0], level=level, seed=seed, count=count)]
        return casegen.operand_tuples(sources, level=level, seed=seed, count=count, random_bits=entry.sr_bits)
    rng = random.Random(seed)
    if kind == "random":
        tuples = [tuple(rng.randrange(f.ncodes) for f in sources) for _ in range(entry.count)]
    else:
        if len(sources) > 2:
            raise RefnumError(f"{entry.function}: boundary cases are defined for one or two operands")
        tuples = list(itertools.product(*(casegen.boundary_codes(f) for f in sources)))
        if entry.count is not None and entry.count < len(tuples):     # a seeded sample, in order
            tuples = [tuples[i] for i in sorted(rng.sample(range(len(tuples)), entry.count))]
    if entry.sr_bits:
        return [t + (rng.getrandbits(entry.sr_bits),) for t in tuples]
    return tuples


# -- suites: declarative descriptions -----------------------------------------------------------

SUITES_DIR = os.path.join(os.path.dirname(os.path.dirname(__file__)), "suites")
_LIST_KEYS = ("function", "rounding", "saturation")
_ENTRY_KEYS = {"function", "rounding", "saturation", "profile", "sr_bits", "cases", "count",
               "operand_formats", "knobs"}


def builtin_suites():
    """Names of the suites shipped with refnum (``refnum/suites/*.toml``)."""
    return sorted(n[:-5] for n in os.listdir(SUITES_DIR) if n.endswith(".toml"))


def load_suite(name_or_path):
    """``(description, seed, entries)`` of a built-in suite name or a .toml/.json file.

    A suite file has ``description``, optional ``seed`` and a list ``files`` of tables;
    each table's ``function``, ``rounding`` and ``saturation`` may be lists, and the table
    stands for every combination of them (in that nesting order), with ``profile``,
    ``sr_bits``, ``cases``, ``count``, ``operand_formats`` and ``knobs`` (a table of other
    Context knobs) shared.  ``saturation = "default"`` is the format's catalog default.
    """
    path = name_or_path
    if not os.path.exists(path):
        path = os.path.join(SUITES_DIR, f"{name_or_path}.toml")
        if not os.path.exists(path):
            raise RefnumError(f"unknown suite '{name_or_path}'; built-in suites: {', '.join(builtin_suites())}"
                              " (or give a .toml or .json file)")
    try:
        with open(path, "rb") as f:
            data = f.read()
        doc = json.loads(data) if path.endswith(".json") else _toml(data)
    except (OSError, ValueError) as err:
        raise RefnumError(f"suite {path}: {err}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise RefnumError(f"suite {path}: expected a table with a list 'files'")
    seed = doc.get("seed", 1)
    if not isinstance(seed, int):
        raise RefnumError(f"suite {path}: seed must be an integer")
    entries = []
    for number, table in enumerate(doc["files"], 1):
        entries.extend(_expand(table, f"suite {path}, files[{number}]"))
    return str(doc.get("description", "")), seed, entries


def _toml(data):
    import tomllib

    return tomllib.loads(data.decode("utf-8"))


def _expand(table, where):
    if not isinstance(table, dict):
        raise RefnumError(f"{where}: expected a table")
    unknown = set(table) - _ENTRY_KEYS
    if unknown:
        raise RefnumError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
    if "function" not in table:
        raise RefnumError(f"{where}: 'function' is required")
    _check_types(table, where)
    lists = [_as_list(table.get(k, _DEFAULTS[k])) for k in _LIST_KEYS]
    shared = {k: table[k] for k in ("profile", "sr_bits", "cases", "count") if k in table}
    if "operand_formats" in table:
        shared["operand_formats"] = tuple(table["operand_formats"])
    if "knobs" in table:
        shared["knobs"] = tuple(sorted(table["knobs"].items()))
    entries = []
    try:
        for function, rounding, saturation in itertools.product(*lists):
            entries.append(Entry(function, rounding, None if saturation == "default" else saturation, **shared))
    except RefnumError as err:
        raise RefnumError(f"{where}: {err}") from None
    return entries


def _check_types(table, where):
    """Every key of a suite table has the type the suite format gives it (spec/suites.md)."""
    for key, value in table.items():
        kind = _KEY_TYPES[key]
        if key in _LIST_KEYS:
            ok = _is(value, str) or (isinstance(value, list) and value and all(_is(v, str) for v in value))
        elif key == "operand_formats":
            ok = isinstance(value, list) and value and all(_is(v, str) for v in value)
        elif key == "knobs":
            ok = isinstance(value, dict)
        else:
            ok = _is(value, kind)
        if not ok:
            raise RefnumError(f"{where}: {key} must be {_KEY_TEXTS[key]}, got {value!r}")
    knob_types = {f.name: type(f.default) for f in dataclasses.fields(Context)
                  if f.name not in ("name", "rounding", "saturation", "sr_bits")}
    for knob, value in table.get("knobs", {}).items():
        if knob not in knob_types:
            raise RefnumError(f"{where}: unknown knob '{knob}' in knobs; choose from {', '.join(knob_types)}")
        if not _is(value, knob_types[knob]):
            raise RefnumError(f"{where}: knob {knob} must be {_KEY_TEXTS[knob_types[knob]]}, got {value!r}")


def _is(value, kind):
    """isinstance without taking a bool for an int (TOML true is no count)."""
    return type(value) is kind


_KEY_TYPES = {"function": str, "rounding": str, "saturation": str, "profile": str, "sr_bits": int,
              "cases": str, "count": int, "operand_formats": list, "knobs": dict}
_KEY_TEXTS = {"function": "a function name or a list of them", "rounding": "a rounding mode or a list of them",
              "saturation": "a saturation policy or a list of them", "profile": "a profile name (a string)",
              "sr_bits": "an integer", "cases": "a case generator name (a string)", "count": "an integer",
              "operand_formats": "a list of format names", "knobs": "a table of context knobs",
              str: "a string", bool: "true or false", int: "an integer"}


_DEFAULTS = {"function": None, "rounding": "rne", "saturation": "default"}


def _as_list(value):
    return list(value) if isinstance(value, list) else [value]
