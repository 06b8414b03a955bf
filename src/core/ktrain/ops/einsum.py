"""``einsum``: numpy-style equations (ellipsis, implicit output, repeated indices,
broadcasting of size-1 labelled dims, sublist format), differentiable to any order.

Forward runs the array module's einsum on a canonical equation (``optimize=True`` for
three or more operands and for large pairs); the gradient of each operand is again an
einsum of the output gradient with the other operands.
"""
from __future__ import annotations

import string
from collections import Counter

import numpy as np

from .._backend import array_module
from .._tensor import Tensor
from ..autograd.function import Op
from .join import _promote, _shape_str

__all__ = ["einsum"]

_ELL = "..."


class Einsum(Op):
    """numpy/cupy einsum over a canonical equation (letters only, no ellipsis/broadcast)."""

    @staticmethod
    def forward(ctx, *arrays, terms, out, sizes, spare):
        ctx.meta = (terms, out, sizes, spare)
        inputs = ctx.inputs
        n = len(arrays)
        if n > 1:
            need = [e is not None for e in ctx._edges]
            if any(need):
                ctx.save_for_backward(*[x if any(need[i] for i in range(n) if i != j) else None
                                        for j, x in enumerate(inputs)])
        xp = array_module(arrays[0])
        eq = ",".join(terms) + "->" + out
        big = n >= 3 or (n == 2 and arrays[0].size * arrays[1].size >= 1 << 16)
        r = xp.einsum(eq, *arrays, optimize=big) if big else xp.einsum(eq, *arrays)
        r = xp.asarray(r)
        if r.base is not None and any(xp.may_share_memory(r, a) for a in arrays):
            r = r.copy()  # einsum may return a view of an operand ('ij->ji', 'ii->i')
        return r

    @staticmethod
    def backward(ctx, g):
        terms, out, sizes, spare = ctx.meta
        n = len(terms)
        xs = ctx.saved_tensors if n > 1 else ()
        grads = []
        for i, term in enumerate(terms):
            if ctx._edges[i] is None:
                grads.append(None)
                continue
            o_terms = [terms[j] for j in range(n) if j != i]
            o_xs = [xs[j] for j in range(n) if j != i]
            uniq = "".join(dict.fromkeys(term))
            avail = set(out).union(*o_terms)
            tgt = "".join(c for c in uniq if c in avail)
            gi = _einsum_raw([out] + o_terms, tgt, [g] + o_xs, sizes, spare)
            if len(tgt) < len(uniq):  # letters summed only inside this operand: broadcast
                gi = gi.reshape(tuple(sizes[c] if c in avail else 1 for c in uniq)).expand(
                    tuple(sizes[c] for c in uniq))
            if len(uniq) < len(term):  # repeated letters ('ii'): put G on the diagonals
                xp = array_module(g._data)
                fresh = iter(spare)
                seen = set()
                new_term = []
                eyes, eye_terms = [], []
                for c in term:
                    if c in seen:
                        f = next(fresh)
                        new_term.append(f)
                        eye_terms.append(c + f)
                        eyes.append(Tensor._make(xp.eye(sizes[c], dtype=g._data.dtype)))
                    else:
                        seen.add(c)
                        new_term.append(c)
                gi = _einsum_raw([uniq] + eye_terms, "".join(new_term), [gi] + eyes, sizes,
                                 spare)
            grads.append(gi)
        return tuple(grads)


def _einsum_raw(terms, out, tensors, sizes, spare):
    if len(tensors) == 1 and terms[0] == out:
        return tensors[0]
    return Einsum.apply(*tensors, terms=tuple(terms), out=out, sizes=sizes, spare=spare)


def _sublist_equation(args):
    """torch.einsum(op1, sublist1, op2, sublist2, ..., [out_sublist]) -> (equation, operands)."""
    def sub(lst):
        s = []
        for v in lst:
            if v is Ellipsis:
                s.append(_ELL)
            elif isinstance(v, (int, np.integer)) and 0 <= v < 52:
                s.append(chr(ord("A") + v) if v < 26 else chr(ord("a") + v - 26))
            else:
                raise ValueError(f"einsum(): subscript in subscript list is not within the valid"
                                 f" range [0, 52): {v!r}")
        return "".join(s)

    ops = list(args[0::2])
    subs = list(args[1::2])
    out = None
    if len(ops) > len(subs):  # trailing output sublist
        out = ops.pop()
        if isinstance(out, Tensor):
            raise ValueError("einsum(): sublist format needs one subscript list per operand")
    eq = ",".join(sub(s) for s in subs)
    if out is not None:
        eq += "->" + sub(out)
    return eq, ops


def _tokens(term, where):
    out = []
    i = 0
    while i < len(term):
        c = term[i]
        if c == ".":
            if term[i:i + 3] != _ELL:
                raise ValueError(f"einsum(): invalid '.' in {where} {term!r}: an ellipsis must "
                                 "be written as '...'")
            if _ELL in out:
                raise ValueError(f"einsum(): more than one ellipsis ('...') in {where} {term!r}")
            out.append(_ELL)
            i += 3
        elif c in string.ascii_letters:
            out.append(c)
            i += 1
        else:
            raise ValueError(f"einsum(): invalid subscript {c!r} in {where} {term!r}: subscripts "
                             "must be letters in [a-zA-Z]")
    return out


