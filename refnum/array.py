"""Whole numpy arrays through the projection step: the optional, vectorised path.

``quantize(x, fmt, ctx)`` rounds a numpy array of float16, float32, float64 or
bfloat16 (ml_dtypes) values into any catalogue format; ``convert(codes, src,
dst, ctx)`` does the same for an array of codes; ``decode(codes, fmt)`` reads
codes back as float64; ``quantize_blocks(x, scheme, ctx)`` quantizes an array
under a block scheme of :mod:`refnum.blocks` (MX, NVFP4, BFP/DFP, FP8 tiles).
Each returns what the scalar core would return for
every element, bit for bit: codes and the flag byte (tests/test_array.py checks
every binary16 and bfloat16 code into every format of at most 16 bits).

This module is not a second definition.  It runs the steps of
:func:`refnum.rounding._round_float` on numpy integer arrays (int32 where every
quantity fits in 30 bits, else int64; blocks of ``CHUNK`` elements), with the
same names:

1. decode each source code to its integer parts ``(-1)**sign * num * 2**exp``
   (``FloatFormat._decode_magnitude``);
2. ``e = floor(log2 |X|)``, ``Q = max(e, emin) - m`` (``qmin`` below ``2**emin``),
   ``S0 = num >> (Q - exp)`` and the remainder ``r`` below it (:func:`refnum.rounding.split`);
3. the rounding decision on ``(r, d = 2**(Q - exp))`` in integers
   (:func:`refnum.rounding.round_away`, P3109 v4.0 §4.7.4), tininess
   (IEEE 754 §7.5, :func:`refnum.rounding._is_tiny`);
4. encode (``FloatFormat.encode_finite``): ``((Q + m + bias) << m) + S - 2**m`` is
   the magnitude code of ``S * 2**Q`` for a normal and for a subnormal ``S``
   alike, and a carry out of the significand moves into the exponent field by
   itself.  The encoding is monotonic, so "rounded above the largest finite
   value" is "magnitude code above ``max_mag``".

Every other outcome is the scalar core's (:func:`refnum.convert.converter` on
one representative element), asked once per class of elements that share it:
zeros, infinities and NaNs (and DAZ subnormals) by their code, and results that
flush, underflow to zero, overflow or fall below an unsigned format's lowest
value by their class, sign and flags.  Those outcomes depend on nothing else (``_underflow_to_zero``, ``_overflow`` and
``_below_lowest`` take only the sign and the flags), so every policy knob
(saturation, NaN encodings, ``nan_missing``, ``zero_missing``, unsigned
formats, FTZ/DAZ) is honoured by the one definition.

**Fallback rule.**  Where the vectorised steps do not apply, each element goes
through :func:`refnum.convert.converter` one by one (correct, slower): integer,
fixed-point and scaled formats on either side; destinations with more than 53
significant bits, or without subnormals (``_nosub`` with ``m > 0``), whose
codes the formula of step 4 does not give; stochastic rounding with more than
60 random bits; source formats over 53 significant bits; pairs whose magnitude
codes of step 4 could reach 2**63 (binary64 into binary64).  Codes are numpy
integers, so formats wider than 64 bits are refused.

No float arithmetic happens here: floats enter as their bit patterns (a view
of the array's memory) and leave the same way.
"""

from __future__ import annotations

try:
    import numpy as np
except ImportError:                                    # pragma: no cover - exercised without numpy
    raise ImportError("refnum.array needs numpy: python -m pip install numpy") from None

from .catalog import lookup
from .context import DEFAULT
from .convert import converter
from .errors import RefnumError
from .rounding import INEXACT, UNDERFLOW

__all__ = ["convert", "decode", "quantize", "quantize_blocks", "vectorised"]

# numpy dtype name -> catalogue format of its bit pattern (bfloat16 is ml_dtypes')
SOURCES = {"float16": "binary16", "float32": "binary32", "float64": "binary64", "bfloat16": "bfloat16"}
_UINT = {8: np.uint8, 16: np.uint16, 32: np.uint32, 64: np.uint64}
_MAX_SR_BITS = 60
_MAX_P = 53


def quantize(x, fmt, ctx=None, rand=None):
    """Round every element of the numpy array ``x`` into ``fmt``: ``(codes, flags)``.

    ``x`` holds float16, float32, float64 or (with ml_dtypes) bfloat16 values;
    each is read exactly from its bits.  ``codes`` has the shape of ``x`` and
    the smallest unsigned dtype that holds ``fmt``'s codes; ``flags`` is uint8,
    the flag byte of each element.  ``rand`` is the array of random integers R
    of a stochastic rounding (same shape, ``0 <= R < 2**ctx.sr_bits``).

    >>> import numpy as np
    >>> codes, flags = quantize(np.array([1.0, 464.0, 465.0, -1e-3], np.float32), "e4m3")
    >>> [hex(c) for c in codes], flags.tolist()
    (['0x38', '0x7e', '0x7e', '0x81'], [0, 1, 37, 3])
    """
    src, codes = _source_codes(x)
    return convert(codes, src, fmt, ctx, rand)


