"""Principle 2 of design.md: the exact core holds no Python floats and no numpy.

Floats may only cross in refnum/interop.py.  The check walks every module's
syntax tree: a float literal, a call of ``float``, or an import of math,
numpy, struct or decimal anywhere else fails the test -- except the integer
functions of math (``from math import isqrt``), which are exact, and numpy in
refnum/array.py, the optional numpy path (it computes on integer arrays and
reads floats as bit patterns; float literals and ``float()`` stay forbidden
there too).
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "refnum"
FLOAT_DOOR = PACKAGE / "interop.py"
FORBIDDEN_IMPORTS = {"math", "numpy", "struct", "decimal", "cmath"}
EXACT_MATH = {"isqrt", "gcd", "lcm", "comb"}         # integer in, integer out
NUMPY_DOOR = PACKAGE / "array.py"
MODULES = sorted(p for p in PACKAGE.rglob("*.py") if p != FLOAT_DOOR)


def offences(path):
    allowed = {"numpy"} if path == NUMPY_DOOR else set()
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            yield f"{path.name}:{node.lineno}: float literal {node.value!r}"
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "float":
            yield f"{path.name}:{node.lineno}: call of float()"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in FORBIDDEN_IMPORTS - allowed:
                    yield f"{path.name}:{node.lineno}: import {alias.name}"
        elif isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in FORBIDDEN_IMPORTS - allowed:
            if node.module == "math" and all(alias.name in EXACT_MATH for alias in node.names):
                continue
            yield f"{path.name}:{node.lineno}: from {node.module} import"


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_no_floats_outside_interop(path):
    assert list(offences(path)) == []


def test_the_check_catches_a_float(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import math\nx = 0.5\ny = float('1')\nfrom math import sqrt\nfrom math import isqrt\n")
    assert len(list(offences(bad))) == 4



def test_floats_leave_through_interop_correctly_rounded():
    from refnum.convert import exact
    from refnum.interop import value_to_float

    # Python's float() of a decimal string is correctly rounded (IEEE 754 §5.12): an independent oracle
    for text in ("0.1", "-2.5e-3", "1e-320", "1.7976931348623157e308", "4.9e-324", "1e400", "-0"):
        assert value_to_float(exact(text)) == float(text)