def einsum(*args):
    """Einstein summation: ``einsum('bij,bjk->bik', a, b)``.

    Supports '...' (broadcast) dims, implicit output (ellipsis dims, then letters that
    appear once, sorted), repeated letters ('ii->i', 'ii'), size-1 broadcasting of
    labelled dims, operands given as a list, and the sublist format.
    """
    if not args:
        raise TypeError("einsum(): expected an equation and operands")
    if isinstance(args[0], str):
        equation, operands = args[0], list(args[1:])
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = list(operands[0])
    else:
        equation, operands = _sublist_equation(args)
    for i, x in enumerate(operands):
        if not isinstance(x, Tensor):
            raise TypeError(f"einsum(): operand {i} must be a Tensor, got {type(x).__name__}")
    if not operands:
        raise ValueError("einsum(): must provide at least one operand")
    eq = equation.replace(" ", "")
    if eq.count("->") > 1:
        raise ValueError(f"einsum(): more than one '->' in the equation {equation!r}")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(operands):
        raise ValueError(f"einsum(): the equation {equation!r} has {len(terms)} operand term(s) "
                         f"but {len(operands)} tensor(s) were given")
    in_toks = [_tokens(t, f"the subscripts of operand {k}") for k, t in enumerate(terms)]
    out_toks = _tokens(rhs, "the output subscripts") if arrow else None
    letters = {c for tk in in_toks for c in tk if c != _ELL}
    taken = letters | {c for c in (out_toks or ()) if c != _ELL}
    fresh = [c for c in string.ascii_letters if c not in taken]

    ell_nd = []
    for k, (tk, x) in enumerate(zip(in_toks, operands)):
        nl = sum(1 for c in tk if c != _ELL)
        nd = x._data.ndim
        if _ELL in tk:
            if nd < nl:
                raise ValueError(f"einsum(): operand {k} of shape {_shape_str(x._data.shape)} "
                                 f"has {nd} dimension(s) but its subscripts {terms[k]!r} name "
                                 f"{nl}")
            ell_nd.append(nd - nl)
        else:
            if nd != nl:
                raise ValueError(f"einsum(): the number of subscripts in the equation ({nl}) "
                                 f"does not match the number of dimensions ({nd}) for operand "
                                 f"{k} of shape {_shape_str(x._data.shape)} and no ellipsis "
                                 "was given")
            ell_nd.append(0)
    n_ell = max(ell_nd)
    if n_ell > len(fresh):
        raise ValueError("einsum(): too many dimensions: out of subscript letters")
    ell = fresh[:n_ell]
    spare = tuple(fresh[n_ell:])
    canon = []
    for tk, ne in zip(in_toks, ell_nd):
        s = []
        for c in tk:
            s.extend(ell[n_ell - ne:] if c == _ELL else [c])
        canon.append("".join(s))
    if out_toks is None:
        counts = Counter(c for tk in in_toks for c in tk if c != _ELL)
        out = "".join(ell) + "".join(sorted(c for c, v in counts.items() if v == 1))
    else:
        out = "".join("".join(ell) if c == _ELL else c for c in out_toks)
        for c in out_toks:
            if c == _ELL:
                continue
            if out_toks.count(c) > 1:
                raise ValueError(f"einsum(): output subscript {c} appears more than once in the "
                                 f"output {rhs!r}")
            if c not in letters:
                raise ValueError(f"einsum(): output subscript {c} does not appear in the "
                                 f"equation for any input operand ({equation!r})")

    # sizes: repeated letters within an operand must agree, across operands broadcast
    sizes, owner = {}, {}
    for k, (s, x) in enumerate(zip(canon, operands)):
        shp = x._data.shape
        local = {}
        for ax, c in enumerate(s):
            n = shp[ax]
            if c in local and local[c] != n:
                raise ValueError(f"einsum(): subscript {c} is repeated for operand {k} but the "
                                 f"sizes don't match, {local[c]} != {n} (operand shape "
                                 f"{_shape_str(shp)})")
            local[c] = n
            cur = sizes.get(c)
            if cur is None or (cur == 1 and n != 1):
                sizes[c], owner[c] = n, k
            elif n != 1 and n != cur:
                what = "an ellipsis dimension" if c in ell else f"subscript {c}"
                raise RuntimeError(f"einsum(): operands do not broadcast: {what} has size {cur} "
                                   f"in operand {owner[c]} (shape "
                                   f"{_shape_str(operands[owner[c]]._data.shape)}) and size {n} "
                                   f"in operand {k} (shape {_shape_str(shp)})")
    # size-1 dims that broadcast against a larger size are dropped from their operand
    tensors = _promote(list(operands), "einsum")
    for k, (s, x) in enumerate(zip(canon, tensors)):
        shp = x._data.shape
        drop = [ax for ax, c in enumerate(s) if shp[ax] == 1 and sizes[c] != 1]
        if drop:
            canon[k] = "".join(c for ax, c in enumerate(s) if ax not in drop)
            tensors[k] = x.reshape(tuple(v for ax, v in enumerate(shp) if ax not in drop))
    return _einsum_raw(canon, out, tensors, sizes, spare)


# ====================================================================== products


