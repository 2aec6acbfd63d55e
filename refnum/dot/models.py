"""Floating-point dot-product models: ``D = sum_k a_k * b_k + C`` as hardware computes it.

Every model starts from the exact products (two decoded codes multiply exactly)
and rounds only by calling :func:`refnum.rounding.project` -- directly, or
through :func:`refnum.arith.compute` for an IEEE operation -- on a named format
where the hardware rounds: the accumulator of a chain of FMAs, the output of a
fused block, an intermediate format such as the E8M13 result of Hopper's FP8
tensor cores (hardware-accumulators notes §0, §4).

The models (each a frozen dataclass with a method ``dot(problem, ctx)``):

=================  ==========================================================
:class:`Exact`     Kulisch: the exact sum, one rounding (P3109 "exact then
                   project"; Arm FEAT_FP8 FDOT; RISC-V ``vfdotpex``); optional
                   groups chained through the accumulator
:class:`Sequential`  a chain of FMAs (one rounding per step) or of multiply
                   then add (two), in any accumulator format, with lanes
                   (interleaved k, summed at the end)
:class:`Tree`      a summation tree of rounded products, per group, chained
:class:`Fused`     fused multi-term with aligned truncation (NVIDIA tensor
                   cores): products exact, aligned to the largest exponent of
                   the group and the addend, truncated to ``F`` fraction bits,
                   summed exactly, rounded once
:class:`Gemm`      a GEMM main loop: an inner model chained over K, promoted
                   into an FP32 accumulator every ``promote_every`` products
                   (DeepSeek-V3's two-level accumulation, cuBLAS FP8 without
                   fast accumulation), then an epilogue conversion
=================  ==========================================================

Special values follow IEEE 754-2019 on the exact products (§7.2): a NaN operand,
``Inf x 0`` or ``+Inf + -Inf`` give the default NaN (invalid for the latter two
and for signalling NaNs); otherwise any infinity gives an infinity of its sign.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..arith import compute
from ..catalog import lookup
from ..context import Flag
from ..convert import convert, decode
from ..errors import RefnumError
from ..rounding import ilog2, project
from ..values import FINITE, INF, NAN, Value

INVALID, INEXACT, OVERFLOW = int(Flag.INVALID), int(Flag.INEXACT), int(Flag.OVERFLOW)


# -- the problem: operand codes and their formats ---------------------------------------

@dataclass(frozen=True)
class Problem:
    """One dot product: codes ``a[k]`` of format ``fa``, ``b[k]`` of ``fb``, addend ``c`` of ``fc``."""

    a: tuple
    b: tuple
    c: int
    fa: object
    fb: object
    fc: object

    def slice(self, start, stop, c, fc):
        """The products ``start:stop`` with another addend (a chained block)."""
        return Problem(self.a[start:stop], self.b[start:stop], c, self.fa, self.fb, fc)


def problem(a, b, c, formats):
    """A checked :class:`Problem`: ``formats`` is ``(fa, fb, fc)`` (names or formats)."""
    fa, fb, fc = (_float_format(f, role) for f, role in zip(formats, ("a", "b", "c")))
    a, b = tuple(a), tuple(b)
    if len(a) != len(b):
        raise RefnumError(f"a has {len(a)} elements but b has {len(b)}")
    for codes, fmt, role in ((a, fa, "a"), (b, fb, "b"), ((c,), fc, "c")):
        for code in codes:
            if not isinstance(code, int) or not 0 <= code < fmt.ncodes:
                raise RefnumError(f"{role}: code {code!r} is not a {fmt.name} code")
    return Problem(a, b, c, fa, fb, fc)


def _float_format(fmt, role):
    fmt = lookup(fmt) if isinstance(fmt, str) else fmt
    if getattr(fmt, "kind", None) != "float":
        raise RefnumError(f"format of {role}: dot products take float-like formats, not {fmt!r}")
    return fmt


def _decoded(pb, ctx):
    """The factor pairs and the addend of a block as exact values (DAZ applies)."""
    pairs = [(decode(x, pb.fa, ctx), decode(y, pb.fb, ctx)) for x, y in zip(pb.a, pb.b)]
    return pairs, decode(pb.c, pb.fc, ctx)


def _term(v):
    """``(signed integer, exponent)`` of a finite value: ``v = n * 2**e`` (decoded codes are dyadic)."""
    return (-v.num if v.sign else v.num), v.exp


def exact_sum(terms):
    """``(n, e)`` with ``sum(n_i * 2**e_i) == n * 2**e``: a Kulisch accumulator whose LSB is
    the smallest term's (Python integers are as wide as they need to be)."""
    terms = [t for t in terms if t[0]]
    if not terms:
        return 0, 0
    lsb = min(e for _, e in terms)
    return sum(n << (e - lsb) for n, e in terms), lsb


