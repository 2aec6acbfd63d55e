"""The seed-paper studies (refnum.studies): deterministic tables, exact numbers checked
against independent computations, and the command line (``refnum study``, ``refnum plot``).

Oracles: tests/oracle.py's brute-force rounding by enumeration (imports nothing from
refnum) for every quantized code; plain Fraction arithmetic for SQNR and lost updates;
Python's float ``math`` for the samplers and decibels (a different path, compared
within a tolerance); P3109 v4.0 §4.7.4's definitions of stochastic rounding A/B/C
written out over every random integer R; OFP8 v1.0's E4M3 value set for the binade counts.
"""

from __future__ import annotations

import math
import random
import re
from fractions import Fraction
from pathlib import Path

import pytest

import oracle
from refnum import studies
from refnum.studies import dfp_int16, fp8_bit_reduction, fp8_vs_int8, fp16_mcu, samples
from refnum.studies.quantize import Quantizer, largest, parts
from refnum.studies.tables import decibels, fixed, scientific
from refnum.values import Value
from test_cli import assert_input_error, cli

SMALL = {"fp8-vs-int8": 40, "fp8-bit-reduction": 12, "fp16-mcu": 1, "dfp-int16": 1}


# -- determinism ----------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(studies.STUDIES))
def test_study_tables_are_the_same_bytes_for_a_seed(name):
    first = studies.run(name, seed=3, size=SMALL[name])
    again = studies.run(name, seed=3, size=SMALL[name])
    assert first.text() == again.text() and first.markdown() == again.markdown()
    assert studies.run(name, seed=4, size=SMALL[name]).text() != first.text()


def test_samples_come_from_the_integer_stream():
    """U = (k + 1) / 2**53 with k from random.Random(seed).getrandbits(53); the transforms agree
    with the same formulas in binary64 (an independent float path) to a few ulps."""
    sampler = samples.Sampler("x")
    rng = random.Random("x")
    k = rng.getrandbits(53)
    assert samples.exact(sampler.uniform()).to_fraction() == Fraction(k + 1, 2**53)
    for name in ("gaussian", "laplace", "student-t(4)"):
        got = samples.sample(name, 20, seed=7)
        rng = random.Random(f"7:{name}")
        u = lambda: (rng.getrandbits(53) + 1) / 2**53           # noqa: E731
        for v in got:
            if name == "gaussian":
                expect = math.sqrt(-2 * math.log(u())) * math.cos(2 * math.pi * u())
            elif name == "laplace":
                negative = rng.getrandbits(1)
                expect = -math.log(u()) * (-1 if negative else 1)
            else:
                z = math.sqrt(-2 * math.log(u())) * math.cos(2 * math.pi * u())
                expect = z / math.sqrt(-2 * math.log(u() * u()) / 4)
            assert v.den == 1 and v.num.bit_length() <= 53
            assert float(v.to_fraction()) == pytest.approx(expect, rel=1e-12, abs=1e-12)


# -- exact numbers against independent computations ------------------------------------------

ORACLE_FORMATS = {"int8": "int8", "int4": "int4", "e2m5_fin": "e2m5_fin", "e3m4_fin": "e3m4_fin",
                  "e4m3_fin": "e4m3_fin", "e5m2_fin": "e5m2_fin"}


def _oracle_sqnr(xs, name, clip):
    """Fraction-only SQNR: y = x / s rounded by enumeration (tests/oracle.py), x_q = s * value."""
    fmt = oracle.oracle_format(name)
    values = oracle.small_float_values(fmt)
    s = clip / largest(Quantizer(name).fmt)
    codes = [oracle.nearest(x / s, fmt, "rne", "finite")[0] for x in xs]
    noise = sum((x - s * values[c]) ** 2 for x, c in zip(xs, codes))
    return codes, (sum(x * x for x in xs) / noise if noise else None)


