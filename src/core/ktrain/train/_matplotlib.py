"""matplotlib is the optional ``plots`` extra (``pip install "ktrain[plots]"``).

The PNG writers (``loss.png``/``metrics.png``/``lr.png``, ``confusion_matrix.png``, a
sweep's ``summary.png``, the audio plugin's spectrograms) get matplotlib's Agg classes
from :func:`agg_figure`. Without matplotlib a run still trains and writes everything
else; the skipped PNGs are named in one notice on stderr (:func:`notify_skipped`, once per
run or process), and where the user asked for a picture explicitly the error names the
install command (:class:`PlotsNotInstalled`).
"""
from __future__ import annotations

import sys

__all__ = ["PLOTS_INSTALL", "PlotsNotInstalled", "agg_figure", "have_plots", "notify_skipped"]

PLOTS_INSTALL = 'pip install "ktrain[plots]"'
_seen: set = set()  # notice keys already printed in this process


class PlotsNotInstalled(ImportError):
    """matplotlib (the ``plots`` extra) is missing; the message says how to install it."""

    def __init__(self, what: str = "PNG plots"):
        super().__init__(f"{what} need matplotlib, which is not installed (it is the "
                         f"optional 'plots' extra of ktrain): {PLOTS_INSTALL} (from a "
                         f"ktrain checkout: pip install -e \".[plots]\")")


def agg_figure(what: str = "PNG plots"):
    """``(Figure, FigureCanvasAgg)``: matplotlib's figure on the Agg canvas, without
    pyplot (no display, no global backend switch); raises :class:`PlotsNotInstalled`."""
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise PlotsNotInstalled(what) from None
    return Figure, FigureCanvasAgg


def have_plots() -> bool:
    """Whether matplotlib can be imported (the PNG writers can run)."""
    try:
        agg_figure()
    except PlotsNotInstalled:
        return False
    return True


def notify_skipped(files, key="process") -> bool:
    """Print, once per ``key`` (default: once per process), that ``files`` are not written
    because matplotlib is missing, with the install command. Returns whether it printed.

    A fit passes its run directory as ``key`` and names all its PNGs up front, so the
    writers that come later in the same process (default key) stay quiet."""
    files = list(files)
    if key in _seen:
        return False
    _seen.update((key, "process"))
    names = ", ".join(files)
    print(f"note: matplotlib is not installed: {names} {'is' if len(files) == 1 else 'are'}"
          f" not drawn (everything else is written as usual); {PLOTS_INSTALL} adds "
          f"{'it' if len(files) == 1 else 'them'}", file=sys.stderr, flush=True)
    return True
