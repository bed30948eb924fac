"""Reading and decoding encoded images: files, file objects and bytes through Pillow, JPEGs
through OpenCV (optionally at 1/2, 1/4 or 1/8 size), EXIF orientation applied by us.

The header is read first so that size limits are enforced before any pixel is decoded: for a
plain JPEG by walking its markers (size, EXIF orientation), for everything else by Pillow (which
opens lazily). Any JPEG OpenCV cannot or should not handle (CMYK, no end-of-image marker, decode
failure) goes through Pillow.
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from fleck.errors import ImageError
from fleck.loading.base import LOADING, LoadedImage, _check_size
from fleck.loading.convert import _pil_pixels_to_rgb

__all__ = ["reduction_factor"]

_EXIF_ORIENTATION = 0x0112
_JPEG_FORMATS = ("JPEG", "MPO")  # MPO: camera multi-picture files; the first picture is a JPEG
_CV2_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}
# Raster formats Pillow decodes by itself. Left out on purpose: EPS (would run Ghostscript on
# untrusted input), WMF/EMF (Windows only), scientific stubs (FITS, HDF5, GRIB, BUFR) and
# metadata containers. Most common first: Pillow tries them in this order.
_ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "PPM", "AVIF", "HEIF", "ICO",
                    "CUR", "DIB", "JPEG2000", "QOI", "PSD", "TGA", "PCX", "SGI", "ICNS")


def reduction_factor(height: int, width: int, reduce_to: int | None) -> int:
    """The largest DCT scaling factor ``f`` in {1, 2, 4, 8} with ``(H + W) / f >= reduce_to``.

    Parameters
    ----------
    height, width : int
        Full image size.
    reduce_to : int or None
        Target height + width (None or 0: no reduction).

    Returns
    -------
    int

    Examples
    --------
    >>> reduction_factor(2000, 3000, 320), reduction_factor(480, 640, 320)
    (8, 2)
    >>> reduction_factor(480, 640, None)
    1
    """
    if not reduce_to:
        return 1
    for factor in LOADING.reduce_factors:
        if (height + width) / factor >= reduce_to:
            return factor
    return 1


def _read_path(path, label: str) -> bytes:
    try:
        with open(path, "rb") as f:
            info = os.fstat(f.fileno())
            if stat.S_ISDIR(info.st_mode):
                raise IsADirectoryError
            if not stat.S_ISREG(info.st_mode):
                # FIFOs and devices (/dev/zero) could block or never end.
                raise ImageError(label, "not a regular file")
            if info.st_size == 0:
                raise ImageError(label, "empty file (0 bytes)")
            return f.read()
    except ImageError:  # our own refusals above; ImageError is a ValueError, caught below
        raise
    except FileNotFoundError:
        raise ImageError(label, "no such file") from None
    except IsADirectoryError:
        raise ImageError(label, "is a directory") from None
    except PermissionError:
        # Windows reports opening a directory as a permission error.
        reason = "is a directory" if os.path.isdir(path) else "permission denied"
        raise ImageError(label, reason) from None
    except (OSError, ValueError) as err:  # ValueError: a NUL character in the path
        raise ImageError(label, f"cannot read file ({getattr(err, 'strerror', None) or err})") \
            from None


def _read_file_object(source, label: str) -> bytes:
    try:
        data = source.read()
    except Exception as err:  # closed files, sockets, user classes: anything can happen
        raise ImageError(label, f"cannot read file object ({err})") from None
    if isinstance(data, str):
        raise ImageError(label, "file object is in text mode; open it with 'rb'")
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise ImageError(label, f"file object returned {type(data).__name__}, not bytes")
    if len(data) == 0:
        raise ImageError(label, "empty file (0 bytes)")
    return data


def _readable_formats() -> tuple[str, ...]:
    Image.init()  # registers every plugin once; a no-op afterwards
    # Filtered on every call: Image.open raises KeyError for a format that is not registered,
    # and plugins such as pillow-heif may register after import.
    return tuple(fmt for fmt in _ALLOWED_FORMATS if fmt in Image.OPEN)


def _from_bytes(data, label: str, reduce_to, max_pixels, min_size) -> LoadedImage:
    loaded = _from_plain_jpeg(data, label, reduce_to, max_pixels, min_size)
    if loaded is not None:
        return loaded
    try:
        with warnings.catch_warnings():
            # Our max_pixels is the limit that counts; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_readable_formats())
    except UnidentifiedImageError:
        raise ImageError(label, _unrecognised(data)) from None
    except Image.DecompressionBombError as err:
        raise ImageError(label, _too_large_for_pillow(data, err, max_pixels)) from None
    except MemoryError:
        raise ImageError(label, "too large to open (out of memory)") from None
    except Exception as err:  # plugins raise anything on malformed headers
        raise ImageError(label, f"truncated or corrupt image data: {_describe(err)}") from None
    with image:
        return _from_pil(image, label, data, reduce_to, max_pixels, min_size)


def _from_plain_jpeg(data, label: str, reduce_to, max_pixels, min_size) -> LoadedImage | None:
    """The common JPEG without opening it in Pillow: size and EXIF orientation read from the
    markers, pixels decoded by OpenCV exactly as :func:`_from_pil` would. None whenever the file
    is anything but plain (no usable header, XMP or several EXIF blocks, CMYK, 12-bit, over
    Pillow's decompression-bomb limit, no end marker, OpenCV failing): Pillow then decides."""
    header = _plain_jpeg_header(data)
    if header is None:
        return None
    height, width, orientation = header
    if Image.MAX_IMAGE_PIXELS and height * width > 2 * Image.MAX_IMAGE_PIXELS:
        return None
    _check_size(label, height, width, max_pixels, min_size)
    if not _has_end_marker(data):
        return None
    factor = reduction_factor(height, width, reduce_to)
    rgb = _decode_jpeg_cv2(data, height, width, factor)
    if rgb is None:
        return None
    if orientation >= 5:  # the transposing orientations
        height, width = width, height
    return LoadedImage(_apply_orientation(rgb, orientation), (height, width), label, factor)


# Start-of-frame markers (every JPEG coding process; DHT 0xC4, JPG 0xC8, DAC 0xCC are not).
_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def _plain_jpeg_header(data) -> tuple[int, int, int] | None:
    """``(height, width, orientation)`` of an 8-bit greyscale or YCbCr JPEG, from its markers.

    None for anything else or anything unusual, including XMP (Pillow also reads an orientation
    from it), more than one EXIF block and an orientation that is not a single SHORT.
    """
    try:
        view = memoryview(data).cast("B")  # bytes, whatever the buffer's item format
    except TypeError:  # a non-contiguous buffer: Pillow copies it
        return None
    if bytes(view[:3]) != b"\xff\xd8\xff":
        return None
    size = None
    orientation = 1
    exif_seen = False
    at = 2
    while at + 4 <= len(view):
        if view[at] != 0xFF:
            return None
        marker = view[at + 1]
        if marker < 0xC0 or marker == 0xFF or 0xD0 <= marker <= 0xD9:
            return None  # reserved, fill bytes or a stand-alone marker: let Pillow read it
        length = (view[at + 2] << 8) | view[at + 3]
        segment = view[at + 4:at + 2 + length]
        if length < 2 or len(segment) != length - 2:
            return None
        if marker == 0xDA:  # start of scan: the header is complete
            return None if size is None else (*size, orientation)
        if marker in _SOF_MARKERS:
            if size is not None or len(segment) < 6 or segment[0] != 8 or segment[5] not in (1, 3):
                return None
            size = ((segment[1] << 8) | segment[2], (segment[3] << 8) | segment[4])
            if 0 in size:
                return None
        elif marker == 0xE1:
            head = bytes(segment[:6])
            if head == b"Exif\x00\x00":
                if exif_seen:
                    return None
                exif_seen = True
                found = _exif_orientation(bytes(segment[6:]))
                if found is None:
                    return None
                orientation = found
            elif bytes(segment[:4]) == b"http":  # XMP (or another namespace): Pillow's business
                return None
        elif marker == 0xE2 and bytes(segment[:4]) == b"MPF\x00":
            return None  # a multi-picture file: Pillow opens it as MPO
        at += 2 + length
    return None


def _exif_orientation(tiff: bytes) -> int | None:
    """The orientation tag of EXIF IFD0 (1 when absent), or None when it cannot be read plainly.

    Values outside 1-8 count as 1, as :func:`_orientation` counts them.
    """
    if len(tiff) < 8 or tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "little" if tiff[:2] == b"II" else "big"
    ifd = int.from_bytes(tiff[4:8], order)
    if ifd < 8 or ifd + 2 > len(tiff):
        return None
    count = int.from_bytes(tiff[ifd:ifd + 2], order)
    if ifd + 2 + 12 * count > len(tiff):
        return None
    orientation = None
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        if int.from_bytes(tiff[entry:entry + 2], order) != _EXIF_ORIENTATION:
            continue
        kind = int.from_bytes(tiff[entry + 2:entry + 4], order)
        number = int.from_bytes(tiff[entry + 4:entry + 8], order)
        if kind != 3 or number != 1 or orientation is not None:
            return None  # not one SHORT, or the tag twice
        value = int.from_bytes(tiff[entry + 8:entry + 10], order)
        orientation = value if 1 <= value <= 8 else 1
    return 1 if orientation is None else orientation


def _unrecognised(data) -> str:
    """The reason for bytes Pillow cannot open: a video says so (its frames are read by
    :mod:`fleck.video`, which ``fleck detect`` and ``fleck scan`` use)."""
    from fleck.video.sniff import has_video_signature

    if has_video_signature(bytes(data[:LOADING.sniff_bytes])):
        return ("a video, not an image (fleck.video.detect_media, fleck detect and fleck scan "
                "sample its frames)")
    return "not an image (unrecognised format)"


def _from_pil(image: Image.Image, label: str, data, reduce_to, max_pixels,
              min_size) -> LoadedImage:
    """Decode an opened (lazy) PIL image; ``data`` is its encoded bytes when we opened it."""
    width, height = image.size
    _check_size(label, height, width, max_pixels, min_size)
    factor = 1
    rgb = None
    if data is not None and image.format in _JPEG_FORMATS:
        factor = reduction_factor(height, width, reduce_to)
        if image.mode in ("RGB", "L") and _has_end_marker(data):
            rgb = _decode_jpeg_cv2(data, height, width, factor)
    if rgb is None:
        if data is None:  # a caller's PIL image: no draft, it may be decoded already
            rgb = _decode_pil(image, label, height, width, 1, failure="unreadable PIL image")
        else:
            rgb = _decode_pil(image, label, height, width, factor)
    orientation = _orientation(image)
    if orientation >= 5:  # the transposing orientations
        height, width = width, height
    return LoadedImage(_apply_orientation(rgb, orientation), (height, width), label, factor)


def _too_large_for_pillow(data, err: Exception, max_pixels: int | None) -> str:
    """Pillow refused at open; say how large, and which limit, as precisely as we can."""
    size = _size_without_bomb_check(data)
    if size is not None:
        pixels = size[0] * size[1]
        described = f"{size[0]}x{size[1]} = {pixels / 1e6:.1f} megapixels"
    else:
        match = re.search(r"\((\d+) pixels\)", str(err))
        pixels = int(match.group(1)) if match else None
        described = f"{pixels / 1e6:.1f} megapixels" if pixels else "more pixels"
    if max_pixels is not None and (pixels is None or pixels > max_pixels):
        return f"too large: {described} > limit {max_pixels / 1e6:.1f}"
    pillow_limit = 2 * (Image.MAX_IMAGE_PIXELS or 0)
    return (f"too large: {described} > Pillow's decompression-bomb limit "
            f"{pillow_limit / 1e6:.1f} (raise PIL.Image.MAX_IMAGE_PIXELS to allow it)")


def _size_without_bomb_check(data) -> tuple[int, int] | None:
    """(width, height) from the header through Pillow's plugin registry, or None."""
    try:
        prefix = bytes(data[:16])
        for fmt in _readable_formats():
            factory, accept = Image.OPEN[fmt]
            accepted = True if accept is None else accept(prefix)
            if not accepted or isinstance(accepted, str):
                continue
            try:
                return tuple(factory(io.BytesIO(data), None).size)
            except Exception:
                continue
    except Exception:  # registry internals changed: fall back to Pillow's message
        return None
    return None


def _has_end_marker(data) -> bool:
    return b"\xff\xd9" in bytes(data[-LOADING.eoi_window:])


def _decode_jpeg_cv2(data, height: int, width: int, factor: int) -> np.ndarray | None:
    """OpenCV's decode, or None when it fails or disagrees with the header (Pillow decides)."""
    buffer = np.frombuffer(data, np.uint8)
    try:
        if factor == 1:
            rgb = cv2.imdecode(buffer, cv2.IMREAD_COLOR_RGB | cv2.IMREAD_IGNORE_ORIENTATION)
        else:
            # IMREAD_COLOR_RGB cannot be combined with the reduced modes: convert after.
            bgr = cv2.imdecode(buffer, _CV2_REDUCED[factor] | cv2.IMREAD_IGNORE_ORIENTATION)
            rgb = None if bgr is None else cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    except cv2.error:
        return None
    expected = (-(-height // factor), -(-width // factor), 3)
    if rgb is None or rgb.shape != expected or rgb.dtype != np.uint8:
        return None
    return rgb


def _decode_pil(image: Image.Image, label: str, height: int, width: int, factor: int, *,
                failure: str = "truncated or corrupt image data") -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            if factor > 1:
                # Asking for floor(size / f) makes Pillow pick exactly scale f (see Image.draft).
                image.draft(image.mode, (max(1, width // factor), max(1, height // factor)))
            image.load()
    except MemoryError:
        raise ImageError(label, "too large to decode (out of memory)") from None
    except Exception as err:
        raise ImageError(label, f"{failure}: {_describe(err)}") from None
    try:
        return _pil_pixels_to_rgb(image, label)
    except (ImageError, MemoryError):
        raise
    except Exception as err:
        raise ImageError(label, f"unsupported colour mode {image.mode} ({_describe(err)})") \
            from None


def _describe(err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return text.splitlines()[0][:200]


def _orientation(image: Image.Image) -> int:
    try:
        value = image.getexif().get(_EXIF_ORIENTATION, 1)
    except Exception:  # a corrupt EXIF block must not cost the picture
        return 1
    return value if isinstance(value, int) and 1 <= value <= 8 else 1


def _apply_orientation(rgb: np.ndarray, orientation: int) -> np.ndarray:
    """Turn stored pixels upright per EXIF orientation (same mapping as PIL.ImageOps)."""
    if orientation == 2:
        return cv2.flip(rgb, 1)
    if orientation == 3:
        return cv2.rotate(rgb, cv2.ROTATE_180)
    if orientation == 4:
        return cv2.flip(rgb, 0)
    if orientation == 5:
        return cv2.transpose(rgb)
    if orientation == 6:
        return cv2.rotate(rgb, cv2.ROTATE_90_CLOCKWISE)
    if orientation == 7:
        return cv2.flip(cv2.transpose(rgb), -1)
    if orientation == 8:
        return cv2.rotate(rgb, cv2.ROTATE_90_COUNTERCLOCKWISE)
    return rgb