@pytest.mark.parametrize("name", ORACLE_FORMATS)
def test_quantizer_codes_and_sqnr_match_a_fraction_computation(name):
    values = samples.sample("student-t(4)", 30, seed=2)
    xs = [v.to_fraction() for v in values]
    amax = max(abs(x) for x in xs)
    q = Quantizer(name)
    for r in (Fraction(1), Fraction(5, 8), Fraction(3, 64)):        # no clipping, some, most
        codes, sqnr = _oracle_sqnr(xs, name, r * amax)
        assert q.codes(parts(values), r * amax) == codes
        assert q.sqnr(parts(values), r * amax) == sqnr


def test_sqnr_of_a_hand_checked_tensor():
    """INT4 with clip 1 (scale 1/7): 1 -> 7 exactly; 1/2 -> 3.5, a tie, to the even 4; 3/8 -> 2.625 -> 3.
    Noise (1/2 - 4/7)**2 + (3/8 - 3/7)**2 = 1/196 + 9/3136 = 25/3136; signal 1 + 1/4 + 9/64 = 89/64."""
    tensor = parts([Value.from_fraction(Fraction(x)) for x in ("1", "1/2", "3/8")])
    assert Quantizer("int4").sqnr(tensor, Fraction(1)) == Fraction(89, 64) / Fraction(25, 3136)


def test_quantizer_is_projection_onto_the_scaled_format():
    """The bulk path equals refnum.project onto ``F@s``, the flexible-bias format of the catalogue."""
    from refnum import lookup, project

    values = samples.sample("laplace", 25, seed=5)
    for name in ("e3m4_fin", "int8"):
        q = Quantizer(name)
        clip = Fraction(3, 2)
        scaled = lookup(f"{name}@{clip / q.max}")
        assert q.codes(parts(values), clip) == [project(v, scaled, q.ctx)[0] for v in values]


def test_decibels():
    assert decibels(Fraction(10**7)) == 70 and decibels(Fraction(1, 1000)) == -30
    assert decibels(None) is None
    for ratio in (Fraction(2), Fraction(89 * 3136, 64 * 25), Fraction(12345, 7)):
        assert abs(decibels(ratio) - Fraction(10 * math.log10(ratio))) <= Fraction(1, 200)
    assert (fixed(Fraction(-301, 100)), fixed(Fraction(5)), fixed(None)) == ("-3.01", "5.00", "inf")


def test_best_clipping_is_the_grid_maximum():
    values = samples.sample("student-t(2)", 30, seed=1)
    amax = max(abs(v.to_fraction()) for v in values)
    q = Quantizer("int4")
    best, r = fp8_vs_int8.best_clipping(q, parts(values), amax)
    grid = {c: q.sqnr(parts(values), c * amax) for c in fp8_vs_int8.CLIP_RATIOS}
    assert best == max(grid.values()) and grid[r] == best
    assert len(fp8_vs_int8.CLIP_RATIOS) == 25 and min(fp8_vs_int8.CLIP_RATIOS) == Fraction(1, 64)


def test_fp8_vs_int8_table_shows_the_measured_numbers():
    report = fp8_vs_int8.run(seed=1, size=SMALL["fp8-vs-int8"])
    results = fp8_vs_int8.measure(1, SMALL["fp8-vs-int8"])
    table = report.tables[0]
    for row in table.rows:
        measured = results[row[0]]
        assert row[1:7] == [fixed(decibels(measured[label][0])) for label in fp8_vs_int8.FORMATS]
        best = max(fp8_vs_int8.FLOATS, key=lambda label: measured[label][0])
        assert row[7] == best
    ahead = [r[0] for r in table.rows if not r[8].startswith("-")]
    assert table.notes[1].endswith(", ".join(ahead) or "none")


def _oracle_lost(name, mode, sr_bits, starts, deltas, seed):
    """Weights updated by enumeration (tests/oracle.py) with Fractions; the same R stream."""
    fmt = oracle.oracle_format(name)
    values = oracle.small_float_values(fmt) if fmt.bits <= 8 else None
    rng = random.Random(f"{seed}:rounding:{sr_bits}")
    arrived = intended = Fraction(0)
    for start, steps in zip(starts, deltas):
        w0 = w = _oracle_round(start, fmt, values, mode, 0, sr_bits)
        for num, exp in steps:
            step = Fraction(num) * Fraction(2) ** exp
            w = _oracle_round(w + step, fmt, values, mode, rng.getrandbits(sr_bits) if sr_bits else 0, sr_bits)
            intended += step
        arrived += w - w0
    return 1 - arrived / intended


