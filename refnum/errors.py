"""The one exception type for user mistakes; the CLI prints its message on one line."""


class RefnumError(ValueError):
    """Bad input to a public refnum function: unknown format, malformed code, bad option."""
