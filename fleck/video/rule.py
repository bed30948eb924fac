"""How frames are sampled and how a file's verdict follows from its frames: :class:`VideoSettings`.

Sampling (one of three modes):

* ``fps`` (default 1): sample times ``0, 1/F, 2/F, ...`` seconds from the start of the stream;
  the frame sampled for time ``t`` is the first frame shown at or after ``t``, and a frame is
  sampled at most once (a 0.5 fps file sampled at 1 fps gives every frame).
* ``every_frame``: every frame.
* ``keyframes``: only the frames the container marks as keyframes (no other frame is decoded),
  at most ``fps`` per second.

At most ``max_frames`` frames (default 300) are sampled per file: a longer file is cut off there
(its record says ``"truncated": true``).

The file's verdict (:func:`file_verdict`): with ``K = min_frames`` (default 2), lowered to the
number of frames sampled when fewer were (a one-frame animation is judged like an image),

* default: the file is flagged when at least ``K`` sampled frames are flagged; its score is the
  ``K``-th highest frame score, so ``decision == (score >= threshold)`` as for images;
* ``consecutive``: flagged when ``K`` *consecutive* sampled frames are flagged; its score is the
  highest, over runs of ``K`` consecutive frames, of the lowest score in the run.

``stop_early`` stops reading a file as soon as its verdict is flagged. The file's ``label`` is
the images' three-way verdict (:func:`fleck.verdict.verdict_label`) applied to its score.

>>> s = VideoSettings(fps=2)
>>> s.mode, s.interval_s
('fps', 0.5)
>>> file_verdict([0.9, 0.2, 0.7], 0.5, s)
(True, 0.7)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

__all__ = ["VideoSettings", "DEFAULT_SETTINGS", "file_verdict", "FRAME_AGGREGATES",
           "aggregate_scores"]

#: How per-frame scores become a file's score: ``max`` (the highest), ``k-of-n`` (the K-th
#: highest, so a file passes a threshold when at least K frames do: fleck's own rule).
FRAME_AGGREGATES = ("max", "k-of-n")



@dataclass(frozen=True)
class VideoSettings:
    """Sampling and the per-file rule; see the module docstring.

    Parameters
    ----------
    fps : float
        Frames sampled per second of video (default 1); a cap in ``keyframes`` mode.
    every_frame : bool
        Sample every frame (``fps`` is ignored).
    max_frames : int
        At most this many frames are sampled per file.
    keyframes : bool
        Decode and sample keyframes only.
    min_frames : int
        ``K`` of the file rule.
    consecutive : bool
        The ``K`` flagged frames must be consecutive samples.
    stop_early : bool
        Stop reading a file once its verdict is flagged.

    Examples
    --------
    >>> VideoSettings(every_frame=True).mode
    'every_frame'
    >>> VideoSettings(fps=0)
    Traceback (most recent call last):
    ...
    ValueError: --fps must be a positive number of frames per second, got 0
    """

    fps: float = 1.0
    every_frame: bool = False
    max_frames: int = 300
    keyframes: bool = False
    min_frames: int = 2
    consecutive: bool = False
    stop_early: bool = False

    def __post_init__(self) -> None:
        if not (isinstance(self.fps, (int, float)) and self.fps > 0 and self.fps < float("inf")):
            raise ValueError(f"--fps must be a positive number of frames per second, "
                             f"got {self.fps}")
        if self.every_frame and self.keyframes:
            raise ValueError("--every-frame and --keyframes cannot be combined")
        for name in ("max_frames", "min_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be a positive whole number, "
                                 f"got {value!r}")

    @property
    def mode(self) -> str:
        """``"every_frame"``, ``"keyframes"`` or ``"fps"``."""
        if self.every_frame:
            return "every_frame"
        return "keyframes" if self.keyframes else "fps"

    @property
    def interval_s(self) -> float | None:
        """Seconds between sample times (None with ``every_frame``)."""
        return None if self.every_frame else 1.0 / self.fps

    def to_dict(self) -> dict:
        """The settings as a JSON-able dict (with ``mode``), as records carry them.

        >>> VideoSettings().to_dict()["mode"]
        'fps'
        """
        return {"mode": self.mode, **asdict(self)}


DEFAULT_SETTINGS = VideoSettings()


def file_verdict(scores: Sequence[float], threshold: float,
                 settings: VideoSettings = DEFAULT_SETTINGS) -> tuple[bool, float]:
    """``(decision, score)`` of a file from its sampled frames' scores, in sampling order.

    ``decision == (score >= threshold)``. No frames give ``(False, 0.0)``.

    Parameters
    ----------
    scores : sequence of float
        The frames' scores in [0, 1].
    threshold : float
        The frames' decision threshold (a frame is flagged when its score reaches it).
    settings : VideoSettings
        ``min_frames`` and ``consecutive`` are used.

    Returns
    -------
    (bool, float)

    Examples
    --------
    >>> file_verdict([0.9, 0.2, 0.7], 0.5, VideoSettings(consecutive=True))
    (False, 0.2)
    >>> file_verdict([0.9], 0.5)
    (True, 0.9)
    """
    n = len(scores)
    if n == 0:
        return False, 0.0
    if settings.consecutive:
        k = min(settings.min_frames, n)
        score = max(min(scores[i:i + k]) for i in range(n - k + 1))
    else:
        score = aggregate_scores(scores, "k-of-n", settings.min_frames)
    return bool(score >= threshold), float(score)


def aggregate_scores(scores: Sequence[float], how: str = "max", k: int = 2) -> float:
    """One score for a file from its frames' scores (:data:`FRAME_AGGREGATES`).

    ``k-of-n`` is the ``k``-th highest score (``k`` lowered to the number of frames), so the
    file scores at least ``t`` exactly when ``k`` of its frames do.

    Parameters
    ----------
    scores : sequence of float
        At least one score.
    how : {"max", "k-of-n"}
    k : int

    Returns
    -------
    float

    Examples
    --------
    >>> aggregate_scores([0.2, 0.9, 0.6]), aggregate_scores([0.2, 0.9, 0.6], "k-of-n", 2)
    (0.9, 0.6)
    """
    if not len(scores):
        raise ValueError("no frame scores to aggregate")
    if how == "max":
        return float(max(scores))
    if how == "k-of-n":
        return float(sorted(scores, reverse=True)[min(int(k), len(scores)) - 1])
    raise ValueError(f"unknown frame aggregate {how!r}; expected one of {FRAME_AGGREGATES}")