def convert(codes, src, dst, ctx=None, rand=None):
    """Convert an array of ``src`` codes to ``dst``: ``(codes, flags)``, as
    :func:`refnum.convert.convert` does element by element (IEEE 754 §5.4.2).

    >>> import numpy as np
    >>> codes, flags = convert(np.array([0x3C01, 0x7BFF, 0x7C00, 0x7E00], np.uint16), "f16", "e5m2")
    >>> [hex(c) for c in codes], flags.tolist()
    (['0x3c', '0x7b', '0x7b', '0x7e'], [1, 37, 32, 0])
    """
    src, dst = _as_format(src, "src"), _as_format(dst, "dst")
    ctx = DEFAULT if ctx is None else ctx
    codes = _check_codes(codes, src)
    rand = _check_rand(rand, ctx, codes.shape)
    out = np.zeros(codes.shape, _UINT[_container_bits(dst)])
    flags = np.zeros(codes.shape, np.uint8)
    flat_out, flat_flags = out.reshape(-1), flags.reshape(-1)
    flat_codes = codes.reshape(-1)
    flat_rand = None if rand is None else rand.reshape(-1)
    if vectorised(src, dst, ctx):
        _convert_vectorised(flat_codes, src, dst, ctx, flat_rand, flat_out, flat_flags)
    else:
        _convert_scalar(flat_codes, src, dst, ctx, flat_rand, flat_out, flat_flags)
    return out, flags


def decode(codes, fmt):
    """The values of an array of ``fmt`` codes as a float64 array, exactly.

    Only for formats whose every value is a binary64 value (every catalogue
    float format up to binary64, integers and fixed point up to 53 bits); NaNs
    keep their sign, not their payload.  Other formats raise RefnumError: round
    them with ``convert(codes, fmt, "binary64", ctx)`` and view the codes as
    float64.

    >>> import numpy as np
    >>> decode(np.arange(0x7C, 0x80, dtype=np.uint8), "e4m3").tolist()
    [384.0, 416.0, 448.0, nan]
    """
    fmt = _as_format(fmt, "fmt")
    if not _fits_binary64(fmt):
        raise RefnumError(f"decode: not every value of {fmt.name} is a binary64 value; "
                          f"use convert(codes, {fmt.name!r}, 'binary64', ctx) to round them")
    out, _ = convert(codes, fmt, "binary64", DEFAULT.replace(nan="sign"))
    return out.view(np.float64)


def vectorised(src, dst, ctx=None):
    """Whether :func:`convert` from ``src`` to ``dst`` under ``ctx`` runs vectorised
    (else element by element through the scalar core, see the module's fallback rule)."""
    src, dst = _as_format(src, "src"), _as_format(dst, "dst")
    ctx = DEFAULT if ctx is None else ctx
    if src.kind != "float" or dst.kind != "float" or src.p > _MAX_P or dst.p > _MAX_P:
        return False
    if ctx.rounding.startswith("sr-") and ctx.sr_bits > _MAX_SR_BITS:
        return False
    if dst.m and not (dst.zero and dst.subnormals):
        return False
    return _codes_below(src, dst, 63)


def _codes_below(src, dst, bits):
    """Whether every magnitude code step 4 forms, ``((Q + m + bias) << m) + S - 2**m``,
    is below ``2**bits``: Q + m is at most the source's largest exponent plus one (Inf
    and NaN codes run through the steps too, see _convert_block), a carry adds one, and
    ``S <= 2**(m + 1)`` one more exponent field."""
    src_emax = src.qmax + src.smax.bit_length() - 1
    return (src_emax + dst.bias + 3) << dst.m < 1 << bits


# -- arguments -------------------------------------------------------------------

def _source_codes(x):
    """The catalogue name of ``x``'s float type and its bit patterns (a view)."""
    if not isinstance(x, np.ndarray):
        raise TypeError(f"x must be a numpy array, not {type(x).__name__}")
    src = SOURCES.get(x.dtype.name)
    if src is None or x.dtype.kind not in "fV":
        raise TypeError(f"x must hold float16, float32, float64 or bfloat16 values, not {x.dtype.name}")
    if not x.dtype.isnative:                  # the bits are read in the machine's byte order
        x = x.astype(x.dtype.newbyteorder("="))
    return src, x.view(_UINT[8 * x.dtype.itemsize])


