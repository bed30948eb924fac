"""``detect()``: load -> skin filter -> segments -> grouper -> decision, with timings.

This module only orchestrates; each stage is a pure function in its own module. Coordinates in a
:class:`Detection` are in the input image's pixel frame (row, col), whatever working resolution
the stages ran at.

>>> import numpy as np, fleck
>>> result = fleck.detect(np.full((240, 320, 3), (60, 90, 160), np.uint8))
>>> result.decision, result.score < result.threshold, result.rule
(False, True, None)
>>> result.reason
'skin covers 0.0 % of the image (< 30 %)'
"""

from __future__ import annotations

import base64
import time
import zlib
from dataclasses import dataclass, field

import numpy as np

from fleck._version import __version__
from fleck.config import FleckConfig, get_config
from fleck.decision import decide
from fleck.grouper import GROUP_KINDS, Group, Grouping, Limb, group
from fleck.loading import load
from fleck.segments import Segment, find_segments
from fleck.skin import resize_mask, skin_filter
from fleck.verdict import cut, verdict_label

__all__ = ["SCHEMA_VERSION", "Detection", "Detector", "detect"]

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class Detection:
    """Everything ``detect`` found, in the input image's pixel frame.

    ``decision == (score >= threshold)``; ``label`` adds the review band below the threshold
    (``safe`` / ``review`` / ``unsafe``, see :mod:`fleck.verdict`). ``rule`` is the group type
    that fired (None when none did) and ``reason`` says why in one line. ``regions()`` says
    where the evidence lies. ``mask`` is the final skin map at the working resolution
    (``mask_at`` resizes it). ``times_ms`` maps stage -> milliseconds.
    """

    decision: bool
    score: float
    threshold: float
    rule: str | None
    reason: str
    skin_fraction: float
    passes_skin: bool
    segments: tuple[Segment, ...]
    limbs: tuple[Limb, ...]
    groups: tuple[Group, ...]
    image_size: tuple[int, int]
    mask: np.ndarray = field(repr=False, compare=False)
    deciding_group: int | None = None
    bailed_out: str | None = None
    truncated: bool = False
    config: str = "fleck1996"
    times_ms: dict[str, float] = field(default_factory=dict, compare=False)
    review_threshold: float | None = None

    @property
    def label(self) -> str:
        """``'unsafe'`` (``decision``), ``'review'`` (review threshold <= score < threshold) or
        ``'safe'``."""
        return verdict_label(self.score, self.threshold, self.review_threshold)

    def regions(self, config: FleckConfig | str | None = None) -> list[dict]:
        """Groups, limbs, segments and the skin map as regions in the input image's frame, the
        deciding group first (:func:`fleck.regions.regions`)."""
        from fleck.regions import regions

        return regions(self, config=config)

    def mask_at(self, shape: tuple[int, int] | None = None) -> np.ndarray:
        """The skin map resized (nearest) to ``shape``, by default the input image's size."""
        return resize_mask(self.mask, shape or self.image_size)

    def group_counts(self) -> dict[str, int]:
        counts = {"segments": len(self.segments), "limbs": len(self.limbs)}
        for kind in GROUP_KINDS:
            counts[kind] = sum(g.kind == kind for g in self.groups)
        return counts

    def summary(self) -> dict:
        """The compact record ``fleck scan`` writes per image."""
        return {
            # The score is kept exact: rounded, 0.4999999 would read back as 0.5 with decision
            # False, breaking decision == (score >= threshold).
            "decision": self.decision, "score": self.score,
            "threshold": self.threshold, "label": self.label,
            "review_threshold": self.review_threshold,
            "skin_fraction": round(self.skin_fraction, 6),
            "passes_skin": self.passes_skin, "rule": self.rule, "reason": self.reason,
            "groups": self.group_counts(),
            "times_ms": {k: round(v, 3) for k, v in self.times_ms.items()},
            "width": self.image_size[1], "height": self.image_size[0],
            # Provenance: fleck.get_config(config) rebuilds the configuration that decided.
            "config": self.config, "fleck_version": __version__,
            "regions": self.regions(),
        }

    def to_dict(self) -> dict:
        """Lossless JSON-able form (the skin map is zlib-compressed bits in base64).

        Unlike :meth:`summary`, nothing is rounded: ``Detection.from_dict(d.to_dict())`` equals
        ``d`` and draws a pixel-identical overlay.
        """
        packed = zlib.compress(np.packbits(self.mask).tobytes(), 6)
        return {
            "schema": SCHEMA_VERSION, **self.summary(),
            "skin_fraction": float(self.skin_fraction),
            "times_ms": {k: float(v) for k, v in self.times_ms.items()}, "config": self.config,
            "deciding_group": self.deciding_group, "bailed_out": self.bailed_out,
            "truncated": self.truncated,
            "segments": [s.to_dict() for s in self.segments],
            "limbs": [limb.to_dict() for limb in self.limbs],
            "group_list": [g.to_dict() for g in self.groups],
            "mask": {"shape": list(self.mask.shape),
                     "bits": base64.b64encode(packed).decode("ascii")},
        }

    @classmethod
    def from_dict(cls, data: dict) -> Detection:
        shape = tuple(data["mask"]["shape"])
        bits = np.frombuffer(zlib.decompress(base64.b64decode(data["mask"]["bits"])), np.uint8)
        mask = np.unpackbits(bits)[: shape[0] * shape[1]].reshape(shape).astype(bool)
        return cls(
            decision=bool(data["decision"]), score=float(data["score"]),
            threshold=float(data["threshold"]), rule=data["rule"], reason=data["reason"],
            skin_fraction=float(data["skin_fraction"]), passes_skin=bool(data["passes_skin"]),
            segments=tuple(Segment.from_dict(s) for s in data["segments"]),
            limbs=tuple(Limb.from_dict(limb) for limb in data["limbs"]),
            groups=tuple(Group.from_dict(g) for g in data["group_list"]),
            image_size=(int(data["height"]), int(data["width"])), mask=mask,
            deciding_group=data.get("deciding_group"), bailed_out=data.get("bailed_out"),
            truncated=bool(data.get("truncated", False)), config=data.get("config", ""),
            times_ms=dict(data.get("times_ms", {})),
            review_threshold=data.get("review_threshold"))


