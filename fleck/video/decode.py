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

import os
import stat

from fleck.errors import ImageError
from fleck.video._animation import open_animation
from fleck.video._pyav import open_video, video_decoder_available
from fleck.video.frames import DECODE, Frame, MediaInfo, MediaReader, VideoUnavailableError
from fleck.video.rule import DEFAULT_SETTINGS, VideoSettings
from fleck.video.sniff import MediaKind, media_kind

__all__ = ["Frame", "MediaInfo", "MediaReader", "read_frames", "VideoUnavailableError",
           "video_decoder_available", "DECODE"]


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
        return open_video(os.fspath(path), label, settings, working_size, max_pixels, min_size)
    return open_animation(os.fspath(path), label, settings, working_size, max_pixels,
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
