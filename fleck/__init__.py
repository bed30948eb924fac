"""fleck: the Fleck-Forsyth-Bregler (1996) "Finding Naked People" detector as a fast baseline.

Pipeline (one module per stage): ``loading`` -> ``skin`` -> ``segments`` -> ``grouper`` ->
``decision``; ``detector`` orchestrates, ``overlay`` explains, ``regions`` locates,
``verdict`` labels. Edges: ``cli``, ``scan``, ``compare``, ``occlusion``, ``censoring``,
``video`` (videos and animated images), ``saliency`` (``explain``: where the CNN peers and
fleck look).

Images are ``(M, N, 3)`` RGB ``uint8`` arrays, coordinates are (row, column). OpenCV's BGR
arrays must be converted first (``image[..., ::-1]``).

The names below are resolved on first use (``lazy_loader``, declared in ``__init__.pyi``), so
``import fleck`` stays cheap in worker processes; ``dir(fleck)`` lists them all.

>>> import numpy as np, fleck
>>> result = fleck.skin_map(np.full((64, 64, 3), (176, 112, 80), np.uint8))
>>> bool(result.passes)
True
"""

import lazy_loader as _lazy

from fleck._version import __version__ as __version__

__getattr__, __dir__, __all__ = _lazy.attach_stub(__name__, __file__)
