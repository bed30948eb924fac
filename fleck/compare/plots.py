"""ROC and precision-recall figures (matplotlib's Agg canvas, imported lazily; no global state).

Each continuous score gets its curve (fleck's dashed), fleck's operating point is a star and
each CNN's point at the default threshold a circle. The calibrated thresholds of thresholds.json
are marked on each curve in its colour: a triangle for ``unsafe``, a hollow square for
``review``.
"""

from __future__ import annotations

import os

import numpy as np
from numpy.typing import ArrayLike

from fleck.compare import metrics as M

__all__ = ["plot_roc", "plot_pr"]


def _figure():
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    fig = Figure(figsize=(5.5, 5), dpi=110)
    FigureCanvasAgg(fig)
    return fig, fig.add_subplot(1, 1, 1)


def _style(name: str):
    return {"linestyle": "--", "color": "black"} if name == "fleck" else {}


def _mark_cnn_point(ax, line, name: str, cnn_points) -> None:
    """A circle on ``name``'s curve, in its colour, at its default threshold (if known)."""
    point = (cnn_points or {}).get(name)
    if point is not None and None not in point:
        ax.plot(*point, "o", color=line.get_color(), markersize=6)


_CHOSEN_MARKERS = {"unsafe": dict(marker="v", markersize=9),
                   "review": dict(marker="s", markersize=8, markerfacecolor="none",
                                  markeredgewidth=1.6)}


def _mark_chosen(ax, line, name: str, chosen_points) -> None:
    """The calibrated thresholds (label, x, y) on ``name``'s curve, in its colour."""
    for label, x, y in (chosen_points or {}).get(name, ()):
        if x is not None and y is not None:
            # Above the fleck star and unclipped: these points often sit on the axes' edges.
            ax.plot(x, y, linestyle="none", color=line.get_color(), zorder=4, clip_on=False,
                    **_CHOSEN_MARKERS[label])


def _finish(fig, ax, path, fleck_point, legend_loc: str, chosen_points=None, **labels) -> str:
    """Fleck's star, the chosen-threshold key, the unit axes with ``labels``, the legend; write
    to ``path``."""
    if fleck_point is not None and None not in fleck_point:
        ax.plot(*fleck_point, "*", color="red", markersize=14, label="fleck decision")
    used = {label for points in (chosen_points or {}).values() for label, *_ in points}
    for label in ("unsafe", "review"):
        if label in used:
            ax.plot([], [], linestyle="none", color="grey", label=f"{label} threshold",
                    **_CHOSEN_MARKERS[label])
    ax.set(xlim=(0, 1), ylim=(0, 1.01), **labels)
    ax.legend(loc=legend_loc, fontsize=8)
    fig.savefig(path)
    return os.fspath(path)


def plot_roc(y: ArrayLike, scores: dict[str, np.ndarray], path: str | os.PathLike, *,
             fleck_point: tuple[float, float] | None = None,
             cnn_points: dict[str, tuple[float, float]] | None = None,
             chosen_points: dict[str, list[tuple[str, float, float]]] | None = None) -> str:
    """Write a ROC plot to ``path``; points are ``(fpr, recall)``. Returns the path.

    Parameters
    ----------
    y : array_like of bool
        Labels.
    scores : dict of str to ndarray
        One curve per detector (``"fleck"`` drawn in its own style).
    path : path
        Output image (PNG).
    fleck_point : (float, float), optional
        fleck's operating point (fpr, recall), drawn as a star.
    cnn_points : dict of str to (float, float), optional
        Each CNN's point at its default threshold (fpr, recall).
    chosen_points : dict of str to list of (str, float, float), optional
        Each score's calibrated thresholds ``(label, fpr, recall)``, label ``"unsafe"`` or
        ``"review"``.

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "roc.png")
    >>> y = np.array([True, False, True, False])
    >>> plot_roc(y, {"fleck": np.array([0.9, 0.2, 0.6, 0.4])}, path) == path
    True
    """
    fig, ax = _figure()
    y = np.asarray(y, dtype=bool)
    if y.any() and (~y).any():
        for name, score in scores.items():
            fpr, tpr, _ = M.roc_curve(y, score)
            line, = ax.plot(fpr, tpr, label=f"{name} (AUC {M.roc_auc(y, score):.3f})",
                            drawstyle="default", **_style(name))
            _mark_cnn_point(ax, line, name, cnn_points)
            _mark_chosen(ax, line, name, chosen_points)
        ax.plot([0, 1], [0, 1], ":", color="grey", linewidth=1, label="chance")
    else:
        ax.text(0.5, 0.5, "ROC undefined: one class only", ha="center")
    return _finish(fig, ax, path, fleck_point, "lower right", chosen_points,
                   xlabel="false-positive rate", ylabel="recall",
                   title="ROC (circles: CNNs at their default threshold)")


def plot_pr(y: ArrayLike, scores: dict[str, np.ndarray], path: str | os.PathLike, *,
            fleck_point: tuple[float, float] | None = None,
            cnn_points: dict[str, tuple[float, float]] | None = None,
            chosen_points: dict[str, list[tuple[str, float, float]]] | None = None) -> str:
    """Write a precision-recall plot to ``path``; points are ``(recall, precision)``.

    Parameters
    ----------
    y : array_like of bool
        Labels.
    scores : dict of str to ndarray
        One curve per detector (``"fleck"`` drawn in its own style).
    path : path
        Output image (PNG).
    fleck_point : (float, float), optional
        fleck's operating point (recall, precision), drawn as a star.
    cnn_points : dict of str to (float, float), optional
        Each CNN's point at its default threshold (recall, precision).
    chosen_points : dict of str to list of (str, float, float), optional
        Each score's calibrated thresholds ``(label, recall, precision)``, label ``"unsafe"`` or
        ``"review"`` (at the sample's own prevalence, like the curves).

    Returns
    -------
    str
        ``path``.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "pr.png")
    >>> y = np.array([True, False, True, False])
    >>> plot_pr(y, {"fleck": np.array([0.9, 0.2, 0.6, 0.4])}, path) == path
    True
    """
    fig, ax = _figure()
    y = np.asarray(y, dtype=bool)
    if y.any():
        for name, score in scores.items():
            precision, recall, _ = M.precision_recall_curve(y, score)
            ap = M.average_precision(y, score)
            line, = ax.plot(recall, precision, drawstyle="steps-post",
                            label=f"{name} (AP {ap:.3f})", **_style(name))
            _mark_cnn_point(ax, line, name, cnn_points)
            _mark_chosen(ax, line, name, chosen_points)
        ax.axhline(y.mean(), linestyle=":", color="grey", linewidth=1, label="prevalence")
    else:
        ax.text(0.5, 0.5, "PR curve undefined: no positives", ha="center")
    return _finish(fig, ax, path, fleck_point, "lower left", chosen_points, xlabel="recall",
                   ylabel="precision", title="Precision-recall (AP = average precision)")
