"""Function names of the vector tools, in TestFloat's spelling.

TestFloat names a conversion ``<src>_to_<dst>`` (``f32_to_f16``, ``i32_to_f16``,
``f16_to_i32``) and an operation ``<fmt>_<op>`` (``f16_add``, ``f32_mulAdd``).
refnum accepts the same pattern for every catalog name, alias and family name
(``e4m3_to_f16``, ``float8_e5m2_to_bf16``, ``p3109_k8p4se_to_f32``).  Format
names contain underscores themselves, so a name is split at every ``_to_`` (or
``_``) in turn and the split whose sides both name formats wins.

Only conversions are implemented.  Arithmetic is listed in :data:`OPERATIONS`
(operation name -> number of operands, TestFloat's set) so that the parser
already recognises it and says so; adding an operation means adding its
evaluator in :meth:`Function.evaluator` and marking it implemented here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..catalog import lookup
from ..errors import RefnumError

# TestFloat 3e operation names (testfloat_gen -help) -> number of operands.
OPERATIONS = {
    "add": 2, "sub": 2, "mul": 2, "div": 2, "rem": 2, "mulAdd": 3, "sqrt": 1, "roundToInt": 1,
    "eq": 2, "le": 2, "lt": 2, "eq_signaling": 2, "le_quiet": 2, "lt_quiet": 2,
}
IMPLEMENTED_OPERATIONS = frozenset()        # conversions only, for now
_OPERATION_KEYS = {name.lower(): name for name in OPERATIONS}


@dataclass(frozen=True)
class Function:
    """A parsed function name: the operation, its operand formats and its result format."""

    name: str
    operation: str              # "convert" or a key of OPERATIONS
    sources: tuple              # operand formats, in TestFloat's column order
    result: object              # result format

    @property
    def arity(self):
        return len(self.sources)

    def evaluator(self, ctx):
        """A function ``(*operand_codes, rand) -> (code, flags)`` for this operation under ``ctx``.

        ``rand`` is the random integer of a stochastic rounding (0 otherwise).  The
        returned callable does no range checking: the caller validates the codes.
        """
        if self.operation == "convert":
            from ..convert import converter    # bound once per run: decode, then the one projection step
            return converter(self.sources[0], self.result, ctx)
        raise RefnumError(_not_implemented(self.name))       # unreachable while parse() refuses


def parse(name):
    """The :class:`Function` called ``name``; RefnumError (one line) if there is none.

    >>> f = parse("float8_e5m2_to_bf16")
    >>> f.operation, f.sources[0].name, f.result.name
    ('convert', 'e5m2', 'bfloat16')
    """
    text = name.strip()
    conversion = _parse_conversion(text)
    if isinstance(conversion, Function):
        return conversion
    operation = _parse_operation(text)
    if operation is not None:
        fmt, op = operation
        if op not in IMPLEMENTED_OPERATIONS:
            raise RefnumError(_not_implemented(text))
        return Function(text, op, (fmt,) * OPERATIONS[op], fmt)
    if conversion is not None:                  # "<x>_to_<y>" with an unknown side
        raise conversion
    raise RefnumError(f"unknown function '{text}'; use TestFloat's names: conversions <src>_to_<dst>"
                      " (e.g. f32_to_f16, e4m3_to_bf16)")


def _splits(text, separator):
    """Every (left, right) split of ``text`` at an occurrence of ``separator``."""
    start = text.find(separator)
    while start > 0:
        yield text[:start], text[start + len(separator):]
        start = text.find(separator, start + 1)


def _resolve(name):
    try:
        return lookup(name)
    except RefnumError:
        return None


def _parse_conversion(text):
    """A conversion Function, or the RefnumError explaining the best failed split, or None."""
    found, first_error = [], None
    for left, right in _splits(text, "_to_"):
        src, dst = _resolve(left), _resolve(right)
        if src is not None and dst is not None:
            found.append(Function(text, "convert", (src,), dst))
        elif first_error is None or (src is not None and first_error[0] is None):
            first_error = (src, left if src is None else right)
    if len(found) > 1:
        splits = ", ".join(f"{f.sources[0].name} -> {f.result.name}" for f in found)
        raise RefnumError(f"function '{text}' is ambiguous ({splits}); use the formats' canonical names")
    if found:
        return found[0]
    if first_error is None:
        return None
    try:
        lookup(first_error[1])
    except RefnumError as err:
        return RefnumError(f"function '{text}': {err}")
    return None                                              # pragma: no cover - lookup just failed


def _parse_operation(text):
    """(format, operation) for ``<fmt>_<op>`` names, or None."""
    for left, right in _splits(text, "_"):
        op = _OPERATION_KEYS.get(right.lower())
        if op is not None:
            fmt = _resolve(left)
            if fmt is not None:
                return fmt, op
    return None


def _not_implemented(text):
    return f"{text}: arithmetic is not implemented yet; conversions <src>_to_<dst> are"
