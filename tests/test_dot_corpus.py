"""The published dot-product vectors (vectors/dot): regenerate byte for byte, every file verifies
through ``refnum dot PRESET --verify``, a changed line is caught, the integer files agree with the
brute-force wrap/saturate model of tests/test_dot_integer.py and the exact preset's file with
Fraction arithmetic rounded by tests/oracle.py."""

import json
import random
from fractions import Fraction
from pathlib import Path

import pytest

import oracle
from refnum.dot import corpus
from refnum.dot.cases import integer_cases
from refnum.dot.integer import INTEGER_PRESETS
from refnum.dot.presets import PRESETS
from refnum.vectors.suite import check_manifest
from test_cli import cli
from test_dot_integer import int_range, oracle_of

CORPUS = Path(__file__).resolve().parent.parent / "vectors" / "dot"
FILES = [path for path, _ in corpus.plan()]


def _lines(path):
    return (CORPUS / path).read_text().splitlines()


def test_committed_dot_corpus_regenerates(tmp_path):
    """refnum gen --suite dot gives the committed bytes, file for file; one file per preset."""
    rc, out, _ = cli("gen", "--suite", "dot", "--out", tmp_path)
    assert rc == 0 and out == f"{len(FILES)} files, {100 * len(FILES)} dot products in {tmp_path}\n"
    assert len(FILES) == len(PRESETS) + len(INTEGER_PRESETS)
    for name in FILES + ["manifest.json", "SHA256SUMS", "README.md"]:
        assert (tmp_path / name).read_bytes() == (CORPUS / name).read_bytes(), name
    assert check_manifest(CORPUS) == (len(FILES), [])
    rc, _, _ = cli("gen", "--suite", "dot", "--out", tmp_path / "npz", "--format", "npz")
    assert rc == 0 and check_manifest(tmp_path / "npz") == (len(FILES), [])
    assert (tmp_path / "npz" / "integer" / "vpdpbusd.npz").is_file()


def test_manifest_records_the_semantics():
    manifest = json.loads((CORPUS / "manifest.json").read_text())
    assert (manifest["kind"], manifest["shard"]) == ("tv", {"index": 0, "of": 1})
    for r in manifest["files"]:
        lines = _lines(r["path"])
        assert r["cases"] == len(lines) == sum(r["families"].values()) == 100
        assert len(lines[0].split()) == 2 * r["k"] + 3            # A[K] B[K] C D FLAGS
    fp8 = next(r for r in manifest["files"] if r["preset"] == "hopper_cublas_fp8")
    assert fp8["k"] == 256 and "promote_every=128" in fp8["model"]        # two promotion intervals
    sat = next(r for r in manifest["files"] if r["preset"] == "vpdpbusds")
    assert (sat["k"], sat["group"], sat["overflow"], sat["granularity"]) == (8, 4, "saturate", "group")


@pytest.mark.parametrize("path", FILES)
def test_every_file_verifies(path):
    rc, out, _ = cli("dot", Path(path).stem, "--verify", CORPUS / path)
    assert rc == 0 and out == "100 passed, 0 failed\n"


@pytest.mark.parametrize("path", ["float/h100_wgmma_e4m3_f32.tv", "integer/vpdpwssds.tv"])
def test_a_changed_line_is_caught(tmp_path, path):
    """One bit of D (then of FLAGS) changed on line 7: verify names that line and exits 1."""
    for field in (-2, -1):
        lines = _lines(path)
        fields = lines[6].split()
        fields[field] = f"{int(fields[field], 16) ^ 1:0{len(fields[field])}X}"
        lines[6] = " ".join(fields)
        bad = tmp_path / "bad.tv"
        bad.write_text("\n".join(lines) + "\n")
        rc, out, _ = cli("dot", Path(path).stem, "--verify", bad)
        assert rc == 1 and out.startswith("line 7: ") and out.endswith("99 passed, 1 failed\n")


# -- independent oracles ----------------------------------------------------------------------

def _signed(code, name):
    lo, _, bits = int_range(name)
    return code - (1 << bits) if lo < 0 and code >> (bits - 1) else code


