"""refnum: a bit-exact, readable reference for the number formats of ML arithmetic.

Decode to exact values, compute exactly, project once (round, overflow policy,
flags), encode.  See ``spec/`` for the semantics and ``refnum --help`` for the
command line.
"""

from .catalog import lookup
from .context import DEFAULT, PROFILES, Context, Flag
from .convert import convert, decode, exact, from_value
from .errors import RefnumError
from .rounding import project
from .values import Value

__all__ = ["Context", "DEFAULT", "Flag", "PROFILES", "RefnumError", "Value", "convert", "decode",
           "exact", "from_value", "lookup", "project"]
__version__ = "0.1.0"
