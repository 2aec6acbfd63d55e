"""The exception types for user mistakes; the CLI prints their message on one line."""


class RefnumError(ValueError):
    """Bad input to a public refnum function: unknown format, malformed code, bad option."""


class ArgumentTypeError(RefnumError, TypeError):
    """An argument of the wrong type (a string where a code goes, a name where a Context goes).

    Both a :class:`RefnumError` and a :class:`TypeError`, so either ``except`` catches it;
    the message names the argument (:mod:`refnum.arguments` raises it)."""


class IntegrityError(RefnumError):
    """A vector folder that is not what its manifest says (``refnum manifest check``: exit 3)."""


def wrong_type(argument, value, wanted):
    """The :class:`ArgumentTypeError` for ``argument`` holding ``value`` where ``wanted`` (words) is
    needed: ``code must be an integer code, not str '3C00'``."""
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ArgumentTypeError(f"{argument} must be {wanted}, not {type(value).__name__} {shown}")
