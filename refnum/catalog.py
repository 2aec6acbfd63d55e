"""The format catalogue: every named format, its aliases and the patterns for families.

A new format is one line in ``_ENTRIES``.  Families are parsed from their names:

* ``p3109_k{K}p{P}{s|u}{e|f}`` and the report's own ``binary{K}p{P}{s|u}{e|f}``
  (IEEE P3109 v4.0), e.g. ``p3109_k8p4se``;
* ``ieee_k{K}p{P}``: an IEEE 754 interchange-style format of K bits and precision
  P (§3.6 parameters, any K, P);
* ``e{W}m{M}[_b{bias}][_{ieee|fn|fnuz|fin}][_nosub][_u]``: generic ExMy (default
  bias 2**(W-1) - 1, default specials ``ieee``); ``fn`` = OCP-E4M3-style (NaN
  at the top code, no Inf), ``fnuz`` = NaN at -0, no Inf, ``fin`` = no NaN, no
  Inf; ``_nosub`` drops subnormals; ``_u`` drops the sign bit;
* ``i{N}``/``int{N}``/``ui{N}``/``u{N}``/``uint{N}`` integers of 1..128 bits;
* ``q{I}.{F}`` / ``uq{I}.{F}`` fixed point with I integer bits (the sign bit
  included for ``q``) and F fraction bits;
* ``{format}@{scale}``: any of the above times an exact rational scale, e.g.
  ``e4m3@1/448`` (flexible bias, per-tensor scale).
"""

from __future__ import annotations

import functools
import re

from .errors import RefnumError, wrong_type
from .formats import MAX_EXPONENT_BITS, FixedFormat, FloatFormat, ScaledFormat, p3109
from .values import parse

FORMAT_TYPES = (FloatFormat, FixedFormat, ScaledFormat)

IEEE = "IEEE 754-2019 §3.6 (binary interchange formats)"
OFP8 = "OCP 8-bit Floating Point Specification (OFP8) v1.0 §5"
MX = "OCP Microscaling Formats (MX) v1.0 §5.3"

# name, constructor, aliases
_ENTRIES = [
    (FloatFormat("binary16", 5, 10, 15, spec=IEEE), "f16 float16 half fp16"),
    (FloatFormat("binary32", 8, 23, 127, spec=IEEE), "f32 float32 single fp32"),
    (FloatFormat("binary64", 11, 52, 1023, spec=IEEE), "f64 float64 double fp64"),
    (FloatFormat("binary128", 15, 112, 16383, spec=IEEE), "f128 float128 quad fp128"),
    (FloatFormat("bfloat16", 8, 7, 127, spec="Intel BF16 whitepaper rev 1.0 (2018); IEEE 754 rules"), "bf16"),
    (FloatFormat("tf32", 8, 10, 127, spec="NVIDIA TF32 (A100 whitepaper); 19-bit code, top of an fp32 container"),
     "tensorfloat32"),
    (FloatFormat("e4m3", 4, 3, 7, nan="top", inf=None, saturation="finite", spec=OFP8 + " (E4M3)"),
     "ocp_e4m3 float8_e4m3fn e4m3fn fp8_e4m3 mxfp8_e4m3"),
    (FloatFormat("e5m2", 5, 2, 15, saturation="finite", spec=OFP8 + " (E5M2)"),
     "ocp_e5m2 float8_e5m2 fp8_e5m2 mxfp8_e5m2"),
    (FloatFormat("e4m3fnuz", 4, 3, 8, nan="negzero", inf=None, saturation="finite",
                 spec="Graphcore/AMD FP8 (arXiv:2206.02915); encodings = P3109 Binary8p4sf"),
     "float8_e4m3fnuz"),
    (FloatFormat("e5m2fnuz", 5, 2, 16, nan="negzero", inf=None, saturation="finite",
                 spec="Graphcore/AMD FP8 (arXiv:2206.02915); encodings = P3109 Binary8p3sf"),
     "float8_e5m2fnuz"),
    (FloatFormat("e4m3b11fnuz", 4, 3, 11, nan="negzero", inf=None, saturation="finite",
                 spec="ml_dtypes float8_e4m3b11fnuz (Graphcore/TPU; no published spec)"),
     "float8_e4m3b11fnuz"),
    (FloatFormat("float8_e4m3", 4, 3, 7, spec="ml_dtypes float8_e4m3 (IEEE 754-style E4M3; no OCP spec)"),
     "e4m3_ieee"),
    (FloatFormat("float8_e3m4", 3, 4, 3, spec="ml_dtypes float8_e3m4 (IEEE 754-style E3M4; no OCP spec)"),
     "e3m4 e3m4_ieee"),
    (FloatFormat("e2m3", 2, 3, 1, nan=None, inf=None, saturation="finite", spec=MX + " (FP6 E2M3)"),
     "fp6_e2m3 float6_e2m3fn mxfp6_e2m3"),
    (FloatFormat("e3m2", 3, 2, 3, nan=None, inf=None, saturation="finite", spec=MX + " (FP6 E3M2)"),
     "fp6_e3m2 float6_e3m2fn mxfp6_e3m2"),
    (FloatFormat("e2m1", 2, 1, 1, nan=None, inf=None, saturation="finite", spec=MX + " (FP4 E2M1)"),
     "fp4 fp4_e2m1 float4_e2m1fn mxfp4 mxfp4_e2m1"),
    (FloatFormat("e8m0", 8, 0, 127, signed=False, nan="top", inf=None, subnormals=False, zero=False,
                 saturation="finite", spec=MX + " (E8M0 scale, §5.4)"),
     "float8_e8m0fnu ue8m0 e8m0fnu mx_scale"),
    (FloatFormat("ue4m3", 4, 3, 7, signed=False, nan="top", inf=None, saturation="finite",
                 spec="NVIDIA PTX ISA .ue4m3 (NVFP4 block scale; 7 bits, NaN 0x7F)"),
     "nvfp4_scale"),
    (FixedFormat("mxint8", 8, 6, spec=MX + " (MXINT8 element: int8 x 2**-6)"), "mx_int8 ocp_int8"),
]

