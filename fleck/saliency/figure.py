"""Figures of saliency maps: one map over its image, and the side-by-side comparison.

The side-by-side figure shows, left to right: the image, fleck's explained overlay
(:func:`fleck.draw`), the CNN's deconvnet and Grad-CAM maps and its occlusion map, each titled
with its score. Pixel-level gradient maps are shown on their own (colour clipped at their 99.5th
percentile, since a few pixels dominate them); Grad-CAM and occlusion maps are blended over a
dimmed copy of the image. matplotlib is imported lazily, without pyplot.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__ = ["plot_explanation", "save_explanation_figure", "side_by_side_figure",
           "save_side_by_side", "SIDE_BY_SIDE_METHODS"]

#: The CNN maps in the side-by-side figure, in order.
SIDE_BY_SIDE_METHODS = ("deconvnet", "gradcam", "occlusion")

_LABELS = {"deconvnet": "deconvnet", "guided_backprop": "guided backprop",
           "gradcam": "Grad-CAM", "occlusion": "occlusion (score drop)"}


def _dimmed(image: np.ndarray) -> np.ndarray:
    grey = image.astype(np.float32).mean(axis=2, keepdims=True)
    return (0.35 * grey + 0.15 * image).astype(np.uint8)


def plot_explanation(ax: Any, image: np.ndarray, explanation: Any, *, title: str | None = None,
                     cmap: str = "inferno") -> Any:
    """Draw one :class:`~fleck.saliency.Explanation` over ``image`` on matplotlib ``ax``."""
    values = np.asarray(explanation.map, np.float32)
    method = explanation.method
    if method in ("deconvnet", "guided_backprop") and explanation.model != "fleck":
        top = float(np.percentile(values, 99.5)) or float(values.max()) or 1.0
        ax.imshow(np.clip(values / top, 0, 1), cmap=cmap, vmin=0, vmax=1,
                  interpolation="bilinear")
    elif method == "occlusion":
        ax.imshow(_dimmed(image))
        bound = float(np.abs(values).max()) or 1e-3
        heat = ax.imshow(values, cmap="RdBu_r", vmin=-bound, vmax=bound, alpha=0.65,
                         interpolation="bilinear")
        ax.figure.colorbar(heat, ax=ax, fraction=0.046, pad=0.02)
    else:
        ax.imshow(_dimmed(image))
        top = float(values.max()) or 1.0
        ax.imshow(values / top, cmap=cmap, vmin=0, vmax=1, alpha=0.6,
                  interpolation="bilinear")
    ax.set_axis_off()
    ax.set_title(title or f"{explanation.model} {_LABELS.get(method, method)}, "
                          f"score {explanation.score:.2f}", fontsize=9)
    return ax


def save_explanation_figure(path: str | os.PathLike[str], image: np.ndarray,
                            explanation: Any, *, dpi: int = 110) -> None:
    """Write the map over the image beside the image itself (PNG, SVG, PDF by suffix)."""
    from matplotlib.figure import Figure

    height, width = image.shape[:2]
    fig = Figure(figsize=(2 * 4.2, 4.2 * height / width + 0.5))
    left, right = fig.subplots(1, 2)
    left.imshow(image)
    left.set_axis_off()
    left.set_title("image", fontsize=9)
    plot_explanation(right, image, explanation)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=dpi)


def side_by_side_figure(image: np.ndarray, model: str, maps: Mapping[str, Any],
                        detection: Any = None, *, notes: Mapping[str, str] | None = None) -> Any:
    """The comparison figure of one CNN: image, fleck overlay, deconvnet, Grad-CAM, occlusion.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray
    model : str
        The CNN's name (panel titles).
    maps : {method: Explanation}
        The CNN's maps; a missing method gets an empty panel with ``notes[method]``.
    detection : fleck.detector.Detection, optional
        fleck's detection of the image (computed when omitted).
    notes : {method: str}, optional
        Why a map is missing (e.g. the saliency extra is not installed).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> import numpy as np
    >>> fig = side_by_side_figure(np.zeros((20, 30, 3), np.uint8), "open_nsfw", {},
    ...                           notes={"gradcam": "not computed"})
    >>> len(fig.axes)
    5
    """
    from matplotlib.figure import Figure

    from fleck.detector import detect
    from fleck.overlay import draw

    notes = dict(notes or {})
    if detection is None:
        detection = detect(image)
    height, width = image.shape[:2]
    panel = 3.3
    fig = Figure(figsize=(5 * panel + 0.6, panel * height / width + 0.7))
    axes = fig.subplots(1, 5)
    axes[0].imshow(image)
    axes[0].set_title("image", fontsize=9)
    axes[1].imshow(draw(detection, image, legend=False))
    axes[1].set_title(f"fleck: {'yes' if detection.decision else 'no'}, "
                      f"score {detection.score:.2f}", fontsize=9)
    for ax in axes[:2]:
        ax.set_axis_off()
    for ax, method in zip(axes[2:], SIDE_BY_SIDE_METHODS, strict=False):
        if method in maps:
            plot_explanation(ax, image, maps[method],
                             title=f"{model} {_LABELS[method]}, score {maps[method].score:.2f}")
        else:
            ax.set_axis_off()
            ax.set_title(f"{model} {_LABELS[method]}", fontsize=9)
            ax.text(0.5, 0.5, notes.get(method, "not computed"), ha="center", va="center",
                    wrap=True, fontsize=8, transform=ax.transAxes)
    fig.tight_layout()
    return fig


def save_side_by_side(path: str | os.PathLike[str], image: np.ndarray, model: str,
                      maps: Mapping[str, Any], detection: Any = None, *,
                      notes: Mapping[str, str] | None = None, dpi: int = 100) -> None:
    """Write :func:`side_by_side_figure` to ``path`` (PNG, SVG, PDF by suffix)."""
    side_by_side_figure(image, model, maps, detection, notes=notes).savefig(
        os.fspath(path), dpi=dpi)
