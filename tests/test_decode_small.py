"""Every code of every format of at most 8 bits, decoded by refnum and by the oracle.

The oracle (tests/oracle.py) decodes from plain parameters written out from the
spec tables with the IEEE/OCP table formula (ml-formats-spec.md §1.2) or the
P3109 v4.0 §4.7.2 formula; refnum must agree on the exact value, the sign of
zero and the NaN/Inf class of every code.  A second group checks the facts the
spec tables state (largest finite value and its code, smallest normal and
subnormal, NaN and Inf codes) for the named formats, typed in from the tables.
"""

from fractions import Fraction

import pytest

import oracle
from refnum import decode, lookup

GENERIC = ["e3m3_fn", "e4m2_fnuz", "e5m2_b13", "e3m2_fin_nosub", "e4m3_ieee_u", "e2m2", "e3m1_fin",
           "e2m2_fnuz_nosub", "e4m3_b-2_fn", "e3m4_fin_u"]
P3109 = [f"p3109_k{k}p{p}{s}{d}" for k in range(3, 9) for s in "su" for d in "ef"
         for p in range(1, k + (s == "u"))]
FORMATS = list(oracle.FLOAT_CATALOG) + list(oracle.FIXED_CATALOG) + P3109 + GENERIC


def as_oracle_value(v):
    """A refnum Value in the oracle's representation."""
    if v.is_nan:
        return oracle.NAN
    if v.is_inf:
        return oracle.NEG_INF if v.sign else oracle.POS_INF
    if v.is_zero:
        return oracle.NEG_ZERO if v.sign else Fraction(0)
    return v.to_fraction()


def test_format_list_is_complete():
    assert len(P3109) == sum(2 * (k - 1) + 2 * k for k in range(3, 9))
    assert len(FORMATS) == len(set(FORMATS))


@pytest.mark.parametrize("name", FORMATS)
def test_every_code_decodes_as_the_oracle(name):
    fmt, ofmt = lookup(name), oracle.oracle_format(name)
    expected = oracle.small_float_values(ofmt)
    assert fmt.ncodes == len(expected) == 2**ofmt.bits
    bad = [(hex(c), str(decode(c, fmt)), str(expected[c]))
           for c in range(fmt.ncodes) if as_oracle_value(decode(c, fmt)) != expected[c]]
    assert not bad, f"{len(bad)} codes differ, first {bad[:8]}"


@pytest.mark.parametrize("name", FORMATS)
def test_out_of_range_code_is_refused(name):
    from refnum import RefnumError
    with pytest.raises(RefnumError):
        decode(lookup(name).ncodes, name)


def test_fnuz_encodings_are_p3109_finite_ones():
    # ml-formats-spec.md §1.1: E4M3FNUZ = Binary8p4sf, E5M2FNUZ = Binary8p3sf, bit for bit.
    for ours, theirs in (("e4m3fnuz", "p3109_k8p4sf"), ("e5m2fnuz", "p3109_k8p3sf")):
        for c in range(256):
            assert as_oracle_value(decode(c, ours)) == as_oracle_value(decode(c, theirs)), (ours, hex(c))


# ml-formats-spec.md §1.1 master table and §1.3 P3109 table:
# name: (max, code of +max, minN, minS (None: no subnormals), NaN codes, Inf codes, code of -0)
P = Fraction(2)
FACTS = {
    "e4m3": (448, 0x7E, P**-6, P**-9, {0x7F, 0xFF}, set(), 0x80),
    "e5m2": (57344, 0x7B, P**-14, P**-16, {0x7D, 0x7E, 0x7F, 0xFD, 0xFE, 0xFF}, {0x7C, 0xFC}, 0x80),
    "e4m3fnuz": (240, 0x7F, P**-7, P**-10, {0x80}, set(), None),
    "e5m2fnuz": (57344, 0x7F, P**-15, P**-17, {0x80}, set(), None),
    "float8_e4m3": (240, 0x77, P**-6, P**-9, {0x79 + i for i in range(7)} | {0xF9 + i for i in range(7)},
                    {0x78, 0xF8}, 0x80),
    "float8_e3m4": (Fraction(31, 2), 0x6F, P**-2, P**-6,
                    {0x71 + i for i in range(15)} | {0xF1 + i for i in range(15)}, {0x70, 0xF0}, 0x80),
    "e4m3b11fnuz": (30, 0x7F, P**-10, P**-13, {0x80}, set(), None),
    "e2m3": (Fraction(15, 2), 0x1F, 1, Fraction(1, 8), set(), set(), 0x20),
    "e3m2": (28, 0x1F, Fraction(1, 4), Fraction(1, 16), set(), set(), 0x20),
    "e2m1": (6, 0x7, 1, Fraction(1, 2), set(), set(), 0x8),
    "e8m0": (P**127, 0xFE, P**-127, None, {0xFF}, set(), None),
    "ue4m3": (448, 0x7E, P**-6, P**-9, {0x7F}, set(), None),
    "p3109_k8p4se": (224, 0x7E, P**-7, P**-10, {0x80}, {0x7F, 0xFF}, None),
    "p3109_k8p4sf": (240, 0x7F, P**-7, P**-10, {0x80}, set(), None),
    "p3109_k8p3se": (49152, 0x7E, P**-15, P**-17, {0x80}, {0x7F, 0xFF}, None),
    "p3109_k8p3sf": (57344, 0x7F, P**-15, P**-17, {0x80}, set(), None),
    "p3109_k8p5se": (15, 0x7E, P**-3, P**-7, {0x80}, {0x7F, 0xFF}, None),
    "p3109_k8p1uf": (P**126, 0xFE, P**-127, None, {0xFF}, set(), None),
    "p3109_k8p1ue": (P**125, 0xFD, P**-127, None, {0xFF}, {0xFE}, None),
    "p3109_k8p1se": (P**62, 0x7E, P**-63, None, {0x80}, {0x7F, 0xFF}, None),
    "p3109_k4p2sf": (3, 0x7, Fraction(1, 2), Fraction(1, 4), {0x8}, set(), None),
}