def _oracle_round(x, fmt, values, mode, rand, sr_bits):
    code, _ = oracle.nearest(x, fmt, mode, rand=rand, sr_bits=sr_bits)
    return values[code] if values is not None else oracle.decode(fmt, code)


@pytest.mark.parametrize("mode", list(fp8_bit_reduction.MODES))
def test_lost_updates_match_a_fraction_simulation(mode):
    starts = [Value.from_fraction(Fraction(9, 8)), Value.from_fraction(Fraction(3, 2))]
    rng = random.Random(0)
    deltas = [[(rng.getrandbits(8) + 1, -14) for _ in range(40)] for _ in starts]
    ctx = fp8_bit_reduction.MODES[mode]
    for name in ("e4m3", "e5m2"):
        got = fp8_bit_reduction.lost_share(name, ctx, starts, deltas, 9)
        assert got == _oracle_lost(name, ctx.rounding, ctx.sr_bits, [v.to_fraction() for v in starts], deltas, 9)


def test_round_to_nearest_loses_every_step_below_half_an_ulp():
    """E8M3 at 1 has ulp 1/8: 1/32 steps vanish under rne and rtz; sr-a with 2 bits rounds
    1 + 1/32 up only for R = 3 (floor(1/4 * 4) + R >= 4), so some arrive."""
    starts = [Value.from_fraction(Fraction(1))]
    deltas = [[(1, -5)] * 64]
    for mode in ("rne", "rtz"):
        assert fp8_bit_reduction.lost_share("e8m3", fp8_bit_reduction.MODES[mode], starts, deltas, 1) == 1
    from refnum import Context

    assert fp8_bit_reduction.lost_share("e8m3", Context(rounding="sr-a", sr_bits=2), starts, deltas, 1) < 1


# fp16-mcu: every chain written out in Fractions, each rounding by mpmath (normal range) or by
# Python's exact round on the subnormal grid -- nothing of refnum's dot models or rounding.
_FLOAT = {"binary16": (11, -14, 65504), "bfloat16": (8, -126, None), "binary32": (24, -126, None)}


def _round_to(q, fmt):
    """``q`` rounded to nearest even into ``fmt`` (p bits, subnormals below 2**emin)."""
    import mpmath

    prec, emin, top = _FLOAT[fmt]
    if q == 0:
        return Fraction(0)
    if abs(q) < Fraction(2) ** emin:
        scale = 2 ** (prec - 1 - emin)
        return Fraction(round(q * scale), scale)
    man, exp = mpmath.fdiv(abs(q.numerator), q.denominator, prec=prec, rounding="n").man_exp
    r = Fraction(int(man) if q > 0 else -int(man)) * Fraction(2) ** int(exp)
    assert top is None or abs(r) <= top, "the oracle does not model overflow"
    return r


def _lane_chains(a, b, fmt, lanes, fused):
    acc = [Fraction(0)] * lanes
    for i, (x, y) in enumerate(zip(a, b)):
        p = x * y if fused else _round_to(x * y, fmt)
        acc[i % lanes] = _round_to(acc[i % lanes] + p, fmt)
    total = acc[0]
    for lane in acc[1:]:
        total = _round_to(total + lane, fmt)
    return total


def _pairs_fused(a, b, fmt):
    acc = Fraction(0)
    for i in range(0, len(a), 2):
        acc = _round_to(acc + sum(x * y for x, y in zip(a[i:i + 2], b[i:i + 2])), fmt)
    return acc


