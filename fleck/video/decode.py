"""Sampled frames of a video (PyAV, ``fleck[video]``) or an animated image (Pillow).

:func:`read_frames` opens a file, checks its frame size before decoding anything, and yields
the sampled frames (:class:`Frame`) as RGB ``uint8`` at the detector's working size.

Videos are decoded by PyAV (FFmpeg), one thread, lazily imported: without ``fleck[video]`` a
video gives a one-line :class:`~fleck.errors.ImageError` naming the extra. Each decoded frame is
converted to RGB *and* shrunk to the working size in one swscale call (area averaging), so no
full-size RGB frame is ever made. Only what sampling needs is decoded: in ``fps`` mode the
frames nothing refers to (non-reference B-frames) are skipped unless one of them is due to be
sampled; in ``keyframes`` mode only keyframe packets reach the decoder. Timestamps come from
the stream's presentation times (``pts x time_base``, less the stream's start time), so they are
exact for constant-frame-rate files; ``frame`` is the frame's position in presentation order.
A display rotation (portrait phone videos) is applied, as players apply it.
A packet that fails to decode (a damaged stretch) is counted and skipped; a file whose
container cannot be parsed, that has no video stream, whose codec FFmpeg cannot decode, or of
which no frame decodes, is refused with a one-line reason.

Animated GIF, APNG and WebP are read by Pillow, frame by frame (composited as a viewer shows
them, transparency on white), with times from the frames' durations. As browsers do, a GIF
frame delay of 10 ms or less counts as 100 ms.

>>> import numpy as np, tempfile, os
>>> from PIL import Image
>>> path = os.path.join(tempfile.mkdtemp(), "a.gif")
>>> frames = [Image.fromarray(np.full((40, 60, 3), v, np.uint8)) for v in (0, 80, 160)]
>>> frames[0].save(path, save_all=True, append_images=frames[1:], duration=500, loop=0)
>>> with read_frames(path, VideoSettings(fps=1)) as reader:
...     [(f.frame, f.time_s, f.rgb.shape) for f in reader]
[(0, 0.0, (40, 60, 3)), (2, 1.0, (40, 60, 3))]
"""

from __future__ import annotations

import bisect
import math
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from fleck.errors import ImageError
from fleck.video.rule import DEFAULT_SETTINGS, VideoSettings
from fleck.video.sniff import MediaKind, media_kind

__all__ = ["Frame", "MediaInfo", "MediaReader", "read_frames", "VideoUnavailableError",
           "video_decoder_available", "DECODE"]

_EPS = 1e-9


@dataclass(frozen=True)
class DecodeConstants:
    """Engineering bounds of the decoders (not detector thresholds)."""

    max_corrupt_packets: int = 200
    """A file is given up (with what was sampled so far) after this many packets failed to
    decode: a damaged stretch is skipped, a file of garbage does not spin for an hour."""
    keyframe_probe_packets: int = 600
    """In ``keyframes`` mode, a container that marks no keyframe among this many packets is
    sampled in ``fps`` mode instead (its record says so)."""
    gif_min_delay_ms: int = 20
    """GIF frame delays below this count as :attr:`gif_default_delay_ms`, as in browsers."""
    gif_default_delay_ms: int = 100


DECODE = DecodeConstants()


class VideoUnavailableError(ImageError):
    """A video was given but PyAV (``pip install 'fleck[video]'``) is not installed."""


