"""refnum's NVIDIA presets against MMA-Sim (skipped when mmasim or torch is missing)."""

import random

import pytest

from refnum.catalog import lookup
from refnum.dot import mmasim as check
from refnum.dot.presets import preset

torch = pytest.importorskip("torch")
pytest.importorskip("mmasim")


def test_codes_cross_as_bits():
    """A tensor built from codes reads back as the same codes (NaN payloads and -0 included)."""
    for fmt_name, codes in (("binary16", [0, 0x8000, 0x7E01, 0xFC00, 1]), ("e4m3", [0x7F, 0xFF, 0x80, 1]),
                            ("binary32", [0x7FC00001, 0x80000000, 1]), ("bfloat16", [0xFF81, 0x0001])):
        fmt = lookup(fmt_name)
        assert check._codes_of(torch, check._tensor(torch, codes, fmt)) == codes


def test_case_families_reach_what_they_are_for():
    p = preset("h100_wgmma_f16_f32")
    batch = check.cases(p.model, p.operands, 16, 10, random.Random(1))
    assert [c[0] for c in batch[:5]] == ["raw", "similar", "window", "zeros", "overflow"]
    assert any(0 in a for family, a, b, c in batch if family == "zeros")


def test_every_nvidia_preset_agrees_with_mmasim():
    lines, unexplained = check.run(seed=3, per_preset=40)
    assert len(lines) == len(check.INSTRUCTIONS) and unexplained == 0, "\n".join(lines)


def test_refnum_crosscheck_mmasim_command(tmp_path):
    from test_cli import cli

    rc, out, err = cli("crosscheck", "mmasim", "--quick", "--json", tmp_path / "m.json")
    assert (rc, err) == (0, "") and out.endswith("mmasim: 0 disagreements no known difference explains\n")
    assert (tmp_path / "m.json").exists()
