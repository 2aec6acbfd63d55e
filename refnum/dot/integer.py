"""Integer dot products and accumulators, and the DFP INT16 pipeline of Das et al. 2018.

Every integer dot-product instruction has the same shape (hardware-accumulators
notes §3, model M1)::

    acc' = OVF(acc + p_1 + ... + p_G),    p_j = ext(a_j) * ext(b_j)

The operands are sign- or zero-extended, the G products of one instruction and
their sum are formed exactly (the pseudo-code widens before it multiplies, and
the group sum never exceeds the accumulator's width plus a few bits), and only
the addition into the accumulator can overflow.  OVF is a two's-complement wrap
(modulo 2**width: the pseudo-code assigns to a ``dword`` or a ``bits(32)``) or a
saturation to the accumulator's range.  Because the group sum is exact, the
order of summation inside a group cannot matter.

An :class:`IntegerDot` model is that shape with its knobs:

* ``operand_formats``: the catalogue integer formats of ``a`` and ``b`` (any
  width and signedness, e.g. ``("uint8", "int8")`` for VNNI's u8 x s8);
* ``accumulator_format``: the catalogue integer format of the accumulator
  (``int32``; any width: ``int16``, ``int64``, ``uint32`` ...);
* ``group``: G, the products one instruction adds at once;
* ``overflow``: ``wrap`` or ``saturate``;
* ``granularity``: where the overflow policy is applied -- after every
  ``product``, after each instruction's ``group``, or once at the ``end``
  (the exact dot product, projected once).  Under ``wrap`` the result is the
  same at every granularity (addition modulo 2**width is associative); only
  the flags, which report the check points that overflowed, differ.  Under
  ``saturate`` the granularities give different results (spec/dot-integer.md).

The overflow policy is applied by refnum's one projection step
(:func:`refnum.project` into the accumulator format with ``invalid_int`` =
``wrap`` or ``saturate``).  Flags: integer instructions raise no IEEE flags,
so refnum reports its own: **overflow** (bit 2, 0x04) when the exact value left
the accumulator's range at some check point (wrapped or saturated), plus
refnum's **saturated** bit (bit 5, 0x20) when it was clamped, so a wrap gives
0x04 and a saturation 0x24.  Bit 5 is refnum-only and off in TestFloat lines.

:func:`dfp_dot` is the DFP pipeline of Das et al. 2018 (model M2): INT16
mantissas with a shared exponent per tensor, INT32 partial sums over chunks of
N products, each chunk converted to binary32 and added in binary32.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ..arith import add
from ..catalog import lookup
from ..context import DEFAULT, Context, Flag
from ..errors import RefnumError
from ..rounding import project
from ..values import Value

OVERFLOWS = ("wrap", "saturate")
GRANULARITIES = ("product", "group", "end")
OVERFLOW, SATURATED, INVALID = int(Flag.OVERFLOW), int(Flag.SATURATED), int(Flag.INVALID)

# The accumulator's overflow policy, as the projection step's float -> integer knob.
_POLICY = {"wrap": Context(invalid_int="wrap"), "saturate": Context(invalid_int="saturate")}


@dataclass(frozen=True)
class IntegerDot:
    """An integer dot-product model: ``acc + sum(a_j * b_j)`` with a wrapping or
    saturating accumulator (see the module docstring for each knob)."""

    name: str
    operand_formats: tuple[str, str]
    accumulator_format: str
    group: int = 1
    overflow: str = "wrap"
    granularity: str = "group"
    description: str = ""

    def __post_init__(self):
        if self.overflow not in OVERFLOWS:
            raise RefnumError(f"{self.name}: bad overflow {self.overflow!r}; choose from {', '.join(OVERFLOWS)}")
        if self.granularity not in GRANULARITIES:
            raise RefnumError(f"{self.name}: bad granularity {self.granularity!r}; "
                              f"choose from {', '.join(GRANULARITIES)}")
        if type(self.group) is not int or self.group < 1:
            raise RefnumError(f"{self.name}: group must be an integer >= 1, not {self.group!r}")
        if len(self.operand_formats) != 2:
            raise RefnumError(f"{self.name}: give two operand formats, not {len(self.operand_formats)}")
        for role, fmt in zip(("operand", "operand", "accumulator"), self.formats):
            if fmt.kind != "fixed" or fmt.frac:
                raise RefnumError(f"{self.name}: {role} format {fmt.name} is not an integer format")

    @functools.cached_property
    def formats(self):
        """The catalogue formats of ``a``, ``b`` and the accumulator."""
        return tuple(lookup(name) for name in (*self.operand_formats, self.accumulator_format))


# -- the presets: one row per instruction ---------------------------------------------------

_SDM = "Intel SDM / intrinsics guide"
_PTX = "PTX ISA 9.7.14.5.14 mma, 'Precision and rounding: Integer operations'"


def _x86(name, a, b, group, saturate, source):
    overflow = "saturate" if saturate else "wrap"
    return IntegerDot(name, (a, b), "int32", group, overflow, "group",
                      f"{source}; {'signed saturation once per instruction' if saturate else 'wraps'}")


_PTX_TYPES = {"int8": "s8", "uint8": "u8", "int4": "s4", "uint4": "u4"}


def _imma(shape, k, a, b, satfinite):
    ta, tb = _PTX_TYPES[a], _PTX_TYPES[b]
    sat = ".satfinite" if satfinite else ""
    return IntegerDot(f"imma_{shape}_{ta}{tb}{sat.replace('.', '_')}", (a, b), "int32", k,
                      "saturate" if satfinite else "wrap", "group",
                      f"NVIDIA mma.sync.aligned.{shape}.row.col{sat}.s32.{ta}.{tb}.s32: {_PTX} "
                      f"({'limited to MIN_INT32..MAX_INT32' if satfinite else 'wrapped'} on overflow),"
                      f" once per instruction of k = {k}")


_PRESETS = (
    # AVX512_VNNI / AVX-VNNI: tmpN.word := ZeroExtend16(a.byte) * SignExtend16(b.byte);
    # dst.dword := src.dword + tmp1 + ... + tmp4, or Saturate32(...) for the S forms.
    _x86("vpdpbusd", "uint8", "int8", 4, False, f"{_SDM} VPDPBUSD (AVX512_VNNI, AVX-VNNI): u8 (first source) x s8"),
    _x86("vpdpbusds", "uint8", "int8", 4, True, f"{_SDM} VPDPBUSDS: Saturate32(src + tmp1 + tmp2 + tmp3 + tmp4)"),
    # The INT16 pair FMA of Das et al. 2018: "If the intermediate sum overflows a 32b signed
    # number, the result is saturated" (SDM VPDPWSSDS description).
    _x86("vpdpwssd", "int16", "int16", 2, False, f"{_SDM} VPDPWSSD: s16 x s16 pairs"),
    _x86("vpdpwssds", "int16", "int16", 2, True, f"{_SDM} VPDPWSSDS: saturates acc + p1 + p2"),
    # Knights Mill AVX512_4VNNIW: four steps of a pair each; the S form applies
    # SIGNED_DWORD_SATURATE inside the step loop, i.e. after every pair.
    _x86("vp4dpwssd", "int16", "int16", 2, False, f"{_SDM} VP4DPWSSD (AVX512_4VNNIW, Das et al. 2018): 4 steps"
         " of one s16 pair"),
    _x86("vp4dpwssds", "int16", "int16", 2, True, f"{_SDM} VP4DPWSSDS: SIGNED_DWORD_SATURATE after each of the 4"
         " steps"),
    # AVX-VNNI-INT8 (intrinsics guide _mm_dpbssds_epi32, _mm256_dpbsud_epi32).
    _x86("vpdpbssd", "int8", "int8", 4, False, f"{_SDM} VPDPBSSD (AVX-VNNI-INT8): s8 x s8"),
    _x86("vpdpbssds", "int8", "int8", 4, True, f"{_SDM} VPDPBSSDS: SIGNED_DWORD_SATURATE(W + tmp1 + ... + tmp4)"),
    _x86("vpdpbsud", "int8", "uint8", 4, False, f"{_SDM} VPDPBSUD (AVX-VNNI-INT8): s8 x u8"),
    _x86("vpdpbsuds", "int8", "uint8", 4, True, f"{_SDM} VPDPBSUDS: signed saturation as VPDPBSSDS"),
    # AMX-INT8: DPBD(c, x, y) = c + tmp1 + tmp2 + tmp3 + tmp4 into a dword, no saturation.
    _x86("tdpbssd", "int8", "int8", 4, False, f"{_SDM} TDPBSSD (AMX-INT8) DPBD, per K/4 step"),
    _x86("tdpbsud", "int8", "uint8", 4, False, f"{_SDM} TDPBSUD (AMX-INT8) DPBD, per K/4 step"),
    _x86("tdpbusd", "uint8", "int8", 4, False, f"{_SDM} TDPBUSD (AMX-INT8) DPBD, per K/4 step"),
    _x86("tdpbuud", "uint8", "uint8", 4, False, f"{_SDM} TDPBUUD (AMX-INT8) DPBD, per K/4 step; the dword read"
         " as int32"),
    # Arm: integer res = sum of the four products; Elem[result, e, 32] = Elem[result, e, 32] + res
    # (a bits(32) assignment: modulo 2**32).
    IntegerDot("arm_sdot", ("int8", "int8"), "int32", 4, "wrap", "group",
               "Arm ARM SDOT (vector) (FEAT_DotProd; A32 VSDOT F6.1.221): exact sum of 4 products added into"
               " bits(32)"),
    IntegerDot("arm_udot", ("uint8", "uint8"), "uint32", 4, "wrap", "group",
               "Arm ARM UDOT (vector) (FEAT_DotProd; A32 VUDOT F6.1.221 with U = 1): as SDOT, unsigned"),
    IntegerDot("arm_usdot", ("uint8", "int8"), "int32", 4, "wrap", "group",
               "Arm ARM USDOT (vector) (FEAT_I8MM): u8 x s8 into bits(32)"),
    # SVE SDOT (4-way) 16-bit into 64-bit: bits(esize) res; res = res + element1 * element2 per product.
    IntegerDot("sve_sdot_s16", ("int16", "int16"), "int64", 4, "wrap", "product",
               "Arm ARM C8.2.573 SDOT (4-way, vectors), SVE size = 1: each product added into bits(64)"),
    # NVIDIA IMMA (sm_80+ shapes).
    _imma("m16n8k16", 16, "int8", "int8", False),
    _imma("m16n8k16", 16, "int8", "int8", True),
    _imma("m16n8k32", 32, "int8", "int8", False),
    _imma("m16n8k32", 32, "int8", "int8", True),
    _imma("m16n8k32", 32, "uint8", "int8", False),
    _imma("m16n8k32", 32, "uint8", "int8", True),
    _imma("m16n8k64", 64, "int4", "int4", False),
    _imma("m16n8k64", 64, "int4", "int4", True),
)

INTEGER_PRESETS = {p.name: p for p in _PRESETS}
"""Every integer dot-product preset by name (spec/dot-integer.md has the table)."""


def integer_model(preset):
    """The :class:`IntegerDot` called ``preset`` (or ``preset`` itself when it is one)."""
    if isinstance(preset, IntegerDot):
        return preset
    try:
        return INTEGER_PRESETS[preset.strip().lower()]
    except (KeyError, AttributeError):
        raise RefnumError(f"unknown integer dot preset {preset!r}; choose from "
                          + ", ".join(INTEGER_PRESETS)) from None


# -- the model ------------------------------------------------------------------------------

def integer_dot(preset, a, b, c):
    """``(acc, flags)``: ``c + sum(a[j] * b[j])`` under the integer model ``preset``.

    ``a`` and ``b`` are sequences of integers in the model's operand formats,
    ``c`` an integer in its accumulator format; the result is the accumulator's
    integer value.  The products are taken in index order and grouped
    ``group`` at a time (a short last group is the hardware's zero padding).

    >>> integer_dot("vpdpbusd", [255] * 4, [-128] * 4, 0)          # 4 x (255 x -128)
    (-130560, 0)
    >>> integer_dot("vpdpbusds", [255] * 4, [127] * 4, 2**31 - 100)   # saturates: overflow, saturated
    (2147483647, 36)
    >>> integer_dot("vpdpbusd", [255] * 4, [127] * 4, 2**31 - 100)    # wraps: overflow
    (-2147354208, 4)
    """
    model = integer_model(preset)
    fa, fb, acc_fmt = model.formats
    a, b = _operands("a", a, fa), _operands("b", b, fb)
    if len(a) != len(b):
        raise RefnumError(f"a and b differ in length ({len(a)} and {len(b)})")
    acc = _integer("c", c, acc_fmt)
    flags = 0
    for increment in _increments([x * y for x, y in zip(a, b)], model):
        acc, f = accumulate(acc + increment, acc_fmt, model.overflow)
        flags |= f
    return acc, flags


def run_integer_dot(preset, a, b, c):
    """``(code, flags)``: :func:`integer_dot` on codes, the form vector lines carry.

    ``a``, ``b`` and ``c`` are codes of the operand and accumulator formats (two's
    complement for signed formats, as TestFloat writes ``i32``); the result is the
    accumulator's code.  ``refnum.dot.run_dot`` is the floating-point counterpart.

    >>> code, flags = run_integer_dot("vpdpbusd", [0xFF] * 4, [0x80] * 4, 0)     # 4 x (255 x -128)
    >>> hex(code), flags
    ('0xfffe0200', 0)
    """
    model = integer_model(preset)
    fa, fb, fc = model.formats
    a = [_integer_of(f"a[{i}]", x, fa) for i, x in enumerate(a)]
    b = [_integer_of(f"b[{i}]", x, fb) for i, x in enumerate(b)]
    acc, flags = integer_dot(model, a, b, _integer_of("c", c, fc))
    return fc.code_of(acc), flags


def _integer_of(name, code, fmt):
    if type(code) is not int or not 0 <= code < fmt.ncodes:
        raise RefnumError(f"{name}: {code!r} is not a code of {fmt.name} (0..0x{fmt.ncodes - 1:X})")
    return fmt.integer_of(code)


def _increments(products, model):
    """What the accumulator receives between two of its overflow checks (exact sums)."""
    if model.granularity == "product":
        return products
    if model.granularity == "end":
        return [sum(products)] if products else []
    g = model.group
    return [sum(products[i:i + g]) for i in range(0, len(products), g)]


def accumulate(total, fmt, overflow):
    """``(value, flags)``: the exact integer ``total`` brought into the integer format ``fmt``
    by the projection step, wrapping or saturating (flags as in the module docstring)."""
    code, flags = project(Value.finite(int(total < 0), abs(total)), fmt, _POLICY[overflow])
    if flags & INVALID:
        return fmt.integer_of(code), OVERFLOW | (SATURATED if overflow == "saturate" else 0)
    return fmt.integer_of(code), 0


def _operands(name, xs, fmt):
    if isinstance(xs, (str, bytes)) or not hasattr(xs, "__len__"):
        raise TypeError(f"{name} must be a sequence of integers, not {type(xs).__name__}")
    lo, hi = fmt.lo, fmt.hi
    for i, x in enumerate(xs):
        if type(x) is not int or not lo <= x <= hi:
            _integer(f"{name}[{i}]", x, fmt)                # raises, naming the element
    return xs


def _integer(name, x, fmt):
    if type(x) is not int:
        raise TypeError(f"{name} must be an integer, not {type(x).__name__} {x!r}")
    if not fmt.lo <= x <= fmt.hi:
        raise RefnumError(f"{name} = {x} is out of range for {fmt.name} ({fmt.lo}..{fmt.hi})")
    return x


# -- the DFP pipeline of Das et al. 2018 -----------------------------------------------------

@dataclass(frozen=True)
class DfpDot:
    """The result of :func:`dfp_dot`.

    code        the binary32 code of the dot product
    flags       the binary32 flags of the chunk conversions and additions
    chunks      the number of INT32 chunks
    overflowed  how many chunks' INT32 partial sums overflowed (wrapped or saturated)
    """

    code: int
    flags: int
    chunks: int
    overflowed: int


def dfp_dot(a, ea, b, eb, chunk, model="vpdpwssd", ctx=DEFAULT):
    """The DFP dot product of Das et al. 2018 (arXiv:1802.00930; hardware-accumulators notes §1.4-1.5).

    ``a`` and ``b`` are the integer mantissas of two DFP tensors (INT16 for the
    default model) and ``ea``, ``eb`` their shared exponents: element j is
    ``a[j] * 2**ea``.  The reduction is cut into chunks of ``chunk`` products;
    each chunk is an INT32 partial sum starting at 0, computed by the integer
    ``model`` (``vpdpwssd`` wraps, ``vpdpwssds`` saturates each pair,
    ``vp4dpwssd[s]`` are the Knights Mill forms, or any :class:`IntegerDot`).
    Each partial sum ``s`` is projected once to binary32 as ``s * 2**(ea + eb)``
    (``vcvtdq2ps`` under ``ctx.rounding``, RNE by default, then the exact scale by
    the power of two; one rounding, which equals convert-then-scale whenever
    the scaled value is a normal binary32 number) and added to a binary32
    accumulator, starting at +0, in chunk order (one rounding per addition).

    >>> r = dfp_dot([2**14] * 8, -14, [2**14] * 8, -14, chunk=4)      # 8 x (1 x 1), exact
    >>> hex(r.code), r.flags, r.chunks, r.overflowed
    ('0x41000000', 0, 2, 0)
    >>> r = dfp_dot([-2**15] * 2, 0, [-2**15] * 2, 0, chunk=2)        # 2 x 2**30 = 2**31 wraps
    >>> hex(r.code), r.overflowed
    ('0xcf000000', 1)
    """
    if type(chunk) is not int or chunk < 1:
        raise RefnumError(f"chunk must be an integer >= 1, not {chunk!r}")
    for name, e in (("ea", ea), ("eb", eb)):
        if type(e) is not int:
            raise TypeError(f"{name} must be an integer exponent, not {type(e).__name__} {e!r}")
    if len(a) != len(b):
        raise RefnumError(f"a and b differ in length ({len(a)} and {len(b)})")
    model = integer_model(model)
    f32 = lookup("binary32")
    acc, flags, overflowed = 0, 0, 0
    starts = range(0, len(a), chunk)
    for i in starts:
        s, int_flags = integer_dot(model, a[i:i + chunk], b[i:i + chunk], 0)
        overflowed += bool(int_flags & OVERFLOW)
        term, f = project(Value.finite(int(s < 0), abs(s), ea + eb), f32, ctx)
        acc, g = add(acc, term, f32, ctx=ctx)
        flags |= f | g
    return DfpDot(acc, flags, len(starts), overflowed)
