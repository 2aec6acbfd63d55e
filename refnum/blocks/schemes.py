"""Block schemes as data: k elements sharing one scale (OCP MX v1.0, NVFP4, BFP, DFP, FP8 recipes).

A :class:`Scheme` names the element format, the scale format, the block length
``k`` (or a 2D tile), the scale rule (:mod:`refnum.blocks.scale`) and the
element projection's default knobs.  A new scheme is one line of ``_SCHEMES``;
any field is a knob: ``scheme("mxfp4", k=16, rule="ceil")``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..catalog import lookup
from ..context import Context, canonical_rounding
from ..errors import RefnumError

MX = "OCP Microscaling Formats (MX) v1.0 §5 (Table 1), §6.3 (conversion)"
NVFP4 = "NVIDIA NVFP4 (PTX ISA .e2m1 with .ue4m3 block scale; arXiv:2509.25149 App. B)"

RULES = ("floor", "ceil", "even", "rceil", "nvfp4", "nvfp4_te", "nvfp4_torchao", "amax", "te_current")
LOG2S = ("exact", "binary32", "binary64")
NONFINITE = ("scale", "element")
SCALE_OVERFLOW = ("clamp", "nan")


@dataclass(frozen=True)
class Scheme:
    """A shared-scale block scheme.

    element         catalog name of the element format
    scale           catalog name of the scale code's format (e8m0, ue4m3, binary32), or of
                    an integer format when ``exponent_scale`` (BFP, DFP: the code is E, the
                    scale 2**E)
    k               elements per block; ``tile`` (rows, cols) for 2D blocks (k = rows * cols)
    rule            the scale rule (see :mod:`refnum.blocks.scale`)
    rounding        element rounding when no context is given (OCP MX §6.3: rne)
    saturation      element overflow policy when no context is given (MX: clamp = finite)
    nonfinite       a block holding NaN or Inf: ``scale`` (the scale is NaN: every element is
                    NaN; microxcaling, torchao) or ``element`` (the scale comes from the finite
                    elements and each NaN/Inf is projected by the element format: TE)
    scale_overflow  an exponent above the scale format's largest power of two: ``clamp`` to
                    it (gfloat) or the ``nan`` scale (microxcaling, torchao)
    headroom        added to the exponent of power-of-two rules (Das et al.: extra top bits)
    log2            how floor/ceil of log2(amax) is computed: ``exact`` (the spec), or
                    rounded to ``binary32`` (microxcaling's torch.log2) / ``binary64``
                    (gfloat with float64 input) first, reproducing their off-by-one just
                    below a power of two
    tensor_scale    a second, per-tensor FP32 scale (NVFP4)
    """

    name: str
    element: str
    scale: str
    k: int = 32
    rule: str = "floor"
    tile: tuple = ()
    rounding: str = "rne"
    saturation: str = "finite"
    nonfinite: str = "scale"
    scale_overflow: str = "clamp"
    exponent_scale: bool = False
    headroom: int = 0
    log2: str = "exact"
    tensor_scale: bool = False
    spec: str = ""

    def __post_init__(self):
        lookup(self.element), lookup(self.scale)                 # unknown names fail here
        for knob, choices in (("rule", RULES), ("log2", LOG2S), ("nonfinite", NONFINITE),
                              ("scale_overflow", SCALE_OVERFLOW)):
            if getattr(self, knob) not in choices:
                raise RefnumError(f"scheme {self.name}: bad {knob} {getattr(self, knob)!r}; choose from "
                                  + ", ".join(choices))
        if type(self.k) is not int or self.k < 1:
            raise RefnumError(f"scheme {self.name}: k must be a positive int")
        if self.tile and (len(self.tile) != 2 or self.tile[0] * self.tile[1] != self.k):
            raise RefnumError(f"scheme {self.name}: tile {self.tile} must be (rows, cols) with rows * cols = k")
        if type(self.headroom) is not int:
            raise RefnumError(f"scheme {self.name}: headroom must be an int")
        if self.tensor_scale and not self.rule.startswith("nvfp4"):
            raise RefnumError(f"scheme {self.name}: rule {self.rule} does not take a per-tensor scale")
        if self.rule in ("nvfp4", "nvfp4_te") and not self.tensor_scale:
            raise RefnumError(f"scheme {self.name}: rule {self.rule} needs a per-tensor scale")
        if self.rule in ("amax", "te_current") and self.exponent_scale:
            raise RefnumError(f"scheme {self.name}: rule {self.rule} needs a floating-point scale format")
        object.__setattr__(self, "rounding", canonical_rounding(self.rounding))

    @property
    def element_format(self):
        return lookup(self.element)

    @property
    def scale_format(self):
        return lookup(self.scale)

    def context(self):
        """The element projection's context when the caller gives none."""
        return Context(rounding=self.rounding, saturation=self.saturation, name=self.name)

    def replace(self, **changes):
        """This scheme with some fields changed (``k=16``, ``rule="ceil"``)."""
        if "tile" in changes and "k" not in changes and changes["tile"]:
            changes["k"] = changes["tile"][0] * changes["tile"][1]
        try:
            return dataclasses.replace(self, **changes)
        except TypeError as err:
            raise RefnumError(f"scheme {self.name}: {err}") from None


def _mx(name, element, aliases=""):
    return Scheme(name, element, "e8m0", spec=MX), aliases


def _nvfp4(name, rule, tile=(), aliases=""):
    return Scheme(name, "e2m1", "ue4m3", k=16 if not tile else 256, rule=rule, tile=tile, tensor_scale=True,
                  spec=NVFP4), aliases


_SCHEMES = [
    _mx("mxfp8_e4m3", "e4m3", "mxfp8"),
    _mx("mxfp8_e5m2", "e5m2"),
    _mx("mxfp6_e2m3", "e2m3", "mxfp6"),
    _mx("mxfp6_e3m2", "e3m2"),
    _mx("mxfp4", "e2m1", "mxfp4_e2m1"),
    _mx("mxint8", "mxint8"),
    # NVFP4: the exact two-level rule, then the two recipes in use, 1D 16 and 2D 16x16
    _nvfp4("nvfp4", "nvfp4"),
    _nvfp4("nvfp4_2d", "nvfp4", (16, 16)),
    _nvfp4("nvfp4_te", "nvfp4_te"),
    _nvfp4("nvfp4_te_2d", "nvfp4_te", (16, 16)),
    _nvfp4("nvfp4_torchao", "nvfp4_torchao"),
    (Scheme("nvfp4_torchao_1level", "e2m1", "ue4m3", k=16, rule="nvfp4_torchao", spec=NVFP4 + "; torchao"
            " single-level scaling (no per-tensor scale)"), ""),
    # block floating point: shared 8-bit exponent, sign-magnitude (MSFP) or two's-complement mantissas
    (Scheme("msfp12", "e1m2_b-1_fin", "int8", k=16, exponent_scale=True, nonfinite="element",
            spec="Microsoft MSFP12 (Darvish Rouhani et al., NeurIPS 2020): 8-bit exponent, sign + 3 bits"), ""),
    (Scheme("msfp16", "e1m6_b-5_fin", "int8", k=16, exponent_scale=True, nonfinite="element",
            spec="Microsoft MSFP16 / BFP16: 8-bit shared exponent, sign + 7-bit magnitude"), "bfp16"),
    (Scheme("bfp8", "int8", "int8", k=32, exponent_scale=True, nonfinite="element",
            spec="block floating point: 8-bit shared exponent, int8 two's-complement mantissas"), ""),
    (Scheme("flexpoint16", "int16", "int8", k=1 << 20, exponent_scale=True, nonfinite="element",
            spec="Flexpoint flex16+5 (Koster et al. 2017): int16 mantissas, one shared exponent per tensor"), ""),
    # dynamic fixed point (Das et al. 2018): INT16 with one shared exponent per tensor
    (Scheme("dfp16", "int16", "int16", k=1 << 20, exponent_scale=True, nonfinite="element",
            spec="Das et al. 2018 (arXiv:1802.00930) §3: Es = floor(log2 amax) - (P - 2)"), "int16_dfp"),
    # FP8 tensor-scaling recipes: FP32 scale (the decode multiplier), E4M3 elements
    (Scheme("fp8_tensor", "e4m3", "binary32", k=1 << 20, rule="amax", nonfinite="element",
            spec="per-tensor current scaling: scale = RN32(amax / 448)"), "fp8_current"),
    (Scheme("fp8_tensor_te", "e4m3", "binary32", k=1 << 20, rule="te_current", nonfinite="element",
            spec="Transformer Engine Float8CurrentScaling: S = RN32(448 / amax), x * S in FP32"), ""),
    (Scheme("fp8_1x128", "e4m3", "binary32", k=128, tile=(1, 128), rule="amax", nonfinite="element",
            spec="DeepSeek-V3 activations: 1x128 tiles, s = amax / 448 in FP32"), ""),
    (Scheme("fp8_128x128", "e4m3", "binary32", k=128 * 128, tile=(128, 128), rule="amax", nonfinite="element",
            spec="DeepSeek-V3 weights: 128x128 tiles, s = amax / 448 in FP32"), ""),
    (Scheme("fp8_1x128_ue8m0", "e4m3", "binary32", k=128, tile=(1, 128), rule="rceil", nonfinite="element",
            spec="DeepSeek-V3.1 scale_fmt ue8m0: s = 2**ceil(log2(amax / 448))"), ""),
]

SCHEMES = {}
SCHEME_ALIASES = {}
for _scheme, _aliases in _SCHEMES:
    SCHEMES[_scheme.name] = _scheme
    for _a in _aliases.split():
        SCHEME_ALIASES[_a] = _scheme.name


def scheme(name, **changes):
    """The scheme called ``name``, with knob changes on top.

    >>> s = scheme("mxfp4", k=16, rule="ceil")
    >>> s.element, s.scale, s.k, s.rule
    ('e2m1', 'e8m0', 16, 'ceil')
    """
    if isinstance(name, Scheme):
        return name.replace(**changes) if changes else name
    if not isinstance(name, str):
        raise TypeError(f"scheme must be a scheme name or Scheme, not {type(name).__name__}")
    key = name.strip().lower()
    key = SCHEME_ALIASES.get(key, key)
    if key not in SCHEMES:
        import difflib                                    # only for the error message
        close = difflib.get_close_matches(key, sorted(set(SCHEMES) | set(SCHEME_ALIASES)), n=1)
        hint = f"; did you mean '{close[0]}'?" if close else "; 'refnum block list' lists them"
        raise RefnumError(f"unknown block scheme '{name}'{hint}")
    s = SCHEMES[key]
    return s.replace(**changes) if changes else s
