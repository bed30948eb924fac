"""Reading the evaluation data the project measures itself on (``shared/data``, kept beside the
repository and never inside it): its manifest and its image / ground-truth skin-mask pairs.

The conventions are the data README's: masks are RGB(A) with skin = channel 0 > 127, greyscale
with skin > 127, or 1-bit PNGs read as bool. Used by ``bench/``, ``tools/`` and the data tests;
nothing in the detector imports it.

>>> import os, tempfile
>>> root = tempfile.mkdtemp()
>>> manifest = "dataset,image,mask,split\\nx,a.jpg,,dev\\n"
>>> _ = open(os.path.join(root, "manifest.csv"), "w").write(manifest)
>>> [row["image"] for row in read_manifest(root)]
['a.jpg']
"""

from __future__ import annotations

import csv
import os

import cv2
import numpy as np
from PIL import Image

__all__ = ["read_manifest", "load_pair", "ITA_BINS", "TONE_MIN_CHROMA", "TONE_HUE_RANGE",
           "skin_tone", "ita_bin_index"]


def read_manifest(root: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of ``root/manifest.csv`` (dataset, image, mask, split, ...), in file order.

    Parameters
    ----------
    root : path
        The evaluation data folder.

    Returns
    -------
    list of dict

    Examples
    --------
    >>> import os, tempfile
    >>> root = tempfile.mkdtemp()
    >>> manifest = "dataset,image,mask,split\\nx,a.png,m.png,dev\\n"
    >>> _ = open(os.path.join(root, "manifest.csv"), "w").write(manifest)
    >>> read_manifest(root)[0]["split"]
    'dev'
    """
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


def load_pair(root: str | os.PathLike, row: dict) -> tuple[np.ndarray, np.ndarray]:
    """The RGB uint8 image of a manifest row and its boolean skin mask (True = skin).

    Raises
    ------
    ValueError
        If the mask's shape differs from the image's.

    Parameters
    ----------
    root : path
        The evaluation data folder.
    row : dict
        A manifest row (``image`` and ``mask`` relative to ``root``).

    Returns
    -------
    image : (M, N, 3) uint8 ndarray
    truth : (M, N) bool ndarray

    Examples
    --------
    >>> import os, tempfile
    >>> from PIL import Image
    >>> root = tempfile.mkdtemp()
    >>> Image.fromarray(np.zeros((4, 6, 3), np.uint8)).save(os.path.join(root, "a.png"))
    >>> Image.fromarray(np.full((4, 6), 255, np.uint8)).save(os.path.join(root, "m.png"))
    >>> image, truth = load_pair(root, {"image": "a.png", "mask": "m.png"})
    >>> image.shape, bool(truth.all())
    ((4, 6, 3), True)
    """
    image = np.asarray(Image.open(os.path.join(root, row["image"])).convert("RGB"))
    mask = np.asarray(Image.open(os.path.join(root, row["mask"])))
    if mask.ndim == 3:
        mask = mask[..., 0]
    truth = mask if mask.dtype == bool else mask > 127
    if truth.shape != image.shape[:2]:
        raise ValueError(f"{row['mask']}: mask {truth.shape} != image {image.shape[:2]}")
    return image, truth


# Individual Typology Angle bins (Chardon et al. 1991; Del Bino & Bernerd 2013): name, low, high
# in degrees, a pixel in a bin when low < ITA <= high.
ITA_BINS = (("very light", 55.0, np.inf), ("light", 41.0, 55.0), ("intermediate", 28.0, 41.0),
            ("tan", 10.0, 28.0), ("brown", -30.0, 10.0), ("dark", -np.inf, -30.0))
# ITA reads skin tone off a pixel's yellowness b*. A pixel whose colour is near neutral or not
# skin-hued has no tone to read (a grey- or red-cast photo, tattoo ink, deep shadow), and
# arctan2 sends it to an extreme bin. PROPOSAL (a priori bounds, not fitted): the tone is
# readable when chroma C*ab >= 5 and hue angle h_ab is 20-90 degrees, around the 40-70 degrees
# measured for skin of every tone.
TONE_MIN_CHROMA = 5.0
TONE_HUE_RANGE = (20.0, 90.0)


def skin_tone(image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """ITA ``arctan2(L* - 50, b*)`` per pixel in degrees, and where the colour has a readable tone.

    Parameters
    ----------
    image : (M, N, 3) uint8 ndarray
        RGB image.

    Returns
    -------
    ita : (M, N) float32 ndarray
        Degrees.
    readable : (M, N) bool ndarray
        Chroma at least :data:`TONE_MIN_CHROMA` and hue within :data:`TONE_HUE_RANGE`.

    Examples
    --------
    >>> ita, readable = skin_tone(np.array([[[200, 150, 120], [128, 128, 128]]], np.uint8))
    >>> ita.round().tolist(), readable.tolist()
    ([[35.0, 90.0]], [[True, False]])
    """
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    hue = np.degrees(np.arctan2(b, a))
    readable = ((np.hypot(a, b) >= TONE_MIN_CHROMA)
                & (hue >= TONE_HUE_RANGE[0]) & (hue <= TONE_HUE_RANGE[1]))
    return np.degrees(np.arctan2(lightness - 50.0, b)), readable


def ita_bin_index(ita: np.ndarray) -> np.ndarray:
    """Index into ITA_BINS per value: 0 = very light (> 55 degrees) ... 5 = dark (<= -30).

    Parameters
    ----------
    ita : ndarray
        ITA values in degrees.

    Returns
    -------
    int64 ndarray

    Examples
    --------
    >>> ita_bin_index(np.array([60.0, 55.0, 0.0, -45.0])).tolist()
    [0, 1, 4, 5]
    """
    index = np.zeros(np.shape(ita), np.int64)
    for _, low, _ in ITA_BINS[:-1]:
        index += ita <= low
    return index
