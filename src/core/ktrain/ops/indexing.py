"""The old home of ``t[idx]`` / ``t[idx] = v``, kept so that ``ktrain.ops.indexing`` still
gives the same objects: issue 13 renamed it ``subscript.py``. Import from there.
"""
from __future__ import annotations

from .subscript import (CopyFrom, GetItem, IndexAdd, IndexPut, ZeroAt,  # noqa: F401
                        copy_into, getitem, index_put, setitem)

__all__ = ["index_put"]
