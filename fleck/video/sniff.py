"""Which files are videos or animations, by content (no decoder needed).

:func:`has_video_signature` reads the container signature in a file's first 64 bytes:
MP4/MOV/M4V/3GP (ISO base media ``ftyp`` with a video brand, or a QuickTime ``moov``/``mdat``/
``wide``/``free`` atom first), Matroska/WebM (EBML header), AVI (``RIFF....AVI``), MPEG-TS
(sync bytes every 188 bytes), MPEG program streams and FLV. Audio-only brands (``M4A``,
``M4B``, ``M4P``) and still-image brands (AVIF, HEIF: images for :mod:`fleck.loading`) are not
videos. :func:`media_kind` tells an image, an animated image and a video apart.

>>> has_video_signature(b"\\x1aE\\xdf\\xa3" + bytes(60))
True
>>> has_video_signature(b"\\x00\\x00\\x00\\x20ftypM4A " + bytes(52))
False
"""

from __future__ import annotations

import os
from typing import Literal

__all__ = ["VIDEO_EXTENSIONS", "ANIMATION_FORMATS", "MediaKind", "has_video_signature",
           "sniff_video", "media_kind"]

MediaKind = Literal["image", "animation", "video"]

#: File name extensions that claim to be videos: found in folders (and reported when
#: unreadable) without sniffing their content.
VIDEO_EXTENSIONS: tuple[str, ...] = (
    ".mp4", ".m4v", ".mov", ".qt", ".3gp", ".3g2", ".mkv", ".webm", ".avi", ".mts",
    ".m2ts", ".mpg", ".mpeg", ".flv")  # not ".ts": TypeScript sources share it

#: Pillow formats whose files may hold several frames with durations.
ANIMATION_FORMATS = ("GIF", "PNG", "WEBP")

_SNIFF_BYTES = 64
_AUDIO_BRANDS = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_IMAGE_BRANDS = {b"avif", b"avis", b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx",
                 b"mif1", b"msf1", b"jp2 ", b"jpx ", b"crx "}
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}


def has_video_signature(prefix: bytes) -> bool:
    """True iff ``prefix`` (a file's first bytes, 64 are enough) starts a video container.

    Parameters
    ----------
    prefix : bytes

    Returns
    -------
    bool

    Examples
    --------
    >>> has_video_signature(b"RIFF\\x00\\x00\\x00\\x00AVI LIST" + bytes(48))
    True
    >>> has_video_signature(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(56))
    False
    """
    prefix = bytes(prefix[:_SNIFF_BYTES])
    if len(prefix) < 12:
        return False
    if prefix[4:8] == b"ftyp":
        brand = prefix[8:12]
        return brand not in _AUDIO_BRANDS and brand not in _IMAGE_BRANDS
    if prefix[4:8] in _QUICKTIME_ATOMS:  # old QuickTime files without ftyp
        size = int.from_bytes(prefix[:4], "big")
        return size == 1 or size >= 8
    if prefix[:4] == b"\x1a\x45\xdf\xa3":  # EBML: Matroska, WebM
        return True
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"AVI ":
        return True
    if prefix[:4] == b"\x00\x00\x01\xba":  # MPEG program stream pack header
        return True
    if prefix[:3] == b"FLV" and len(prefix) > 4 and prefix[4] & 0x01:  # FLV with video
        return True
    return False


def _is_transport_stream(path: str | os.PathLike) -> bool:
    """MPEG-TS: sync byte 0x47 at the start of three consecutive 188-byte packets."""
    try:
        with open(path, "rb") as f:
            head = f.read(188 * 3 + 1)
    except (OSError, ValueError):
        return False
    return len(head) > 376 and head[0] == head[188] == head[376] == 0x47


def sniff_video(path: str | os.PathLike) -> bool:
    """True iff the file at ``path`` starts with a video container signature.

    Reads at most 565 bytes; unreadable paths give False.

    Parameters
    ----------
    path : path

    Returns
    -------
    bool

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".bin", delete=False) as f:
    ...     _ = f.write(b"\\x1aE\\xdf\\xa3" + bytes(60))
    >>> sniff_video(f.name)
    True
    >>> os.remove(f.name)
    """
    prefix = _prefix(path)
    return prefix is not None and _is_video(path, prefix)


def media_kind(path: str | os.PathLike) -> MediaKind:
    """``"video"``, ``"animation"`` (a GIF, PNG or WebP with several frames) or ``"image"``.

    Judged by content, not by name: a video container signature makes a video; a GIF, APNG or
    WebP whose header announces more than one frame an animation; anything else (including
    unreadable files, which the image loader then reports) an image.

    Parameters
    ----------
    path : path

    Returns
    -------
    str

    Examples
    --------
    >>> import tempfile, os, numpy as np
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> frames = [Image.fromarray(np.full((16, 16, 3), v, np.uint8)) for v in (0, 255)]
    >>> frames[0].save(f"{folder}/a.gif", save_all=True, append_images=frames[1:])
    >>> media_kind(f"{folder}/a.gif"), media_kind(f"{folder}/missing.gif")
    ('animation', 'image')
    """
    prefix = _prefix(path)
    if prefix is None:
        return "image"
    if _is_video(path, prefix):
        return "video"
    animated_format = (prefix[:6] in (b"GIF87a", b"GIF89a") or prefix[:8] == b"\x89PNG\r\n\x1a\n"
                       or (prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP"))
    if animated_format and _is_animated(path):
        return "animation"
    return "image"


def _prefix(path: str | os.PathLike) -> bytes | None:
    """The file's first bytes, or None when it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read(_SNIFF_BYTES)
    except (OSError, ValueError):
        return None


def _is_video(path: str | os.PathLike, prefix: bytes) -> bool:
    return has_video_signature(prefix) or (prefix[:1] == b"\x47" and _is_transport_stream(path))


def _is_animated(path: str | os.PathLike) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as image:
            return bool(getattr(image, "is_animated", False))
    except Exception:  # the image loader reports what is wrong with it
        return False
