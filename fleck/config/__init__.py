"""Every threshold of the detector, in frozen dataclasses, each with its provenance.

Provenance strings cite a step of the method of Fleck, Forsyth & Bregler 1996 as the
documentation's method pages number it (``spec 1.7``: step 1.7 of the skin filter; ``G5``: rule 5
of the grouping) with its confidence tag ([H] high, [M] medium, [L] low), or ``PROPOSAL`` where
the papers are silent and we chose. ``describe(config)`` lists them.

Spatial constants are multiples of SCALE = (H + W) / 320 (spec 1.3) at the working resolution.

Examples
--------
>>> from fleck.config import FLECK_1996, KAPUR
>>> FLECK_1996.skin.texture_max
5.0
>>> KAPUR.skin.intensity
'mean'
>>> provenance(FLECK_1996.skin, "texture_max")
'spec 1.7 [H]: stage-1 texture amplitude no larger than 5'
"""

from fleck.config.fields import (
    Box,
    FleckConfig,
    GeometryConfig,
    SkinConfig,
    VerdictConfig,
    describe,
    param,
    provenance,
)
from fleck.config.named import (
    CONFIGS,
    FITTED,
    FITTED_SKIN,
    FITTED_STRICT,
    FITTED_STRICT_SKIN,
    FLECK_1996,
    FLECK_PLUS,
    FLECK_PLUS_GEOMETRY,
    FLECK_PLUS_SKIN,
    KAPUR,
    KAPUR_SKIN,
    get_config,
    with_working_size,
)

__all__ = ["Box", "param", "provenance", "SkinConfig", "GeometryConfig", "VerdictConfig",
           "KAPUR_SKIN", "FleckConfig", "FITTED_SKIN", "FITTED_STRICT_SKIN", "FLECK_PLUS_SKIN",
           "FLECK_PLUS_GEOMETRY", "FLECK_1996",
           "KAPUR", "FITTED", "FITTED_STRICT", "FLECK_PLUS", "CONFIGS", "get_config",
           "with_working_size", "describe"]