@pytest.mark.parametrize("name", list(INTEGER_PRESETS))
def test_integer_files_against_the_brute_force_model(name):
    """Every line: D and FLAGS from the running exact sum reduced at the check points (the
    oracle of tests/test_dot_integer.py; FLAGS without refnum's saturated bit 0x20, which tv
    lines do not carry).  Each file reaches the accumulator's edge: some lines overflow."""
    model = INTEGER_PRESETS[name]
    fa, fb = model.operand_formats
    acc = model.accumulator_format
    overflowed = 0
    for line in _lines(f"integer/{name}.tv"):
        codes = [int(x, 16) for x in line.split()]
        k = (len(codes) - 3) // 2
        a = [_signed(x, fa) for x in codes[:k]]
        b = [_signed(y, fb) for y in codes[k:2 * k]]
        value, flags = oracle_of(model, a, b, _signed(codes[2 * k], acc))
        _, _, bits = int_range(acc)
        assert (codes[-2], codes[-1]) == (value % (1 << bits), flags & 0x1F), line
        overflowed += flags != 0
    assert 20 <= overflowed <= 80


def test_saturating_files_hold_cases_where_the_granularity_matters():
    """The transient family: in every saturating preset's file some line saturates at its
    check points and would not with one check at the end (the exact sum fits)."""
    for name, model in INTEGER_PRESETS.items():
        if model.overflow != "saturate":
            continue
        lo, hi, _ = int_range(model.accumulator_format)
        differ = 0
        for line in _lines(f"integer/{name}.tv"):
            codes = [int(x, 16) for x in line.split()]
            k = (len(codes) - 3) // 2
            a = [_signed(x, model.operand_formats[0]) for x in codes[:k]]
            b = [_signed(y, model.operand_formats[1]) for y in codes[k:2 * k]]
            exact = _signed(codes[2 * k], model.accumulator_format) + sum(x * y for x, y in zip(a, b))
            differ += lo <= exact <= hi and codes[-1] != 0
        assert differ > 0, name


def _finite(v):
    """The Fraction of an oracle value, None for Inf and NaN (-0 is 0)."""
    if v is oracle.NEG_ZERO:
        return Fraction(0)
    return v if isinstance(v, Fraction) else None


def _rne24(q, emin):
    """(n, s): q > 0 rounded to nearest-even n * 2**s, n of at most 24 bits, s >= emin - 23."""
    e = q.numerator.bit_length() - q.denominator.bit_length()
    e += Fraction(2) ** (e + 1) <= q
    e -= q < Fraction(2) ** e
    s = max(e, emin) - 23
    n = round(q / Fraction(2) ** s)                 # Fraction rounds half to even
    return (n >> 1, s + 1) if n >> 24 else (n, s)


def f32_rne(x):
    """(code, flags) of the exact x rounded to binary32, RNE, tininess after rounding (IEEE
    754-2019 §4.3.1, §7.4, §7.5), by the definition: a 24-bit significand, emin -126, emax 127."""
    sign = (x < 0) << 31
    if x == 0:
        return sign, 0
    n, s = _rne24(abs(x), -126)
    inexact = n * Fraction(2) ** s != abs(x)
    if s + 23 > 127:
        return sign | 0x7F800000, oracle.OVERFLOW | oracle.INEXACT
    n_wide, s_wide = _rne24(abs(x), -10**6)          # unbounded exponent range: tininess after rounding
    tiny = n_wide * Fraction(2) ** s_wide < Fraction(2) ** -126
    flags = (oracle.INEXACT if inexact else 0) | (oracle.UNDERFLOW if tiny and inexact else 0)
    if n < 1 << 23:
        return sign | n, flags                        # subnormal (s = -149) or zero
    return sign | (s + 23 + 127) << 23 | (n - (1 << 23)), flags


def test_f32_rne_by_hand():
    assert f32_rne(Fraction(1)) == (0x3F800000, 0)
    assert f32_rne(1 + Fraction(1, 2**24)) == (0x3F800000, oracle.INEXACT)             # tie to even
    assert f32_rne(1 + Fraction(3, 2**24)) == (0x3F800002, oracle.INEXACT)             # tie to even, up
    assert f32_rne(-Fraction(2) ** -149 * Fraction(3, 2)) == (0x80000002, oracle.INEXACT | oracle.UNDERFLOW)
    assert f32_rne(Fraction(2) ** 128) == (0x7F800000, oracle.OVERFLOW | oracle.INEXACT)
    assert f32_rne((2 - Fraction(1, 2**24)) * Fraction(2) ** -127)[0] == 0x00800000   # rounds up to the normal


