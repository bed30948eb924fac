"""Censoring: blur, pixelate or cover the regions a detection found, and write censored copies.

``censor(image, detection)`` returns the image with the chosen regions obscured:

* ``what``: ``"groups"`` (default) covers the ribbons of every group that fires the body-plan
  rule by itself (the deciding group and any other as strong), ``"limbs"`` those and both
  ribbons of every limb, ``"skin"`` the whole skin map (:func:`fleck.regions.cover_mask`).
  When an image is flagged (``decision``) but that choice covers nothing (a calibrated threshold
  can flag an image in which no group fires), the next wider choice is used: groups, then
  limbs, then skin, so that a flagged image is never returned untouched.
* ``mode``: ``"blur"`` (Gaussian), ``"pixelate"`` (mosaic), ``"fill"`` (the covered pixels in a
  solid colour) or ``"box"`` (the bounding box of each covered area in a solid colour).
* ``margin``: pixels added around the covered area; by default 1 % of the image's mean side.

Strength scales with the image: the blur's standard deviation is 1/20 of the mean side
((height + width) / 2) and mosaic cells are 1/24 of it, so a 640 x 480 image is blurred with
sigma 28 px and pixelated in 23 px cells, and a thumbnail of the result shows the same.

:func:`censor_file` writes a censored copy of an image file: same size, same format, shown the
same way (the pixels are written in the displayed orientation, EXIF orientation applied, and
the EXIF block is dropped because it may hold an uncensored thumbnail; the ICC colour profile
and resolution are kept; JPEGs reuse their quantisation tables, PNGs are compressed fast (zlib
level 1); an alpha channel is kept, made opaque where the image was censored). An image in
which nothing is to be covered is copied unchanged. It never writes over its input.

>>> import numpy as np, fleck
>>> image = np.full((60, 80, 3), (176, 112, 80), np.uint8)     # all skin, no body plan
>>> out = censor(image, what="skin", mode="fill")
>>> out.shape, bool((out == 0).all())
((60, 80, 3), True)
"""

from fleck.censoring.files import Censored, censor_bytes, censor_file
from fleck.censoring.pixels import (
    CENSOR,
    COVER_WHAT,
    MODES,
    CensorStyle,
    censor,
    cover,
    default_margin,
    obscure,
)

__all__ = ["censor", "obscure", "cover", "censor_file", "censor_bytes", "default_margin",
           "CensorStyle", "CENSOR", "MODES", "COVER_WHAT", "Censored"]
