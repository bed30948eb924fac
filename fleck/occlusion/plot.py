"""Drawing occlusion maps over their image (matplotlib, imported lazily; no pyplot).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np

from fleck.occlusion.evaluation import OcclusionMap

__all__ = ["plot_occlusion", "save_occlusion_figure"]


def plot_occlusion(result: OcclusionMap, image: np.ndarray, *, ax: Any = None,
                   cmap: str = "inferno", alpha: float = 0.6, scale: str = "auto",
                   title: str | None = None) -> Any:
    """Draw the map blended over the image, with a colour bar; returns the matplotlib Axes.

    ``scale="auto"`` stretches the colours over the map's own range (small differences show);
    ``scale="fixed"`` uses 0..1 (maps from different models compare directly).

    Parameters
    ----------
    result : OcclusionMap
        The map to draw.
    image : (M, N, 3) uint8 ndarray
        The image it was computed on.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure, without pyplot).
    cmap : str
        Matplotlib colour map.
    alpha : float
        Opacity of the map over the image.
    scale : {"auto", "fixed"}
        Colour range: the map's own, or 0..1.
    title : str, optional
        Axes title (default: variant, window, stride and score).

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import numpy as np
    >>> from fleck.occlusion import occlusion_map
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> ax = plot_occlusion(occlusion_map(image, lambda im: 0.5, window=4, stride=2), image)
    >>> ax.get_title()
    'occlude: window 4, stride 2, score 0.50'
    """
    if ax is None:
        from matplotlib.figure import Figure  # no pyplot: leaves the user's backend alone

        ax = Figure(figsize=(6, 5)).add_subplot()
    if scale not in ("auto", "fixed"):
        raise ValueError(f"scale must be 'auto' or 'fixed', got {scale!r}")
    vmin, vmax = (0.0, 1.0) if scale == "fixed" else (float(result.map.min()),
                                                     float(result.map.max()))
    if vmax - vmin < 1e-9:
        vmin, vmax = vmin - 0.5e-3, vmax + 0.5e-3
    ax.imshow(image, interpolation="bilinear")
    heat = ax.imshow(result.map, cmap=cmap, alpha=alpha, vmin=vmin, vmax=vmax,
                     interpolation="bilinear")
    label = "mean 1 - score, window hidden" if result.variant == "occlude" \
        else "mean score of window"
    bar = ax.figure.colorbar(heat, ax=ax, fraction=0.046, pad=0.04, label=label)
    if result.variant == "occlude" and vmin <= 1 - result.base_score <= vmax:
        # Where hiding changes nothing: above it hiding lowers the score, below it raises it.
        bar.ax.axhline(1 - result.base_score, color="cyan", linewidth=2)
        bar.set_label(label + " (cyan: no change)")
    ax.set_axis_off()
    ax.set_title(title or f"{result.variant}: window {result.window}, stride {result.stride}, "
                          f"score {result.base_score:.2f}", fontsize=9)
    return ax


def save_occlusion_figure(path: str | os.PathLike[str], image: np.ndarray,
                          results: dict[str, OcclusionMap], *, cmap: str = "inferno",
                          alpha: float = 0.6, scale: str = "auto", dpi: int = 120) -> None:
    """Write one panel per named map (side by side) to ``path`` (PNG, SVG, PDF by suffix).

    Parameters
    ----------
    path : path
        Output file; the suffix chooses the format.
    image : (M, N, 3) uint8 ndarray
        The image the maps were computed on.
    results : dict of str to OcclusionMap
        One panel per entry, titled with its name.
    cmap, alpha, scale
        As in :func:`plot_occlusion`.
    dpi : int
        Resolution of the written image.

    Examples
    --------
    >>> import numpy as np, os, tempfile
    >>> from fleck.occlusion import occlusion_map
    >>> image = np.zeros((8, 8, 3), np.uint8)
    >>> maps = {"half": occlusion_map(image, lambda im: 0.5, window=4, stride=4)}
    >>> path = os.path.join(tempfile.mkdtemp(), "map.png")
    >>> save_occlusion_figure(path, image, maps, dpi=20)
    >>> os.path.getsize(path) > 0
    True
    """
    from matplotlib.figure import Figure  # no pyplot: nothing global to clean up

    fig = Figure(figsize=(5.5 * len(results), 5))
    axes = fig.subplots(1, len(results), squeeze=False)
    for ax, (name, result) in zip(axes[0], results.items(), strict=False):
        title = (f"{name} ({result.variant}), window {result.window}, stride "
                 f"{result.stride}, score {result.base_score:.2f}")
        plot_occlusion(result, image, ax=ax, cmap=cmap, alpha=alpha, scale=scale, title=title)
    fig.tight_layout()
    fig.savefig(os.fspath(path), dpi=dpi)
