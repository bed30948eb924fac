"""One verdict per video or animated image: :func:`detect_media` and the records it gives.

Each sampled frame is run through the detector (:class:`fleck.Detector`) at the working size,
with coordinates in the frame's own pixel frame; the file's decision, score and label follow
from the frames by the documented rule (:func:`fleck.video.rule.file_verdict`).

Records (what ``fleck scan`` writes, and ``fleck detect --json`` prints), per sampled frame::

    {"path", "frame", "time_s", "status": "ok", **Detection.summary()}

and then, last, one per file::

    {"path", "status": "ok", "kind": "video" | "animation", "frames", "flagged_frames",
     "decision", "score", "threshold", "label", "review_threshold", "first_flagged_s",
     "duration_s", "reason",
     "truncated", "stopped_early", "width", "height", "fps", "codec", "sampling", "warnings",
     "config", "fleck_version"}

``frames`` counts the sampled frames; ``first_flagged_s`` is the time of the first flagged
sampled frame (None when none is); ``duration_s`` the file's duration (None when unknown).

>>> import numpy as np, tempfile, os
>>> from PIL import Image
>>> path = os.path.join(tempfile.mkdtemp(), "a.gif")
>>> frames = [Image.fromarray(np.full((40, 60, 3), v, np.uint8)) for v in (0, 80, 160)]
>>> frames[0].save(path, save_all=True, append_images=frames[1:], duration=1000, loop=0)
>>> result = detect_media(path)
>>> result.kind, len(result.frames), result.decision, result.label, result.duration_s
('animation', 3, False, 'safe', 3.0)
>>> [r.get("frame", "file") for r in result.records()]
[0, 1, 2, 'file']
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from fleck._version import __version__
from fleck.config import FleckConfig
from fleck.detector import Detector
from fleck.loading import LoadedImage
from fleck.verdict import verdict_label
from fleck.video.decode import MediaInfo, read_frames
from fleck.video.rule import DEFAULT_SETTINGS, VideoSettings, file_verdict
from fleck.video.sniff import MediaKind

__all__ = ["FrameResult", "MediaDetection", "detect_media", "is_frame_record"]


@dataclass(frozen=True)
class FrameResult:
    """One sampled frame's result: its position, time and the detection's summary record.

    ``detection`` holds the whole :class:`fleck.Detection` when ``detect_media(...,
    keep_detections=True)``, else None.

    Examples
    --------
    >>> FrameResult(30, 1.0, {"decision": True, "score": 0.8}).decision
    True
    """

    frame: int
    time_s: float
    summary: dict = field(repr=False)
    detection: object | None = field(default=None, repr=False)

    @property
    def decision(self) -> bool:
        return bool(self.summary["decision"])

    @property
    def score(self) -> float:
        return float(self.summary["score"])


@dataclass(frozen=True)
class MediaDetection:
    """The verdict on a video or animated image, with its sampled frames.

    ``decision == (score >= threshold)``; ``label`` is ``safe``, ``review`` or ``unsafe``
    (:func:`fleck.verdict.verdict_label` of the score, with the frames' thresholds).
    ``first_flagged`` is the first flagged frame's (Detection, RGB at working size) when
    frames were kept or when overlays are wanted, else None. :func:`detect_media` makes them
    (its example shows one).

    Examples
    --------
    >>> from fleck.video.decode import MediaInfo
    >>> empty = MediaDetection("a.gif", "animation", (), False, 0.0, 0.5, "safe", None,
    ...                        MediaInfo("animation", 16, 16), VideoSettings())
    >>> empty.reason()
    '0 of 0 sampled frames flagged (rule: at least 0)'
    """

    path: str
    kind: MediaKind
    frames: tuple[FrameResult, ...]
    decision: bool
    score: float
    threshold: float
    label: str
    first_flagged_s: float | None
    info: MediaInfo = field(repr=False)
    settings: VideoSettings = field(repr=False)
    config: str = "fleck1996"
    stopped_early: bool = False
    review_threshold: float | None = None
    first_flagged: tuple | None = field(default=None, repr=False, compare=False)

    @property
    def flagged_frames(self) -> int:
        """How many sampled frames are flagged."""
        return sum(f.decision for f in self.frames)

    @property
    def duration_s(self) -> float | None:
        return self.info.duration_s

    def reason(self) -> str:
        """One line: how many frames were flagged, the rule, and when the first one was."""
        n, flagged = len(self.frames), self.flagged_frames
        k = min(self.settings.min_frames, n)
        rule = f"{k} consecutive" if self.settings.consecutive else f"at least {k}"
        text = f"{flagged} of {n} sampled frames flagged (rule: {rule})"
        if self.first_flagged_s is not None:
            text += f", first at {self.first_flagged_s:g} s"
        if self.stopped_early:
            text += "; stopped early"
        elif self.info.truncated:
            text += f"; stopped at --max-frames {self.settings.max_frames}"
        for warning in self.info.warnings:
            text += f"; {warning}"
        return text

    def summary(self) -> dict:
        """The per-file record without ``path`` and ``status``."""
        info = self.info
        return {
            "kind": self.kind, "frames": len(self.frames), "flagged_frames": self.flagged_frames,
            "decision": self.decision, "score": self.score, "threshold": self.threshold,
            "label": self.label, "review_threshold": self.review_threshold,
            "first_flagged_s": self.first_flagged_s, "duration_s": info.duration_s,
            "reason": self.reason(),
            "truncated": info.truncated, "stopped_early": self.stopped_early,
            "width": info.width, "height": info.height, "fps": info.fps, "codec": info.codec,
            "sampling": self.settings.to_dict(), "warnings": list(info.warnings),
            "config": self.config, "fleck_version": __version__,
        }

    def records(self) -> list[dict]:
        """Every sampled frame's record, then the file's (see the module docstring)."""
        out = [{"path": self.path, "frame": f.frame, "time_s": f.time_s, "status": "ok",
                **f.summary} for f in self.frames]
        out.append({"path": self.path, "status": "ok", **self.summary()})
        return out


def is_frame_record(record: dict) -> bool:
    """True for the per-frame records of a video or animation (they carry ``frame``).

    Parameters
    ----------
    record : dict
        A record of ``fleck scan``.

    Returns
    -------
    bool

    Examples
    --------
    >>> is_frame_record({"path": "a.mp4", "frame": 3}), is_frame_record({"path": "a.jpg"})
    (True, False)
    """
    return "frame" in record


def detect_media(path: str | os.PathLike, config: FleckConfig | str | None = None,
                 settings: VideoSettings = DEFAULT_SETTINGS, *, detector: Detector | None = None,
                 keep_detections: bool = False, keep_first_flagged: bool = False,
                 name: str | None = None, kind: MediaKind | None = None) -> MediaDetection:
    """Sample a video or animated image, detect on every sampled frame, and judge the file.

    Parameters
    ----------
    path : path
        A video (needs ``fleck[video]``) or an animated GIF/APNG/WebP.
    config : FleckConfig or name, optional
        Detector configuration (ignored when ``detector`` is given).
    settings : VideoSettings
        Sampling and the per-file rule.
    detector : fleck.Detector, optional
        Reused across files by batch callers.
    keep_detections : bool
        Keep each frame's whole :class:`fleck.Detection` (its skin map included) in
        ``FrameResult.detection``; off by default to keep memory flat on long files.
    keep_first_flagged : bool
        Keep the first flagged frame's detection and pixels (for an overlay).
    name : str, optional
        The ``path`` written in records and messages (default: ``path`` as given).
    kind : {"video", "animation"}, optional
        Skip content sniffing.

    Returns
    -------
    MediaDetection

    Raises
    ------
    ImageError
        When the file cannot be read or no frame can be decoded (one line, naming the file).

    Examples
    --------
    >>> detect_media("missing.webm")
    Traceback (most recent call last):
    ...
    fleck.errors.ImageError: missing.webm: no such file
    """
    detector = detector or Detector(config)
    cfg = detector.config
    label = name or os.fspath(path)
    reader = read_frames(path, settings, working_size=cfg.working_size,
                         max_pixels=cfg.max_pixels, min_size=cfg.min_size, name=label, kind=kind)
    results: list[FrameResult] = []
    scores: list[float] = []
    threshold = cfg.geometry.decision_threshold
    review_threshold = cfg.verdict.review_threshold
    first_flagged_s = None
    first_flagged = None
    stopped_early = False
    with reader:
        for frame in reader:
            loaded = LoadedImage(frame.rgb, frame.original_size, label)
            detection = detector.detect(loaded)
            threshold, review_threshold = detection.threshold, detection.review_threshold
            results.append(FrameResult(frame.frame, frame.time_s, _frame_summary(detection),
                                       detection if keep_detections else None))
            scores.append(detection.score)
            if detection.decision and first_flagged_s is None:
                first_flagged_s = frame.time_s
                if keep_first_flagged or keep_detections:
                    first_flagged = (detection, np.array(frame.rgb))
            if settings.stop_early and detection.decision \
                    and file_verdict(scores, threshold, settings)[0] \
                    and len(scores) >= settings.min_frames:
                stopped_early = True
                break
    info = reader.info
    if stopped_early:
        info.truncated = False
    decision, score = file_verdict(scores, threshold, settings)
    return MediaDetection(
        path=label, kind=info.kind, frames=tuple(results), decision=decision, score=score,
        threshold=threshold, label=verdict_label(score, threshold, review_threshold),
        first_flagged_s=first_flagged_s,
        info=info, settings=settings, config=cfg.name, stopped_early=stopped_early,
        review_threshold=review_threshold,
        first_flagged=first_flagged)


def _frame_summary(detection) -> dict:
    summary = detection.summary()
    # Provenance lives in the file record; a frame record stays small.
    summary.pop("fleck_version", None)
    return summary
