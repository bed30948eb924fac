"""Video files through PyAV (FFmpeg), for :func:`fleck.video.decode.read_frames`.

PyAV is imported lazily: without ``fleck[video]`` a video gives a one-line
:class:`~fleck.video.frames.VideoUnavailableError` naming the extra.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator
from fractions import Fraction

import numpy as np

from fleck.errors import ImageError
from fleck.video.frames import (
    _EPS,
    DECODE,
    Frame,
    MediaInfo,
    MediaReader,
    VideoUnavailableError,
    _check_frame_size,
    _describe,
    _Sampler,
)
from fleck.video.rule import VideoSettings

__all__ = ["open_video", "video_decoder_available"]


def video_decoder_available() -> bool:
    """True when PyAV can be imported (``fleck[video]`` is installed).

    Returns
    -------
    bool

    Examples
    --------
    >>> isinstance(video_decoder_available(), bool)
    True
    """
    try:
        import av  # noqa: F401
    except ImportError:
        return False
    return True


def _import_av(label: str):
    try:
        import av
    except ImportError:
        raise VideoUnavailableError(label, "a video: decoding videos needs PyAV (pip install "
                                           "'fleck[video]')") from None
    return av


_KNOWN_COLORSPACES = (1, 4, 5, 6, 7, 9)  # BT.709, FCC, BT.601 (x2), SMPTE 240M, BT.2020


def open_video(path: str, label: str, settings: VideoSettings, working_size, max_pixels,
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
