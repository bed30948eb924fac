"""Per-image adaptive skin colour: the image's own skin colour, read off its most confident skin.

The fitted skin model (:mod:`fleck.skin_model`) judges every pixel by one table of
``log P(colour | skin) / P(colour | non-skin)`` (the LLR) learnt over many photos. Within one
photo, though, a person's skin under that photo's light occupies a small part of the table's
accepted region, while a beige wall, wooden furniture, khaki clothes or brown hair in the same
photo may lie elsewhere in it. With ``SkinConfig.adaptive`` the filter fits a small colour
model to the photo's most confident skin pixels and shifts every pixel's LLR towards or away
from it before the two colour tests:

1. **Core.** Stage-1 pixels (texture test passed, LLR >= the stage-1 threshold) whose LLR is at
   least ``adaptive_core_llr`` are binned by chroma (Rg, By) in ``adaptive_bin``-unit bins,
   each weighted by its LLR; the histogram is smoothed by a Gaussian of one bin. The core is
   those pixels within ``adaptive_core_radius`` units (Euclidean, in (Rg, By)) of the centre of
   the highest bin: the most common confident skin colour of the photo.
2. **Colour.** The mean and covariance of (Rg, By, I) over the core, with
   ``adaptive_floor`` added as standard deviations on the diagonal (so that a tiny or uniform
   core does not give a needle-thin model), define a Mahalanobis distance ``d``. The seed is
   every stage-1 pixel within ``adaptive_expand`` of the core's model (the core's colour
   window cuts off the shaded and highlighted parts of the same skin; this brings them in),
   and the model is fitted again on the seed: :class:`SkinColour`.
3. **Score.** ``A = LLR + adaptive_weight * max(adaptive_gate - d, -adaptive_penalty_max)``:
   colours near the photo's skin colour gain up to ``adaptive_weight * adaptive_gate`` nats,
   colours far from it lose at most ``adaptive_weight * adaptive_penalty_max``, so that skin
   the global table is sure of is kept whatever the seed. Both colour tests of the fitted
   model (stage 1 and the lenient stage 2) read ``A`` instead of the LLR; texture and the
   density growth are unchanged.
4. **Fallback.** When the core or the seed holds fewer than ``adaptive_min_seed`` of the
   image's pixels (and at least :data:`MIN_SEED_PIXELS`), nothing changes: ``A = LLR``.

The 1996 design deliberately uses no colour constancy (image colour statistics can mislead,
e.g. nudes on pink backgrounds). This adaptation is our addition, not the paper's; it is seeded
by the image's own confident skin, not by the image's average colour, and the penalty cap keeps
the global table in charge of the colours it is sure of.

Every statistic is computed from integer sums (chroma and intensity in 1/64 units, LLR weights
in 1/64 nats), so the result does not depend on the order of the pixels: a mirrored image gives
the mirrored skin map, bit for bit.

>>> import numpy as np
>>> from fleck.config import FLECK_PLUS_SKIN
>>> tan = np.full((40, 60, 3), (176, 112, 80), np.uint8)
>>> from fleck.skin import skin_colour
>>> colour = skin_colour(tan, FLECK_PLUS_SKIN)
>>> colour.seed_pixels == 40 * 60, round(colour.mean[0])  # every pixel seeds; its Rg
(True, 25)
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from fleck.config import SkinConfig

__all__ = ["MIN_SEED_PIXELS", "SkinColour", "Adaptation", "seed_core", "fit_skin_colour",
           "adaptive_score", "adapt"]

MIN_SEED_PIXELS = 10  # a 3-D covariance needs a few pixels whatever the image size
_UNITS = 64  # statistics are integer sums of values in 1/64 units: exact, order-independent
_RG_MIN, _BY_MIN, _SPAN = -64.0, -160.0, 224.0  # chroma histogram range (log units)


@dataclass(frozen=True)
class SkinColour:
    """A photo's own skin colour: a Gaussian over the filter's (Rg, By, I), in log units.

    ``covariance`` includes the floors. :meth:`distance` is the Mahalanobis distance of
    pixels from it; ``str()`` prints it.

    Examples
    --------
    >>> colour = SkinColour((20.0, -30.0, 200.0), ((9.0, 0, 0), (0, 9.0, 0), (0, 0, 100.0)), 50)
    >>> print(colour)
    Rg 20.0 +- 3.0, By -30.0 +- 3.0, I 200.0 +- 10.0 (50 seed pixels)
    >>> colour.distance(np.array([26.0]), np.array([-30.0]), np.array([200.0])).round(3).tolist()
    [2.0]
    """

    mean: tuple[float, float, float]
    covariance: tuple[tuple[float, float, float], ...]
    seed_pixels: int

    def distance(self, rg: np.ndarray, by: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """Mahalanobis distance (float32, the shape of ``rg``) of each pixel's (Rg, By, I)."""
        inv = np.linalg.inv(np.asarray(self.covariance, np.float64)).astype(np.float32)
        x = rg - np.float32(self.mean[0])
        y = by - np.float32(self.mean[1])
        z = intensity - np.float32(self.mean[2])
        d2 = inv[0, 0] * x * x + inv[1, 1] * y * y + inv[2, 2] * z * z
        d2 += 2.0 * (inv[0, 1] * x * y + inv[0, 2] * x * z + inv[1, 2] * y * z)
        return np.sqrt(np.maximum(d2, 0.0, out=d2), out=d2)

    def __str__(self) -> str:
        sd = np.sqrt(np.diag(np.asarray(self.covariance)))
        parts = ", ".join(f"{name} {m:.1f} +- {s:.1f}"
                          for name, m, s in zip(("Rg", "By", "I"), self.mean, sd, strict=True))
        return f"{parts} ({self.seed_pixels} seed pixels)"


