"""fleck: the Fleck-Forsyth-Bregler (1996) "Finding Naked People" detector as a fast baseline.

Pipeline (one module per stage): ``loading`` -> ``skin`` -> ``segments`` -> ``grouper`` ->
``decision``; ``detector`` orchestrates, ``draw`` explains. Edges: ``cli``, ``scan``,
``compare``, ``occlusion``.

Images are ``(M, N, 3)`` RGB ``uint8`` arrays, coordinates are (row, column). OpenCV's BGR
arrays must be converted first (``image[..., ::-1]``).

>>> import numpy as np, fleck
>>> result = fleck.skin_map(np.full((64, 64, 3), (176, 112, 80), np.uint8))
>>> bool(result.passes)
True
"""

from __future__ import annotations

import importlib
from typing import Any

from fleck.config import FLECK_1996, KAPUR, FleckConfig, SkinConfig, get_config
from fleck.errors import ImageError

__version__ = "0.1.0"

# Public names resolved on first use, so ``import fleck`` stays cheap in worker processes.
_LAZY = {
    "load_image": "fleck.loading",
    "load": "fleck.loading",
    "skin_map": "fleck.skin",
    "skin_filter": "fleck.skin",
    "SkinMap": "fleck.skin",
    "detect": "fleck.detector",
    "Detector": "fleck.detector",
    "Detection": "fleck.detector",
    "draw": "fleck.overlay",
    "occlusion_map": "fleck.occlusion",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'fleck' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = ["FLECK_1996", "KAPUR", "FleckConfig", "SkinConfig", "ImageError", "get_config",
           *_LAZY]
