"""The main-process side of DataLoader workers: starting them, talking to them, watching
them and shutting them down.

Each worker gets its own index queue (a ``multiprocessing.Queue``: puts never block the
main process) and its own result pipe, written only by that worker. Waiting on the
pipes together with the workers' process sentinels (``multiprocessing.connection.wait``)
wakes the main process as soon as a result arrives or a worker dies, so a crashed or
killed worker is reported at once, and a worker killed mid-send cannot corrupt a channel
the others share.
"""
from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection as mp_connection
import os
import secrets
import signal
import sys
import time

from . import _shm
from ._worker import _worker_loop

_JOIN_S = 1.0  # how long shutdown waits for workers to exit before terminating them


def default_context():
    """fork on Linux (cheap, shares the dataset copy-on-write) unless the program chose a
    start method itself; the platform default elsewhere."""
    chosen = mp.get_start_method(allow_none=True)
    if chosen is None and sys.platform.startswith("linux") \
            and "fork" in mp.get_all_start_methods():
        return mp.get_context("fork")
    return mp.get_context(chosen)


class WorkerPool:
    """The worker processes of one iterator, their queues and pipes, and the shared-memory
    reader. Holds no reference to the iterator, so a ``weakref.finalize`` on the iterator
    can shut it down."""

    def __init__(self, ctx, num_workers, loader_args, base_seed):
        if not _shm._HAS_TRACK:
            # start the resource tracker here so forked workers share it instead of each
            # starting their own (which would unlink blocks when the worker exits)
            from multiprocessing import resource_tracker

            resource_tracker.ensure_running()
        self.prefix = f"ktrain_{os.getpid()}_{secrets.token_hex(3)}_"
        self.done = ctx.Event()
        self.workers, self.queues, self.conns = [], [], []
        self.reader = _shm.ShmReader()
        self.closed = False
        iterable, dataset, auto_collation, collate_fn, drop_last, init_fn = loader_args
        try:
            for wid in range(num_workers):
                q = ctx.Queue()
                q.cancel_join_thread()  # never block interpreter exit on a dead worker
                self.queues.append(q)
                r, w = ctx.Pipe(duplex=False)
                self.conns.append(r)
                # a forked worker inherits the read ends made so far; it closes them, so
                # that closing ours makes a worker blocked on a send fail at once
                inherited = list(self.conns) if ctx.get_start_method() == "fork" else []
                p = ctx.Process(target=_worker_loop, daemon=True,
                                args=(iterable, dataset, q, w, self.done, auto_collation,
                                      collate_fn, drop_last, base_seed, init_fn, wid,
                                      num_workers, f"{self.prefix}{wid}_", os.getpid(),
                                      inherited))
                try:
                    p.start()
                finally:
                    w.close()  # only the worker writes: its death then reads as EOF here
                self.workers.append(p)
        except BaseException:
            self.shutdown()
            raise

    def put(self, wid, msg):
        if not self.closed:
            self.queues[wid].put(msg)

    def get(self, wids, timeout):
        """The next message of any worker in ``wids``: (wid, idx, data); None on timeout.

        Raises RuntimeError when one of them died."""
        if not wids:
            raise RuntimeError("DataLoader: internal error: waiting for data with no active "
                               "worker")
        objs = {}
        for wid in wids:
            objs[self.conns[wid]] = wid
            objs[self.workers[wid].sentinel] = wid
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            ready = mp_connection.wait(list(objs), left)
            if not ready:
                return None
            for obj in ready:  # data first: a worker may have sent, then died
                if isinstance(obj, mp_connection.Connection):
                    wid = objs[obj]
                    try:
                        msg = obj.recv_bytes()
                    except (EOFError, OSError):
                        raise self._dead(wid) from None
                    return (wid,) + self.reader.decode(msg)
            raise self._dead(objs[ready[0]])

    def _dead(self, wid):
        p = self.workers[wid]
        p.join(0.5)
        code = p.exitcode
        if code is not None and code < 0:
            try:
                how = f"was killed by signal {signal.Signals(-code).name}"
            except ValueError:
                how = f"was killed by signal {-code}"
        else:
            how = f"exited unexpectedly with exit code {code}"
        return RuntimeError(f"DataLoader worker {wid} (pid {p.pid}) {how}. It may have run out "
                            f"of memory or crashed in native code; run with num_workers=0 to "
                            f"see the error in the main process.")

    def shutdown(self):
        if self.closed:
            return
        self.closed = True
        try:
            self.done.set()
            for q in self.queues:
                try:
                    q.put(None)
                except (OSError, ValueError):
                    pass
            for c in self.conns:  # a worker blocked sending a result gets EPIPE and exits
                c.close()
            deadline = time.monotonic() + _JOIN_S
            for p in self.workers:
                p.join(max(0.0, deadline - time.monotonic()))
            for q in self.queues:
                q.close()
        finally:
            for p in self.workers:
                if p.exitcode is None:
                    p.terminate()
                    p.join(1.0)
                    if p.exitcode is None:
                        p.kill()
                        p.join(1.0)
            names = list(self.reader.maps)
            self.reader.close()
            _shm.sweep(self.prefix, names)