@dataclass(frozen=True)
class Adaptation:
    """What :func:`adapt` found: the adapted ``score`` (the LLR itself on fallback), the
    ``colour`` model (None on fallback) and the ``seed`` pixels it was fitted on."""

    score: np.ndarray
    colour: SkinColour | None
    seed: np.ndarray


def seed_core(rg: np.ndarray, by: np.ndarray, llr: np.ndarray, stage1: np.ndarray,
              skin: SkinConfig) -> np.ndarray:
    """Step 1: the stage-1 pixels of the photo's most common confident skin chroma.

    Parameters
    ----------
    rg, by : (M, N) float32 ndarrays
        The filter's median-smoothed chroma.
    llr : (M, N) float32 ndarray
        The fitted table's value per pixel.
    stage1 : (M, N) bool ndarray
        The stage-1 pixels (texture and colour tests passed).
    skin : SkinConfig
        ``adaptive_core_llr``, ``adaptive_bin`` and ``adaptive_core_radius``.

    Returns
    -------
    (M, N) bool ndarray
        Empty when no pixel is confident enough.

    Examples
    --------
    >>> from fleck.config import FLECK_PLUS_SKIN
    >>> rg = np.array([[20.0, 20.5, 21.0, 60.0]], np.float32); by = np.full((1, 4), -30, np.float32)
    >>> llr = np.array([[2.0, 2.0, 2.0, 2.5]], np.float32)
    >>> seed_core(rg, by, llr, np.ones((1, 4), bool), FLECK_PLUS_SKIN).tolist()  # 3 beat 1
    [[True, True, True, False]]
    """
    candidates = stage1 & (llr >= skin.adaptive_core_llr)
    if not candidates.any():
        return candidates
    step = float(skin.adaptive_bin)
    bins = int(np.ceil(_SPAN / step))
    i = np.clip(((rg[candidates] - _RG_MIN) / step).astype(np.int64), 0, bins - 1)
    j = np.clip(((by[candidates] - _BY_MIN) / step).astype(np.int64), 0, bins - 1)
    weights = np.rint(llr[candidates] * _UNITS)  # integers: the sums are exact
    histogram = np.bincount(i * bins + j, weights=weights, minlength=bins * bins)
    smooth = cv2.GaussianBlur(histogram.reshape(bins, bins).astype(np.float32), (0, 0), 1.0,
                              borderType=cv2.BORDER_CONSTANT)
    peak_i, peak_j = np.unravel_index(int(np.argmax(smooth)), smooth.shape)
    peak_rg = np.float32(_RG_MIN + (peak_i + 0.5) * step)
    peak_by = np.float32(_BY_MIN + (peak_j + 0.5) * step)
    radius2 = np.float32(skin.adaptive_core_radius) ** 2
    return candidates & ((rg - peak_rg) ** 2 + (by - peak_by) ** 2 <= radius2)


