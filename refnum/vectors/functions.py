"""Function names of the vector tools, in TestFloat's spelling.

TestFloat names a conversion ``<src>_to_<dst>`` (``f32_to_f16``, ``i32_to_f16``,
``f16_to_i32``) and an operation ``<fmt>_<op>`` (``f16_add``, ``f32_mulAdd``,
``f16_lt_quiet``).  refnum accepts the same pattern for every catalog name,
alias and family name (``e4m3_to_f16``, ``e4m3_mul``, ``p3109_k8p4se_add``)
and every operation of :mod:`refnum.arith`, and one more form for a result in
another format: ``<fmt>_<op>_to_<result>`` (``e4m3_mul_to_f32``).  Operands
in formats other than ``<fmt>`` (``bf16 x bf16 + f32``) are given apart, as
``operand_formats`` (``--operand-formats bf16,bf16,f32``).  Format names
contain underscores themselves, so a name is split at every ``_to_`` (or
``_``) in turn and the split whose sides both name formats wins.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import BOOL, OPERATIONS
from ..catalog import lookup
from ..errors import RefnumError

_OPERATION_KEYS = {name.lower(): name for name in OPERATIONS}


@dataclass(frozen=True)
class Function:
    """A parsed function name: the operation, its operand formats and its result format."""

    name: str
    operation: str              # "convert" or a key of refnum.arith.OPERATIONS
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
        from ..arith import evaluator
        return evaluator(self.operation, self.sources, self.result, ctx)


def parse(name, operand_formats=None):
    """The :class:`Function` called ``name``; RefnumError (one line) if there is none.

    ``operand_formats`` (format names, one per operand) overrides the operand
    formats of an operation.

    >>> f = parse("float8_e5m2_to_bf16")
    >>> f.operation, f.sources[0].name, f.result.name
    ('convert', 'e5m2', 'bfloat16')
    >>> f = parse("bf16_mulAdd_to_f32", ["bf16", "bf16", "f32"])
    >>> f.operation, [s.name for s in f.sources], f.result.name
    ('mulAdd', ['bfloat16', 'bfloat16', 'binary32'], 'binary32')
    """
    text = name.strip()
    function = _parse(text)
    if operand_formats is None:
        return function
    if function.operation == "convert":
        raise RefnumError(f"{text}: operand formats apply to operations, not conversions")
    if len(operand_formats) != function.arity:
        raise RefnumError(f"{text} takes {function.arity} operands; {len(operand_formats)} operand formats given")
    sources = tuple(lookup(f) for f in operand_formats)
    return Function(text, function.operation, sources, function.result)


def _parse(text):
    conversion = _parse_conversion(text)
    if isinstance(conversion, Function):
        return conversion
    operation = _parse_operation(text)
    if operation is not None:
        fmt, op, result = operation
        spec = OPERATIONS[op]
        if spec.boolean and result is not None:
            raise RefnumError(f"{text}: {op} gives a boolean; it takes no result format")
        result = BOOL if spec.boolean else (result or fmt)
        return Function(text, op, (fmt,) * spec.arity, result)
    if conversion is not None and not _names_operation(text):   # "<x>_to_<y>" with an unknown side
        raise conversion
    for left, right in _splits(text, "_"):                      # "<x>_<op>" with an unknown format
        if _OPERATION_KEYS.get(right.split("_to_")[0].lower()):
            raise RefnumError(f"function '{text}': {_lookup_error(left)}")
    raise RefnumError(f"unknown function '{text}'; use TestFloat's names: conversions <src>_to_<dst>"
                      " (e.g. f32_to_f16, e4m3_to_bf16), operations <fmt>_<op>[_to_<result>] with op one of "
                      + " ".join(OPERATIONS))


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
    """(format, operation, result format or None) for ``<fmt>_<op>[_to_<result>]`` names, or None."""
    for left, right in _splits(text, "_"):
        fmt = _resolve(left)
        if fmt is None:
            continue
        op = _OPERATION_KEYS.get(right.lower())
        if op is not None:
            return fmt, op, None
        for name, result in _splits(right, "_to_"):
            op = _OPERATION_KEYS.get(name.lower())
            if op is not None:
                fmt_out = _resolve(result)
                if fmt_out is None:
                    raise RefnumError(f"function '{text}': {_lookup_error(result)}")
                return fmt, op, fmt_out
    return None


def _names_operation(text):
    return any(_OPERATION_KEYS.get(part.lower()) for part in text.split("_to_")[0].split("_")[1:])


def _lookup_error(name):
    try:
        lookup(name)
    except RefnumError as err:
        return str(err)
    return f"unknown format '{name}'"                  # pragma: no cover - lookup just failed
