"""``Progress``: where a fit is, in one object the Trainer owns and the checkpoint stores.

The counters callbacks read (``current_epoch``, ``global_step``, ``batch_idx``; the
Trainer's properties of those names delegate here), the position inside the epoch
(``batches_done``, ``epoch_completed``, the generator states the epoch's shuffle was
drawn from) and what a resume still has to apply (``resume_rng``). The loops update it;
``checkpoint.py`` writes it as the checkpoint's ``loops`` entry and reads it back.
"""
from __future__ import annotations

__all__ = ["Progress"]


class Progress:
    """The fit's counters and resume position (see the module docstring).

    * ``current_epoch``: epochs completed; ``global_step``: optimizer steps taken;
    * ``batch_idx``: the train batch being processed (of the epoch);
    * ``batches_done``: train batches of the current epoch that are finished;
    * ``epoch_completed``: the current epoch's batches are all done (its end hooks run);
    * ``epoch_start``: RNG and loader-generator states at the epoch's start (``_state``);
    * ``resume_rng``: RNG states a resumed fit restores where they were taken;
    * ``stepped``: the last batch ended with an optimizer step;
    * ``dirty``: a train batch is half processed (Ctrl-C inside it).
    """

    __slots__ = ("current_epoch", "global_step", "batch_idx", "batches_done",
                 "epoch_completed", "epoch_start", "resume_rng", "stepped", "dirty")

    def __init__(self):
        self.reset()

    def reset(self) -> None:
        """Back to the start of a fit."""
        self.current_epoch = self.global_step = self.batch_idx = self.batches_done = 0
        self.epoch_completed, self.epoch_start, self.resume_rng = False, None, None
        self.stepped = self.dirty = False

    def end_epoch(self) -> None:
        """The current epoch is over: the next one starts from its first batch."""
        self.current_epoch += 1
        self.batches_done, self.epoch_completed, self.epoch_start = 0, False, None

    def state_dict(self, num_training_batches=None, blas_threads=None) -> dict:
        """The checkpoint's ``loops`` entry."""
        n = num_training_batches
        return {"epoch": self.current_epoch, "global_step": self.global_step,
                "batches_done": self.batches_done,
                "epoch_completed": self.epoch_completed,
                "num_training_batches": None if n is None else float(n),
                "epoch_start": self.epoch_start,
                # the numerics depend on it (see ktrain._threads): resume with it
                "blas_threads": blas_threads}

    def load_state_dict(self, loops: dict, rng_states=None) -> None:
        """Continue from a checkpoint's ``loops`` entry (an epoch it completed is over)."""
        self.global_step = int(loops["global_step"])
        if loops["epoch_completed"]:
            self.current_epoch, self.batches_done = int(loops["epoch"]) + 1, 0
            self.epoch_start = None
        else:
            self.current_epoch, self.batches_done = int(loops["epoch"]), int(loops["batches_done"])
            self.epoch_start = loops.get("epoch_start")
        self.epoch_completed = False
        self.resume_rng = rng_states

    def __repr__(self) -> str:
        return (f"Progress(epoch={self.current_epoch}, global_step={self.global_step}, "
                f"batches_done={self.batches_done})")