def fit_skin_colour(rg: np.ndarray, by: np.ndarray, intensity: np.ndarray, seed: np.ndarray,
                    floor: tuple[float, float, float]) -> SkinColour:
    """Step 2: mean and covariance of (Rg, By, I) over ``seed``, plus ``floor`` squared.

    The moments are integer sums of the values in 1/64 units, so any order of the same pixels
    gives the same model.

    Parameters
    ----------
    rg, by, intensity : (M, N) float32 ndarrays
    seed : (M, N) bool ndarray
        At least one pixel.
    floor : (3,) floats
        Standard deviations added in quadrature on the diagonal (Rg, By, I).

    Returns
    -------
    SkinColour

    Examples
    --------
    >>> rg = np.array([[10.0, 12.0]], np.float32); by = np.array([[-20.0, -20.0]], np.float32)
    >>> colour = fit_skin_colour(rg, by, np.full((1, 2), 200, np.float32), np.ones((1, 2), bool),
    ...                          (0.0, 1.0, 1.0))
    >>> colour.mean, colour.covariance[0][0]
    ((11.0, -20.0, 200.0), 1.0)
    """
    values = np.stack([np.rint(channel[seed] * _UNITS) for channel in (rg, by, intensity)], 1)
    values = values.astype(np.int64)
    n = len(values)
    if n == 0:
        raise ValueError("fit_skin_colour needs at least one seed pixel")
    sums = values.sum(0)
    products = values.T @ values  # int64: exact
    mean = sums / (n * _UNITS)
    covariance = products / (n * _UNITS**2) - np.outer(mean, mean)
    covariance = np.maximum(covariance, covariance.T)  # symmetric to the last bit
    covariance[np.diag_indices(3)] = np.maximum(np.diag(covariance), 0.0)
    covariance += np.diag(np.square(np.asarray(floor, np.float64)))
    return SkinColour(tuple(float(v) for v in mean),
                      tuple(tuple(float(v) for v in row) for row in covariance), int(n))


def adaptive_score(llr: np.ndarray, distance: np.ndarray, skin: SkinConfig) -> np.ndarray:
    """Step 3: ``LLR + weight * max(gate - distance, -penalty_max)``.

    Examples
    --------
    >>> from fleck.config import FLECK_PLUS_SKIN as s
    >>> near, far = adaptive_score(np.zeros(2, np.float32), np.array([0.0, 99.0], np.float32), s)
    >>> float(near) == s.adaptive_weight * s.adaptive_gate, float(far) == -s.adaptive_penalty_max
    (True, True)
    """
    shift = np.maximum(np.float32(skin.adaptive_gate) - distance,
                       np.float32(-skin.adaptive_penalty_max))
    return llr + np.float32(skin.adaptive_weight) * shift


def adapt(rg: np.ndarray, by: np.ndarray, intensity: np.ndarray, llr: np.ndarray,
          stage1: np.ndarray, skin: SkinConfig) -> Adaptation:
    """Steps 1-4: the adapted colour score of every pixel, the photo's skin colour, its seed.

    Parameters
    ----------
    rg, by, intensity : (M, N) float32 ndarrays
        The filter's median-smoothed chroma and its intensity.
    llr : (M, N) float32 ndarray
        The fitted table's value per pixel.
    stage1 : (M, N) bool ndarray
        The (non-adaptive) stage-1 pixels.
    skin : SkinConfig

    Returns
    -------
    Adaptation
        ``score`` is ``llr`` itself (same object) when the seed is too small.

    Examples
    --------
    >>> from fleck.config import FLECK_PLUS_SKIN
    >>> flat = np.zeros((4, 4), np.float32)
    >>> result = adapt(flat, flat, flat, flat, np.zeros((4, 4), bool), FLECK_PLUS_SKIN)
    >>> result.colour is None and result.score is flat  # no confident skin: no change
    True
    """
    least = max(MIN_SEED_PIXELS, int(np.ceil(skin.adaptive_min_seed * llr.size)))
    core = seed_core(rg, by, llr, stage1, skin)
    if np.count_nonzero(core) < least:
        return Adaptation(llr, None, core)
    colour = fit_skin_colour(rg, by, intensity, core, skin.adaptive_floor)
    seed = stage1 & (colour.distance(rg, by, intensity) <= np.float32(skin.adaptive_expand))
    if np.count_nonzero(seed) < least:
        return Adaptation(llr, None, seed)
    colour = fit_skin_colour(rg, by, intensity, seed, skin.adaptive_floor)
    return Adaptation(adaptive_score(llr, colour.distance(rg, by, intensity), skin), colour,
                      seed)