def video_decoder_available() -> bool:
    """True when PyAV can be imported (``fleck[video]`` is installed).

    >>> isinstance(video_decoder_available(), bool)
    True
    """
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


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
        ``(height, width)`` of the frame as stored.
    keyframe : bool
    """

    frame: int
    time_s: float
    rgb: np.ndarray = field(repr=False)
    original_size: tuple[int, int]
    keyframe: bool = False


@dataclass
class MediaInfo:
    """What the container says about a file, and what reading it found."""

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
    """Iterates the sampled frames of one file; use :func:`read_frames` to make one."""

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


def read_frames(path: str | os.PathLike, settings: VideoSettings = DEFAULT_SETTINGS, *,
                working_size: int | None = 320, max_pixels: int | None = 100_000_000,
                min_size: int = 16, name: str | None = None,
                kind: MediaKind | None = None) -> MediaReader:
    """Open a video or animated image and sample its frames.

    Parameters
    ----------
    path : path
        A video file (any container and codec FFmpeg reads) or an animated GIF/APNG/WebP. A
        still image is read as an animation of one frame.
    settings : VideoSettings
        Sampling (``fps``, ``every_frame``, ``keyframes``, ``max_frames``).
    working_size : int or None
        Frames are shrunk so that height + width <= ``working_size`` (None: full size).
    max_pixels : int or None
        Refuse frames with more pixels (judged before decoding).
    min_size : int
        Refuse frames whose height or width is smaller.
    name : str, optional
        What error messages call the file (default: the path).
    kind : {"video", "animation"}, optional
        Skip content sniffing when the caller already knows.

    Returns
    -------
    MediaReader
        A context manager; iterating it yields :class:`Frame`; ``reader.info`` is a
        :class:`MediaInfo`, complete once the iteration ended.

    Raises
    ------
    ImageError
        The file cannot be read, is not a video or animation, is refused by a size limit, or
        (:class:`VideoUnavailableError`) is a video and PyAV is not installed.

    Examples
    --------
    >>> read_frames("no/such/clip.mp4")
    Traceback (most recent call last):
    ...
    fleck.errors.ImageError: no/such/clip.mp4: no such file
    """
    label = name or os.fspath(path)
    _check_file(path, label)
    kind = kind or media_kind(path)
    if kind == "video":
        return _open_video(os.fspath(path), label, settings, working_size, max_pixels, min_size)
    return _open_animation(os.fspath(path), label, settings, working_size, max_pixels,
                           min_size)


def _check_file(path, label: str) -> None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise ImageError(label, "no such file") from None
    except PermissionError:
        raise ImageError(label, "permission denied") from None
    except (OSError, ValueError) as err:
        raise ImageError(label, f"cannot read file ({getattr(err, 'strerror', None) or err})") \
            from None
    if stat.S_ISDIR(info.st_mode):
        raise ImageError(label, "is a directory")
    if not stat.S_ISREG(info.st_mode):
        raise ImageError(label, "not a regular file")
    if info.st_size == 0:
        raise ImageError(label, "empty file (0 bytes)")
    if not os.access(path, os.R_OK):
        raise ImageError(label, "permission denied")


def _check_frame_size(label: str, height: int, width: int, max_pixels, min_size) -> None:
    """The image loader's size limits, said of frames ("frames too large: ...")."""
    from fleck.loading import _check_size

    try:
        _check_size(label, height, width, max_pixels, min_size)
    except ImageError as err:
        raise ImageError(label, f"frames {err.reason}") from None


def _describe(err: BaseException) -> str:
    text = getattr(err, "strerror", None) or str(err).strip() or type(err).__name__
    return str(text).splitlines()[0][:200]


# ------------------------------------------------------------------------------------ video

def _import_av(label: str):
    try:
        import av
    except ImportError:
        raise VideoUnavailableError(label, "a video: decoding videos needs PyAV (pip install "
                                           "'fleck[video]')") from None
    return av


_KNOWN_COLORSPACES = (1, 4, 5, 6, 7, 9)  # BT.709, FCC, BT.601 (x2), SMPTE 240M, BT.2020


def _open_video(path: str, label: str, settings: VideoSettings, working_size, max_pixels,
                min_size) -> MediaReader:
    av = _import_av(label)
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.FFmpegError as err:
        raise ImageError(label, f"truncated or corrupt video (the container cannot be read: "
                                f"{_describe(err)})") from None
    except (OSError, ValueError, MemoryError) as err:
        raise ImageError(label, f"cannot open video ({_describe(err)})") from None
    try:
        stream, info = _video_stream(av, container, label, max_pixels, min_size)
    except BaseException:
        container.close()
        raise
    frames = _video_frames(av, container, stream, info, label, settings, working_size,
                           max_pixels, min_size)
    return MediaReader(frames, info, container.close)


def _video_stream(av, container, label: str, max_pixels, min_size):
    if not container.streams.video:
        raise ImageError(label, "no video stream (an audio-only or data file)")
    stream = container.streams.video[0]
    context = stream.codec_context
    if context is None or context.codec is None or context.name in ("none", ""):
        raise ImageError(label, "unsupported video codec (FFmpeg has no decoder for it)")
    width, height = int(context.width or 0), int(context.height or 0)
    if width <= 0 or height <= 0:
        raise ImageError(label, f"no usable frame size in the {context.name} stream (FFmpeg "
                                "refused it: too large, truncated or corrupt)")
    _check_frame_size(label, height, width, max_pixels, min_size)
    context.thread_count = 1  # parallelism is across files (fleck scan's processes)
    duration = None
    if stream.duration is not None and stream.time_base is not None:
        duration = float(stream.duration * stream.time_base)
    elif container.duration is not None:
        duration = container.duration / av.time_base
    rate = stream.average_rate or stream.guessed_rate
    info = MediaInfo(kind="video", width=width, height=height,
                     duration_s=None if duration is None else round(duration, 6),
                     fps=None if not rate else round(float(rate), 6), codec=context.name)
    return stream, info


