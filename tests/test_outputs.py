"""The output formats of refnum.vectors.outputs: tv, memh, jsonl, npz, written and read back.

These are serialisation tests: the rows are random codes of the layouts' widths
(what they mean does not matter here), and every expectation is built
independently of refnum's writers: TestFloat lines by string formatting, memh
words by concatenating binary digit strings, JSON by ``json.dumps``, npz arrays
by ``numpy.load``, zip fields by unpacking the local file headers by hand.
Field widths are the formats' sizes in bits as the standards define them.
"""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import struct
import subprocess
import zipfile
from pathlib import Path

import pytest

from refnum import lookup
from refnum.arith import BOOL
from refnum.errors import RefnumError
from refnum.values import Value
from refnum.vectors.lines import Layout
from refnum.vectors.outputs import EXTENSIONS, KINDS, Row, decode, encode

DATA = Path(__file__).resolve().parent / "data" / "testfloat"

# (operand formats, result format, random bits R, the bit widths of the operand columns and the result)
LAYOUTS = {
    "f32_to_f16": (["f32"], "f16", 0, [32], 16),
    "e4m3_to_bf16": (["e4m3"], "bf16", 0, [8], 16),
    "f16_add": (["f16", "f16"], "f16", 0, [16, 16], 16),
    "e3m2_mul": (["e3m2", "e3m2"], "e3m2", 0, [6, 6], 6),           # OCP MX FP6: 6-bit codes
    "f16_lt": (["f16", "f16"], "bool", 0, [16, 16], 1),
    "f16_mulAdd": (["f16"] * 3, "f16", 0, [16, 16, 16], 16),
    "bf16_mulAdd_to_f32": (["bf16", "bf16", "f32"], "f32", 0, [16, 16, 32], 32),
    "f32_to_e2m1_sr": (["f32"], "e2m1", 8, [32, 8], 4),              # OCP FP4 with stochastic rounding
    "e5m2_add_sr": (["e5m2", "e5m2"], "e5m2", 3, [8, 8, 3], 8),
}
NAMES = {1: ["a"], 2: ["a", "b"], 3: ["a", "b", "c"]}


def layout_of(name):
    operands, result, sr_bits, _, _ = LAYOUTS[name]
    result_format = BOOL if result == "bool" else lookup(result)
    return Layout([lookup(f) for f in operands], result_format, sr_bits)