# -- special values (IEEE 754-2019 §7.2 on the exact products) -------------------------------

def special_sum(values, pairs):
    """``(Value, flags)`` of a sum whose operands include a NaN or an infinity, else None.

    ``pairs`` are the decoded factor pairs, ``values`` the decoded addends.
    """
    operands = [v for pair in pairs for v in pair] + list(values)
    if not any(v.kind is not FINITE for v in operands):
        return None
    signalling = any(v.kind is NAN and v.signaling for v in operands)
    if any(v.kind is NAN for v in operands):
        return Value.nan(0), INVALID if signalling else 0
    signs = set()
    for x, y in pairs:
        if x.kind is INF or y.kind is INF:
            if x.is_zero or y.is_zero:
                return Value.nan(0), INVALID            # §7.2(b): 0 x Inf
            signs.add(x.sign ^ y.sign)
    signs |= {v.sign for v in values if v.kind is INF}
    if len(signs) == 2:
        return Value.nan(0), INVALID                    # §7.2(d): Inf - Inf
    return (Value.inf(signs.pop()), 0) if signs else None


def zero_sum_sign(pairs, values, rounding):
    """IEEE 754-2019 §6.3: a sum of zeros is -0 only when every term is -0; an exact
    zero sum of nonzero terms is +0 (-0 when rounding toward negative)."""
    terms_signs = [x.sign ^ y.sign for x, y in pairs] + [v.sign for v in values]
    nonzero = any(x.num and y.num for x, y in pairs) or any(v.num for v in values)
    if nonzero:
        return int(rounding == "rdn")
    return int(all(terms_signs))


def alignment_exponent(v, fmt):
    """The exponent a fused unit aligns a nonzero operand by: ``floor(log2|v|)``, or the
    format's ``emin`` for subnormals (whose significand is then below 1)."""
    e = ilog2(v.num, v.exp, v.den)
    return e if e >= fmt.emin else fmt.emin


# -- helpers shared by the chained models -----------------------------------------------------

def _blocks(k, size):
    """``(start, stop)`` of consecutive blocks of ``size`` products (the last may be short)."""
    if size is None or size >= k:
        return [(0, k)]
    return [(s, min(s + size, k)) for s in range(0, k, size)]


def _chain(pb, size, out, step, ctx):
    """Blocks of ``size`` products, the result of each the next block's addend (in ``out``)."""
    c, fc, flags = pb.c, pb.fc, 0
    for start, stop in _blocks(len(pb.a), size):
        c, f = step(pb.slice(start, stop, c, fc), ctx)
        fc, flags = out, flags | f
    return c, flags


def _check_positive(name, value, allow_none=False):
    if value is None and allow_none:
        return
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise RefnumError(f"{name} must be a positive integer, got {value!r}")


def _finish(n, e, pairs, c, out, ctx):
    """Project the exact sum ``n * 2**e`` into ``out`` (the one rounding of a block)."""
    if n == 0:
        return project(Value.zero(zero_sum_sign(pairs, [c], ctx.rounding)), out, ctx)
    return project(Value.finite(int(n < 0), abs(n), e), out, ctx)


def _projected(special, out, ctx):
    value, flags = special
    code, f = project(value, out, ctx)
    return code, f | flags


def _rounded(ctx, rounding):
    return ctx if rounding is None else ctx.replace(rounding=rounding)