def table_facts(values, subnormal_codes):
    finite = {c: v for c, v in values.items() if isinstance(v, Fraction) and not isinstance(v, str)}
    vmax = max(finite.values())
    positive = {c: v for c, v in finite.items() if v > 0}
    normals = [v for c, v in positive.items() if c not in subnormal_codes]
    subnormals = [v for c, v in positive.items() if c in subnormal_codes]
    return dict(
        max=vmax,
        max_code=min(c for c, v in finite.items() if v == vmax),
        min_normal=min(normals),
        min_sub=min(subnormals) if subnormals else None,
        nan={c for c, v in values.items() if v is oracle.NAN},
        inf={c for c, v in values.items() if v in (oracle.POS_INF, oracle.NEG_INF)},
        negzero=next((c for c, v in values.items() if v is oracle.NEG_ZERO), None),
    )


@pytest.mark.parametrize("name", sorted(FACTS))
def test_spec_table_facts(name):
    vmax, max_code, min_normal, min_sub, nans, infs, negzero = FACTS[name]
    expected = dict(max=vmax, max_code=max_code, min_normal=min_normal, min_sub=min_sub, nan=nans, inf=infs,
                    negzero=negzero)
    fmt = lookup(name)
    ours = {c: as_oracle_value(decode(c, fmt)) for c in range(fmt.ncodes)}
    subnormal = {c for c in range(fmt.ncodes) if fmt.is_subnormal_code(c)}
    assert table_facts(ours, subnormal) == expected
    # the oracle's own decoding states the same facts (its subnormals: below minN)
    theirs = oracle.small_float_values(oracle.oracle_format(name))
    osub = {c for c, v in theirs.items() if isinstance(v, Fraction) and 0 < abs(v) < min_normal}
    assert table_facts(theirs, osub) == expected
    assert subnormal == osub


def test_e2m1_value_set():
    # ml-formats-spec.md §1.1: FP4 E2M1 values are ±{0, 0.5, 1, 1.5, 2, 3, 4, 6}.
    values = {as_oracle_value(decode(c, "e2m1")) for c in range(16)}
    half = Fraction(1, 2)
    mags = {0, half, 1, 3 * half, 2, 3, 4, 6}
    assert values == mags | {-m for m in mags if m} | {oracle.NEG_ZERO}


def test_mxint8_range():
    # OCP MX INT8 element: int8 code times 2**-6, range [-2, 127/64] (ml-formats-spec.md §1.1).
    values = [decode(c, "mxint8").to_fraction() for c in range(256)]
    assert max(values) == Fraction(127, 64) and min(values) == -2
    assert sorted(values) == [Fraction(q, 64) for q in range(-128, 128)]


@pytest.mark.parametrize("k", range(3, 9))
def test_p3109_one_encodes_at_quarter_or_half_range(k):
    # ml-formats-spec.md §1.3: 1.0 is code 2**(K-2) (signed) or 2**(K-1) (unsigned), for every P.
    for p in range(1, k):
        assert decode(2 ** (k - 2), f"p3109_k{k}p{p}se").to_fraction() == 1
    for p in range(1, k + 1):
        assert decode(2 ** (k - 1), f"p3109_k{k}p{p}uf").to_fraction() == 1