def columns_of(name):
    """[(column name, bits, hex digits)] of the operands, result and flags, from the table above."""
    operands, _, sr_bits, operand_bits, result_bits = LAYOUTS[name]
    names = NAMES[len(operands)] + (["R"] if sr_bits else [])
    cols = [(n, b) for n, b in zip(names, operand_bits)] + [("result", result_bits), ("flags", 5)]
    return [(n, b, -(-b // 4)) for n, b in cols]


def random_rows(name, count, seed, intermediate=False):
    rng = random.Random(seed)
    cols = columns_of(name)
    rows = []
    for index in range(count):
        codes = [rng.getrandbits(b) for _, b, _ in cols[:-1]]
        flags = rng.getrandbits(6)                       # bit 5 (refnum's SATURATED) must not be written
        if rng.random() < 0.05:                          # the extremes of every field
            codes = [(1 << b) - 1 for _, b, _ in cols[:-1]] if rng.random() < 0.5 else [0] * (len(cols) - 1)
        exact = grs = None
        if intermediate and rng.random() < 0.8:
            exact = Value.finite(rng.getrandbits(1), rng.getrandbits(20), rng.randrange(-30, 30), rng.choice([1, 3]))
            grs = (rng.getrandbits(1), rng.getrandbits(1), rng.getrandbits(1))
        rows.append(Row(1000 + index, tuple(codes[:-1]), codes[-1], flags, exact, grs))
    return rows


def expected_cases(rows):
    return [(row.operands, row.result, row.flags & 0x1F) for row in rows]


def decoded_cases(kind, data, layout):
    return [(ops, res, flags) for _, ops, res, flags in decode(kind, data, layout)]


# -- round trips and chunking ------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("kind", KINDS)
def test_round_trip(kind, name):
    layout, rows = layout_of(name), random_rows(name, 300, seed=len(name))
    data = encode(kind, layout, rows)
    assert isinstance(data, bytes)
    assert decoded_cases(kind, data, layout) == expected_cases(rows)
    assert encode(kind, layout, rows) == data                           # deterministic
    assert encode(kind, layout, iter(rows)) == data                     # any iterable of rows


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("kind", ["memh", "jsonl", "npz"])
def test_round_trip_with_intermediate_columns(kind, name):
    layout, rows = layout_of(name), random_rows(name, 200, seed=7, intermediate=True)
    data = encode(kind, layout, rows, intermediate=True)
    assert decoded_cases(kind, data, layout) == expected_cases(rows)


@pytest.mark.parametrize("name", ["f16_add", "e3m2_mul", "bf16_mulAdd_to_f32", "e5m2_add_sr"])
@pytest.mark.parametrize("kind, intermediate", [("tv", False), ("memh", False), ("memh", True),
                                                ("jsonl", False), ("jsonl", True)])
def test_chunks_concatenate_to_the_whole(kind, name, intermediate):
    layout, rows = layout_of(name), random_rows(name, 500, seed=3, intermediate=intermediate)
    whole = encode(kind, layout, rows, intermediate=intermediate, comments=["function " + name])
    rng = random.Random(11)
    for _ in range(5):
        cuts = sorted(rng.sample(range(1, len(rows)), rng.randrange(1, 8)))
        pieces = [rows[i:j] for i, j in zip([0] + cuts, cuts + [len(rows)])] + [[]]
        joined = b"".join(encode(kind, layout, piece, first=number == 0, intermediate=intermediate,
                                 comments=["function " + name]) for number, piece in enumerate(pieces))
        assert joined == whole


def test_empty_files():
    layout = layout_of("f16_add")
    assert encode("tv", layout, []) == b"" and encode("jsonl", layout, []) == b""
    assert encode("memh", layout, [], first=False) == b""
    assert list(decode("memh", encode("memh", layout, []), layout)) == []
    assert list(decode("npz", encode("npz", layout, []), layout)) == []


def test_plain_tuples_are_rows():
    layout = layout_of("f16_add")
    rows = random_rows("f16_add", 20, seed=5)
    for kind in KINDS:
        assert encode(kind, layout, [tuple(r)[:4] for r in rows]) == encode(kind, layout, rows)
    with_intermediate = random_rows("f16_add", 20, seed=5, intermediate=True)
    assert encode("jsonl", layout, [tuple(r) for r in with_intermediate], intermediate=True) == \
        encode("jsonl", layout, with_intermediate, intermediate=True)


def test_kinds_and_extensions():
    assert KINDS == ("tv", "memh", "jsonl", "npz")
    assert EXTENSIONS == {k: "." + k for k in KINDS}


# -- tv ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
def test_tv_is_testfloat_lines(name):
    layout, rows = layout_of(name), random_rows(name, 100, seed=2)
    widths = [d for _, _, d in columns_of(name)][:-1] + [2]
    expected = "".join(" ".join(f"{v:0{w}X}" for v, w in zip((*r.operands, r.result, r.flags & 0x1F), widths)) + "\n"
                       for r in rows)
    assert encode("tv", layout, rows) == expected.encode("ascii")


@pytest.mark.parametrize("path", ["f16_to_f32_near_even.tv", "f16_to_i32_max.tv", "bf16_to_f32_odd.tv"])
def test_tv_rewrites_testfloat_files_byte_for_byte(path):
    text = (DATA / path).read_bytes()
    source, result = path.split("_")[0], path.split("_")[2]
    layout = Layout([lookup(source)], lookup(result))
    rows = [Row(i, ops, res, flags) for i, (_, ops, res, flags) in enumerate(decode("tv", text, layout))]
    assert len(rows) == text.count(b"\n") > 100
    assert encode("tv", layout, rows) == text


def test_tv_refuses_intermediate_columns():
    with pytest.raises(RefnumError, match="TestFloat's line format"):
        encode("tv", layout_of("f16_add"), random_rows("f16_add", 3, 1, True), intermediate=True)


# -- memh -------------------------------------------------------------------------

def header_ranges(text):
    return {m[1]: (int(m[2]), int(m[3])) for m in re.finditer(r"^// (\w+)\s+\[(\d+):(\d+)\]", text, re.M)}


@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("intermediate", [False, True])
def test_memh_words_are_the_fields_concatenated(name, intermediate):
    layout, rows = layout_of(name), random_rows(name, 200, seed=9, intermediate=intermediate)
    text = encode("memh", layout, rows, intermediate=intermediate).decode("ascii")
    cols = columns_of(name)
    if intermediate:
        cols = [("grs_valid", 1, 1), ("grs", 3, 1)] + cols
    total = sum(b for _, b, _ in cols)
    digits = -(-total // 4)
    # the header: field names in order, contiguous [hi:lo] ranges from the top down to flags[4:0]
    ranges = header_ranges(text)
    assert list(ranges) == [n for n, _, _ in cols]
    top = total
    for n, b, _ in cols:
        assert ranges[n] == (top - 1, top - b)
        top -= b
    assert f"{digits} hex digits" in text.splitlines()[0]
    words = [line for line in text.splitlines() if line and not line.startswith("//")]
    assert len(words) == len(rows)
    for row, line in zip(rows, words):
        word, _, comment = line.partition(" // ")
        values = (*row.operands, row.result, row.flags & 0x1F)
        if intermediate:
            g = row.grs or (0, 0, 0)
            values = (int(row.grs is not None), g[0] * 4 + g[1] * 2 + g[2]) + values
            assert comment == ("" if row.exact is None else "exact " + str(row.exact))
        bits = "".join(f"{v:0{b}b}" for v, (_, b, _) in zip(values, cols))
        assert len(word) == digits and re.fullmatch("[0-9A-F]+", word)
        assert word == f"{int(bits, 2):0{digits}X}"
        value = int(word, 16)                                      # slice back with the header's ranges
        assert [value >> lo & ((1 << hi - lo + 1) - 1) for hi, lo in ranges.values()] == list(values)


def test_memh_fields_keep_their_bits_with_intermediate_columns():
    layout = layout_of("f16_mulAdd")
    plain = header_ranges(encode("memh", layout, []).decode())
    extended = header_ranges(encode("memh", layout, [], intermediate=True).decode())
    assert {n: r for n, r in extended.items() if n in plain} == plain
    assert plain["flags"] == (4, 0) and plain["result"] == (20, 5) and plain["a"] == (68, 53)


def test_memh_header_and_comments():
    layout = layout_of("e3m2_mul")
    text = encode("memh", layout, random_rows("e3m2_mul", 4, 1),
                  comments=["function e3m2_mul", "rounding rne; saturation finite"]).decode()
    lines = text.splitlines()
    assert all(line.startswith("// ") for line in lines[:-4])
    assert lines[1:3] == ["// function e3m2_mul", "// rounding rne; saturation finite"]
    assert "e3m2" in text and "6 bits" in text and "bit 4 invalid" in text
    assert lines[0].startswith("// refnum test vectors, memh: one $readmemh word per case,"
                               " 6 hex digits (23 bits used")
    rows = random_rows("e3m2_mul", 4, 1)
    assert encode("memh", layout, rows, first=False).decode().splitlines() == lines[-4:]


def test_memh_reads_simulator_style_words():
    """$writememh writes lower case and an address comment; underscores may split a word."""
    layout = layout_of("f16_add")
    rows = random_rows("f16_add", 30, seed=4)
    words = [line for line in encode("memh", layout, rows).decode().splitlines() if not line.startswith("//")]
    styled = "// 0x00000000\n" + "".join(
        (w.lower() if i % 2 else w[:4] + "_" + w[4:]) + ("  // note\r\n" if i % 3 else "\n")
        for i, w in enumerate(words))
    assert decoded_cases("memh", styled, layout) == expected_cases(rows)


TESTBENCH = """
module tb;
  logic [{top}:0] mem [0:{last}];
  initial begin
    $readmemh("v.memh", mem);
    for (int i = 0; i <= {last}; i++)
      $display("%h %h %h %h %h", mem[i][100:85], mem[i][84:69], mem[i][68:37], mem[i][36:5], mem[i][4:0]);
    $writememh("out.memh", mem);
    $finish;
  end
endmodule
"""


def simulate_memh(tmp_path, intermediate, build, run):
    """SystemVerilog $readmemh loads the file (header and trailing comments included) into a memory
    as wide as the used bits, a testbench slices the fields, and $writememh writes words refnum reads back."""
    name = "bf16_mulAdd_to_f32"            # a[100:85] b[84:69] c[68:37] result[36:5] flags[4:0]
    layout, rows = layout_of(name), random_rows(name, 40, seed=12, intermediate=intermediate)
    (tmp_path / "v.memh").write_bytes(encode("memh", layout, rows, intermediate=intermediate,
                                             comments=["function bf16_mulAdd_to_f32"]))
    used = sum(b for _, b, _ in columns_of(name)) + 4 * intermediate
    (tmp_path / "tb.sv").write_text(TESTBENCH.format(top=used - 1, last=len(rows) - 1))
    subprocess.run(build, cwd=tmp_path, check=True, timeout=300, capture_output=True)
    shown = subprocess.run(run, cwd=tmp_path, check=True, timeout=60,
                           capture_output=True, text=True).stdout.split("\n")[:len(rows)]
    assert [tuple(int(x, 16) for x in line.split()) for line in shown] == \
        [(*r.operands, r.result, r.flags & 0x1F) for r in rows]
    written = (tmp_path / "out.memh").read_text()
    assert decoded_cases("memh", written, layout) == expected_cases(rows)


@pytest.mark.skipif(not (shutil.which("iverilog") and shutil.which("vvp")),
                    reason="Icarus Verilog (iverilog, vvp) is not installed")
@pytest.mark.parametrize("intermediate", [False, True])
def test_memh_through_icarus_verilog(tmp_path, intermediate):
    simulate_memh(tmp_path, intermediate, ["iverilog", "-g2012", "-o", "tb", "tb.sv"], ["vvp", "-n", "tb"])


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("verilator"), reason="Verilator is not installed")
def test_memh_through_verilator(tmp_path):
    simulate_memh(tmp_path, True, ["verilator", "--binary", "-Wall", "-Wno-UNUSED", "-Wno-WIDTH", "tb.sv",
                                   "-o", "tb"], ["./obj_dir/tb"])


# -- jsonl ------------------------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("intermediate", [False, True])
def test_jsonl_objects(name, intermediate):
    layout, rows = layout_of(name), random_rows(name, 100, seed=6, intermediate=intermediate)
    cols = columns_of(name)
    expected = []
    for row in rows:
        record = {"id": row.index}
        for (key, _, digits), value in zip(cols, (*row.operands, row.result, row.flags & 0x1F)):
            record[key] = f"{value:0{max(digits, 2) if key == 'flags' else digits}X}"
        if intermediate:
            record["exact"] = None if row.exact is None else str(row.exact)
            record["grs"] = None if row.grs is None else "".join(map(str, row.grs))
        expected.append(json.dumps(record, separators=(",", ":")) + "\n")
    assert encode("jsonl", layout, rows, intermediate=intermediate) == "".join(expected).encode("ascii")


def test_jsonl_exact_values_are_exact_decimals():
    layout = layout_of("f16_add")
    rows = [Row(0, (0, 0), 0, 0, Value.finite(0, 1, -3), (1, 0, 0)),           # 0.125
            Row(1, (0, 0), 0, 0, Value.finite(1, 1, -2, 3), (0, 1, 1)),        # -1/12
            Row(2, (0, 0), 0, 0, Value.zero(1), (0, 0, 0)),
            Row(3, (0, 0), 0, 0, Value.finite(0, 3, 200), None)]
    objects = [json.loads(line) for line in encode("jsonl", layout, rows, intermediate=True).splitlines()]
    assert [o["exact"] for o in objects] == ["0.125", "-1/12", "-0", str(3 * 2**200)]
    assert [o["grs"] for o in objects] == ["100", "011", "000", None]


# -- npz --------------------------------------------------------------------------

@pytest.mark.parametrize("name", LAYOUTS)
@pytest.mark.parametrize("intermediate", [False, True])
def test_npz_loads_in_numpy(name, intermediate):
    np = pytest.importorskip("numpy")
    layout, rows = layout_of(name), random_rows(name, 150, seed=8, intermediate=intermediate)
    archive = np.load(io.BytesIO(encode("npz", layout, rows, intermediate=intermediate)))
    cols = columns_of(name)
    expected = list(zip(*[(*r.operands, r.result, r.flags & 0x1F) for r in rows]))
    names = [n for n, _, _ in cols] + (["grs_valid", "grs"] if intermediate else [])
    assert archive.files == names
    for (key, bits, _), values in zip(cols, expected):
        array = archive[key]
        smallest = next(t for t in (np.uint8, np.uint16, np.uint32, np.uint64) if np.iinfo(t).bits >= bits)
        assert array.dtype == np.dtype(smallest) and array.shape == (len(rows),)
        assert array.tolist() == list(values)
    if intermediate:
        assert archive["grs_valid"].tolist() == [int(r.grs is not None) for r in rows]
        assert archive["grs"].tolist() == [int("".join(map(str, r.grs)), 2) if r.grs else 0 for r in rows]


def test_npz_arrays_are_npy_version_1_aligned_to_64_bytes():
    np = pytest.importorskip("numpy")
    data = encode("npz", layout_of("bf16_mulAdd_to_f32"), random_rows("bf16_mulAdd_to_f32", 10, 1))
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            raw = io.BytesIO(archive.read(name))
            assert np.lib.format.read_magic(raw) == (1, 0)
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(raw)
            assert shape == (10,) and not fortran and dtype.kind == "u"
            assert raw.tell() % 64 == 0


def test_npz_zip_is_fixed():
    """Stored members, fixed order, DOS date 1980-01-01 00:00 in every local header."""
    layout = layout_of("e5m2_add_sr")
    data = encode("npz", layout, random_rows("e5m2_add_sr", 50, 1), intermediate=True)
    names, offset = [], 0
    while data[offset:offset + 4] == b"PK\x03\x04":
        (_, _, flags, method, time, date, _, size, _, name_len, extra_len) = struct.unpack_from(
            "<4sHHHHHIIIHH", data, offset)
        assert (method, time, date, flags) == (0, 0, (0 << 9) | (1 << 5) | 1, 0)
        names.append(data[offset + 30:offset + 30 + name_len].decode())
        offset += 30 + name_len + extra_len + size
    assert names == ["a.npy", "b.npy", "R.npy", "result.npy", "flags.npy", "grs_valid.npy", "grs.npy"]


def test_npz_is_one_piece_and_at_most_64_bits():
    with pytest.raises(RefnumError, match="one piece"):
        encode("npz", layout_of("f16_add"), [], first=False)
    f128 = Layout([lookup("f128")], lookup("f16"))
    with pytest.raises(RefnumError, match="at most 64 bits.*column a has 128"):
        encode("npz", f128, [Row(0, (1,), 0, 0)])
    assert encode("tv", f128, [Row(0, (1 << 127,), 0, 0)]) == b"8" + b"0" * 31 + b" 0000 00\n"


# -- bad rows going in -------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_rows_that_do_not_fit_are_refused(kind):
    layout = layout_of("e3m2_mul")
    good = Row(0, (1, 2), 3, 0)
    for row, message in [(Row(5, (64, 0), 0, 0), "row 1: operand a 0x40 is out of range"),
                         (Row(5, (0, 0), 64, 0), "row 1: result 0x40"),
                         (Row(5, (0, -1), 0, 0), "row 1: operand b -1 is negative"),
                         (Row(5, (0, 0), 0, 256), "row 1: flags 0x100"),
                         (Row(5, (0, 0, 0), 0, 0), "row 1: expected"),
                         (Row(5, (0, "1"), 0, 0), "row 1: operand b is '1', not an integer")]:
        with pytest.raises(RefnumError, match=re.escape(message)):
            encode(kind, layout, [good, row])


def test_bad_intermediate_values_are_refused():
    layout = layout_of("f16_add")
    with pytest.raises(RefnumError, match="row 0: grs must be three bits"):
        encode("jsonl", layout, [Row(0, (0, 0), 0, 0, None, (1, 2, 0))], intermediate=True)
    with pytest.raises(RefnumError, match="row 0: exact must be"):
        encode("memh", layout, [Row(0, (0, 0), 0, 0, "1\n2", None)], intermediate=True)
    with pytest.raises(RefnumError, match="unknown output format 'csv'"):
        encode("csv", layout, [])


# -- bad input coming back -----------------------------------------------------------

F16_ADD = layout_of("f16_add")


def memh_text(rows=None, **kw):
    return encode("memh", F16_ADD, rows or random_rows("f16_add", 3, 1), **kw).decode()


@pytest.mark.parametrize("kind, data, message", [
    ("tv", "3C00 3C00 4000 00\n3C00 3C00 4000\n", "input line 2: expected 4 fields"),
    ("tv", "3C00 3C00 40G0 00\n", "input line 1: malformed hex"),
    ("memh", "07800780080001\n07800780080001x\n", "input line 2: malformed memh word"),
    ("memh", "07800780080001\n0780078008001\n", "input line 2: memh word of 13 hex digits, expected 14"),
    ("memh", "0780078008000100\n", "input line 1: memh word of 16 hex digits, expected 14 (or 15 with"),
    ("memh", "27800780080001\n", "input line 1: bits above [52:0] are set"),
    ("memh", "@10\n07800780080001\n", "input line 1: address markers (@) are not supported"),
    ("memh", "/* x */ 07800780080001\n", "input line 1: block comments are not supported"),
    ("memh", "07800780080001 07800780080001\n", "input line 1: malformed memh word"),
    ("memh", b"\xff\xfe\n", "input line 1: not UTF-8 text"),
    ("jsonl", '{"id":0,"a":"3C00","b":"3C00","result":"4000","flags":"00"}\n{"id":1,\n',
     "input line 2: not a JSON object"),
    ("jsonl", '[1, 2]\n', "input line 1: not a JSON object"),
    ("jsonl", '{"id":0,"a":"3C00","result":"4000","flags":"00"}\n', 'input line 1: field "b" is missing'),
    ("jsonl", '{"id":0,"a":"3C00","b":15360,"result":"4000","flags":"00"}\n',
     'input line 1: field "b" is not a string'),
    ("jsonl", '{"id":0,"a":"3C00","b":"3C0","result":"4000","flags":"00"}\n',
     'input line 1: field "b" has 3 hex digits, expected 4'),
    ("jsonl", '{"id":0,"a":"3C00","b":"0x3C","result":"4000","flags":"00"}\n', 'input line 1: field "b" is not hex'),
    ("jsonl", '{"id":0,"a":"3C00","b":"3C00","result":"4000","flags":"20"}\n',
     "input line 1: 20 is out of range for flags"),
    ("npz", b"PK not really", "npz input is not a zip archive"),
    ("npz", "text", "npz input is binary"),
])
def test_malformed_input_is_one_line_error(kind, data, message):
    with pytest.raises(RefnumError, match=re.escape(message)) as info:
        list(decode(kind, data, F16_ADD))
    assert "\n" not in str(info.value)


def test_memh_out_of_range_codes_of_narrow_formats():
    layout = layout_of("e3m2_mul")                    # 23 bits: a[22:17] b[16:11] result[10:5] flags[4:0]
    assert decoded_cases("memh", f"{(63 << 17) | (1 << 11) | (2 << 5) | 3:06X}\n", layout) == [((63, 1), 2, 3)]
    with pytest.raises(RefnumError, match="bits above"):
        list(decode("memh", f"{1 << 23:06X}\n", layout))


def test_memh_header_must_match_the_layout():
    other = encode("memh", layout_of("e3m2_mul"), [], first=True).decode()
    with pytest.raises(RefnumError, match=r"memh header declares a\[22:17\]"):
        list(decode("memh", other + memh_text(first=False), F16_ADD))
    assert len(list(decode("memh", memh_text(intermediate=True), F16_ADD))) == 3


def test_memh_words_must_agree_in_width():
    plain = [w for w in memh_text().splitlines() if not w.startswith("//")]
    with pytest.raises(RefnumError, match="input line 2: memh word of 14 hex digits, expected 15"):
        list(decode("memh", "1" + plain[0] + "\n" + plain[1] + "\n", F16_ADD))


def test_jsonl_accepts_lower_case_and_extra_keys():
    line = '{"a":"3c00","b":"3C00","result":"4000","flags":"01","dut":"x"}\n\n'
    assert list(decode("jsonl", line, F16_ADD)) == [("line 1", (0x3C00, 0x3C00), 0x4000, 1)]


def npz_with(replace=None, drop=None, **members):
    data = encode("npz", F16_ADD, random_rows("f16_add", 4, 1))
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for name in src.namelist():
            if name != drop:
                dst.writestr(name, members.get(name.replace(".npy", ""), src.read(name)))
    return out.getvalue()


def npy(descr, shape, payload, version=b"\x01\x00"):
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}".ljust(117) + "\n"
    return b"\x93NUMPY" + version + struct.pack("<H", len(header)) + header.encode() + payload


@pytest.mark.parametrize("members, drop, message", [
    ({}, "b.npy", "npz has no array 'b.npy'"),
    ({"b": b"not npy"}, None, "npz member 'b.npy': not a .npy array"),
    ({"b": npy("<u2", (4,), b"\0" * 7)}, None, "npz member 'b.npy': holds 7 data bytes, expected 8"),
    ({"b": npy("<i2", (4,), b"\0" * 8)}, None, "array type '<i2' is not an unsigned integer type"),
    ({"b": npy("<u2", (2, 2), b"\0" * 8)}, None, "shape (2, 2) is not one-dimensional"),
    ({"b": npy("<u2", (3,), b"\0" * 6)}, None, "npz arrays differ in length: a 4, b 3"),
    ({"b": npy("<u4", (4,), b"\0" * 12 + b"\0\0\1\0")}, None, "npz record 3: b = 10000 is out of range"),
    ({"flags": npy("|u1", (4,), b"\0\0\x20\0")}, None, "npz record 2: flags = 20 is out of range"),
    ({"b": npy("<u2", (4,), b"\0" * 8, version=b"\x09\x00")}, None, ".npy format version 9.0 is not supported"),
    ({"b": b"\x93NUMPY\x01\x00\x10\x00{'descr': <u2'"}, None, "truncated .npy header"),
])
def test_malformed_npz_is_one_line_error(members, drop, message):
    with pytest.raises(RefnumError, match=re.escape(message)):
        list(decode("npz", npz_with(drop=drop, **members), F16_ADD))


def zip_headers(data):
    """Offsets of every local file header (PK 3 4) and central directory header (PK 1 2) of a zip."""
    return tuple([m.start() for m in re.finditer(signature, data)] for signature in (b"PK\x03\x04", b"PK\x01\x02"))


def npz_patched(method=None, flag_bits=0, corrupt=False):
    """A valid f16_add npz written deflated, then patched by hand (APPNOTE 4.3.7, 4.3.12): member b's
    compression method (offset 8 of its local header, 10 of its central header) and general purpose
    flags (offsets 6 and 8), or the first bytes of its deflate data replaced by 0xFF (block type 3,
    reserved: RFC 1951 3.2.3)."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(npz_with())) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for name in src.namelist():                          # a fixed date: the same bytes on every run
            dst.writestr(zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0)), src.read(name),
                         zipfile.ZIP_DEFLATED)
    data = bytearray(out.getvalue())
    (_, local), (_, central) = [headers[:2] for headers in zip_headers(data)]        # member b: the second
    if method is not None:
        struct.pack_into("<H", data, local + 8, method)
        struct.pack_into("<H", data, central + 10, method)
    if flag_bits:
        struct.pack_into("<H", data, local + 6, flag_bits)
        struct.pack_into("<H", data, central + 8, flag_bits)
    if corrupt:
        name_len, extra_len = struct.unpack_from("<HH", data, local + 26)
        start = local + 30 + name_len + extra_len
        data[start:start + 4] = b"\xff" * 4
    return bytes(data)


@pytest.mark.parametrize("data, message", [
    (npz_patched(flag_bits=1), "npz member 'b.npy': is encrypted"),
    (npz_patched(method=99), "npz member 'b.npy': compression method 99 is not supported (0 stored, 8 deflate"),
    (npz_patched(corrupt=True), "npz member 'b.npy' cannot be read (Error -3 while decompressing data"),
    (npz_with(b=npy("<u2", (True,), b"\0" * 2)), "npz member 'b.npy': shape (True,) is not one-dimensional"),
], ids=["encrypted", "method-99", "corrupt-deflate", "shape-True"])
def test_npz_faults_are_one_line_errors(data, message):
    """Encrypted members, unknown compression methods and corrupt deflate data are input errors,
    not tracebacks; a shape of booleans is no shape."""
    with pytest.raises(RefnumError, match=re.escape(message)) as info:
        list(decode("npz", data, F16_ADD))
    assert "\n" not in str(info.value)


def test_npz_is_read_block_by_block():
    """A fault in a late record surfaces after the cases before it: the arrays are read in blocks."""
    count = 70000
    values = [0x3C00] * count
    flags = bytes(count - 1) + b"\x20"                     # the last record's flags: bit 5 is no IEEE flag
    data = npz_with(a=npy("<u2", (count,), struct.pack(f"<{count}H", *values)),
                    b=npy("<u2", (count,), struct.pack(f"<{count}H", *values)),
                    result=npy("<u2", (count,), struct.pack(f"<{count}H", *values)),
                    flags=npy("|u1", (count,), flags))
    cases = decode("npz", data, F16_ADD)
    assert next(cases) == ("record 0", (0x3C00, 0x3C00), 0x3C00, 0)
    with pytest.raises(RefnumError, match=f"npz record {count - 1}: flags = 20 is out of range"):
        list(cases)


def test_jsonl_of_deeply_nested_brackets_is_not_an_object():
    with pytest.raises(RefnumError, match="input line 2: not a JSON object"):
        list(decode("jsonl", '{"a":"3C00","b":"3C00","result":"4000","flags":"00"}\n' + "[" * 100000 + "\n",
                    F16_ADD))


@pytest.mark.parametrize("line, message", [
    ("3C00 3C0 4000 00", "input line 1: field 2 ('3C0') has 3 hex digits, expected 4 for binary16 (16 bits)"),
    ("3C00 03C00 4000 00", "input line 1: field 2 ('03C00') has 5 hex digits, expected 4 for binary16"),
    ("3C00 3C00 4000 0", "input line 1: field 4 ('0') has 1 hex digit, expected 2 for flags (5 bits)"),
    ("3C00 3C00 4000 000", "input line 1: field 4 ('000') has 3 hex digits, expected 2 for flags"),
    ("3C00 3C00 " + "0" * 100000 + "4000 00", "input line 1: field 3 ('" + "0" * 40 + "...') has 100004 hex digits"),
], ids=["short", "padded", "short-flags", "long-flags", "huge-field"])
def test_tv_fields_have_their_full_width(line, message):
    """TestFloat writes every field zero-padded to its format's width; any other width is an input error."""
    with pytest.raises(RefnumError, match=re.escape(message)) as info:
        list(decode("tv", line + "\n", F16_ADD))
    assert len(str(info.value)) < 200


class Endless(io.RawIOBase):
    """A stream that never ends: ``line`` over and over, as a pipe from ``yes`` delivers it."""

    def __init__(self, line):
        self.line = line

    def readable(self):
        return True

    def readinto(self, buffer):
        data = (self.line * (len(buffer) // len(self.line) + 1))[:len(buffer)]
        buffer[:len(data)] = data
        return len(data)


@pytest.mark.parametrize("kind, line", [
    ("tv", b"3C00 3C00 4000 00\n"),
    ("memh", b"07800780080000\n"),
    ("jsonl", b'{"a":"3C00","b":"3C00","result":"4000","flags":"00"}\n'),
])
def test_text_kinds_are_read_as_they_arrive(kind, line):
    """decode reads a file piece by piece: an endless input yields its first cases."""
    cases = decode(kind, io.BufferedReader(Endless(line)), F16_ADD)
    first = [next(cases) for _ in range(3)]
    assert [case[1:] for case in first] == [((0x3C00, 0x3C00), 0x4000, 0)] * 3
    assert [case[0] for case in first] == ["line 1", "line 2", "line 3"]


def test_npz_reads_other_unsigned_types_and_byte_orders():
    """A results archive written by numpy with wider or big-endian arrays reads the same."""
    values = [0x3C00, 0x4000, 0x7E00, 0]
    data = npz_with(a=npy(">u2", (4,), struct.pack(">4H", *values)),
                    b=npy("<u8", (4,), struct.pack("<4Q", *values)))
    cases = decoded_cases("npz", data, F16_ADD)
    assert [ops for ops, _, _ in cases] == [(v, v) for v in values]


def test_unknown_kind_on_reading():
    with pytest.raises(RefnumError, match="unknown input format 'tsv'"):
        decode("tsv", b"", F16_ADD)