# -- Exact (Kulisch) ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Exact:
    """The exact sum of the products and the addend, rounded once into ``out``
    (an exact accumulator, Kulisch; P3109 v4.0 exact-then-project).

    ``group``: products per rounding (None: all of them), the groups chained
    through the addend -- RISC-V ``vfdotpex`` is ``group=2``.
    """

    out: str = "binary32"
    rounding: str | None = None        # None: the context's
    group: int | None = None

    def __post_init__(self):
        _float_format(self.out, "out")
        _check_positive("group", self.group, allow_none=True)

    def dot(self, pb, ctx):
        out = _float_format(self.out, "out")
        return _chain(pb, self.group, out, lambda blk, cx: self._block(blk, out, cx), _rounded(ctx, self.rounding))

    def _block(self, pb, out, ctx):
        pairs, c = _decoded(pb, ctx)
        special = special_sum([c], pairs)
        if special is not None:
            return _projected(special, out, ctx)
        terms = [_product_term(x, y) for x, y in pairs if x.num and y.num]
        n, e = exact_sum(terms + ([_term(c)] if c.num else []))
        return _finish(n, e, pairs, c, out, ctx)


def _product_term(x, y):
    nx, ex = _term(x)
    ny, ey = _term(y)
    return nx * ny, ex + ey


# -- Sequential: a chain of FMAs or of multiply-then-add ----------------------------------------

ORDERS = ("k", "odd-even")


@dataclass(frozen=True)
class Sequential:
    """``acc = acc + a_k * b_k`` one product at a time in the accumulator format ``acc``.

    fused           True: each step is one FMA, one rounding (IEEE 754 §5.4.1
                    fusedMultiplyAdd); False: the product is rounded into
                    ``product`` (default ``acc``) and then added: two roundings
    lanes           L independent chains, lane j taking k = j, j+L, j+2L ...
                    (SIMD lanes over interleaved k), summed left to right at
                    the end in ``acc``
    addend          "first": C starts lane 0; "last": lanes start at +0 and C
                    is added after them
    order           "k": ascending k; "odd-even": within each pair (2i, 2i+1)
                    the odd element first (Intel SDM VDPBF16PS)
    """

    acc: str = "binary32"
    fused: bool = True
    product: str | None = None
    lanes: int = 1
    addend: str = "first"
    order: str = "k"

    def __post_init__(self):
        _float_format(self.acc, "acc")
        if self.product is not None:
            _float_format(self.product, "product")
        _check_positive("lanes", self.lanes)
        _check_choice("addend", self.addend, ("first", "last"))
        _check_choice("order", self.order, ORDERS)

    def dot(self, pb, ctx):
        acc = _float_format(self.acc, "acc")
        ks = _ordered(len(pb.a), self.order)
        c = convert(pb.c, pb.fc, acc, ctx) if pb.fc != acc else (pb.c, 0)
        zero = (0, 0)
        lanes = [c if (j == 0 and self.addend == "first") else zero for j in range(self.lanes)]
        flags = c[1]
        for i, k in enumerate(ks):
            j = i % self.lanes
            code, f = self._step(pb, k, lanes[j][0], acc, ctx)
            lanes[j], flags = (code, 0), flags | f
        total = lanes[0][0]
        for lane in lanes[1:] + ([c] if self.addend == "last" else []):
            total, f = compute("add", (total, lane[0]), acc, ctx)
            flags |= f
        return total, flags

    def _step(self, pb, k, acc_code, acc, ctx):
        operands = (pb.a[k], pb.b[k])
        if self.fused:
            return compute("mulAdd", operands + (acc_code,), (pb.fa, pb.fb, acc), ctx, out=acc)
        product = _float_format(self.product, "product") if self.product else acc
        p, f1 = compute("mul", operands, (pb.fa, pb.fb), ctx, out=product)
        s, f2 = compute("add", (acc_code, p), (acc, product), ctx, out=acc)
        return s, f1 | f2


def _ordered(k, order):
    if order == "k":
        return list(range(k))
    return [i ^ 1 if (i ^ 1) < k else i for i in range(k)]


def _check_choice(name, value, choices):
    if value not in choices:
        raise RefnumError(f"{name} must be one of {', '.join(choices)}; got {value!r}")


# -- Tree: a summation tree of rounded products -------------------------------------------------

