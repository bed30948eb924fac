"""What the frame readers of :mod:`fleck.video.decode` share: :class:`Frame`, :class:`MediaInfo`,
:class:`MediaReader`, the sampling clock and the engineering bounds (:data:`DECODE`).

>>> DECODE.max_corrupt_packets
200
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from fleck.errors import ImageError
from fleck.video.rule import VideoSettings
from fleck.video.sniff import MediaKind

__all__ = ["Frame", "MediaInfo", "MediaReader", "VideoUnavailableError", "DECODE",
           "DecodeConstants"]

_EPS = 1e-9


@dataclass(frozen=True)
class DecodeConstants:
    """Engineering bounds of the decoders (not detector thresholds).

    Examples
    --------
    >>> DecodeConstants(max_corrupt_packets=10).max_corrupt_packets
    10
    """

    max_corrupt_packets: int = 200
    """A file is given up (with what was sampled so far) after this many packets failed to
    decode: a damaged stretch is skipped, a file of garbage does not spin for an hour."""
    keyframe_probe_packets: int = 600
    """In ``keyframes`` mode, a container that marks no keyframe among this many packets is
    sampled in ``fps`` mode instead (its record says so)."""
    gif_min_delay_ms: int = 20
    """GIF frame delays below this count as :attr:`gif_default_delay_ms`, as in browsers."""
    gif_default_delay_ms: int = 100
    """What such a GIF frame lasts."""


DECODE = DecodeConstants()


class VideoUnavailableError(ImageError):
    """A video was given but PyAV (``pip install 'fleck[video]'``) is not installed.

    Examples
    --------
    >>> str(VideoUnavailableError("a.mp4", "needs PyAV"))
    'a.mp4: needs PyAV'
    """


@dataclass(frozen=True)
class Frame:
    """One sampled frame.

    Attributes
    ----------
    frame : int
        Position of the frame in the file, in presentation order, from 0.
    time_s : float
        When it is shown, in seconds from the start of the stream (6 decimals).
    rgb : (M, N, 3) uint8 ndarray
        Its pixels at the working size (never larger than the frame).
    original_size : (int, int)
        ``(height, width)`` of the frame as shown (upright).
    keyframe : bool

    Examples
    --------
    >>> import numpy as np
    >>> Frame(30, 1.0, np.zeros((137, 183, 3), np.uint8), (480, 640)).time_s
    1.0
    """

    frame: int
    time_s: float
    rgb: np.ndarray = field(repr=False)
    original_size: tuple[int, int]
    keyframe: bool = False


@dataclass
class MediaInfo:
    """What the container says about a file, and what reading it found.

    Examples
    --------
    >>> MediaInfo("video", 640, 480, duration_s=30.0).truncated
    False
    """

    kind: MediaKind
    width: int
    height: int
    duration_s: float | None = None
    fps: float | None = None
    codec: str | None = None
    truncated: bool = False
    """Sampling stopped at ``max_frames`` before the end of the file."""
    corrupt_packets: int = 0
    warnings: list[str] = field(default_factory=list)


class _Sampler:
    """Decides which presentation times are sampled (see :mod:`fleck.video.rule`)."""

    def __init__(self, settings: VideoSettings) -> None:
        self.every = settings.every_frame
        self.fps = settings.fps
        self.next_time = 0.0
        self.taken = 0
        self.limit = settings.max_frames

    @property
    def full(self) -> bool:
        return self.taken >= self.limit

    def take(self, time_s: float) -> bool:
        if self.every:
            self.taken += 1
            return True
        if time_s + _EPS < self.next_time:
            return False
        self.next_time = (math.floor(time_s * self.fps + _EPS) + 1) / self.fps
        self.taken += 1
        return True


class MediaReader:
    """Iterates the sampled frames of one file; use :func:`read_frames` to make one.

    Examples
    --------
    >>> reader = MediaReader(iter([]), MediaInfo("animation", 16, 16), lambda: None)
    >>> with reader:
    ...     list(reader)
    []
    """

    def __init__(self, frames: Iterator[Frame], info: MediaInfo, close) -> None:
        self._frames = frames
        self.info = info
        self._close = close

    def __iter__(self) -> Iterator[Frame]:
        return self._frames

    def close(self) -> None:
        """Release the decoder and the file."""
        close_frames = getattr(self._frames, "close", None)
        if close_frames is not None:
            close_frames()
        self._close()

    def __enter__(self) -> MediaReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _check_frame_size(label: str, height: int, width: int, max_pixels, min_size) -> None:
    """The image loader's size limits, said of frames ("frames too large: ...")."""
    from fleck.loading.base import _check_size

    try:
        _check_size(label, height, width, max_pixels, min_size)
    except ImageError as err:
        raise ImageError(label, f"frames {err.reason}") from None


def _describe(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return str(text).splitlines()[0][:200]
