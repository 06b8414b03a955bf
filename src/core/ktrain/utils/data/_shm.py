"""Shared-memory transport of batches from DataLoader workers to the main process.

A worker pickles its batch with a pickler that lifts every large array (a CPU tensor's
array or a numpy array of at least ``MIN_BYTES``) out of the pickle: the array is copied
into one of the worker's shared-memory blocks and the pickle keeps only its place
(offset, shape, dtype). The message through the pipe is small: ``(idx, block name,
retired block names, pickle bytes)``. The main process maps the block once (mappings are
cached), copies each array out into an ordinary array while unpickling, and hands the
block back by clearing its busy byte; the worker reuses free blocks for later batches, so
steady state costs no shm_open/ftruncate/mmap and no fresh page faults in the worker.

Blocks are named ``ktrain_<main pid>_<token>_<worker id>_<n>``. A worker unlinks a block
when it replaces it with a bigger one (and tells the main process, which unmaps it) and
unlinks all of its blocks when it exits; the main process removes whatever a killed
worker left behind (``sweep``), so /dev/shm is clean once the loader is shut down.
"""
from __future__ import annotations

import inspect
import io
import os
import pickle
from multiprocessing.reduction import ForkingPickler
from multiprocessing.shared_memory import SharedMemory

import numpy as np

from ..._tensor import Tensor

MIN_BYTES = 16 * 1024  # smaller arrays travel inside the pickle: cheaper than a copy here
_ALIGN = 64
_HEADER = 64  # byte 0 of a block: 1 while the main process has not read it yet
_SHM_DIR = "/dev/shm"
# Python 3.13+ can keep blocks away from the resource tracker; before that every
# SharedMemory() registers and every unlink() unregisters, which stay balanced here.
_HAS_TRACK = "track" in inspect.signature(SharedMemory.__init__).parameters


def open_block(name, create=False, size=0) -> SharedMemory:
    if _HAS_TRACK:
        return SharedMemory(name, create, size, track=False)
    return SharedMemory(name, create, size)


def _unlink(block: SharedMemory) -> None:
    try:
        block.close()
    except BufferError:  # a view is still alive somewhere: the mapping goes with it
        pass
    try:
        block.unlink()
    except FileNotFoundError:
        pass


class _LiftingPickler(ForkingPickler):
    """Pickles an object, replacing large arrays by (kind, offset, shape, dtype) ids."""

    def __init__(self, file):
        super().__init__(file, pickle.HIGHEST_PROTOCOL)
        self.arrays = []  # (offset, array)
        self.nbytes = 0
        self._memo = {}

    def persistent_id(self, obj):
        t = type(obj)
        if t is Tensor:
            arr = obj._data
            if type(arr) is not np.ndarray or arr.nbytes < MIN_BYTES or arr.dtype.hasobject:
                return None
            kind = "T" if obj._rg else "t"
        elif t is np.ndarray:
            if obj.nbytes < MIN_BYTES or obj.dtype.hasobject:
                return None
            arr, kind = obj, "a"
        else:
            return None
        pid = self._memo.get(id(obj))
        if pid is None:
            off = self.nbytes
            self.arrays.append((off, arr, obj))  # obj kept alive: its id stays unique
            self.nbytes = off + (arr.nbytes + _ALIGN - 1) // _ALIGN * _ALIGN
            pid = self._memo[id(obj)] = (kind, off, arr.shape, arr.dtype)
        return pid


class _LoweringUnpickler(pickle.Unpickler):
    """Unpickles a worker's message, copying lifted arrays out of the block."""

    def __init__(self, file, buf):
        super().__init__(file)
        self._buf = buf
        self._memo = {}  # an object sent twice comes back as one object

    def persistent_load(self, pid):
        kind, off, shape, dtype = pid
        obj = self._memo.get(off)
        if obj is not None:
            return obj
        src = np.ndarray(shape, dtype, buffer=self._buf, offset=_HEADER + off)
        arr = src.copy()
        del src  # no export may outlive the call: the block must stay closable
        if kind == "a":
            obj = arr
        else:
            obj = Tensor._make(arr)
            obj._rg = kind == "T"
        self._memo[off] = obj
        return obj


class ShmWriter:
    """Worker side: a pool of blocks, reused when the main process has read them."""

    def __init__(self, prefix: str):
        self.prefix = prefix
        self.blocks: list[SharedMemory] = []
        self.retired: list[str] = []
        self._n = 0

    def _acquire(self, nbytes: int) -> SharedMemory:
        need = _HEADER + nbytes
        best = None
        for b in self.blocks:
            if b.buf[0] == 0 and b.size >= need and (best is None or b.size < best.size):
                best = b
        if best is not None:
            return best
        for b in [b for b in self.blocks if b.buf[0] == 0]:  # free but too small: replace
            self.blocks.remove(b)
            self.retired.append(b.name)
            _unlink(b)
        size = -(-(need + need // 8) // 4096) * 4096  # headroom for batches that vary a bit
        block = open_block(f"{self.prefix}{self._n}", create=True, size=size)
        self._n += 1
        self.blocks.append(block)
        return block

    def encode(self, idx, data) -> bytes:
        """The message for result ``idx``: small arrays pickled, large ones in a block."""
        f = io.BytesIO()
        p = _LiftingPickler(f)
        p.dump(data)
        name = None
        if p.arrays:
            block = self._acquire(p.nbytes)
            buf = block.buf
            for off, arr, _ in p.arrays:
                dst = np.ndarray(arr.shape, arr.dtype, buffer=buf, offset=_HEADER + off)
                np.copyto(dst, arr, casting="no")
                del dst
            buf[0] = 1
            name = block.name
        retired, self.retired = self.retired, []
        return pickle.dumps((idx, name, retired, f.getvalue()), pickle.HIGHEST_PROTOCOL)

    def close(self):
        for b in self.blocks:
            _unlink(b)
        self.blocks = []


class ShmReader:
    """Main side: maps the workers' blocks (cached by name) and decodes messages."""

    def __init__(self):
        self.maps: dict[str, SharedMemory] = {}

    def decode(self, msg: bytes):
        idx, name, retired, payload = pickle.loads(msg)
        for r in retired:
            b = self.maps.pop(r, None)
            if b is not None:
                b.close()
        if name is None:
            return idx, pickle.loads(payload)
        block = self.maps.get(name)
        if block is None:
            block = self.maps[name] = open_block(name)
        try:
            return idx, _LoweringUnpickler(io.BytesIO(payload), block.buf).load()
        finally:
            block.buf[0] = 0  # the worker may reuse it now

    def close(self):
        for b in self.maps.values():
            try:
                b.close()
            except BufferError:
                pass
        self.maps = {}


def sweep(prefix: str, names=()) -> None:
    """Unlink every block named ``prefix*`` (left by killed workers) and ``names``."""
    todo = set(names)
    if os.path.isdir(_SHM_DIR):
        try:
            todo.update(f for f in os.listdir(_SHM_DIR) if f.startswith(prefix))
        except OSError:
            pass
    for name in todo:
        try:
            b = open_block(name)
        except (FileNotFoundError, OSError, ValueError):
            continue
        _unlink(b)
