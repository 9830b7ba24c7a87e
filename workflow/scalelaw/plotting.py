"""Shared figure helpers: every log axis of every figure gets readable tick labels."""

from __future__ import annotations

import matplotlib.ticker
import numpy as np

_SUFFIXES = ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k"))


def plain_number(value: float) -> str:
    """A tick label: 0.2, 20, 300, 4k, 20k, 1.5M, 3G."""
    if value <= 0 or not np.isfinite(value):
        return ""
    if value >= 10_000 or (value > 1000 and value % 1000 == 0):
        scale, suffix = next((s, x) for s, x in _SUFFIXES if value >= s)
        return f"{value / scale:g}{suffix}"
    return f"{value:g}"


def log_axis(axis) -> None:
    """Log scale with plain-number labels: all minor ticks labelled when the axis spans under
    a decade, those at 2 and 5 up to two decades, none above (the decades then carry
    enough labels)."""

    def minor(value, _pos):
        low, high = sorted(axis.get_view_interval())
        span = np.log10(high / low) if low > 0 else np.inf
        lead = round(value / 10 ** np.floor(np.log10(value) + 1e-9))
        if span < 1 or (span < 2 and lead in (2, 5)):
            return plain_number(value)
        return ""

    axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: plain_number(v)))
    axis.set_minor_formatter(matplotlib.ticker.FuncFormatter(minor))


# Okabe & Ito's colour-blind-safe palette, every colour readable on white (the pale
# yellow of the original set is left out): fitted line, null, best law, medians, ...
PALETTE = {"fit": "#D55E00", "null": "#0072B2", "law": "#009E73", "medians": "#000000",
           "points": "#56B4E9", "other": "#CC79A7", "neutral": "#666666"}
# A sequential colour map for a document column; viridis without its last fifth, whose
# yellow nearly vanishes on white.
SEQUENTIAL_RANGE = (0.0, 0.8)


def sequential_cmap(name: str = "viridis"):
    """``name`` truncated to SEQUENTIAL_RANGE, so the lightest colour stays visible on white."""
    import matplotlib.colors
    import matplotlib.pyplot as plt

    base = plt.get_cmap(name)
    return matplotlib.colors.ListedColormap(base(np.linspace(*SEQUENTIAL_RANGE, 256)), name=f"{name}_on_white")


def legend_below(ax, ncol: int = 2, **kwargs) -> None:
    """The axes' legend under the axes, outside the data (``io.write_figure`` saves with a
    tight bounding box, so it is kept in the image)."""
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=ncol, fontsize=7,
                  frameon=False, **kwargs)