def test_exact_preset_against_fraction_arithmetic():
    """riscv_vfdotpex_s_h (Exact, two products per rounding): each step rounds
    acc + a0*b0 + a1*b1, summed in Fractions, once to binary32 RNE (:func:`f32_rne`); lines with
    Inf or NaN anywhere are left to the verify test.  An exact zero is compared by magnitude
    (its sign is the IEEE sum rule, checked in test_dot_models)."""
    checked = 0
    for line in _lines("float/riscv_vfdotpex_s_h.tv"):
        codes = [int(x, 16) for x in line.split()]
        k = (len(codes) - 3) // 2
        a = [_finite(oracle.ieee_value(x, 5, 10)) for x in codes[:k]]
        b = [_finite(oracle.ieee_value(y, 5, 10)) for y in codes[k:2 * k]]
        acc = _finite(oracle.ieee_value(codes[2 * k], 8, 23))
        if None in a + b + [acc]:
            continue
        flags = 0
        for j in range(0, k, 2):
            exact = acc + a[j] * b[j] + a[j + 1] * b[j + 1]
            code, f = f32_rne(exact)
            flags |= f
            acc = _finite(oracle.ieee_value(code, 8, 23))
            if acc is None:
                break
        if acc is None:
            continue
        d = codes[-2] & 0x7FFFFFFF if exact == 0 else codes[-2]
        assert (d, codes[-1]) == (code, flags), line
        checked += 1
    assert checked >= 60


def test_jsonl_records_are_the_tv_lines():
    for name in ("arm_bfdot", "imma_m16n8k16_s8s8_satfinite"):
        preset = PRESETS.get(name) or INTEGER_PRESETS[name]
        tv = corpus.file_bytes(preset)[0].decode().splitlines()
        records = [json.loads(line) for line in corpus.file_bytes(preset, "jsonl")[0].decode().splitlines()]
        assert [" ".join(r["a"] + r["b"] + [r["c"], r["d"], f"{r['flags']:02X}"]) for r in records] == tv


@pytest.mark.parametrize("name", ["ada_mma_e5m2_f16", "imma_m16n8k64_s4s4_satfinite"])
def test_memh_and_npz_hold_the_tv_lines(name):
    """The memh words, split by memh_fields, and the npz arrays give the tv lines' codes."""
    np = pytest.importorskip("numpy")
    import io

    preset = PRESETS.get(name) or INTEGER_PRESETS[name]
    tv = [[int(x, 16) for x in line.split()] for line in corpus.file_bytes(preset)[0].decode().splitlines()]
    k = (len(tv[0]) - 3) // 2
    fields = corpus.memh_fields(corpus.formats(preset), k)
    words = [int(word, 16) for word in corpus.file_bytes(preset, "memh")[0].decode().split()]
    assert len(words) == len(tv) and max(words).bit_length() <= sum(bits for _, bits in fields)
    for word, codes in zip(words, tv):
        values = []
        for _, bits in reversed(fields):
            values.append(word & ((1 << bits) - 1))
            word >>= bits
        assert values[::-1] == codes
    arrays = np.load(io.BytesIO(corpus.file_bytes(preset, "npz")[0]))
    a, b = arrays["a"].reshape(-1, k), arrays["b"].reshape(-1, k)
    assert [[*a[i], *b[i], arrays["c"][i], arrays["d"][i], arrays["flags"][i]] for i in range(len(tv))] == tv


def test_edge_cases_put_the_first_check_point_at_an_end():
    """Every ``edge`` case of every integer preset: acc + the products up to the first check
    point (one product, the first group, or all) is within 2 of the accumulator's lo or hi."""
    for name, model in INTEGER_PRESETS.items():
        lo, hi, _ = int_range(model.accumulator_format)
        first = {"product": 1, "group": model.group, "end": None}[model.granularity]
        for family, a, b, c in integer_cases(model, 8, 40, random.Random(name)):
            if family == "edge":
                a = [_signed(x, model.operand_formats[0]) for x in a]
                b = [_signed(y, model.operand_formats[1]) for y in b]
                total = _signed(c, model.accumulator_format) + sum(x * y for x, y in zip(a[:first], b[:first]))
                assert min(abs(total - lo), abs(total - hi)) <= 2, (name, a, b, c)