class Detector:
    """A reusable detector: resolves the configuration once, then ``detect`` / ``score``.

    >>> detector = Detector("kapur")
    >>> detector.config.skin.name
    'kapur'
    """

    def __init__(self, config: FleckConfig | str | None = None) -> None:
        self.config = get_config(config)

    def detect(self, image, *, name: str | None = None) -> Detection:
        """Run the whole pipeline on ``image`` (anything ``fleck.loading.load`` accepts).

        Raises
        ------
        fleck.ImageError
            If the image cannot be read or is refused (too large, too small, corrupt...).
        """
        config = self.config
        times: dict[str, float] = {}
        start = clock = time.perf_counter()

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            times[stage] = (now - clock) * 1e3
            clock = now

        # Every source is decoded at full size and shrunk by the same resize, so a path, its
        # bytes, a PIL image and the decoded array give the same answer. (Decoding JPEGs at
        # 1/2-1/8 size through libjpeg's DCT scaling is faster but gives slightly different
        # pixels than the resize, which flipped decisions between routes.)
        loaded = load(image, max_pixels=config.max_pixels, min_size=config.min_size, name=name)
        lap("load")
        skin = skin_filter(loaded.rgb, config, input_shape=loaded.original_size)
        lap("skin")
        segments: tuple[Segment, ...] = ()
        grouping = Grouping((), ())
        bailed_out = None
        if skin.passes:
            found = find_segments(skin.mask, skin.scale, config.geometry)
            segments, bailed_out = found.segments, found.bailed_out
            lap("segments")
            if bailed_out is None:
                grouping = group(segments, skin.mask, config.geometry)
                bailed_out = grouping.bailed_out
            lap("grouper")
        verdict = decide(skin.fraction, skin.passes, n_limbs=len(grouping.limbs),
                         groups=grouping.groups, bailed_out=bailed_out,
                         geometry=config.geometry, skin=config.skin)
        final = cut(verdict.score, verdict.decision, verdict.threshold, verdict.reason,
                    config.verdict)
        lap("decision")
        factor = (loaded.original_size[0] + loaded.original_size[1]) / float(sum(skin.mask.shape))
        times["total"] = (time.perf_counter() - start) * 1e3
        return Detection(
            decision=final.decision, score=verdict.score, threshold=final.threshold,
            rule=verdict.rule, reason=final.reason, skin_fraction=skin.fraction,
            passes_skin=skin.passes,
            segments=tuple(s.scaled(factor) for s in segments),
            limbs=tuple(limb.scaled(factor) for limb in grouping.limbs),
            groups=tuple(g.scaled(factor) for g in grouping.groups),
            image_size=tuple(loaded.original_size), mask=skin.mask,
            deciding_group=verdict.group, bailed_out=bailed_out, truncated=grouping.truncated,
            config=config.name, times_ms=times, review_threshold=final.review_threshold)

    def score(self, image) -> float:
        """The continuous score in [0, 1] (``detect(image).score``)."""
        return self.detect(image).score


def detect(image, config: FleckConfig | str | None = None) -> Detection:
    """Detect a human body plan in ``image`` with ``config`` (default: the 1996 configuration).

    ``image`` is a path, bytes, binary file object, PIL image or (M, N, 3) RGB uint8 array.
    """
    return Detector(config).detect(image)