def _as_format(fmt, name):
    if isinstance(fmt, str):
        fmt = lookup(fmt)
    elif not hasattr(fmt, "kind"):
        raise TypeError(f"{name} must be a format or its name, not {type(fmt).__name__}")
    if fmt.k > 64:
        raise RefnumError(f"{name}: {fmt.name} has {fmt.k}-bit codes; refnum.array holds codes of at most 64 bits")
    return fmt


def _container_bits(fmt):
    return next(bits for bits in sorted(_UINT) if bits >= fmt.k)


def _check_codes(codes, fmt):
    if not isinstance(codes, np.ndarray) or codes.dtype.kind not in "ui":
        raise TypeError("codes must be a numpy array of integers")
    if codes.dtype.kind == "u" and codes.dtype.itemsize * 8 <= fmt.k:
        return codes                          # every value is a code
    bad = codes[_out_of_range(codes, fmt.k)]
    if bad.size:
        raise RefnumError(f"codes: 0x{int(bad[0]):X} is out of range for {fmt.name} ({fmt.k} bits)")
    return codes.astype(_UINT[_container_bits(fmt)], copy=False)


def _out_of_range(a, bits):
    """Where the integers ``a`` are not in ``[0, 2**bits)``."""
    return (a < 0) | (a >= 1 << bits) if bits < 64 else a < 0


def _check_rand(rand, ctx, shape):
    """The random integers of a stochastic rounding, checked like :func:`refnum.convert._check_rand`."""
    if not ctx.rounding.startswith("sr-"):
        return None
    if rand is None:
        raise RefnumError(f"rand: stochastic rounding {ctx.rounding} needs an array of random integers")
    if not isinstance(rand, np.ndarray) or rand.dtype.kind not in "ui" or rand.shape != shape:
        raise TypeError(f"rand must be a numpy integer array of shape {shape}")
    bad = rand[_out_of_range(rand, ctx.sr_bits)]
    if bad.size:
        raise RefnumError(f"rand: random value {int(bad[0])} is out of range for {ctx.sr_bits} random bits")
    return rand.astype(np.int64) if ctx.sr_bits <= _MAX_SR_BITS else rand


def _fits_binary64(fmt):
    if fmt.kind == "fixed":
        return fmt.width <= _MAX_P + fmt.signed and fmt.frac <= 1074
    if fmt.kind != "float":
        return False
    return fmt.p <= _MAX_P and fmt.qmin >= -1074 and fmt.qmax + fmt.smax.bit_length() - 1 <= 1023


# -- the scalar fallback ------------------------------------------------------------

def _convert_scalar(codes, src, dst, ctx, rand, out, flags):
    """Every element through the scalar core (:func:`refnum.convert.converter`)."""
    convert_code = converter(src, dst, ctx)
    rands = [0] * len(codes) if rand is None else [int(r) for r in rand]
    for i, (code, r) in enumerate(zip(codes.tolist(), rands)):
        out[i], flags[i] = convert_code(code, r)


# -- the vectorised steps ---------------------------------------------------------------

CHUNK = 1 << 16

# classes of elements whose outcome the scalar core gives (see _store): bits of a uint8
FLUSH, TO_ZERO, OVER, BELOW = 1, 2, 4, 8


def _convert_vectorised(codes, src, dst, ctx, rand, out, flags):
    """The steps below on blocks of ``CHUNK`` elements (their temporaries stay in cache)."""
    convert_code = converter(src, dst, ctx)
    work = _work_dtype(src, dst, ctx)
    for start in range(0, len(codes), CHUNK):
        block = slice(start, start + CHUNK)
        _convert_block(codes[block], src, dst, ctx, None if rand is None else rand[block],
                       out[block], flags[block], work, convert_code)


def _convert_block(codes, src, dst, ctx, rand, out, flags, work, convert_code):
    """Normal source codes, all at once; then zeros, subnormals, Inf and NaN, which
    are few, overwrite their elements."""
    def scalar(i):
        return convert_code(int(codes[i]), 0 if rand is None else int(rand[i]))

    sign = (codes >> (src.k - 1)).astype(work) if src.signed else np.zeros(codes.shape, work)
    mag = (codes & src.mag_mask).astype(work)
    work_rand = None if rand is None else rand.astype(work)
    # step 1 for a normal code (FloatFormat._decode_magnitude): num = 2**m_src + t, exp = e - m_src
    normal = (mag >= int(src.zero) << src.m) & (mag <= src.max_mag)
    e = (mag >> src.m) - src.bias
    num = (mag & ((1 << src.m) - 1)) | (1 << src.m)
    # every element goes through (cheaper than picking the normal ones; the others are
    # bounded, see _work_dtype, and overwritten below)
    mag_out, flag, klass = _round_float(dst, ctx, sign, num, e - src.m, e, work_rand)
    _store(dst, slice(None), sign, mag_out, flag, klass, out, flags, scalar, keep=normal)
    if not normal.all():
        _round_others(src, dst, ctx, codes, sign, mag, rand, np.flatnonzero(~normal), out, flags, scalar)