@dataclass(frozen=True)
class Tree:
    """Each product rounded into ``fmt`` (``fused_pairs``: pairs of products summed
    exactly first), then summed along ``tree``, every addition rounded into ``fmt``.

    ``tree`` is a nested tuple over one group of products: integers are product
    indices within the group and ``"c"`` the addend, e.g. ``((0, 1), "c")`` is
    ``(p0 + p1) + c`` (Arm BFDOT).  None is the balanced pairwise tree over the
    group, with C added last.  Groups of ``len(leaves) - 1`` products are chained
    through the addend.
    """

    fmt: str = "binary32"
    tree: tuple | None = None
    group: int | None = None

    def __post_init__(self):
        _float_format(self.fmt, "fmt")
        _check_positive("group", self.group, allow_none=True)
        if self.tree is not None:
            leaves = _leaves(self.tree)
            if sorted(x for x in leaves if x != "c") != list(range(len(leaves) - 1)) or leaves.count("c") != 1:
                raise RefnumError(f"tree {self.tree!r} must name products 0..n-1 once each and 'c' once")
            if self.group is not None and self.group != len(leaves) - 1:
                raise RefnumError(f"tree {self.tree!r} has {len(leaves) - 1} products, group says {self.group}")

    def dot(self, pb, ctx):
        fmt = _float_format(self.fmt, "fmt")
        size = len(_leaves(self.tree)) - 1 if self.tree is not None else self.group
        return _chain(pb, size, fmt, lambda blk, cx: self._block(blk, fmt, cx), ctx)

    def _block(self, pb, fmt, ctx):
        tree = self.tree if self.tree is not None else (_balanced(list(range(len(pb.a)))), "c")
        flags = 0

        def value(node):
            nonlocal flags
            if node == "c":
                code, f = convert(pb.c, pb.fc, fmt, ctx)
            elif isinstance(node, int):
                code, f = compute("mul", (pb.a[node], pb.b[node]), (pb.fa, pb.fb), ctx, out=fmt)
            else:
                left, right = (value(n) for n in node)
                code, f = compute("add", (left, right), fmt, ctx)
            flags |= f
            return code
        if len(pb.a) != len(_leaves(tree)) - 1:        # a short last group: its own balanced tree
            tree = (_balanced(list(range(len(pb.a)))), "c")
        return value(tree), flags


def _leaves(tree):
    if isinstance(tree, (tuple, list)):
        return [leaf for node in tree for leaf in _leaves(node)]
    return [tree]


def _balanced(items):
    if len(items) == 1:
        return items[0]
    half = (len(items) + 1) // 2
    return (_balanced(items[:half]), _balanced(items[half:]))


# -- Fused: multi-term fused dot product with aligned truncation -------------------------------

_NO_ADDEND = Value.zero()      # the block of addend="late": C is not one of its terms