_INT_ALIASES = {"i32": "int32", "ui32": "uint32", "i64": "int64", "ui64": "uint64"}

CATALOG = {}
ALIASES = {}
for _fmt, _aliases in _ENTRIES:
    CATALOG[_fmt.name] = _fmt
    for _a in _aliases.split():
        ALIASES[_a] = _fmt.name

_P3109 = re.compile(r"^(?:p3109_k|binary)(\d+)p(\d+)([su])([ef])$")
_IEEE = re.compile(r"^ieee_k(\d+)p(\d+)$")
_EXMY = re.compile(r"^e(\d+)m(\d+)((?:_b-?\d+)?)((?:_(?:ieee|fn|fnuz|fin))?)((?:_nosub)?)((?:_u)?)$")
_INT = re.compile(r"^(i|int|ui|u|uint)(\d+)$")
_FIXED = re.compile(r"^(u?)q(\d+)\.(\d+)$")
_SPECIALS = {"ieee": ("ieee", "ieee"), "fn": ("top", None), "fnuz": ("negzero", None), "fin": (None, None)}


def lookup(name):
    """The format called ``name`` (case-insensitive, aliases and family patterns).

    >>> lookup("float8_e4m3fn").name, lookup("p3109_k8p4se").bias, lookup("i32").width
    ('e4m3', 8, 32)
    """
    if not isinstance(name, str):
        raise wrong_type("name", name, "a format name such as 'e4m3'")
    key = name.strip().lower()
    fmt = _lookup(key)
    if fmt is None:
        raise RefnumError(_unknown_message(name))
    return fmt


@functools.lru_cache(maxsize=None)
def _lookup(key):
    if key in CATALOG:
        return CATALOG[key]
    if key in ALIASES:
        return CATALOG[ALIASES[key]]
    if "@" in key:
        base_name, _, scale = key.partition("@")
        base = _lookup(base_name)
        return None if base is None else ScaledFormat(key, base, _scale(scale, key))
    return _family(key)