def _work_dtype(src, dst, ctx):
    """int32 when every quantity of the steps fits in 30 bits, else int64.

    Bounds: ``num < 2**p_src`` and the rounded significand ``S <= 2**p``; a shift is
    clamped two below the width (a larger one leaves nothing of ``num`` either); the
    magnitude codes of step 4 (:func:`_codes_below`); stochastic rounding's
    ``2R + 1 < 2**(N + 1)``.  :func:`vectorised` asks the same of int64."""
    fits = (src.p <= 24 and dst.p <= 24 and _codes_below(src, dst, 31) and src.k <= 32
            and (not ctx.rounding.startswith("sr-") or ctx.sr_bits <= 27))
    return np.int32 if fits else np.int64


def _round_others(src, dst, ctx, codes, sign, mag, rand, idx, out, flags, scalar):
    """Zeros, Inf and NaN take the scalar core by code; subnormal sources the steps below."""
    num, exp, e, finite = _decode_parts(src, ctx, mag[idx].astype(np.int64))
    special = idx[~finite]
    if special.size:
        _by_class(codes[special].astype(np.int64), special, out, flags, scalar)
    fin = idx[finite]
    if fin.size:
        mag_out, flag, klass = _round_float(dst, ctx, sign[fin].astype(np.int64), num[finite], exp[finite],
                                            e[finite], None if rand is None else rand[fin].astype(np.int64))
        _store(dst, fin, sign[fin], mag_out, flag, klass, out, flags, scalar)


def _decode_parts(src, ctx, mag):
    """Step 1 (``FloatFormat._decode_magnitude``): ``(num, exp, e)`` int64 arrays with
    ``|X| = num * 2**exp`` and ``e = floor(log2 |X|)``, and the mask of nonzero finite
    magnitudes (DAZ reads subnormals as zeros, :func:`refnum.convert.decode`)."""
    m = src.m
    e_field, t = mag >> m, mag & ((1 << m) - 1)
    num, exp, e = t | (1 << m), e_field - (src.bias + m), e_field - src.bias
    if src.zero:
        low = e_field == 0                    # zero and the subnormals t * 2**(emin - m)
        num = np.where(low, t if src.subnormals and not ctx.daz else 0, num)
        exp = np.where(low, src.emin - m, exp)
        e[low] = src.emin - m + _bit_length(num[low]) - 1
    finite = (mag <= src.max_mag) & (num != 0)
    return num, exp, e, finite


def _round_float(fmt, ctx, sign, num, exp, e, rand):
    """Steps 2 to 4 of :func:`refnum.rounding._round_float`: ``(magnitude code, flags,
    class)`` of each ``(-1)**sign * num * 2**exp`` with ``e = floor(log2 |X|)``."""
    m, emin = fmt.m, fmt.emin
    # P3109 v4.0 §4.7.4: Q = max(floor(log2 |X|), emin) - (p - 1); that is qmin below
    # 2**emin for the formats of this path (with subnormals, or m == 0)
    q = np.maximum(e, emin) - m
    s, r, d, sh = _split(num, exp, q)
    inexact = r != 0
    if not fmt.zero and not m and ctx.lowest_binade == "subnormal":   # _lowest_binade_as_subnormal
        q = np.where(inexact & (e == emin), q + 1, q)
        s, r, d, sh = _split(num, exp, q)
    even = (s & 1) == 0 if m else _code_is_even(fmt, ctx, s, q)
    s += inexact & _round_away(ctx, sign, even, r, d, sh, rand)
    mag = ((q + (m + fmt.bias)) << m) + s - (1 << m)
    flag = _bits(inexact, INEXACT)
    over = mag > fmt.max_mag
    tiny_zone = e < emin
    if not tiny_zone.any():
        return mag, flag, _bits(over, OVER)
    # the branch "e < emin" of _round_float: underflow, flush, rounded to zero; no overflow
    tiny = _is_tiny(fmt, ctx, tiny_zone, e, sign, num, exp, rand)
    flag = flag | _bits(tiny & inexact, UNDERFLOW)
    klass = _bits(~tiny_zone & over, OVER) | _bits(tiny_zone & (s == 0), TO_ZERO)
    if ctx.ftz:
        klass = np.where(tiny, FLUSH, klass)
    return mag, flag, klass


def _bits(mask, bit):
    """``bit`` where ``mask`` holds, else 0, as uint8 (a bool is one byte, 0 or 1)."""
    return mask.view(np.uint8) * np.uint8(bit)


