"""Is a file an image? :func:`sniff_image` reads its first bytes (the scan's walker uses it).
"""

from __future__ import annotations

import os
from functools import lru_cache

from PIL import Image

from fleck.loading.base import LOADING

__all__ = ["sniff_image"]


def sniff_image(path: str | os.PathLike) -> bool:
    """True iff the file starts with the signature of an image format ``fleck`` can read.

    Reads at most 64 bytes. Recognises JPEG, PNG, GIF, WebP, BMP, TIFF, PBM/PGM/PPM, ICO/CUR and,
    when Pillow has a decoder for them, AVIF and HEIF. Formats without a signature (TGA, raw
    camera files) are not recognised. Unreadable paths give False.

    Parameters
    ----------
    path : path
        A file.

    Returns
    -------
    bool

    Examples
    --------
    >>> import tempfile, os
    >>> with tempfile.NamedTemporaryFile(suffix=".txt", delete=False) as f:
    ...     _ = f.write(b"\\x89PNG\\r\\n\\x1a\\n" + bytes(24))
    >>> sniff_image(f.name)
    True
    >>> os.remove(f.name)
    """
    try:
        with open(path, "rb") as f:
            prefix = f.read(LOADING.sniff_bytes)
    except (OSError, ValueError):
        return False
    return _has_image_signature(prefix)


def _has_image_signature(prefix: bytes) -> bool:
    if prefix[:3] == b"\xff\xd8\xff" or prefix[:8] == b"\x89PNG\r\n\x1a\n":
        return True
    if prefix[:6] in (b"GIF87a", b"GIF89a"):
        return True
    if prefix[:4] == b"RIFF" and prefix[8:12] == b"WEBP":
        return True
    if prefix[:4] in (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"):  # TIFF, BigTIFF
        return True
    if prefix[:2] == b"BM" and len(prefix) >= 18:
        # "BM" alone is too weak (text files start with it); the DIB header size is one of few.
        return int.from_bytes(prefix[14:18], "little") in (12, 16, 40, 52, 56, 64, 108, 124)
    if len(prefix) >= 3 and prefix[:1] == b"P" and prefix[1:2] in b"123456" \
            and prefix[2:3] in b" \t\r\n#":
        return True
    if len(prefix) >= 6 and prefix[:4] in (b"\x00\x00\x01\x00", b"\x00\x00\x02\x00"):
        return prefix[4:6] != b"\x00\x00"  # ICO/CUR: at least one image in the directory
    if prefix[4:8] == b"ftyp":
        brand = prefix[8:12]
        return brand in _readable_isobmff_brands()
    return False


@lru_cache(maxsize=1)
def _readable_isobmff_brands() -> frozenset[bytes]:
    brands: set[bytes] = set()
    Image.init()
    if "AVIF" in Image.OPEN:
        brands |= {b"avif", b"avis"}
    if "HEIF" in Image.OPEN:  # registered by the pillow-heif plugin when installed
        brands |= {b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1", b"msf1"}
    return frozenset(brands)