def _family(key):
    if m := _P3109.match(key):
        k, p = _parameter(m[1], "K", key), _parameter(m[2], "P", key)
        return p3109(k, p, signed=m[3] == "s", extended=m[4] == "e", name=f"p3109_k{k}p{p}{m[3]}{m[4]}")
    if m := _IEEE.match(key):
        k, p = _parameter(m[1], "K", key), _parameter(m[2], "P", key)
        if not 3 <= p + 1 <= k:
            raise RefnumError(f"ieee_k{k}p{p}: need 2 <= P <= K - 2")
        w = k - p
        return FloatFormat(key, w, p - 1, _ieee_bias(w), spec=IEEE + " (generic K, P)")
    if m := _EXMY.match(key):
        w, mm = _parameter(m[1], "exponent bits", key), _parameter(m[2], "trailing bits", key)
        bias = _parameter(m[3][2:], "bias", key) if m[3] else _ieee_bias(w)
        nan, inf = _SPECIALS[m[4][1:] if m[4] else "ieee"]
        return FloatFormat(key, w, mm, bias, signed=not m[6], nan=nan, inf=inf, subnormals=not m[5],
                           saturation="none" if nan == "ieee" else "finite", spec="refnum generic ExMy")
    if m := _INT.match(key):
        key = _INT_ALIASES.get(key, key)
        signed = m[1] in ("i", "int")
        width = _parameter(m[2], "bits", key)
        name = f"{'int' if signed else 'uint'}{width}"
        return FixedFormat(name, width, 0, signed, spec="two's-complement integer" if signed else "unsigned integer")
    if m := _FIXED.match(key):
        unsigned, i, f = m[1] == "u", _parameter(m[2], "integer bits", key), _parameter(m[3], "fraction bits", key)
        return FixedFormat(key, i + f, f, not unsigned,
                           spec="fixed point Qm.n, m integer bits including the sign bit (Arm convention)")
    return None


_PARAMETER_DIGITS = 12          # far beyond every limit of refnum.formats, far below Python's int-digit limit


def _parameter(digits, what, key):
    """A family parameter written in decimal; refused at once when it is longer than any limit allows."""
    if len(digits.lstrip("-").lstrip("0")) > _PARAMETER_DIGITS:
        raise RefnumError(f"format {_shorten(key)}: {what} {_shorten(digits)} is far beyond refnum's limits"
                          " (spec/encodings-generic.md)")
    return int(digits)


def _shorten(text, limit=24):
    return text if len(text) <= limit else text[:limit] + "..."


def _ieee_bias(w):
    """The IEEE 754 §3.3 bias 2**(w-1) - 1; 0 for a width FloatFormat will refuse anyway."""
    return (1 << (w - 1)) - 1 if 1 <= w <= MAX_EXPONENT_BITS else 0


def _scale(text, key):
    """The exact positive rational of ``{format}@{scale}``: a decimal, rational or hex float."""
    try:
        value = parse(text)
    except ValueError as err:
        raise RefnumError(f"bad scale {text!r} in format {key!r}: {err}") from None
    if not value.is_finite or value.sign or value.num == 0:
        raise RefnumError(f"bad scale {text!r} in format {key!r}: give an exact positive rational like 1/448,"
                          " 0.25 or 0x1p-7")
    return value.to_fraction()


def _unknown_message(name):
    members = _family_members(name.strip().lower())
    if members:
        return f"'{name}' names a family of formats: {', '.join(members)} (give one; 'refnum formats' lists all)"
    import difflib                                         # only for the error message
    known = sorted(set(CATALOG) | set(ALIASES))
    close = difflib.get_close_matches(name.lower(), known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else "; 'refnum formats' lists them"
    return f"unknown format '{name}'{hint}"


def _family_members(key):
    """The catalog formats a family name prefixes, by name or alias, in catalog order:
    ``fp8`` -> e4m3, e5m2 (fp8_e4m3, fp8_e5m2); ``mxfp6`` -> e2m3, e3m2."""
    prefix = key + "_"
    return [n for n in CATALOG if n.startswith(prefix) or any(a.startswith(prefix) for a in aliases_of(n))]


def aliases_of(name):
    return sorted(a for a, target in ALIASES.items() if target == name)


def short_name(fmt):
    """The TestFloat-style short name where one exists (f16, f32, i32 ...), else the name."""
    if not isinstance(fmt, FORMAT_TYPES):
        raise wrong_type("fmt", fmt, "a format (see lookup)")
    for short in ("f16", "f32", "f64", "f128", "bf16"):
        if ALIASES.get(short) == fmt.name:
            return short
    for short, long in _INT_ALIASES.items():
        if long == fmt.name:
            return short
    return fmt.name
