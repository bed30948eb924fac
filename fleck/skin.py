"""The Fleck-Forsyth colour/texture skin filter (method step 1).

``skin_map(image, config)`` runs the filter on an image at its own resolution (SCALE = (H+W)/320);
``skin_filter(image, config)`` first shrinks the image to the configured working size, which is
what makes the filter fast and its output resolution-independent.

Steps (spec 1.1-1.10): zero-response subtraction; log-opponent I, Rg, By with a seeded uniform
noise term; median smoothing of Rg, By; texture = ``median(|I - median(I)|)``; hue = atan2(Rg, By),
saturation = hypot(Rg, By); stage 1 = low texture AND inside one of two hue/saturation boxes;
growth = pixels whose disk of radius 24 SCALE holds >= 1/8 stage-1 pixels; stage 2 = grown AND a
lenient hue/saturation test; the image passes when >= 30 % of it is skin. With
``colour_model='table'`` (the ``fitted`` configuration) both colour tests are
thresholds on a fitted log-likelihood-ratio table instead (fleck.skin_model); with
``adaptive`` as well (``fleck_plus``) they read that value shifted towards the photo's own skin
colour, fitted to its most confident skin pixels (fleck.adaptive).

Deviations, all recorded in ``fleck.config.SkinConfig``:

* the zero response is capped at ``zero_response_max`` (images without dark pixels);
* median filters use a square (2r+1)^2 window by default (the spec's accepted fast substitute);
* medians with windows over 5x5 run on 8-bit quantised values (OpenCV's fast median supports
  floats only up to 5x5): I is rounded to 1 log unit (~2.2 % intensity), ``|I - S|`` to 1/4
  unit, Rg and By to 1 unit in [-128, 127] where the chroma window exceeds 5x5 (SCALE > 1.25).

>>> import numpy as np
>>> tan = np.full((60, 80, 3), (176, 112, 80), np.uint8)
>>> result = skin_map(tan)
>>> bool(result.passes), round(result.fraction, 2)
(True, 1.0)
>>> bool(skin_map(np.full((60, 80, 3), 128, np.uint8)).passes)
False
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import cv2
import numpy as np

from fleck.adaptive import SkinColour, adapt
from fleck.colour import log_opponent
from fleck.config import FleckConfig, SkinConfig, get_config

__all__ = ["REFERENCE_SIZE", "scale_of", "scaled_radius", "SkinMap", "resize_mask",
           "working_shape", "to_working_size", "skin_filter", "skin_map", "skin_colour",
           "colour_and_texture",
           "texture_difference", "texture_amplitude", "texture_at_most", "density_growth",
           "disk_counts",
           "iterative_growth", "disk_footprint", "log_opponent"]

REFERENCE_SIZE = 320.0  # spec 1.3: SCALE = (H + W) / 320


def scale_of(shape: tuple[int, ...]) -> float:
    """SCALE of an image shape: ``(H + W) / 320`` (spec 1.3 [H]).

    >>> scale_of((480, 640))
    3.5
    """
    return (shape[0] + shape[1]) / REFERENCE_SIZE


def scaled_radius(k: float, scale: float) -> int:
    """``round(k * SCALE)``, at least 1 px (spec 1.3 PROPOSAL)."""
    return max(1, int(round(k * scale)))


@dataclass(frozen=True)
class SkinMap:
    """Output of the skin filter at the working resolution.

    ``mask`` is the final skin map F; ``fraction`` its area fraction (with the adaptive skin
    colour and ``adaptive_skin_gate='table'``, as in ``fleck_plus``: that of the map the fitted
    table gives without the adaptation, which the gate reads); ``passes`` whether the image
    goes on to the grouper (fraction >= ``min_skin_fraction``). ``maps`` holds the intermediate
    arrays (``stage1``, ``grown``, ``texture``, ``hue``, ``saturation``, ``intensity``) when asked
    for with ``keep_maps=True``, else is empty. ``factor`` is working size / input size.
    """

    mask: np.ndarray
    fraction: float
    passes: bool
    scale: float
    input_shape: tuple[int, int]
    factor: float = 1.0
    maps: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def mask_at(self, shape: tuple[int, int]) -> np.ndarray:
        """The mask resized (nearest neighbour) to ``shape`` = (rows, cols)."""
        return resize_mask(self.mask, shape)


def resize_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """A boolean map resized (nearest neighbour) to ``shape`` = (rows, cols).

    >>> int(resize_mask(np.eye(2, dtype=bool), (4, 4)).sum())
    8
    """
    rows, cols = int(shape[0]), int(shape[1])
    if mask.shape == (rows, cols):
        return mask
    resized = cv2.resize(mask.view(np.uint8), (cols, rows), interpolation=cv2.INTER_NEAREST)
    return resized.astype(bool)


def working_shape(shape: tuple[int, ...], working_size: int | None) -> tuple[int, int]:
    """The (rows, cols) an image is shrunk to so that rows + cols <= ``working_size``.

    Images already small enough are left alone (never enlarged).

    >>> working_shape((480, 640), 320)
    (137, 183)
    >>> working_shape((100, 100), 320)
    (100, 100)
    """
    rows, cols = int(shape[0]), int(shape[1])
    if working_size is None or rows + cols <= working_size:
        return rows, cols
    factor = working_size / (rows + cols)
    return max(1, int(round(rows * factor))), max(1, int(round(cols * factor)))


def to_working_size(image: np.ndarray, working_size: int | None) -> np.ndarray:
    """Shrink ``image`` so that H + W <= ``working_size``.

    Area averaging above a factor of 2; bilinear up to 2, where every input pixel still
    contributes and which costs a sixth (a JPEG decoded at reduced size by libjpeg always lands
    here; pooled skin F1 on the dev sets moved by under 0.25 points).
    """
    rows, cols = working_shape(image.shape, working_size)
    if (rows, cols) == image.shape[:2]:
        return image
    gentle = image.shape[0] <= 2 * rows and image.shape[1] <= 2 * cols
    return cv2.resize(image, (cols, rows),
                      interpolation=cv2.INTER_LINEAR if gentle else cv2.INTER_AREA)


def skin_filter(image: np.ndarray, config: FleckConfig | str | None = None, *,
                keep_maps: bool = False, input_shape: tuple[int, int] | None = None) -> SkinMap:
    """Shrink ``image`` to the configured working size and run :func:`skin_map` on it.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray, RGB
    config : FleckConfig, configuration name, or None for the 1996 configuration
    keep_maps : bool
        Keep the intermediate maps in ``SkinMap.maps``.
    input_shape : (rows, cols), optional
        The shape of the original image when ``image`` was already decoded at reduced size.
    """
    config = get_config(config)
    small = to_working_size(image, config.working_size)
    result = skin_map(small, config.skin, keep_maps=keep_maps)
    original = tuple(input_shape) if input_shape is not None else image.shape[:2]
    return SkinMap(mask=result.mask, fraction=result.fraction, passes=result.passes,
                   scale=result.scale, input_shape=(int(original[0]), int(original[1])),
                   factor=small.shape[0] / original[0], maps=result.maps)


def skin_map(image: np.ndarray, config: SkinConfig | FleckConfig | str | None = None, *,
             keep_maps: bool = False) -> SkinMap:
    """Run the skin filter on ``image`` at its own resolution.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray, RGB
    config : SkinConfig (or a FleckConfig / name, whose ``.skin`` is used)
    keep_maps : bool
        Keep stage1, grown, texture, hue, saturation and intensity in ``SkinMap.maps`` (and
        ``llr``, the fitted table's value, when ``colour_model='table'``; with ``adaptive``,
        also ``adaptive``, the adapted score both colour tests read, and ``seed``, the pixels
        the photo's skin colour was fitted on: see :mod:`fleck.adaptive`).

    Raises
    ------
    ValueError
        If ``image`` is not an (M, N, 3) uint8 array.
    """
    skin = config if isinstance(config, SkinConfig) else get_config(config).skin
    intensity, rg, by, difference, scale = colour_and_texture(image, skin)
    colour_maps: dict[str, np.ndarray] = {}
    colour = None  # the photo's own skin colour (fleck.adaptive), when one was found
    if skin.colour_model == "table":  # fitted colour test; same texture, growth
        stage1, score, colour_maps, colour = _table_tests(intensity, rg, by, difference, scale,
                                                          skin)
        lenient = score >= skin.table_stage2_min
    else:
        saturation, hue = cv2.cartToPolar(by, rg, angleInDegrees=True)
        hue[hue > 180.0] -= 360.0  # atan2(Rg, By) in (-180, 180]

        stage1 = texture_at_most(difference, skin.texture_max, scale, skin)
        stage1 &= _in_boxes(hue, saturation, skin.stage1_boxes)
        lenient = _in_boxes(hue, saturation, (skin.stage2_hue + skin.stage2_sat,))
    if skin.stage2_texture_max is not None:
        lenient &= texture_at_most(difference, skin.stage2_texture_max, scale, skin)

    if skin.growth == "density":
        grown = density_growth(stage1, scaled_radius(skin.density_radius, scale),
                               skin.density_fraction)
        final = grown & lenient
    else:
        final = grown = iterative_growth(stage1, lenient, skin.growth_iterations)
    if skin.intensity_range is not None:
        low, high = skin.intensity_range
        final = final & (intensity >= low) & (intensity <= high)

    fraction = float(np.count_nonzero(final)) / final.size
    if skin.colour_model == "table" and colour is not None and skin.adaptive_skin_gate == "table":
        # the gate reads the fitted table's own map: the photo's colour moves where skin is,
        # not whether there is enough of it
        table = density_growth(colour_maps["table_stage1"],
                               scaled_radius(skin.density_radius, scale), skin.density_fraction)
        table &= colour_maps["llr"] >= skin.table_stage2_min
        fraction = float(np.count_nonzero(table)) / table.size
    maps = {}
    if keep_maps:
        if skin.colour_model == "table":
            saturation, hue = cv2.cartToPolar(by, rg, angleInDegrees=True)
            hue[hue > 180.0] -= 360.0
        texture = _median_u8(difference, scaled_radius(skin.texture_radius, scale), skin)
        maps = {"stage1": stage1, "grown": grown, "texture": texture.astype(np.float32) * 0.25,
                "hue": hue,
                "saturation": saturation, "intensity": intensity, **colour_maps}
    return SkinMap(mask=final, fraction=fraction, passes=fraction >= skin.min_skin_fraction,
                   scale=scale, input_shape=image.shape[:2], maps=maps)


def _table_tests(intensity: np.ndarray, rg: np.ndarray, by: np.ndarray, difference: np.ndarray,
                 scale: float, skin: SkinConfig):
    """Stage 1 of the fitted table (texture and LLR), the score the lenient test reads, the maps
    to keep (``llr``; ``adaptive`` and ``seed`` with ``skin.adaptive``) and the photo's skin
    colour (None without adaptation or on its fallback)."""
    from fleck.skin_model import load_table

    llr = load_table(skin.colour_table).lookup(rg, by, intensity)
    smooth = texture_at_most(difference, skin.texture_max, scale, skin)
    stage1 = smooth & (llr >= skin.table_stage1_min)
    if not skin.adaptive:
        return stage1, llr, {"llr": llr}, None
    adaptation = adapt(rg, by, intensity, llr, stage1, skin)  # the photo's own skin colour
    table_stage1 = stage1
    if adaptation.colour is not None:
        stage1 = smooth & (adaptation.score >= skin.table_stage1_min)
    return (stage1, adaptation.score,
            {"llr": llr, "adaptive": adaptation.score, "seed": adaptation.seed,
             "table_stage1": table_stage1},
            adaptation.colour)


def colour_and_texture(image: np.ndarray, skin: SkinConfig):
    """The filter's per-pixel measurements before any colour test (spec 1.1-1.5).

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray, RGB
    skin : SkinConfig

    Returns
    -------
    intensity, rg, by : (M, N) float32 ndarrays
        I and the median-smoothed Rg, By.
    difference : (M, N) uint8 ndarray
        :func:`texture_difference` of I.
    scale : float
        SCALE of the image.

    Raises
    ------
    ValueError
        If ``image`` is not an (M, N, 3) uint8 array.

    Examples
    --------
    >>> from fleck.config import FLECK_1996
    >>> black = np.zeros((32, 48, 3), np.uint8)
    >>> i, rg, by, diff, scale = colour_and_texture(black, FLECK_1996.skin)
    >>> rg.shape, diff.dtype, scale
    ((32, 48), dtype('uint8'), 0.25)
    """
    _check_image(image)
    scale = scale_of(image.shape)
    intensity, rg, by = log_opponent(image, skin)
    rg = _median(rg, scaled_radius(skin.chroma_median_radius, scale), skin, signed=True)
    by = _median(by, scaled_radius(skin.chroma_median_radius, scale), skin, signed=True)
    return intensity, rg, by, texture_difference(intensity, scale, skin), scale


def texture_difference(intensity: np.ndarray, scale: float, skin: SkinConfig) -> np.ndarray:
    """``|I - median(I, 4 SCALE)|`` in 1/4 log units as uint8 (spec 1.5, first median).

    The median runs on I rounded to 1 unit; differences above 63.75 units saturate at 255.
    (OpenCV's saturating conversions round half to even and clip to 0-255, exactly as
    ``np.clip(np.rint(x), 0, 255).astype(np.uint8)``, in one pass instead of four.)
    """
    quantised = cv2.multiply(intensity, 1.0, dtype=cv2.CV_8U)
    smooth = _median_u8(quantised, scaled_radius(skin.texture_smooth_radius, scale), skin)
    diff = cv2.absdiff(intensity, smooth.astype(np.float32))
    return cv2.convertScaleAbs(diff, alpha=4.0)


def texture_amplitude(intensity: np.ndarray, scale: float, skin: SkinConfig) -> np.ndarray:
    """The texture map ``median(|I - median(I, 4 SCALE)|, 6 SCALE)`` in log units (spec 1.5)."""
    diff = texture_difference(intensity, scale, skin)
    texture = _median_u8(diff, scaled_radius(skin.texture_radius, scale), skin)
    return texture.astype(np.float32) * 0.25


def texture_at_most(difference: np.ndarray, limit: float, scale: float,
                    skin: SkinConfig) -> np.ndarray:
    """``texture <= limit`` without computing the second median.

    The median of an odd-sized window is <= t exactly when at least (n + 1) / 2 of its values
    are <= t, so one box (or disk) count replaces the 8-bit median filter, which costs ~40x more.
    Borders replicate, as OpenCV's median does.
    """
    radius = scaled_radius(skin.texture_radius, scale)
    below = (difference <= int(np.floor(limit * 4.0 + 1e-6))).view(np.uint8)
    if skin.median_window == "square":
        size = 2 * radius + 1
        counts = cv2.boxFilter(below, cv2.CV_32F, (size, size), normalize=False,
                               borderType=cv2.BORDER_REPLICATE)
        window = size * size
    else:
        kernel = disk_footprint(radius).astype(np.float32)
        counts = cv2.filter2D(below.astype(np.float32), -1, kernel,
                              borderType=cv2.BORDER_REPLICATE)
        window = int(kernel.sum())
    return counts >= (window + 1) // 2 - 1e-3


def density_growth(stage1: np.ndarray, radius: int, fraction: float) -> np.ndarray:
    """Pixels whose disk of ``radius`` holds at least ``fraction`` stage-1 pixels (spec 1.8).

    The fraction is over the in-image part of the disk, so borders are not penalised.
    """
    marked = disk_counts(stage1, radius)
    return marked >= fraction * _in_image_counts(stage1.shape, radius) - 1e-3


def disk_counts(mask: np.ndarray, radius: int) -> np.ndarray:
    """How many pixels of ``mask`` lie in the disk of ``radius`` around each pixel (float32).

    Outside the image counts as empty. The sums are exact integers: they are computed by an FFT
    convolution with the disk's spectrum cached per shape, whose rounding error is bounded far
    below 1/2 (float64 arithmetic where the float32 bound is not) and rounded away.

    Parameters
    ----------
    mask : (M, N) bool ndarray
    radius : int
        Radius of the disk (:func:`disk_footprint`).

    Returns
    -------
    (M, N) float32 ndarray
        Whole numbers.

    Examples
    --------
    >>> disk_counts(np.ones((3, 4), bool), 1).tolist()
    [[3.0, 4.0, 4.0, 3.0], [4.0, 5.0, 5.0, 4.0], [3.0, 4.0, 4.0, 3.0]]
    """
    rows, cols = mask.shape
    spectrum = _disk_spectrum(rows, cols, radius)
    padded = np.zeros(spectrum.shape, spectrum.dtype)
    padded[:rows, :cols] = mask
    product = cv2.mulSpectrums(cv2.dft(padded, nonzeroRows=rows), spectrum, 0)
    full = cv2.idft(product, flags=cv2.DFT_SCALE | cv2.DFT_REAL_OUTPUT,
                    nonzeroRows=rows + 2 * radius)
    counts = np.rint(full[radius:radius + rows, radius:radius + cols])
    return counts.astype(np.float32, copy=False)


@functools.lru_cache(maxsize=16)
def _disk_spectrum(rows: int, cols: int, radius: int) -> np.ndarray:
    """The DFT (OpenCV's packed real format) of the disk, zero-padded for a linear convolution
    of a (rows, cols) map, in float32 when that keeps every count within 1/4 of its integer
    (a generous bound of the FFT's rounding error, measured ~100 times
    smaller), else float64."""
    height = cv2.getOptimalDFTSize(rows + 2 * radius)
    width = cv2.getOptimalDFTSize(cols + 2 * radius)
    disk = disk_footprint(radius)
    bound = (np.finfo(np.float32).eps * 4 * np.log2(height * width)
             * np.sqrt(float(rows * cols) * float(disk.sum())))
    dtype = np.float32 if bound < 0.25 else np.float64
    padded = np.zeros((height, width), dtype)
    padded[:disk.shape[0], :disk.shape[1]] = disk
    spectrum = cv2.dft(padded, nonzeroRows=disk.shape[0])
    spectrum.setflags(write=False)
    return spectrum


def iterative_growth(seed: np.ndarray, allowed: np.ndarray, iterations: int) -> np.ndarray:
    """Kapur's growth (spec 1.11): ``iterations`` 8-neighbour dilations, kept to ``allowed``."""
    grown = seed & allowed
    kernel = np.ones((3, 3), np.uint8)
    for _ in range(iterations):
        grown = cv2.dilate(grown.view(np.uint8), kernel).astype(bool) & allowed
    return grown | seed


def _check_image(image: np.ndarray) -> None:
    if not isinstance(image, np.ndarray):
        raise ValueError(f"image must be a numpy array, got {type(image).__name__}")
    if image.ndim != 3 or image.shape[2] != 3:
        raise ValueError(f"image must have shape (M, N, 3) (RGB), got {image.shape}")
    if image.dtype != np.uint8:
        raise ValueError(f"image must be uint8, got {image.dtype}")
    if image.shape[0] < 1 or image.shape[1] < 1:
        raise ValueError(f"image must not be empty, got {image.shape}")


def _in_boxes(hue: np.ndarray, sat: np.ndarray, boxes) -> np.ndarray:
    inside = np.zeros(hue.shape, bool)
    for hue_min, hue_max, sat_min, sat_max in boxes:
        inside |= (hue >= hue_min) & (hue <= hue_max) & (sat >= sat_min) & (sat <= sat_max)
    return inside


def _median(values: np.ndarray, radius: int, skin: SkinConfig, *, signed: bool) -> np.ndarray:
    """Median of a float map; exact for windows up to 5x5, else on 1-unit 8-bit values."""
    if skin.median_window == "square" and radius <= 2:
        return cv2.medianBlur(np.ascontiguousarray(values, np.float32), 2 * radius + 1)
    offset = 128.0 if signed else 0.0
    quantised = np.clip(np.rint(values + offset), 0, 255).astype(np.uint8)
    return _median_u8(quantised, radius, skin).astype(np.float32) - offset


def _median_u8(values: np.ndarray, radius: int, skin: SkinConfig) -> np.ndarray:
    if skin.median_window == "square":
        return cv2.medianBlur(values, 2 * radius + 1)
    from scipy import ndimage  # exact disk median, slow: only when asked for

    return ndimage.median_filter(values, footprint=disk_footprint(radius), mode="nearest")


@functools.lru_cache(maxsize=128)
def disk_footprint(radius: int) -> np.ndarray:
    """``skimage.morphology.disk(radius)`` (uint8 0/1, (2r+1)^2), cached and read-only.

    >>> disk_footprint(1).tolist()
    [[0, 1, 0], [1, 1, 1], [0, 1, 0]]
    """
    from skimage.morphology import disk as skimage_disk  # lazy: skimage is slow to import

    disk = skimage_disk(radius).astype(np.uint8, copy=False)
    disk.setflags(write=False)
    return disk


@functools.lru_cache(maxsize=64)
def _in_image_counts(shape: tuple[int, int], radius: int) -> np.ndarray:
    ones = np.ones(shape, np.float32)
    counts = cv2.filter2D(ones, -1, disk_footprint(radius).astype(np.float32),
                          borderType=cv2.BORDER_CONSTANT)
    counts.setflags(write=False)
    return counts


def skin_colour(image: np.ndarray,
                config: SkinConfig | FleckConfig | str | None = "fleck_plus") -> SkinColour | None:
    """The skin colour the adaptive filter reads off ``image`` at its own resolution.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray, RGB
        Shrink it first (:func:`fleck.skin.to_working_size`) to see what the detector sees.
    config : SkinConfig, FleckConfig or name
        A configuration with ``colour_model='table'`` (default ``fleck_plus``).

    Returns
    -------
    SkinColour or None
        None when the image has too little confident skin (the filter then falls back to the
        fitted table alone).

    Examples
    --------
    >>> print(skin_colour(np.full((30, 30, 3), 128, np.uint8)))  # grey: no confident skin
    None
    """
    skin = config if isinstance(config, SkinConfig) else get_config(config).skin
    if skin.colour_model != "table":
        raise ValueError(f"skin configuration {skin.name!r} has no fitted table "
                         f"(colour_model={skin.colour_model!r})")
    return _table_tests(*colour_and_texture(image, skin), skin)[3]
