"""Callbacks of the audio plugin (registered in ktrain's callbacks registry)."""
from __future__ import annotations

import os

import numpy as np
from ktrain.train.callbacks import Callback

__all__ = ["SpectrogramPlot"]


class SpectrogramPlot(Callback):
    """At the end of fit, write a PNG of the log-mel spectrograms of the first
    ``num_clips`` validation clips (``filename`` in the run directory).

    Inputs that are already spectrogram-like ``(B, C, F, T)`` are drawn as they are
    (the dataset's transform, e.g. mel + dB); waveforms ``(B, T)`` / ``(B, 1, T)`` are
    turned into dB log-mels with ``sample_rate``/``n_mels`` first.

    Config::

        trainer: {callbacks: [{name: spectrogram_plot, num_clips: 4}]}

    It draws with matplotlib, ktrain's optional ``plots`` extra: without it the callback
    is not built (an ImportError naming ``pip install "ktrain[plots]"``, before training).
    """

    def __init__(self, num_clips: int = 4, filename: str = "spectrograms.png",
                 sample_rate: int = 16000, n_mels: int = 64):
        from ktrain.train._matplotlib import agg_figure

        agg_figure("the spectrogram_plot callback's PNG plots")  # asked for: fail up front
        self.num_clips, self.filename = int(num_clips), filename
        self.sample_rate, self.n_mels = sample_rate, n_mels
        self._clips = None
        self._labels = None
        self.path = None
        self.titles = []

    def on_validation_epoch_start(self, trainer, task):
        self._clips, self._labels = [], []

    def on_validation_batch_end(self, trainer, task, outputs, batch, batch_idx):
        # the first clip of each of the first batches: (sorted) datasets show several classes
        if self._clips is None or len(self._clips) >= self.num_clips:
            return
        x, y = (batch[0], batch[1]) if isinstance(batch, (tuple, list)) else (batch, None)
        if isinstance(x, dict):
            x = x.get("x", next(iter(x.values())))
        self._clips.append(np.asarray(x[0].detach().cpu().numpy()))
        if y is not None and hasattr(y, "dim") and y.dim() == 1:
            self._labels.append(int(y[0].item()))

    def _log_mels(self, clips):
        import ktrain as kt

        from .transforms import AmplitudeToDB, MelSpectrogram

        if clips.ndim == 3 and clips.shape[1] == 1:
            clips = clips[:, 0]
        if clips.ndim == 2:
            mel = MelSpectrogram(self.sample_rate, n_fft=min(400, clips.shape[-1]),
                                 n_mels=self.n_mels)
            with kt.no_grad():
                return AmplitudeToDB(top_db=80)(mel(kt.tensor(clips))).numpy()
        return clips[:, 0] if clips.ndim == 4 else clips   # (B, C, F, T): first channel

    def on_fit_end(self, trainer, task):
        if not self._clips:
            return
        from ktrain.train._matplotlib import agg_figure

        Figure, FigureCanvasAgg = agg_figure("the spectrogram_plot callback's PNG plots")

        longest = max(c.shape[-1] for c in self._clips)   # variable-length batches
        clips = np.stack([np.pad(c, [(0, 0)] * (c.ndim - 1) + [(0, longest - c.shape[-1])])
                          for c in self._clips])
        mels = self._log_mels(clips)
        labels = self._labels if len(self._labels) == len(mels) else None
        loader = getattr(trainer, "val_dataloaders", None)
        classes = list(getattr(getattr(loader, "dataset", None), "classes", None) or [])
        n = len(mels)
        fig = Figure(figsize=(3.2 * n, 3))
        FigureCanvasAgg(fig)
        axes = fig.subplots(1, n, squeeze=False)
        self.titles = []
        for i, ax in enumerate(axes[0]):
            ax.imshow(mels[i], origin="lower", aspect="auto", cmap="magma")
            title = f"clip {i}"
            if labels is not None:
                c = labels[i]
                title = f"label {classes[c] if 0 <= c < len(classes) else c}"
            ax.set_title(title, fontsize=9)
            self.titles.append(title)
            ax.set_xlabel("frame")
            ax.set_ylabel("mel bin" if i == 0 else "")
        fig.tight_layout()
        root = getattr(trainer, "log_dir", None) or trainer.default_root_dir
        os.makedirs(root, exist_ok=True)
        self.path = os.path.join(root, self.filename)
        fig.savefig(self.path, dpi=100)
