"""``refnum block``: quantize, dequantize, explain, list; one-line errors, exit 2, atomic -o.

Expectations come from OCP MX v1.0 §5.3 / §6.3 by hand: E4M3 max 448 = 1.75 * 2**8 (emax_elem 8),
E8M0 bias 127; E2M1 values +-{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
"""

from test_cli import assert_input_error, cli


def test_quantize_a_file_of_values(tmp_path):
    """The README example: amax 100 -> floor(log2 100) - 8 = -2 -> scale 0x7D; 1.5 * 4 = 6 is
    E4M3 0x4C, -0.3 * 4 = -1.2 rounds to -1.25 (0xBA, inexact), 400 to 384 = 1.5 * 2**8 (0x7C,
    inexact), 7 * 4 = 28 = 1.75 * 2**4 (0x5E)."""
    f = tmp_path / "values.txt"
    f.write_text("1.5 -0.3\n100 7\n")
    rc, out, err = cli("block", "quantize", "mxfp8_e4m3", f)
    assert (rc, out, err) == (0, "7D 4C BA 7C 5E : 00 00 01 01 00\n", "")


def test_round_trip_through_lines(tmp_path):
    values = "0.5 -6 3 1.5 0.5 -0 4 2 1"
    rc, blocks, _ = cli("block", "quantize", "mxfp4", "-k", "4", stdin=values)
    assert rc == 0 and len(blocks.splitlines()) == 3
    rc, out, _ = cli("block", "dequantize", "mxfp4", "-k", "4", stdin=blocks)
    assert rc == 0 and out.split() == values.split()
    rc, out, _ = cli("block", "dequantize", "mxfp4", "-k", "4", "--hex", stdin=blocks.splitlines()[0])
    assert out.split() == ["0x1p-1", "-0x1.8p+2", "0x1.8p+1", "0x1.8p+0"]


def test_rules_rounding_codes_and_stochastic():
    rc, out, _ = cli("block", "quantize", "mxfp4", "--scale-rule", "ceil", stdin="7 2.5")
    assert out == "80 6 2 : 00 01 01\n"            # X = 2: 3.5 and 1.25 are ties: to even 4 (0x6) and 1 (0x2)
    rc, out, _ = cli("block", "quantize", "mxfp4", "--rounding", "rna", stdin="4 2.5")
    assert out.split()[:3] == ["7F", "6", "5"]                             # 2.5 ties away to 3 (0x5)
    rc, out, _ = cli("block", "quantize", "mxfp4", "--codes-of", "bf16", stdin="4080 4020")
    assert out.split()[:3] == ["7F", "6", "4"]                             # bf16 4.0 and 2.5: the tie goes to 2
    rc, out, _ = cli("block", "quantize", "mxfp4", "--rounding", "sr-a", "--sr-bits", "8", stdin="4:0 1.25:127 1.25:128")
    assert out.split()[:4] == ["7F", "6", "2", "3"]


def test_two_level_and_tiles():
    rc, out, _ = cli("block", "quantize", "nvfp4", stdin="6 -3 0.5")
    t, s, *rest = out.split()
    assert rc == 0 and len(t) == 8 and len(s) == 2
    rows = "\n".join(" ".join(str(r * 16 + c) for c in range(16)) for r in range(16))
    rc, out, _ = cli("block", "quantize", "nvfp4_2d", stdin=rows)
    assert rc == 0 and len(out.splitlines()) == 1 and len(out.split(":")[0].split()) == 1 + 1 + 256


def test_explain_shows_every_rule():
    rc, out, _ = cli("block", "explain", "mxfp4", "7", "1.25")
    assert rc == 0
    assert "floor                      0x7F = 1" in out and "ceil                       0x80 = 2" in out
    assert "rceil                      0x80 = 2" in out and "element  0               7 -> 0x7 = 6" in out


def test_errors_are_one_line_and_leave_no_file(tmp_path):
    target = tmp_path / "out.txt"
    assert_input_error(*cli("block", "quantize", "mxfp4", "-o", target, stdin="1 zzz"), "not a number")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []
    assert_input_error(*cli("block", "quantize", "mxfp5", stdin="1"), "unknown block scheme 'mxfp5'")
    sr = ("block", "quantize", "mxfp4", "--rounding", "sr-a", "--sr-bits", "4")
    assert_input_error(*cli(*sr, stdin="1"), "VALUE:R")
    assert_input_error(*cli(*sr, stdin="1:16"), "out of range")
    assert_input_error(*cli("block", "dequantize", "mxfp4", stdin="7F 1G"), "hex")
    assert_input_error(*cli("block", "dequantize", "mxfp4", stdin="7F 1 2 : 00"), "flags")
    assert_input_error(*cli("block", "dequantize", "mxfp4", stdin="17F 1"), "out of range")
    assert_input_error(*cli("block"), "choose an action")
    rc, out, _ = cli("block", "quantize", "mxfp4", "-o", target, stdin="1 2")
    assert rc == 0 and out == "" and target.read_text() == "7E 4 6 : 00 00 00\n"    # X = 2**(1 - 2): 2 (0x4), 4 (0x6)


def test_list():
    rc, out, _ = cli("block", "list")
    assert rc == 0 and out.splitlines()[0].startswith("mxfp8_e4m3") and "nvfp4_torchao" in out
