"""Animated GIF, APNG and WebP through Pillow, for :func:`fleck.video.decode.read_frames`."""

from __future__ import annotations

from collections.abc import Iterator

from fleck.errors import ImageError
from fleck.video.frames import (
    DECODE,
    Frame,
    MediaInfo,
    MediaReader,
    _check_frame_size,
    _describe,
    _Sampler,
)
from fleck.video.rule import VideoSettings

__all__ = ["open_animation"]


def open_animation(path: str, label: str, settings: VideoSettings, working_size, max_pixels,
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