def _store(fmt, idx, sign, mag, flag, klass, out, flags, scalar, keep=None):
    """Step 4: encode into ``out[idx]``, except the elements the scalar core decides.

    Those are the ones ``_round_float`` hands to a policy function: flushed (FTZ),
    rounded to zero (``_underflow_to_zero``), overflowed (``_overflow``), or negative
    into an unsigned format (``_below_lowest``); each outcome depends only on the
    class, the sign and the flags, so one scalar call per class decides it.  Only
    the elements ``keep`` (default: all) are classed; the caller overwrites the rest."""
    if fmt.signed:
        out[idx] = mag | (sign << (fmt.k - 1))
    else:
        out[idx] = mag
        klass = klass | _bits(sign == 1, BELOW)
    flags[idx] = flag
    if keep is not None:
        klass = klass * keep
    if klass.any():
        key = (klass.astype(np.int32) << 9) | (sign.astype(np.int32) << 8) | flag
        where = np.arange(len(key)) if isinstance(idx, slice) else idx
        _by_class(key, where, out, flags, scalar, first_class=1 << 9)


def _by_class(key, where, out, flags, scalar, first_class=None):
    """Give the elements ``where`` of each class (equal ``key``) the scalar core's
    outcome for the first of them; keys below ``first_class`` are not classes."""
    if first_class is None:
        classes = np.unique(key)
    else:
        classes = np.flatnonzero(np.bincount(key)[first_class:]) + first_class
    for k in classes:
        members = where[key == k]
        out[members], flags[members] = scalar(members[0])


def _shift_limit(a):
    """Shifts of ``a``'s dtype are clamped here: two below the width (see _work_dtype)."""
    return a.dtype.itemsize * 8 - 2


def _split(num, exp, q):
    """Step 2, :func:`refnum.rounding.split` with ``den == 1``: ``(S0, r, d, shift)``,
    ``num * 2**(exp - q) = S0 + r / d`` with ``d = 2**shift`` (its shift clamped: a
    larger one leaves nothing of ``num`` either, see _work_dtype)."""
    sh = q - exp
    right = np.clip(sh, 0, _shift_limit(num))
    s, d = num >> right, 1 << right
    if (sh < 0).any():
        s = np.where(sh < 0, num << np.clip(-sh, 0, _shift_limit(num)), s)
    return s, num & (d - 1), d, sh


def _code_is_even(fmt, ctx, s, q):
    """P3109 CodeIsEven (:func:`refnum.rounding._code_is_even`) for precision 1 (``m == 0``)."""
    if ctx.p1_parity == "code":
        return (s == 0) | ((q + fmt.bias) & 1 == 0)
    return s == 0


def _round_away(ctx, sign, even, r, d, sh, rand):
    """Step 3, :func:`refnum.rounding.round_away` (``d = 2**sh``); meaningful where ``r > 0``."""
    mode, nbits = ctx.rounding, ctx.sr_bits
    if mode == "rne":
        twice = r << 1
        return (twice > d) | ((twice == d) & ~even)
    if mode == "rna":
        return r << 1 >= d
    if mode == "rtz":
        return np.zeros(r.shape, bool)
    if mode == "rup":
        return sign == 0
    if mode == "rdn":
        return sign == 1
    if mode == "rto":
        return even
    one = 1 << nbits
    if mode == "sr-a":                        # floor(nu * 2**N) + R >= 2**N
        return _scaled_floor(r, sh, nbits)[0] + rand >= one
    if mode == "sr-b":                        # floor(nu * 2**(N+1)) + 2R + 1 >= 2**(N+1)
        return _scaled_floor(r, sh, nbits + 1)[0] + 2 * rand + 1 >= one << 1
    f, rem, low = _scaled_floor(r, sh, nbits)  # sr-c: RNITE(nu * 2**N) + R >= 2**N
    half = 1 << np.maximum(low - 1, 0)
    up = (low > 0) & ((rem > half) | ((rem == half) & (f & 1 == 1)))
    return f + up + rand >= one


def _scaled_floor(r, sh, nbits):
    """``(floor(r * 2**nbits / 2**sh), remainder, remainder bits)`` (clamped shifts
    lose nothing: ``r < 2**p_src``, see _work_dtype)."""
    low = np.clip(sh - nbits, 0, _shift_limit(r))
    f = np.where(sh >= nbits, r >> low, r << np.maximum(nbits - sh, 0))
    return f, r & ((1 << low) - 1), low


def _is_tiny(fmt, ctx, tiny_zone, e, sign, num, exp, rand):
    """IEEE 754 §7.5, :func:`refnum.rounding._is_tiny`: which values are tiny (all of
    ``tiny_zone`` before rounding; after, all but those of the binade just below
    ``2**emin`` that round up to it at precision p with an unbounded exponent)."""
    if ctx.tininess == "before":
        return tiny_zone
    tiny = tiny_zone.copy()
    near = np.flatnonzero(tiny_zone & (e == fmt.emin - 1))
    q = e[near] - fmt.m                       # round at precision p, exponent unbounded
    s, r, d, sh = _split(num[near], exp[near], q)
    even = (s & 1) == 0 if fmt.m else _code_is_even(fmt, ctx, s, q)
    s += (r != 0) & _round_away(ctx, sign[near], even, r, d, sh, None if rand is None else rand[near])
    tiny[near] = s >> fmt.p == 0
    return tiny


