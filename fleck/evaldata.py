"""Reading the evaluation data the project measures itself on (``shared/data``, kept beside the
repository and never inside it): its manifest and its image / ground-truth skin-mask pairs.

The conventions are the data README's: masks are RGB(A) with skin = channel 0 > 127, greyscale
with skin > 127, or 1-bit PNGs read as bool. Used by ``bench/``, ``tools/`` and the data tests;
nothing in the detector imports it.

>>> import os, tempfile
>>> root = tempfile.mkdtemp()
>>> _ = open(os.path.join(root, "manifest.csv"), "w").write("dataset,image,mask,split\\nx,a.jpg,,dev\\n")
>>> [row["image"] for row in read_manifest(root)]
['a.jpg']
"""

from __future__ import annotations

import csv
import os

import numpy as np
from PIL import Image


def read_manifest(root: str | os.PathLike) -> list[dict[str, str]]:
    """The rows of ``root/manifest.csv`` (dataset, image, mask, split, ...), in file order."""
    with open(os.path.join(root, "manifest.csv"), newline="") as f:
        return list(csv.DictReader(f))


def load_pair(root: str | os.PathLike, row: dict) -> tuple[np.ndarray, np.ndarray]:
    """The RGB uint8 image of a manifest row and its boolean skin mask (True = skin).

    Raises
    ------
    ValueError
        If the mask's shape differs from the image's.
    """
    image = np.asarray(Image.open(os.path.join(root, row["image"])).convert("RGB"))
    mask = np.asarray(Image.open(os.path.join(root, row["mask"])))
    if mask.ndim == 3:
        mask = mask[..., 0]
    truth = mask if mask.dtype == bool else mask > 127
    if truth.shape != image.shape[:2]:
        raise ValueError(f"{row['mask']}: mask {truth.shape} != image {image.shape[:2]}")
    return image, truth
