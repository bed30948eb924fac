"""Occlusion-sensitivity maps for any black-box score function (spec: occlusion section 2).

A square window slides over the image on a grid of top-left corners ``stride`` pixels apart.
Two variants, after Compton's 2016 post "What convolutional neural networks look at when they
see nudity" (64 px window, 3 px stride on a 512 x 512 image):

``variant="window"``
    score the window's own pixels (the ``window x window`` crop). Pixel value = mean over the
    windows covering it of ``score(crop)``: *where* content that looks NSFW is.
``variant="occlude"``
    paint the window over with ``fill`` and score the whole image. Pixel value = mean over the
    windows covering it of ``1 - score(occluded image)``: *what the decision depends on*. A
    pixel is high when hiding it lowers the score.

Both are exact per-pixel means: ``map[i, j] = sum(v_k for windows k covering (i, j)) /
counts[i, j]``, where ``counts`` is the number of covering windows (unlike the post, whose running
average divided by the number of windows seen so far). Relations between them:

* both maps are the same linear operator (mean over covering windows) applied to a per-window
  value, so a constant score ``s`` gives the constant maps ``s`` (window) and ``1 - s`` (occlude);
* ``1 - occlude_map`` is the mean score *with the pixel hidden*, so ``base_score - (1 -
  occlude_map)`` is the mean drop in score caused by hiding the pixel.

Window positions: along each axis the corners are ``0, stride, 2 stride, ...`` and, if the last
of these does not reach the border, one more corner at ``length - window`` so that every pixel is
covered (the last step may therefore be shorter than ``stride``). A window larger than the image
is clamped to the image side.

Examples
--------
>>> import numpy as np
>>> image = np.zeros((8, 8, 3), np.uint8); image[:4, :4] = 255
>>> brightness = lambda im: float(im.mean() / 255)
>>> result = occlusion_map(image, brightness, window=4, stride=2, variant="window")
>>> float(result.map[0, 0]), float(result.map[7, 7]), result.positions
(1.0, 0.0, 9)
>>> int(result.counts[3, 3]), int(result.counts[0, 0])
(4, 1)
"""

from __future__ import annotations

from fleck.occlusion.evaluation import (
    DEFAULTS,
    NAMED_FILLS,
    VARIANTS,
    OcclusionDefaults,
    OcclusionMap,
    occlusion_map,
)
from fleck.occlusion.geometry import coverage_counts, window_starts, window_sums
from fleck.occlusion.plot import plot_occlusion, save_occlusion_figure

__all__ = ["OcclusionMap", "occlusion_map", "window_starts", "coverage_counts", "window_sums",
           "plot_occlusion", "save_occlusion_figure", "DEFAULTS", "VARIANTS", "NAMED_FILLS",
           "OcclusionDefaults"]
