"""The spec/ chapters: generated blocks are current, every small format has a value table,
the tables agree with the values the defining specifications state, and the links resolve.

The chapters' own examples are doctests, collected by pytest's ``--doctest-glob=*.md``.
"""

import dataclasses
import importlib.util
import pathlib
import re
from fractions import Fraction

import pytest

from refnum import Context, lookup
from refnum.catalog import CATALOG

SPEC = pathlib.Path(__file__).resolve().parent.parent / "spec"
CHAPTERS = sorted(SPEC.glob("*.md"))


def _load_generator():
    spec = importlib.util.spec_from_file_location("refnum_spec_generate", SPEC / "generate.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_generated_blocks_are_current(path):
    text = path.read_text(encoding="utf-8")
    assert generate.regenerate(text) == text, f"{path.name} is stale: run python spec/generate.py"


def test_stale_block_is_detected():
    text = "x\n<!-- table:e2m1 -->\n| 0 | wrong |\n<!-- /table -->\n"
    assert generate.regenerate(text) != text


def test_unclosed_marker_is_an_error():
    with pytest.raises(ValueError):
        generate.blocks("<!-- table:e2m1 -->\nno end\n")


def _tables():
    """{format name: [(code, value text), ...]} of every value table in spec/."""
    tables = {}
    for path in CHAPTERS:
        for m in generate.BLOCK.finditer(path.read_text(encoding="utf-8")):
            if m[1] != "table":
                continue
            rows = [line.split("|") for line in m[3].splitlines()[2:]]
            tables[lookup(m[2]).name] = [(int(r[1], 16), r[4].strip()) for r in rows]
    return tables


TABLES = _tables()


def test_every_small_catalog_format_has_a_table():
    small = {name for name, fmt in CATALOG.items() if fmt.k <= 8}
    missing = small - set(TABLES)
    assert not missing, f"no value table in spec/ for {sorted(missing)}"


@pytest.mark.parametrize("name", sorted(TABLES))
def test_table_lists_every_code_once_in_order(name):
    assert [code for code, _ in TABLES[name]] == list(range(1 << lookup(name).k))


def _number(text):
    if text in ("NaN", "-NaN", "sNaN", "-sNaN", "Inf", "-Inf"):
        return text
    if text == "-0":
        return "-0"
    if "0x" in text:                      # long values are shown as hex floats (exact in binary64 here)
        return Fraction(float.fromhex(text))
    return Fraction(text)


# Values the defining documents state (OFP8 v1.0, OCP MX v1.0 §5.3-5.4, the ml_dtypes/LLVM
# definitions of the IEEE-style and FNUZ types, PTX .ue4m3, P3109 v4.0 §3.1 and Annex B),
# written down from those documents, not computed by refnum: code -> value.
SPEC_VALUES = {
    "e4m3": {0x00: 0, 0x80: "-0", 0x01: Fraction(1, 2**9), 0x08: Fraction(1, 2**6), 0x38: 1, 0x78: 256,
             0x7E: 448, 0x7F: "NaN", 0xFE: -448, 0xFF: "-NaN"},
    "e5m2": {0x01: Fraction(1, 2**16), 0x04: Fraction(1, 2**14), 0x3C: 1, 0x7B: 57344, 0x7C: "Inf",
             0xFC: "-Inf", 0xFB: -57344},
    "e4m3fnuz": {0x00: 0, 0x80: "NaN", 0x01: Fraction(1, 2**10), 0x08: Fraction(1, 2**7), 0x40: 1,
                 0x7F: 240, 0xFF: -240},
    "e5m2fnuz": {0x00: 0, 0x80: "NaN", 0x01: Fraction(1, 2**17), 0x40: 1, 0x7F: 57344},
    "e4m3b11fnuz": {0x00: 0, 0x80: "NaN", 0x01: Fraction(1, 2**13), 0x7F: 30},
    "float8_e4m3": {0x01: Fraction(1, 2**9), 0x38: 1, 0x77: 240, 0x78: "Inf", 0xF8: "-Inf"},
    "float8_e3m4": {0x01: Fraction(1, 2**6), 0x10: Fraction(1, 4), 0x30: 1, 0x6F: Fraction(31, 2),
                    0x70: "Inf"},
    "e2m3": {0x01: Fraction(1, 8), 0x08: 1, 0x1F: Fraction(15, 2), 0x20: "-0", 0x3F: Fraction(-15, 2)},
    "e3m2": {0x01: Fraction(1, 16), 0x04: Fraction(1, 4), 0x0C: 1, 0x1F: 28, 0x20: "-0"},
    "e2m1": {0: 0, 1: Fraction(1, 2), 2: 1, 3: Fraction(3, 2), 4: 2, 5: 3, 6: 4, 7: 6, 8: "-0", 0xF: -6},
    "e8m0": {0x00: Fraction(1, 2**127), 0x7F: 1, 0x80: 2, 0xFE: 2**127, 0xFF: "NaN"},
    "ue4m3": {0x00: 0, 0x01: Fraction(1, 2**9), 0x38: 1, 0x7E: 448, 0x7F: "NaN"},
    "mxint8": {0x00: 0, 0x01: Fraction(1, 64), 0x40: 1, 0x7F: Fraction(127, 64), 0x80: -2, 0xFF: Fraction(-1, 64)},
    "p3109_k8p4se": {0x00: 0, 0x01: Fraction(1, 2**10), 0x40: 1, 0x7E: 224, 0x7F: "Inf", 0x80: "NaN",
                     0xFF: "-Inf"},
    "p3109_k8p4sf": {0x40: 1, 0x7F: 240, 0x80: "NaN"},
    "p3109_k8p3se": {0x01: Fraction(1, 2**17), 0x40: 1, 0x7E: 49152, 0x7F: "Inf", 0x80: "NaN"},
    "p3109_k8p1uf": {0x00: 0, 0x01: Fraction(1, 2**127), 0x80: 1, 0xFE: 2**126, 0xFF: "NaN"},
    "p3109_k4p2sf": {0x1: Fraction(1, 4), 0x2: Fraction(1, 2), 0x4: 1, 0x7: 3, 0x8: "NaN", 0xF: -3},
}


@pytest.mark.parametrize("name", sorted(SPEC_VALUES))
def test_tables_show_the_values_the_specs_state(name):
    assert name in TABLES, f"spec/ has no value table for {name}"
    shown = dict(TABLES[name])
    for code, expected in SPEC_VALUES[name].items():
        assert _number(shown[code]) == expected, f"{name} code {code:#x}: table says {shown[code]}"


def test_every_context_knob_is_described_in_the_profile_table():
    knobs = {f.name for f in dataclasses.fields(Context)} - {"name"}
    assert knobs <= set(generate.KNOB_MEANING), f"describe {sorted(knobs - set(generate.KNOB_MEANING))}"
    table = (SPEC / "profiles-and-flags.md").read_text(encoding="utf-8")
    for knob in knobs:
        assert f"| `{knob}` |" in table


def test_profile_table_shows_each_profiles_setting():
    table = generate.render_profiles()
    row = next(line for line in table.splitlines() if line.startswith("| `invalid_int` |"))
    cells = [c.strip().strip("*`") for c in row.split("|")[2:-2]]
    assert cells == ["saturate", "saturate", "x86", "arm", "x86", "saturate", "saturate", "saturate", "x86", "arm",
                     "saturate", "saturate"]


_LINK = re.compile(r"\]\(([^)#]+\.md)(#[^)]*)?\)")


def _anchors(text):
    """GitHub-style anchors of a chapter's headings."""
    anchors = set()
    for line in text.splitlines():
        if line.startswith("#"):
            title = line.lstrip("#").strip().lower()
            anchors.add(re.sub(r"[^\w\- ]", "", title).replace(" ", "-"))
    return anchors


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_links_between_chapters_resolve(path):
    for target, anchor in _LINK.findall(path.read_text(encoding="utf-8")):
        target_path = SPEC / target
        assert target_path.exists(), f"{path.name} links to missing {target}"
        if anchor:
            assert anchor[1:] in _anchors(target_path.read_text(encoding="utf-8")), \
                f"{path.name} links to missing anchor {target}{anchor}"


# -- README: the tour shows real output ------------------------------------------------

README = SPEC.parent / "README.md"
_CONSOLE = re.compile(r"```console\n(.*?)```", re.S)


def _console_blocks():
    """[(commands and expected outputs), ...] of the README's console blocks."""
    blocks = []
    for body in _CONSOLE.findall(README.read_text(encoding="utf-8")):
        steps = []
        for line in body.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            else:
                steps[-1][1].append(line)
        blocks.append(steps)
    return blocks


@pytest.mark.parametrize("steps", _console_blocks(), ids=lambda s: s[0][0][:40])
def test_readme_tour_output_is_real(steps, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    env = dict(os.environ, PYTHONPATH=str(SPEC.parent))
    if os.environ.get("TESTFLOAT_GEN"):          # the testfloat_gen binary (RISCV build)
        env["PATH"] = str(pathlib.Path(os.environ["TESTFLOAT_GEN"]).parent) + os.pathsep + env["PATH"]
    if any(cmd.startswith("testfloat_gen") for cmd, _ in steps) and not shutil.which("testfloat_gen",
                                                                                     path=env["PATH"]):
        pytest.skip("testfloat_gen (Berkeley TestFloat 3e) is not on PATH; set TESTFLOAT_GEN to run")
    refnum = f"{sys.executable} -m refnum"
    for cmd, expected in steps:
        run = subprocess.run(["bash", "-c", re.sub(r"(^|\| )refnum ", rf"\g<1>{refnum} ", cmd)],
                             cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        got = (run.stdout + run.stderr).splitlines()
        assert [line.rstrip() for line in got] == [line.rstrip() for line in expected], cmd


def test_readme_python_examples():
    import doctest

    pytest.importorskip("numpy", reason="the README's tour shows refnum.array, which needs numpy")
    parser = doctest.DocTestParser()
    test = parser.get_doctest(README.read_text(encoding="utf-8"), {}, "README.md", str(README), 0)
    assert test.examples, "the README shows Python examples"
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0


# -- exact decimals of the widest format (the chapters and `refnum info` print them) -----

def test_binary128_extremes_print_exactly():
    """Values with more digits than Python's int-to-str limit (4300) still print exactly."""
    from decimal import Decimal, localcontext

    from refnum import decode

    largest = str(decode(0x7FFEFFFFFFFFFFFFFFFFFFFFFFFFFFFF, "binary128"))   # (2**113 - 1) * 2**16271
    smallest = str(decode(0x00000000000000000000000000000001, "binary128"))  # 2**-16494
    with localcontext() as ctx:
        ctx.prec = 40000
        assert Decimal(largest) == (Decimal(2) ** 113 - 1) * Decimal(2) ** 16271
        assert Decimal(smallest) * Decimal(2) ** 16494 == 1
    assert len(largest) == 4933 and smallest.startswith("0.000")
