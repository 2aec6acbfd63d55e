"""The published block vectors (vectors/blocks): regenerate byte for byte, verify, and agree with
the brute-force oracle (tests/oracle.py) line by line for MXFP4 and MXFP6."""

import json
from fractions import Fraction
from pathlib import Path

import pytest

import oracle
from refnum.blocks import corpus
from refnum.vectors.suite import check_manifest
from test_cli import cli

CORPUS = Path(__file__).resolve().parent.parent / "vectors" / "blocks"


def test_committed_block_corpus_regenerates(tmp_path):
    """refnum gen --suite blocks gives the committed bytes (every file's SHA-256 is in the manifest)."""
    rc, out, _ = cli("gen", "--suite", "blocks", "--out", tmp_path)
    assert rc == 0 and out.startswith("50 files")
    assert (CORPUS / "manifest.json").read_text() == (tmp_path / "manifest.json").read_text()
    assert check_manifest(CORPUS) == (50, [])
    assert (CORPUS / "README.md").read_text() == corpus.README
    rc, _, _ = cli("gen", "--suite", "blocks", "--out", tmp_path / "npz", "--format", "npz")
    assert rc == 0 and check_manifest(tmp_path / "npz") == (50, [])


def test_jsonl_records_are_the_tv_lines():
    from refnum.blocks import scheme
    s = scheme("nvfp4")
    for codes in corpus.amax_blocks(s)[:20]:
        inputs, _, block = corpus.vector_line(s, codes).partition(" | ")
        record = json.loads(corpus.vector_line(s, codes, "jsonl"))
        codes_part, _, flags = block.partition(" : ")
        t, scale, *elements = (int(c, 16) for c in codes_part.split())
        assert record["inputs"] == inputs.split() and record["tensor_scale"] == f"{t:08X}"
        assert (record["scale"], record["elements"]) == (scale, elements)
        assert [record["scale_flags"]] + record["flags"] == [int(f, 16) for f in flags.split()]


@pytest.mark.parametrize("name, elem", [("mxfp4", "e2m1"), ("mxfp6_e2m3", "e2m3"), ("mxfp6_e3m2", "e3m2")])
@pytest.mark.parametrize("cases", ["elements", "amax"])
def test_committed_lines_against_the_oracle(name, elem, cases):
    """FLOOR files: the scale is 2**(floor(log2 amax) - e_m) clamped to [-127, 127], found by search,
    and every element is the oracle's RNE-and-clamp rounding of x / scale."""
    fmt = oracle.catalog_format(elem)
    top = max(v for v in oracle.small_float_values(fmt).values() if isinstance(v, Fraction))
    e_m = max(k for k in range(8) if 2 ** k <= top)
    lines = (CORPUS / name / f"floor_{cases}.tv").read_text().splitlines()
    for line in lines:
        inputs, _, block = line.partition(" | ")
        xs = [oracle.ieee_value(int(c, 16), 8, 23) for c in inputs.split()]
        amax = max(abs(x) for x in xs)
        e = next(k for k in range(-160, 130) if Fraction(2) ** k <= amax < Fraction(2) ** (k + 1)) - e_m
        e = min(max(e, -127), 127)
        codes, _, flags = block.partition(" : ")
        scale, *elements = (int(c, 16) for c in codes.split())
        assert scale == e + 127, line
        assert [c for c in elements] == [oracle.nearest(x / Fraction(2) ** e, fmt, "rne", "finite")[0] for x in xs]
    assert len(lines) >= 5


def test_verify_passes_and_catches_a_changed_line(tmp_path):
    path = CORPUS / "mxfp8_e4m3" / "rceil_amax.tv"
    rc, out, _ = cli("block", "verify", "mxfp8_e4m3", "--scale-rule", "rceil", path)
    assert rc == 0 and out.splitlines()[-1] == f"{len(path.read_text().splitlines())} passed, 0 failed"
    lines = path.read_text().splitlines()
    inputs, _, block = lines[3].partition(" | ")
    fields = block.split()
    fields[1] = f"{int(fields[1], 16) ^ 1:02X}"
    bad = tmp_path / "bad.tv"
    bad.write_text("\n".join(lines[:3] + [inputs + " | " + " ".join(fields)]) + "\n")
    rc, out, _ = cli("block", "verify", "mxfp8_e4m3", "--scale-rule", "rceil", bad)
    assert rc == 1 and out.splitlines()[-1] == "3 passed, 1 failed" and out.startswith("line 4: ")


@pytest.mark.parametrize("name", ["mxfp6_e3m2", "nvfp4"])
def test_memh_and_npz_hold_the_tv_blocks(tmp_path, name):
    """The memh words, split by memh_fields, and the npz arrays give the tv lines' codes."""
    from refnum.blocks import scheme
    s = scheme(name)
    cases = [(codes, corpus.quantize([corpus._F32.decode(c) for c in codes], s)) for codes in corpus.amax_blocks(s)]
    fields = corpus.memh_fields(s)
    for (codes, b), word in zip(cases, corpus._memh(s, cases).decode().split()):
        word, values = int(word, 16), []
        for _, bits in reversed(fields):
            values.append(word & ((1 << bits) - 1))
            word >>= bits
        values.reverse()
        tv = corpus.vector_line(s, codes).replace("|", "").replace(":", "").split()
        assert values == [int(v, 16) for v in tv]
    np = pytest.importorskip("numpy")
    path = tmp_path / "x.npz"
    path.write_bytes(corpus._npz(s, cases))
    arrays = np.load(path)
    assert arrays["elements"].reshape(-1, s.k).tolist() == [list(b.elements) for _, b in cases]
    assert arrays["inputs"].reshape(-1, s.k).tolist() == [list(c) for c, _ in cases]
    assert arrays["scale"].tolist() == [b.scale for _, b in cases]
    assert arrays["flags"].reshape(-1, s.k).tolist() == [list(b.flags) for _, b in cases]