_FP16_MCU_ORACLE = {      # label: (operand format, the chain)
    "f16 fma": ("binary16", lambda a, b: _lane_chains(a, b, "binary16", 1, True)),
    "f16 mul+add": ("binary16", lambda a, b: _lane_chains(a, b, "binary16", 1, False)),
    "f16x2 fma": ("binary16", lambda a, b: _lane_chains(a, b, "binary16", 2, True)),
    "f16x2 mul+add": ("binary16", lambda a, b: _lane_chains(a, b, "binary16", 2, False)),
    "vfwmacc f32": ("binary16", lambda a, b: _lane_chains(a, b, "binary32", 1, True)),
    "vfdotpex f32": ("binary16", lambda a, b: _pairs_fused(a, b, "binary32")),
    "bf16x2 fma": ("bfloat16", lambda a, b: _lane_chains(a, b, "bfloat16", 2, True)),
    "f16 vfwmacc f32": ("binary16", lambda a, b: _lane_chains(a, b, "binary32", 1, True)),
    "bf16 vfwmaccbf16 f32": ("bfloat16", lambda a, b: _lane_chains(a, b, "binary32", 1, True)),
}


def test_fp16_mcu_tables_match_a_fraction_simulation():
    """Both tables of ``refnum study fp16-mcu --seed 2 --size 1``, every cell recomputed from the
    samples: operands rounded, chains run and relative errors taken in Fractions."""
    report = fp16_mcu.run(seed=2, size=1)
    for table, (name, reference) in zip(report.tables, (("accumulation", "operands"), ("formats", "data"))):
        labels = table.columns[2:]
        rows = iter(table.rows)
        for distribution in fp16_mcu.DISTRIBUTIONS:
            row, (column,) = fp16_mcu.data(distribution, 2, 1)
            x, y = [v.to_fraction() for v in row], [v.to_fraction() for v in column]
            for k in fp16_mcu.KS:
                cells = next(rows)
                assert cells[:2] == [distribution, str(k)]
                for label, cell in zip(labels, cells[2:]):
                    fmt, chain = _FP16_MCU_ORACLE[label]
                    a, b = ([_round_to(v, fmt) for v in z[:k]] for z in (x, y))
                    exact = sum(p * q for p, q in (zip(a, b) if reference == "operands" else zip(x[:k], y[:k])))
                    error = abs(chain(a, b) - exact) / abs(exact)
                    assert report.data[name][distribution][label][fp16_mcu.KS.index(k)] == error
                    assert cell == scientific(error)


def test_fp16_mcu_uses_the_dot_presets():
    """The columns are refnum.dot's presets where one exists (not copies of their models)."""
    from refnum.dot import preset

    assert fp16_mcu.ACCUMULATION["f16x2 fma"][1] is preset("pulp_fp16_simd2").model
    assert fp16_mcu.ACCUMULATION["vfdotpex f32"][1] is preset("riscv_vfdotpex_s_h").model
    assert fp16_mcu.FORMATS["bf16 vfwmaccbf16 f32"][1] is preset("riscv_vfwmaccbf16").model


# dfp-int16: DFP quantization, INT32 accumulation and the FP32 chunk sums written out with
# Python integers and Fractions (the definitions of hardware-accumulators notes §1.2-1.5).

def _oracle_dfp(xs, mode, rands=None):
    """Es = floor(log2 amax) - 14; I = round(x / 2**Es), clamped to INT16 (the scheme's saturation)."""
    amax = max(abs(x) for x in xs)
    es = math.floor(math.log2(amax))                 # checked exactly below
    es += (Fraction(2) ** (es + 1) <= amax) - (Fraction(2) ** es > amax)
    es -= 14
    out = []
    for n, x in enumerate(xs):
        q = x / Fraction(2) ** es
        m, f = divmod(abs(q), 1)
        up = {"rne": f > Fraction(1, 2) or (f == Fraction(1, 2) and m % 2), "rna": f >= Fraction(1, 2),
              "rtz": False, "rdn": q < 0 and f > 0,
              "sr-a": math.floor(f * 2**16) + (rands[n] if rands else 0) >= 2**16}[mode]
        i = (m + up) * (-1 if q < 0 else 1)
        out.append(max(-2**15, min(2**15 - 1, int(i))))
    return out, es