def _video_frames(av, container, stream, info: MediaInfo, label: str, settings: VideoSettings,
                  working_size, max_pixels, min_size) -> Iterator[Frame]:
    context = stream.codec_context
    time_base = stream.time_base or Fraction(1, 1)
    start = stream.start_time
    sampler = _Sampler(settings)
    keyframes_only = settings.keyframes
    skipping = settings.mode == "fps"
    presented: list[int] = []  # sorted pts of every packet seen: a frame's index is its rank
    outputs = 0
    packets = 0
    seen_keyframe = False
    first_error = None
    last_time = 0.0
    context.skip_frame = "DEFAULT"

    def _sample(frame):
        nonlocal outputs, last_time
        outputs += 1
        if frame.pts is not None:
            time_s = seconds(frame.pts)
            index = bisect.bisect_left(presented, frame.pts)
        else:
            rate = info.fps or 1.0
            index = outputs - 1
            time_s = index / rate
        last_time = max(last_time, time_s)
        if not sampler.take(time_s):
            return
        rgb, size = _small_rgb(frame, working_size, label, max_pixels, min_size)
        yield Frame(frame=index, time_s=round(time_s, 6), rgb=rgb, original_size=size,
                    keyframe=bool(frame.key_frame))

    def seconds(pts: int) -> float:
        nonlocal start
        if start is None:
            start = pts
        return float((pts - start) * time_base)

    def frames_of(packet) -> list:
        nonlocal first_error
        try:
            return context.decode(packet)
        except av.FFmpegError as err:
            info.corrupt_packets += 1
            first_error = first_error or _describe(err)
            if info.corrupt_packets >= DECODE.max_corrupt_packets:
                raise _GiveUp from None
            return []

    demuxed = container.demux(stream)
    try:
        while not sampler.full:
            try:
                packet = next(demuxed)
            except StopIteration:
                break
            except av.FFmpegError as err:
                info.warnings.append(f"stopped at a damaged part of the file ({_describe(err)})")
                for frame in frames_of(None):  # what the decoder still holds
                    yield from _sample(frame)
                break
            flushing = packet.size == 0
            if not flushing:
                packets += 1
                if packet.pts is not None:
                    bisect.insort(presented, packet.pts)
                if keyframes_only:
                    seen_keyframe = seen_keyframe or packet.is_keyframe
                    if not seen_keyframe and packets >= DECODE.keyframe_probe_packets:
                        keyframes_only = False
                        info.warnings.append("the container marks no keyframes: sampled at "
                                             "--fps instead")
                    elif not packet.is_keyframe or (
                            packet.pts is not None
                            and seconds(packet.pts) + _EPS < sampler.next_time):
                        continue  # keyframes are independent: an unsampled one is not decoded
                elif skipping:
                    due = packet.pts is None or seconds(packet.pts) + _EPS >= sampler.next_time
                    context.skip_frame = "DEFAULT" if due else "NONREF"
            for frame in frames_of(None if flushing else packet):
                yield from _sample(frame)
                if sampler.full:
                    break
    except _GiveUp:
        info.warnings.append(f"gave up after {info.corrupt_packets} packets failed to decode "
                             f"({first_error})")
    if sampler.full:
        next_due = sampler.next_time if not settings.every_frame else None
        info.truncated = (info.duration_s is None or next_due is None
                          or next_due < info.duration_s - _EPS)
    if sampler.taken == 0:
        if packets == 0:
            raise ImageError(label, "no video frames (the stream is empty)")
        reason = f": {first_error}" if first_error else ""
        raise ImageError(label, f"no frame could be decoded from {packets} packets "
                                f"(truncated or corrupt video{reason})")
    frame_s = 1.0 / info.fps if info.fps else 0.0
    if not sampler.full and info.duration_s and not keyframes_only \
            and last_time + 2 * frame_s + 0.5 < info.duration_s:
        info.warnings.append(f"the video ends at {last_time:g} s of the {info.duration_s:g} s "
                             "its header declares (a truncated file?)")
    if info.corrupt_packets and not any("gave up" in w for w in info.warnings):
        info.warnings.append(f"{info.corrupt_packets} damaged packets skipped ({first_error})")

