"""Videos and animated images: sampled frames, exact timestamps, one verdict per file.

>>> import numpy as np, tempfile, os
>>> from PIL import Image
>>> path = os.path.join(tempfile.mkdtemp(), "a.gif")
>>> frames = [Image.fromarray(np.full((40, 60, 3), v, np.uint8)) for v in (0, 255)]
>>> frames[0].save(path, save_all=True, append_images=frames[1:], duration=500, loop=0)
>>> result = detect_media(path, settings=VideoSettings(every_frame=True))
>>> [(f.frame, f.time_s, f.decision) for f in result.frames], result.decision
([(0, 0.0, False), (1, 0.5, False)], False)

Videos are decoded by PyAV (``pip install 'fleck[video]'``); animated GIF, APNG and WebP by
Pillow (no extra needed). Modules: :mod:`~fleck.video.sniff` (which files are videos or
animations, by content), :mod:`~fleck.video.rule` (sampling settings and the per-file rule),
:mod:`~fleck.video.decode` (the frame readers: :mod:`~fleck.video.frames` what they share,
``_pyav`` videos, ``_animation`` animated images), :mod:`~fleck.video.media` (detection and
records).
"""

from __future__ import annotations

from fleck.video.decode import (
    DECODE,
    Frame,
    MediaInfo,
    MediaReader,
    VideoUnavailableError,
    read_frames,
    video_decoder_available,
)
from fleck.video.media import FrameResult, MediaDetection, detect_media, is_frame_record
from fleck.video.rule import (
    DEFAULT_SETTINGS,
    FRAME_AGGREGATES,
    VideoSettings,
    aggregate_scores,
    file_verdict,
)
from fleck.video.sniff import (
    VIDEO_EXTENSIONS,
    MediaKind,
    has_video_signature,
    media_kind,
    sniff_video,
)

__all__ = ["detect_media", "MediaDetection", "FrameResult", "is_frame_record", "read_frames",
           "MediaReader", "Frame", "MediaInfo", "VideoUnavailableError",
           "video_decoder_available", "DECODE", "VideoSettings", "DEFAULT_SETTINGS",
           "file_verdict", "aggregate_scores", "FRAME_AGGREGATES",
           "media_kind", "MediaKind",
           "has_video_signature", "sniff_video", "VIDEO_EXTENSIONS"]