@dataclass(frozen=True)
class Fused:
    """NVIDIA's tensor-core block FMA (hardware-accumulators notes §4.3; MMA-Sim T-FDPA;
    Fasi et al. 2021; Khattak and Mikaitis 2025).

    For each block of ``L`` products (blocks chained through the addend):

    1. products exact and not renormalised: ``a*b`` is aligned by ``ea + eb``,
       each ``e`` being ``floor(log2|x|)`` or the input format's emin for subnormals;
       the addend by its own exponent (``addend="aligned"``);
    2. ``E`` = the largest of those exponents; with ``e_zero`` set, zero products and a
       zero addend take part at exponent ``e_zero`` (MMA-Sim's zero exponent), so
       ``E >= e_zero`` whenever a term is zero;
    3. every term truncated toward zero to a multiple of ``2**(E - F)``;
    4. the truncated terms summed exactly (no carry limit);
    5. that sum rounded once with ``rounding`` into ``intermediate`` when given
       (Hopper FP8: ``e8m13``, "truncate to 13 fraction bits"), else into ``out``;
       the intermediate value is then exact in ``out``.

    ``addend="late"``: the products alone are fused (steps 1-5, addend zero) and C
    is added afterwards with an IEEE addition in ``out`` (round to nearest even).
    ``nan``: the NaN the unit writes, "canonical" (the context's) or "all-ones"
    (every exponent and fraction bit set, sign clear: NVIDIA's 0x7FFFFFFF, 0x7FFF).
    ``zero``: the sign of a zero result, "ieee" (IEEE 754 §6.3) or "positive" (NVIDIA:
    -0 is never written, not even for a tiny negative result; MMA-Sim's ``+ 0.0``).
    ``overflow``: "ieee" (by rounding direction: round toward zero gives the largest
    finite value, IEEE 754 §7.4) or "inf" (±Inf whatever the rounding: MMA-Sim's model of
    NVIDIA's RZ results).
    """

    L: int
    F: int
    out: str = "binary32"
    rounding: str = "rtz"
    intermediate: str | None = None
    addend: str = "aligned"
    e_zero: int | None = None
    nan: str = "canonical"
    zero: str = "ieee"
    overflow: str = "ieee"

    def __post_init__(self):
        _check_positive("L", self.L)
        if not isinstance(self.F, int) or self.F < 0:
            raise RefnumError(f"F must be an integer >= 0, got {self.F!r}")
        _float_format(self.out, "out")
        if self.intermediate is not None:
            _float_format(self.intermediate, "intermediate")
        _check_choice("addend", self.addend, ("aligned", "late"))
        _check_choice("nan", self.nan, ("canonical", "all-ones"))
        _check_choice("zero", self.zero, ("ieee", "positive"))
        _check_choice("overflow", self.overflow, ("ieee", "inf"))
        if self.e_zero is not None and not isinstance(self.e_zero, int):
            raise RefnumError(f"e_zero must be an integer or None, got {self.e_zero!r}")

    def dot(self, pb, ctx):
        out = _float_format(self.out, "out")
        return _chain(pb, self.L, out, lambda blk, cx: self.block(blk, out, cx), ctx)

    def block(self, pb, out, ctx):
        """One fused block: ``(code in out, flags)``."""
        pairs, c = _decoded(pb, ctx)
        special = special_sum([c], pairs)
        if special is not None:
            return self._special(special, out, ctx)
        if self.addend == "late":
            code, flags = self._fused(pairs, _NO_ADDEND, pb, out, ctx)
            s, f = compute("add", (code, convert(pb.c, pb.fc, out, ctx)[0]), out, ctx.replace(rounding="rne"))
            return s, flags | f
        return self._fused(pairs, c, pb, out, ctx)

    def _fused(self, pairs, c, pb, out, ctx):
        rctx = ctx.replace(rounding=self.rounding)
        n, e, lost = self.truncated_sum(self.aligned_terms(pairs, c, pb), self._has_zero(pairs, c))
        flags = INEXACT if lost else 0
        if self.intermediate is not None:
            mid = _float_format(self.intermediate, "intermediate")
            code, f = self._written(*_finish(n, e, pairs, c, mid, rctx), mid, ctx)
            return project(decode(code, mid), out, ctx)[0], flags | f
        code, f = self._written(*_finish(n, e, pairs, c, out, rctx), out, ctx)
        return code, flags | f

    def _written(self, code, flags, fmt, ctx):
        """What the unit writes for a rounded result: ``overflow="inf"`` gives an infinity
        whatever the rounding direction; ``zero="positive"`` writes +0 for -0."""
        if flags & OVERFLOW and self.overflow == "inf" and fmt.has_inf:
            return fmt.inf_code | (code & fmt.sign_bit), flags
        if self.zero == "positive" and fmt.negzero and code == fmt.sign_bit:
            return 0, flags
        return code, flags

    def _has_zero(self, pairs, c):
        zero_addend = c is not _NO_ADDEND and not c.num
        return self.e_zero is not None and (zero_addend or any(not (x.num and y.num) for x, y in pairs))

    @staticmethod
    def aligned_terms(pairs, c, pb):
        """``(signed integer, exponent, alignment exponent)`` of each nonzero product and the addend."""
        terms = [_product_term(x, y) + (alignment_exponent(x, pb.fa) + alignment_exponent(y, pb.fb),)
                 for x, y in pairs if x.num and y.num]
        if c.num:
            terms.append(_term(c) + (alignment_exponent(c, pb.fc),))
        return terms

    def truncated_sum(self, terms, zero_term=False):
        """``(n, e, lost)``: the sum of the terms each truncated toward zero at ``2**(E - F)``,
        and whether the truncation dropped a nonzero bit (then the result is inexact);
        ``zero_term``: a zero term takes part in ``E`` at ``e_zero``."""
        exponents = [t[2] for t in terms] + ([self.e_zero] if zero_term else [])
        if not exponents:
            return 0, 0, False
        lsb = max(exponents) - self.F
        total, lost = 0, False
        for n, e, _ in terms:
            shift = e - lsb
            if shift >= 0:
                mag = abs(n) << shift
            else:
                mag = abs(n) >> -shift
                lost = lost or abs(n) & ((1 << -shift) - 1) != 0
            total += -mag if n < 0 else mag
        return total, lsb, lost

    def _special(self, special, out, ctx):
        value, flags = special
        if value.kind is NAN and self.nan == "all-ones":
            return out.mag_mask, flags
        code, f = project(value, out, ctx)
        return code, f | flags