class _GiveUp(Exception):
    """Too many packets failed to decode."""


def _small_rgb(frame, working_size, label: str, max_pixels,
               min_size) -> tuple[np.ndarray, tuple[int, int]]:
    """The frame as RGB at the working size, turned upright; and its upright full size."""
    from fleck.skin import working_shape

    _check_frame_size(label, frame.height, frame.width, max_pixels, min_size)
    rows, cols = working_shape((frame.height, frame.width), working_size)
    options = {}
    if frame.colorspace in _KNOWN_COLORSPACES:
        options["src_colorspace"] = frame.colorspace
    gentle = frame.height <= 2 * rows and frame.width <= 2 * cols
    rgb = frame.reformat(width=cols, height=rows, format="rgb24",
                         interpolation="BILINEAR" if gentle else "AREA", **options).to_ndarray()
    # A phone's portrait video is stored sideways with a display rotation (counter-clockwise
    # degrees): show it as players do, as EXIF orientation is applied to photos.
    turns = round((getattr(frame, "rotation", 0) or 0) / 90) % 4
    size = (frame.height, frame.width) if turns % 2 == 0 else (frame.width, frame.height)
    if turns:
        rgb = np.rot90(rgb, turns)
    return np.ascontiguousarray(rgb), size


# -------------------------------------------------------------------------------- animation

def _open_animation(path: str, label: str, settings: VideoSettings, working_size, max_pixels,
                    min_size) -> MediaReader:
    import warnings

    from PIL import Image

    from fleck.loading import load

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(path)
    except Exception:
        # The image loader gives the precise one-line reason (too large, not an image...).
        load(path, max_pixels=max_pixels, min_size=min_size, name=label)
        raise ImageError(label, "unreadable animation") from None
    if image.format not in ("GIF", "PNG", "WEBP"):
        image.close()
        raise ImageError(label, f"not a video or animated image ({image.format} image)")
    width, height = image.size
    try:
        _check_frame_size(label, height, width, max_pixels, min_size)
    except ImageError:
        image.close()
        raise
    info = MediaInfo(kind="animation", width=width, height=height, codec=image.format.lower())
    frames = _animation_frames(image, info, label, settings, working_size, max_pixels, min_size)
    return MediaReader(frames, info, image.close)


def _animation_frames(image, info: MediaInfo, label: str, settings: VideoSettings,
                      working_size, max_pixels, min_size) -> Iterator[Frame]:
    from fleck.loading import load
    from fleck.skin import to_working_size

    sampler = _Sampler(settings)
    is_gif = image.format == "GIF"
    elapsed_ms = 0
    index = 0
    while True:
        if index > 0:
            try:
                image.seek(index)
            except EOFError:
                break
            except Exception as err:
                info.warnings.append(f"stopped at frame {index}: {_describe(err)}")
                break
        if "duration" not in image.info:  # WebP tells a frame's duration once it is decoded
            try:
                image.load()
            except Exception as err:
                if index == 0:
                    raise ImageError(label, f"truncated or corrupt image data: "
                                            f"{_describe(err)}") from None
                info.warnings.append(f"stopped at frame {index}: {_describe(err)}")
                break
        duration = image.info.get("duration") or 0
        try:
            duration = int(round(float(duration)))
        except (TypeError, ValueError):
            duration = 0
        if is_gif and duration < DECODE.gif_min_delay_ms:
            duration = DECODE.gif_default_delay_ms
        if sampler.full:
            info.truncated = True
            break
        if sampler.take(elapsed_ms / 1000):  # every frame of an animation is a keyframe
            try:
                loaded = load(image, max_pixels=max_pixels, min_size=min_size, name=label)
            except ImageError as err:
                if index == 0:
                    raise
                info.warnings.append(f"stopped at frame {index}: {err.reason}")
                break
            yield Frame(frame=index, time_s=round(elapsed_ms / 1000, 6),
                        rgb=to_working_size(loaded.rgb, working_size),
                        original_size=loaded.original_size, keyframe=True)
        elapsed_ms += max(duration, 0)
        index += 1
    if not info.truncated:
        info.duration_s = round(elapsed_ms / 1000, 6)