def _bit_length(a):
    """``int.bit_length`` of each element of a nonnegative int64 array (binary search)."""
    n = np.zeros(a.shape, np.int64)
    for k in (32, 16, 8, 4, 2, 1):
        high = (a >> k) != 0
        n += np.where(high, k, 0)
        a = np.where(high, a >> k, a)
    return n + (a != 0)


# -- block schemes (refnum.blocks) on arrays ----------------------------------------------

def quantize_blocks(x, scheme, ctx=None, rand=None):
    """Quantize the numpy array ``x`` under a block scheme of :mod:`refnum.blocks`:
    ``(scales, elements, scale_flags, element_flags)``, and the binary32 code of the
    per-tensor scale (an int) last for two-level schemes (NVFP4).

    The blocks are those of :func:`refnum.blocks.quantize_tensor`: a 1D scheme cuts
    the last axis into blocks of k elements, the last block of a row shorter when
    the length is not a multiple of k (as the scalar ``quantize`` takes a block of 1
    to k values); a 2D tile scheme (``tile`` (r, c), r > 1) takes a 2D array, edge
    tiles smaller.  A two-level scheme's per-tensor scale comes from the whole
    array's amax.  ``elements`` and ``element_flags`` have the shape of ``x``;
    ``scales`` and ``scale_flags`` one entry per block (``x.shape[:-1] + (blocks per
    row,)``, or the grid of tiles).  ``ctx`` is the element projection's context
    (default: the scheme's), ``rand`` the random integers of a stochastic rounding
    (shape of ``x``).

    Each block's scale is the scalar rule's (:func:`refnum.blocks.scale.choose` once
    per distinct amax, or per binade of amax where the rule depends on nothing
    else, see _amax_key).  Where it divides the elements by a power of two 2**E (the
    power-of-two rules; any scale whose divisor happens to be one), each nonzero
    finite element ``num * 2**exp`` becomes ``num * 2**(exp - E)`` exactly and takes
    this module's vectorised projection (steps 2 to 4).  Every other block goes
    through the scalar :func:`refnum.blocks.quantize` (its definition): scales that
    are not powers of two (NVFP4's UE4M3 block scale, the FP32 scales of the FP8
    recipes), recipes that multiply by an FP32 factor, NaN scales, blocks holding
    NaN or Inf under ``nonfinite = scale``, and element formats the vectorised
    steps do not take (MXINT8, BFP and DFP integers: see the fallback rule).
    Zero, infinite and NaN elements take the scalar element step once per code.

    >>> import numpy as np
    >>> x = np.array([[7.0, 1.25, -0.3, 0.0], [1e-3, -2.0, 0.5, 0.25]], np.float32)
    >>> scales, elements, scale_flags, element_flags = quantize_blocks(x, "mxfp4")
    >>> scales.tolist(), [[hex(c) for c in row] for row in elements]
    ([[127], [126]], [['0x7', '0x2', '0x9', '0x0'], ['0x0', '0xe', '0x2', '0x1']])
    >>> scale_flags.tolist(), element_flags.tolist()
    ([[0], [0]], [[37, 1, 3, 0], [3, 0, 0, 0]])
    """
    s = _block_scheme(scheme)
    src_name, codes = _source_codes(x)
    src = lookup(src_name)
    ectx = _block_context(s, ctx)
    layout = _BlockLayout(codes.shape, s)
    if not ectx.rounding.startswith("sr-") and rand is not None:
        raise RefnumError(f"rand: only stochastic rounding takes random integers (rounding is {ectx.rounding})")
    rand = _check_rand(rand, ectx, codes.shape)
    blocked = layout.block(codes)
    valid = layout.block(np.ones(codes.shape, bool))
    brand = None if rand is None else layout.block(rand)
    mag = (blocked & src.mag_mask).astype(np.int64)
    finite = valid & (mag <= src.max_mag)
    amax = np.where(finite, mag, 0).max(axis=1)
    tensor = _tensor_scale_code(s, src, amax)
    out = _BlockOutput(s, blocked.shape)
    fast = np.zeros(len(blocked), bool)
    if _elements_vectorised(s, src, ectx):
        fast = _blocks_pow2(s, src, ectx, blocked, brand, valid, finite, amax, tensor, out)
    for b in np.flatnonzero(~fast):
        _block_scalar(s, src, ectx, blocked[b], valid[b], None if brand is None else brand[b], tensor, b, out)
    result = (layout.scale_grid(out.scales), layout.unblock(out.elements),
              layout.scale_grid(out.scale_flags), layout.unblock(out.element_flags))
    return result + ((tensor[0],) if s.tensor_scale else ())