# -- Gemm: an inner model chained over K, promotion, epilogue ----------------------------------

@dataclass(frozen=True)
class Gemm:
    """One output element of a GEMM kernel.

    inner           the model of the matrix instructions chained over K (its
                    blocks are the instructions; the chain runs in its output)
    promote_every   None: the whole of K runs through ``inner`` starting from C
                    (cuBLAS "fast accumulation"); N: every N products ``inner``
                    starts again from +0 and its result is added into the
                    ``accumulator`` with ``promote_rounding`` (DeepSeek-V3 §3.3.2,
                    N_C = 128; CUTLASS/cuBLAS FP8 without fast accumulation), C
                    being the accumulator's initial value
    out             the epilogue's conversion of the accumulator (RNE), e.g. a
                    bfloat16 result of an FP32-accumulating kernel; None: none
    """

    inner: object
    promote_every: int | None = None
    accumulator: str = "binary32"
    promote_rounding: str = "rne"
    out: str | None = None

    def __post_init__(self):
        if not hasattr(self.inner, "dot"):
            raise RefnumError(f"inner must be a dot-product model, got {self.inner!r}")
        _check_positive("promote_every", self.promote_every, allow_none=True)
        _float_format(self.accumulator, "accumulator")
        if self.out is not None:
            _float_format(self.out, "out")

    @property
    def result_format(self):
        return self.out or (self.accumulator if self.promote_every else result_format(self.inner))

    def dot(self, pb, ctx):
        code, flags, fmt = self._main_loop(pb, ctx)
        if self.out is None:
            return code, flags
        out = _float_format(self.out, "out")
        code, f = convert(code, fmt, out, ctx.replace(rounding="rne"))
        return code, flags | f

    def _main_loop(self, pb, ctx):
        if self.promote_every is None:
            code, flags = self.inner.dot(pb, ctx)
            return code, flags, _float_format(result_format(self.inner), "out")
        acc = _float_format(self.accumulator, "accumulator")
        inner_out = _float_format(result_format(self.inner), "out")
        code, flags = convert(pb.c, pb.fc, acc, ctx)
        pctx = ctx.replace(rounding=self.promote_rounding)
        for start, stop in _blocks(len(pb.a), self.promote_every):
            part, f1 = self.inner.dot(pb.slice(start, stop, 0, inner_out), ctx)
            code, f2 = compute("add", (code, part), (acc, inner_out), pctx, out=acc)
            flags |= f1 | f2
        return code, flags, acc


def result_format(model):
    """The name of the format a model's results are codes of."""
    for attr in ("result_format", "out", "acc", "fmt"):
        name = getattr(model, attr, None)
        if name is not None:
            return name
    raise RefnumError(f"{model!r} names no result format")


def dot(model, a, b, c, formats, ctx=None):
    """``(code, flags)``: ``sum_k a[k] * b[k] + c`` under ``model``, a code of its result format.

    ``formats`` is ``(fa, fb, fc)``, the formats of the ``a`` codes, the ``b``
    codes and the addend ``c``.

    >>> from refnum.dot.models import Exact, Fused
    >>> one, half = 0x3C00, 0x3800                 # binary16 1.0 and 0.5
    >>> ulp = 0x00000001                          # the smallest binary32 subnormal
    >>> [hex(dot(m, [one, half], [one, half], ulp, ("f16", "f16", "f32"))[0])
    ...  for m in (Exact("binary32"), Fused(L=2, F=23))]
    ['0x3fa00000', '0x3fa00000']
    """
    from ..context import DEFAULT

    if not hasattr(model, "dot"):
        raise RefnumError(f"model must be a dot-product model, got {model!r}")
    return model.dot(problem(a, b, c, formats), DEFAULT if ctx is None else ctx)
