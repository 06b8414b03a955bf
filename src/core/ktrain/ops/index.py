"""The old home of the index-based ops, kept so that ``ktrain.ops.index`` still gives the
same objects: issue 13 split it into ``scatter_gather.py`` (gather/scatter/take),
``index_dim.py`` (index_select/add/copy/fill), ``masked.py`` (masked_*, nonzero) and
``sorting.py`` (sort/topk/unique/bincount/searchsorted). Import from those.
"""
from __future__ import annotations

from ._index_util import IndexOutOfRangeError  # noqa: F401
from .index_dim import (IndexAddDim, IndexCopyDim, IndexFillDim, IndexSelect,  # noqa: F401
                        index_add, index_copy, index_fill, index_select)
from .masked import (MaskedExpand, MaskedFill, MaskedScatter, MaskedSelect,  # noqa: F401
                     argwhere, masked_fill, masked_scatter, masked_select, nonzero)
from .scatter_gather import (Gather, PadTo, Scatter, ScatterAdd, ScatterReduce,  # noqa: F401
                             gather, scatter, scatter_add, scatter_reduce, take,
                             take_along_dim)
from .sorting import (Kthvalue, Mode, Sort, Topk, argsort, bincount, bucketize,  # noqa: F401
                      kthvalue, mode, msort, searchsorted, sort, topk, unique,
                      unique_consecutive)

__all__ = ["gather", "scatter", "scatter_add", "scatter_reduce", "index_select", "index_add",
           "index_copy", "index_fill", "masked_fill", "masked_select", "masked_scatter",
           "take", "take_along_dim", "nonzero", "argwhere", "topk", "sort", "argsort", "msort",
           "unique", "unique_consecutive", "bincount", "searchsorted", "bucketize",
           "kthvalue", "mode"]