def _block_scheme(scheme):
    from .blocks.schemes import scheme as lookup_scheme   # refnum.blocks loads with the first block call
    return lookup_scheme(scheme)


def _block_context(s, ctx):
    from .blocks.quantize import _element_context
    return _element_context(s, ctx)


class _BlockLayout:
    """The blocks of an array as the rows of a (blocks, k) matrix, and back.

    The array is read as a matrix (rows, cols): a 1D scheme's rows are every index
    but the last, its tiles (1, k); a tile scheme's matrix is the array itself.
    Tiles are clipped to the matrix (a row shorter than k is one block), the matrix
    padded with zeros to whole tiles, and each tile read row-major, as
    :func:`refnum.blocks.blocks_of` reads it (padding masked out by ``valid``)."""

    def __init__(self, shape, s):
        if len(shape) == 0 or 0 in shape:
            raise RefnumError("x: give a nonempty array of at least one dimension")
        tiled = bool(s.tile) and s.tile[0] > 1
        if tiled and len(shape) != 2:
            raise RefnumError(f"x: scheme {s.name} quantizes {s.tile[0]}x{s.tile[1]} tiles of a 2D array, "
                              f"not an array of {len(shape)} dimensions")
        self.shape, self.tiled = shape, tiled
        self.cols = shape[-1]
        self.rows = int(np.prod(shape[:-1], dtype=np.int64))
        th, tw = s.tile if tiled else (1, s.k)
        self.th, self.tw = min(th, self.rows), min(tw, self.cols)
        self.grid = (-(-self.rows // self.th), -(-self.cols // self.tw))

    def block(self, a):
        """``a`` (of the array's shape) as one row per block."""
        (gr, gc), th, tw = self.grid, self.th, self.tw
        a = a.reshape(self.rows, self.cols)
        pad = ((0, gr * th - self.rows), (0, gc * tw - self.cols))
        if any(p for _, p in pad):
            a = np.pad(a, pad)
        return a.reshape(gr, th, gc, tw).transpose(0, 2, 1, 3).reshape(gr * gc, th * tw)

    def unblock(self, b):
        (gr, gc), th, tw = self.grid, self.th, self.tw
        a = b.reshape(gr, gc, th, tw).transpose(0, 2, 1, 3).reshape(gr * th, gc * tw)
        return np.ascontiguousarray(a[:self.rows, :self.cols]).reshape(self.shape)

    def scale_grid(self, per_block):
        """One entry per block, shaped like the array's leading indices (1D) or the tile grid."""
        if self.tiled:
            return per_block.reshape(self.grid)
        return per_block.reshape(self.shape[:-1] + (self.grid[1],))


class _BlockOutput:
    """The arrays quantize_blocks fills, one row of elements per block."""

    def __init__(self, s, shape):
        self.scales = np.zeros(shape[0], _UINT[_container_bits(s.scale_format)])
        self.scale_flags = np.zeros(shape[0], np.uint8)
        self.elements = np.zeros(shape, _UINT[_container_bits(s.element_format)])
        self.element_flags = np.zeros(shape, np.uint8)


def _value_of(src, mag):
    """The exact value (a Fraction) of a nonnegative source magnitude code."""
    return src.decode(int(mag)).to_fraction()


def _tensor_scale_code(s, src, amax):
    """(binary32 code, value) of a two-level scheme's per-tensor scale from the whole
    array's amax (:func:`refnum.blocks.scale.tensor_scale_of`), else None."""
    if not s.tensor_scale:
        return None
    from .blocks.scale import tensor_scale_of
    return tensor_scale_of(s, _value_of(src, amax.max()))


def _blocks_pow2(s, src, ctx, blocked, rand, valid, finite, amax, tensor, out):
    """The scales of every block and the elements of the blocks scaled by a power of two
    (no NaN or Inf under ``nonfinite = scale``): the mask of the blocks done."""
    _, first, which = np.unique(_amax_key(s, src, amax), return_index=True, return_inverse=True)
    choices = [_scale_choice(s, src, int(amax[i]), tensor) for i in first]
    exponents = [_pow2_exponent(c) for c in choices]
    fast = np.array([e is not None for e in exponents])[which]
    if s.nonfinite == "scale":
        fast &= ~(valid & ~finite).any(axis=1)
    out.scales[:] = np.array([c.code for c in choices], np.uint64)[which]
    out.scale_flags[:] = np.array([c.flags for c in choices], np.uint8)[which]
    if fast.any():
        exponent = np.array([0 if e is None else e for e in exponents], np.int64)[which]
        _elements_pow2(s, src, ctx, blocked, rand, valid, fast, exponent, choices, which, out)
    return fast


def _amax_key(s, src, amax):
    """Equal keys, equal scale choices: where a rule depends on amax only through
    floor(log2 amax) (``floor``: E = floor(log2 amax) - emax_elem + headroom, OCP MX
    §6.3) or that and whether amax is a power of two (``ceil``), with exact log2, the
    key is those (zero amax apart); for every other rule the amax code itself."""
    if s.log2 != "exact" or s.rule not in ("floor", "ceil"):
        return amax
    num, _, e, _ = _decode_parts(src, DEFAULT, amax)
    key = 2 * (e - src.emin + src.m + 2)                # > 0, and 2 * 1 for amax == 0
    if s.rule == "ceil":
        key += (num & (num - 1)) != 0                   # not a power of two
    return key


def _scale_choice(s, src, amax, tensor):
    """The scalar rule's :class:`~refnum.blocks.scale.ScaleChoice` for a block's amax code
    (as :func:`refnum.blocks.quantize` chooses it)."""
    from fractions import Fraction
    from .blocks import scale as rules
    g = tensor[1] if tensor is not None else (Fraction(1) if s.rule.startswith("nvfp4") else None)
    return rules.choose(s, _value_of(src, amax), g) if amax else rules.zero_choice(s, g)


def _pow2_exponent(choice):
    """E where the block's elements are divided by exactly 2**E (no FP32 factor), else None."""
    d = choice.divisor
    if d is None or choice.factor is not None:
        return None
    n, m = d.numerator, d.denominator
    if n & (n - 1) or m & (m - 1):
        return None
    return n.bit_length() - m.bit_length()


def _elements_vectorised(s, src, ctx):
    """Whether the elements take the vectorised steps: a float element format
    :func:`vectorised` takes from the source, and magnitude codes of quotients
    ``x / 2**E`` (E down to the scale format's least exponent) below 2**62."""
    fmt = s.element_format
    if fmt.kind != "float" or not vectorised(src, fmt, ctx):
        return False
    sfmt = s.scale_format
    least = sfmt.lo if s.exponent_scale else sfmt.qmin
    src_emax = src.qmax + src.smax.bit_length() - 1
    return (src_emax + 1 - least + fmt.bias + 3) << fmt.m < 1 << 62


def _elements_pow2(s, src, ctx, blocked, rand, valid, fast, exponent, choices, which, out):
    """The elements of the blocks ``fast`` (scale 2**E; block b's scale choice is
    ``choices[which[b]]``): nonzero finite ones through the vectorised steps on
    ``num * 2**(exp - E)``, the rest by the scalar element step once per source code
    (their outcome depends on nothing else, see _element)."""
    from .blocks.quantize import _element
    fmt, k = s.element_format, blocked.shape[1]
    codes, flat_valid = blocked.reshape(-1), (valid & fast[:, None]).reshape(-1)
    flat_rand = None if rand is None else rand.reshape(-1)
    elements, flags = out.elements.reshape(-1), out.element_flags.reshape(-1)

    def scalar(i):
        r = 0 if flat_rand is None else int(flat_rand[i])
        return _element(s, src.decode(int(codes[i])), choices[which[i // k]], ctx, r)

    sign = (codes >> (src.k - 1)).astype(np.int64)
    mag = (codes & src.mag_mask).astype(np.int64)
    nonzero_finite = (mag != 0) & (mag <= src.max_mag)
    others = np.flatnonzero(flat_valid & ~nonzero_finite)
    if others.size:
        _by_class(codes[others], others, elements, flags, scalar)
    idx_all = np.flatnonzero(flat_valid & nonzero_finite)
    for start in range(0, idx_all.size, CHUNK):
        idx = idx_all[start:start + CHUNK]
        num, exp, e, _ = _decode_parts(src, DEFAULT, mag[idx])
        shift = exponent[idx // k]
        mag_out, flag, klass = _round_float(fmt, ctx, sign[idx], num, exp - shift, e - shift,
                                            None if flat_rand is None else flat_rand[idx].astype(np.int64))
        _store(fmt, idx, sign[idx], mag_out, flag, klass, elements, flags, scalar)


def _block_scalar(s, src, ctx, codes, valid, rand, tensor, b, out):
    """Block ``b`` through the scalar :func:`refnum.blocks.quantize` (its definition)."""
    from .blocks.quantize import quantize as quantize_block
    vals = [src.decode(int(c)) for c in codes[valid]]
    rands = None if rand is None else [int(r) for r in rand[valid]]
    block = quantize_block(vals, s, ctx, rands, None if tensor is None else tensor[0])
    out.scales[b], out.scale_flags[b] = block.scale, block.scale_flags
    out.elements[b, valid], out.element_flags[b, valid] = block.elements, block.flags