def _oracle_int32(x, y):
    """vpdpwssd over a chunk: pairs of products added into a wrapping INT32; (sum, overflowed)."""
    acc, overflowed = 0, False
    for j in range(0, len(x), 2):
        acc += sum(p * q for p, q in zip(x[j:j + 2], y[j:j + 2]))
        if not -2**31 <= acc < 2**31:
            overflowed, acc = True, (acc + 2**31) % 2**32 - 2**31
    return acc, overflowed


def _oracle_dfp_dot(x, y, scale, chunk):
    total, overflowed = Fraction(0), 0
    for j in range(0, len(x), chunk):
        s, o = _oracle_int32(x[j:j + chunk], y[j:j + chunk])
        total = _round_to(total + _round_to(s * scale, "binary32"), "binary32")
        overflowed += o
    return total, overflowed


def test_dfp_int16_tables_match_an_integer_simulation():
    """Both tables of ``refnum study dfp-int16 --seed 2 --size 1``, every cell recomputed."""
    report = dfp_int16.run(seed=2, size=1)
    sqnr_rows, ovf_rows = (iter(t.rows) for t in report.tables)
    for distribution in dfp_int16.DISTRIBUTIONS:
        xs = [v.to_fraction() for v in samples.sample(distribution, 1024, 2)]
        ys = [v.to_fraction() for v in samples.sample(distribution, 1024, "2:b")]
        rng = random.Random(f"2:dfp-int16:rounding:{distribution}")
        expected = []
        for mode in ("rne", "rna", "rtz", "rdn", "sr-a"):
            rands = [rng.getrandbits(16) for _ in xs] if mode == "sr-a" else None
            ints, es = _oracle_dfp(xs, mode, rands)
            expected.append(sum(x * x for x in xs) / sum((x - i * Fraction(2) ** es) ** 2 for x, i in zip(xs, ints)))
        for fmt in ("binary16", "bfloat16"):
            expected.append(sum(x * x for x in xs) / sum((x - _round_to(x, fmt)) ** 2 for x in xs))
        assert next(sqnr_rows) == [distribution, *(fixed(decibels(q)) for q in expected)]
        a, ea = _oracle_dfp(xs, "rne")
        b, eb = _oracle_dfp(ys, "rne")
        for workload, (y, e) in (("A.B", (b, eb)), ("A.A", (a, ea))):
            scale = Fraction(2) ** (ea + e)
            exact = sum(p * q for p, q in zip(a, y)) * scale
            shares = [fixed(Fraction(100 * _oracle_int32(a[:k], y[:k])[1]), 1) for k in dfp_int16.KS]
            chunked, chunk_overflows = _oracle_dfp_dot(a, y, scale, dfp_int16.CHUNK)
            one, _ = _oracle_dfp_dot(a, y, scale, 1024)
            safe = max(c for c in (2**j for j in range(11))
                       if not any(_oracle_int32(a[i:i + c], y[i:i + c])[1] for i in range(0, 1024, c)))
            assert next(ovf_rows) == [distribution, workload, *shares, fixed(Fraction(100 * (chunk_overflows > 0)), 1),
                                      scientific(abs(one - exact) / abs(exact)),
                                      scientific(abs(chunked - exact) / abs(exact)), str(safe),
                                      str((2**31 - 1) // (max(map(abs, a)) * max(map(abs, y))))]


def test_scientific_rounds_ties_to_even():
    assert [scientific(Fraction(x)) for x in ("1.235", "1.245", "0.0009995", "0")] == \
        ["1.24e+00", "1.24e+00", "1.00e-03", "0"]


# -- teaching views (numbers; the figures need matplotlib) -----------------------------------

def test_binade_counts_of_e4m3():
    """OFP8 v1.0 E4M3: subnormals k/512 (k = 1..7) fill binades -9 (1), -8 (2), -7 (4); normal
    binades -6..7 hold 8 codes; binade 8 holds 256..448, 7 codes (S.1111.111 is NaN)."""
    from refnum import lookup
    from refnum.studies.plots import binade_counts

    expected = {-9: 1, -8: 2, -7: 4, **{e: 8 for e in range(-6, 8)}, 8: 7}
    assert binade_counts(lookup("e4m3")) == expected


@pytest.mark.parametrize("sr_bits", [1, 3, 5])
def test_stochastic_shares_follow_p3109_definitions(sr_bits):
    """P3109 v4.0 §4.7.4 written out: A floor(nu 2^N) + R >= 2^N; B floor(nu 2^(N+1)) + 2R + 1 >=
    2^(N+1); C RNITE(nu 2^N) + R >= 2^N; counted over every R."""
    from refnum import lookup
    from refnum.studies.plots import default_value, stochastic_shares

    fmt = lookup("e4m3")
    x = default_value(fmt)
    assert x == Fraction(25, 24)                                      # 1 + (1/8) / 3
    lo, hi, shares = stochastic_shares(fmt, x, sr_bits)
    nu = (x - lo) / (hi - lo)
    n = 1 << sr_bits
    rnite = round(nu * n)                                             # Python's round: ties to even
    expect = {"sr-a": sum(math.floor(nu * n) + r >= n for r in range(n)),
              "sr-b": sum(math.floor(nu * 2 * n) + 2 * r + 1 >= 2 * n for r in range(n)),
              "sr-c": sum(rnite + r >= n for r in range(n))}
    assert (lo, hi, shares["exact"]) == (1, Fraction(9, 8), Fraction(1, 3))
    assert {k: shares[k] for k in expect} == {k: Fraction(v, n) for k, v in expect.items()}


# -- command line -------------------------------------------------------------------------

def test_study_list_and_errors():
    rc, out, _ = cli("study", "--list")
    assert rc == 0 and [line.split()[0] for line in out.splitlines()] == list(studies.STUDIES)
    assert_input_error(*cli("study"), "give a NAME")
    assert_input_error(*cli("study", "fp8-vs-int9"), "unknown study", "fp8-vs-int8")
    assert_input_error(*cli("study", "fp8-vs-int8", "--size", "0"), "positive")
    assert_input_error(*cli("plot", "binary32", "-o", "x.png"), "16 bits")
    assert_input_error(*cli("plot", "e4m3", "-o", "x.pdf"), ".png or .svg")
    assert_input_error(*cli("plot", "e4m3", "--range", "2,1"), "LO < HI")
    assert_input_error(*cli("plot", "e4m3", "--value", "1"), "not strictly between")


def test_study_writes_its_tables_atomically(tmp_path):
    rc, out, err = cli("study", "fp8-bit-reduction", "--size", "8", "--out", tmp_path / "a")
    assert rc == 0 and not err
    written = (tmp_path / "a" / "fp8-bit-reduction.md").read_text()
    assert written == studies.run("fp8-bit-reduction", size=8).markdown()
    assert out == studies.run("fp8-bit-reduction", size=8).text()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["fp8-bit-reduction.md"]


def test_plot_without_matplotlib_is_a_one_line_error(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.chdir(tmp_path)
    for argv in (("plot", "e4m3"), ("study", "fp8-vs-int8", "--plot")):
        assert_input_error(*cli(*argv), "pip install 'refnum[plot]'", "pip install '.[plot]'")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("kind", ["png", "svg"])
def test_figures_are_valid_and_deterministic(kind, tmp_path):
    pytest.importorskip("matplotlib")
    paths = []
    for i in (1, 2):
        path = tmp_path / f"e4m3-{i}.{kind}"
        assert cli("plot", "e4m3", "-o", path, "--range", "0,1/32")[0] == 0
        folder = tmp_path / f"study{i}"
        assert cli("study", "fp8-bit-reduction", "--size", "4", "--out", folder, "--plot",
                   "--figure-format", kind)[0] == 0
        paths.append((path.read_bytes(), (folder / f"fp8-bit-reduction.{kind}").read_bytes()))
    assert paths[0] == paths[1]
    for data in paths[0]:
        if kind == "png":
            assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
        else:
            import xml.etree.ElementTree as ET

            assert ET.fromstring(data).tag.endswith("svg")


@pytest.mark.parametrize("name", ["fp16-mcu", "dfp-int16"])
def test_study_figures_draw_the_same_bytes(name, tmp_path):
    """The figures of the dot-product studies, drawn twice from one small report."""
    pytest.importorskip("matplotlib")
    from refnum.studies.plots import study_figure

    report = studies.run(name, seed=1, size=1)
    drawn = []
    for i in (1, 2):
        study_figure(studies.study(name), report, tmp_path / f"{i}.png")
        drawn.append((tmp_path / f"{i}.png").read_bytes())
    assert drawn[0] == drawn[1] and drawn[0].startswith(b"\x89PNG\r\n\x1a\n")


@pytest.mark.slow
def test_fp8_vs_int8_claims_at_4000_samples():
    """The statements of spec/papers/fp8-vs-int8.md about larger tensors (about 15 s)."""
    results = fp8_vs_int8.measure(1, 4000)
    uniform, heavy = results["uniform"], results["student-t(2)"]
    assert all(uniform["INT8"][0] > uniform[f][0] for f in fp8_vs_int8.FLOATS)
    assert fp8_vs_int8._best_float(heavy) == "E3M4"
    assert heavy["E4M3"][0] > heavy["INT8"][0]
    assert results["gaussian"]["E2M5"][0] > results["gaussian"]["INT8"][0]


SPEC = Path(__file__).resolve().parent.parent / "spec"
_TARGET = re.compile(r"\]\(([^)#\s]+)(?:#[^)]*)?\)")


@pytest.mark.parametrize("path", sorted((SPEC / "papers").glob("*.md")) + [SPEC / "README.md"],
                         ids=lambda p: p.name)
def test_study_chapters_links_and_figures_resolve(path):
    """Every relative link of a study chapter, and every figure the reading path shows, exists
    (links between spec/*.md chapters are test_spec.py's)."""
    for target in _TARGET.findall(path.read_text(encoding="utf-8")):
        if target.startswith("http") or (path.parent == SPEC and target.endswith(".md")):
            continue
        assert (path.parent / target).exists(), f"{path.name} links to missing {target}"


def test_crossover_notes():
    def row(int8, fp8):
        return {"INT8": (Fraction(int8), 1), **{f: (Fraction(fp8), 1) for f in fp8_vs_int8.FLOATS}}

    monotone = fp8_vs_int8._crossover({"a": row(9, 8), "b": row(9, 8), "c": row(8, 9)})
    assert monotone[2] == "crossover: between b and c (distributions ordered by tail weight)"
    assert fp8_vs_int8._crossover({"a": row(9, 8), "b": row(8, 9), "c": row(9, 8)})[2].endswith("seed")
    assert len(fp8_vs_int8._crossover({"a": row(9, 8)})) == 2
    assert fp8_vs_int8._crossover({"a": row(8, 9)})[0].endswith("none")


def test_default_value_where_one_is_the_largest_value():
    from refnum import lookup
    from refnum.studies.plots import default_value

    assert default_value(lookup("e4m3@1/448")) == Fraction(416, 448) + Fraction(32, 448) / 3
    assert default_value(lookup("int8")) == Fraction(4, 3)


def test_samples_do_not_depend_on_mpmath_backend():
    """mpmath computes with gmpy2 when it is installed and in pure Python otherwise
    (MPMATH_NOGMPY=1 forces that); the samples must be the same bits either way."""
    import os
    import subprocess
    import sys

    code = ("from refnum.studies.samples import DISTRIBUTIONS, sample\n"
            "print([v.hex() for d in DISTRIBUTIONS for v in sample(d, 40, 1)])")
    outputs = set()
    for extra in ({}, {"MPMATH_NOGMPY": "1"}):
        env = dict(os.environ, PYTHONPATH=str(SPEC.parent), **extra)
        outputs.add(subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                                   check=True, timeout=120).stdout)
    assert len(outputs) == 1
