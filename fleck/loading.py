"""Turn whatever a user hands us into an ``(M, N, 3)`` RGB ``uint8`` array, or refuse clearly.

Accepted sources: a path (``str`` or ``os.PathLike``), encoded bytes (``bytes``, ``bytearray``,
``memoryview``), a binary file object (anything with ``.read()``), a ``PIL.Image.Image``, or a
numpy array. Every failure raises :class:`fleck.errors.ImageError` naming the source and a short
reason; no Pillow, OpenCV or numpy exception escapes, and nothing returns ``None``.

Decoding: the header is read first (Pillow opens lazily) so that size limits are enforced before
any pixel is decoded. JPEGs are decoded by OpenCV (faster), optionally at 1/2, 1/4 or 1/8 size
through libjpeg's DCT scaling (``reduce_to``); everything else, and any JPEG OpenCV cannot or
should not handle (CMYK, no end-of-image marker, decode failure), goes through Pillow. EXIF
orientation is applied by this module in both cases (OpenCV is told to ignore it), so both
decoders give the same orientation.

This is the only module of ``fleck`` where BGR arrays exist.

>>> import numpy as np
>>> loaded = load(np.zeros((16, 20, 3), np.uint8))
>>> loaded.rgb.shape, loaded.original_size, loaded.name
((16, 20, 3), (16, 20), '<array>')
"""

from __future__ import annotations

import io
import os
import re
import stat
import warnings
from dataclasses import dataclass, field
from functools import lru_cache
from typing import BinaryIO, Union

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from fleck.errors import ImageError

__all__ = ["LoadedImage", "Source", "load", "load_image", "sniff_image", "LOADING"]

Source = Union[str, "os.PathLike[str]", bytes, bytearray, memoryview, BinaryIO, Image.Image,
               np.ndarray]


@dataclass(frozen=True)
class LoadingConstants:
    """Constants of the loader that are engineering choices, not detector thresholds."""

    sniff_bytes: int = 64
    """Bytes read by :func:`sniff_image`: every signature we know lies within them."""
    eoi_window: int = 64
    """A JPEG whose end-of-image marker (FF D9) is not within this many final bytes (trailer
    data, truncation) is decoded by Pillow, which reports truncation instead of grey-filling."""
    reduce_factors: tuple[int, ...] = (8, 4, 2)
    """The DCT scaling factors libjpeg offers through OpenCV and ``Image.draft``."""
    float_scale_max: float = 2.0
    """Float arrays are read on a [0, 1] scale and clipped (resampling overshoot is harmless);
    a maximum above this means the caller passed 0-255 data, which would silently turn white."""


LOADING = LoadingConstants()

_EXIF_ORIENTATION = 0x0112
_JPEG_FORMATS = ("JPEG", "MPO")  # MPO: camera multi-picture files; the first picture is a JPEG
_CV2_REDUCED = {2: cv2.IMREAD_REDUCED_COLOR_2, 4: cv2.IMREAD_REDUCED_COLOR_4,
                8: cv2.IMREAD_REDUCED_COLOR_8}
_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")
# Raster formats Pillow decodes by itself. Left out on purpose: EPS (would run Ghostscript on
# untrusted input), WMF/EMF (Windows only), scientific stubs (FITS, HDF5, GRIB, BUFR) and
# metadata containers. Most common first: Pillow tries them in this order.
_ALLOWED_FORMATS = ("JPEG", "PNG", "GIF", "WEBP", "BMP", "TIFF", "PPM", "AVIF", "HEIF", "ICO",
                    "CUR", "DIB", "JPEG2000", "QOI", "PSD", "TGA", "PCX", "SGI", "ICNS")


@dataclass(frozen=True, eq=False)
class LoadedImage:
    """A decoded image with what the caller needs to relate it to the file.

    Attributes
    ----------
    rgb : (M, N, 3) uint8 ndarray
        RGB pixels, C-contiguous, EXIF orientation applied. Smaller than ``original_size`` when
        a JPEG was decoded at reduced size (``reduce_to``). For an RGB uint8 array source this
        may be the caller's own array (not copied).
    original_size : (int, int)
        ``(height, width)`` of the full image after EXIF orientation.
    name : str
        How messages refer to the source: the path, or ``"<bytes>"``, ``"<file object>"``,
        ``"<PIL image>"``, ``"<array>"`` unless ``name=`` was given.
    reduction : int
        The DCT scaling factor used when decoding (1, 2, 4 or 8).
    """

    rgb: np.ndarray = field(repr=False)
    original_size: tuple[int, int]
    name: str
    reduction: int = 1

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of :attr:`rgb`."""
        return self.rgb.shape[:2]


def load(source: Source, *, reduce_to: int | None = None, max_pixels: int | None = 100_000_000,
         min_size: int = 16, name: str | None = None) -> LoadedImage:
    """Load an image as RGB uint8, applying EXIF orientation, or raise :class:`ImageError`.

    Parameters
    ----------
    source : path, bytes, binary file object, PIL.Image.Image or ndarray
        Arrays are read as **RGB** ``uint8`` ``(M, N, 3)``. **OpenCV arrays are BGR: convert them
        first with** ``image[..., ::-1]`` **or the colours (and every skin decision) are wrong.**
        Also accepted: ``(M, N)`` or ``(M, N, 1)`` greyscale, ``(M, N, 2)`` grey + alpha and
        ``(M, N, 4)`` RGBA (alpha composited on white); dtypes ``bool`` (True = white),
        ``uint16`` (16-bit scale, divided by 257), other integers with values in 0-255, and
        floats on a [0, 1] scale (clipped to it; NaN/inf or a maximum above 2, i.e. 0-255 data,
        are refused). A PIL image is used at its current frame; files give their first frame.
        Encoded formats: JPEG, PNG, GIF, WebP, BMP, TIFF, PBM/PGM/PPM, AVIF, HEIF (with
        pillow-heif), ICO/CUR, JPEG 2000, QOI, PSD, TGA, PCX, SGI, ICNS. Not EPS/PDF/WMF.
    reduce_to : int, optional
        The caller will shrink the image so that height + width == ``reduce_to``. JPEGs are then
        decoded at 1/2, 1/4 or 1/8 size, the largest factor ``f`` with
        ``(H + W) / f >= reduce_to``, so the result is never smaller than asked. Other formats
        and in-memory sources are returned at full size.
    max_pixels : int or None
        Refuse images with more pixels, judged from the file header before decoding. Pillow's
        own decompression-bomb limit (``2 * PIL.Image.MAX_IMAGE_PIXELS``) also applies to files.
    min_size : int
        Refuse images whose height or width is smaller.
    name : str, optional
        What error messages call the source.

    Returns
    -------
    LoadedImage

    Raises
    ------
    ImageError
        With ``reason`` one of: "no such file", "is a directory", "permission denied",
        "empty file (0 bytes)", "not an image (unrecognised format)", "truncated or corrupt image
        data: ...", "too large: ...", "too small: ...", "unsupported ...".

    Examples
    --------
    >>> import numpy as np
    >>> grey = np.full((16, 16), 7, np.uint8)
    >>> load(grey).rgb[0, 0].tolist()
    [7, 7, 7]
    >>> load(b"hello", name="greeting.txt")
    Traceback (most recent call last):
    ...
    fleck.errors.ImageError: greeting.txt: not an image (unrecognised format)
    """
    _check_options(reduce_to, max_pixels, min_size)
    limits = (reduce_to, max_pixels, min_size)
    if isinstance(source, LoadedImage):
        return source
    if isinstance(source, np.ndarray):
        return _from_array(source, name or "<array>", max_pixels, min_size)
    if isinstance(source, Image.Image):
        return _from_pil(source, name or "<PIL image>", None, *limits)
    if isinstance(source, (bytes, bytearray, memoryview)):
        label = name or "<bytes>"
        if len(source) == 0:
            raise ImageError(label, "empty data (0 bytes)")
        return _from_bytes(source, label, *limits)
    if isinstance(source, (str, os.PathLike)):
        label = name or os.fspath(source)
        return _from_bytes(_read_path(source, label), label, *limits)
    if hasattr(source, "read"):
        label = name or "<file object>"
        return _from_bytes(_read_file_object(source, label), label, *limits)
    raise ImageError(name or f"<{type(source).__name__}>",
                     f"unsupported source type {type(source).__name__} (expected a path, bytes, "
                     "a binary file object, a PIL image or an RGB uint8 array)")


def load_image(source: Source, **options) -> np.ndarray:
    """The ``(M, N, 3)`` RGB uint8 pixels of ``source``: ``load(source, **options).rgb``.

    >>> import numpy as np
    >>> load_image(np.ones((16, 16, 4), np.uint8) * 255).shape
    (16, 16, 3)
    """
    return load(source, **options).rgb


def reduction_factor(height: int, width: int, reduce_to: int | None) -> int:
    """The largest DCT scaling factor ``f`` in {1, 2, 4, 8} with ``(H + W) / f >= reduce_to``.

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


# --------------------------------------------------------------------------- signatures

def sniff_image(path: str | os.PathLike) -> bool:
    """True iff the file starts with the signature of an image format ``fleck`` can read.

    Reads at most 64 bytes. Recognises JPEG, PNG, GIF, WebP, BMP, TIFF, PBM/PGM/PPM, ICO/CUR and,
    when Pillow has a decoder for them, AVIF and HEIF. Formats without a signature (TGA, raw
    camera files) are not recognised. Unreadable paths give False.

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


# --------------------------------------------------------------------------- sources

def _check_options(reduce_to, max_pixels, min_size) -> None:
    for label, value, allow_none in (("reduce_to", reduce_to, True),
                                     ("max_pixels", max_pixels, True),
                                     ("min_size", min_size, False)):
        if value is None and allow_none:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"`{label}` must be a non-negative int"
                             f"{' or None' if allow_none else ''}, got {value!r}")


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
    try:
        with warnings.catch_warnings():
            # Our max_pixels is the limit that counts; Pillow's warning would only be noise.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_readable_formats())
    except UnidentifiedImageError:
        raise ImageError(label, "not an image (unrecognised format)") from None
    except Image.DecompressionBombError as err:
        raise ImageError(label, _too_large_for_pillow(data, err, max_pixels)) from None
    except MemoryError:
        raise ImageError(label, "too large to open (out of memory)") from None
    except Exception as err:  # plugins raise anything on malformed headers
        raise ImageError(label, f"truncated or corrupt image data: {_describe(err)}") from None
    with image:
        return _from_pil(image, label, data, reduce_to, max_pixels, min_size)


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


def _check_size(label: str, height: int, width: int, max_pixels, min_size) -> None:
    pixels = height * width
    if max_pixels is not None and pixels > max_pixels:
        raise ImageError(label, f"too large: {width}x{height} = {pixels / 1e6:.1f} megapixels "
                                f"> limit {max_pixels / 1e6:.1f}")
    if min(height, width) < min_size:
        raise ImageError(label, f"too small: {width}x{height} < minimum side {min_size}")


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


# --------------------------------------------------------------------------- conversions

def _pil_pixels_to_rgb(image: Image.Image, label: str) -> np.ndarray:
    """Any Pillow mode -> (M, N, 3) RGB uint8, C-contiguous and writeable."""
    mode = image.mode
    if mode == "La":  # premultiplied; Pillow only converts it to LA
        image, mode = image.convert("LA"), "LA"
    if mode in _ALPHA_MODES or ("transparency" in image.info and mode in ("P", "L", "RGB", "1")):
        return _composite_on_white(np.asarray(image.convert("RGBA")))
    if mode == "RGB":
        return np.array(image)  # np.asarray would be read-only
    if mode == "L":
        return cv2.cvtColor(np.asarray(image), cv2.COLOR_GRAY2RGB)
    if mode == "1":
        return cv2.cvtColor(np.asarray(image.convert("L")), cv2.COLOR_GRAY2RGB)
    if mode.startswith("I;16"):
        return _grey_to_rgb(_scale_uint16(np.asarray(image)))
    if mode == "I":
        return _grey_to_rgb(_scale_int32(np.asarray(image)))
    if mode == "F":
        return _grey_to_rgb(_scale_float_image(np.asarray(image), label))
    # P, CMYK (Adobe-inverted CMYK is un-inverted by the JPEG reader), YCbCr, LAB, HSV, RGBX.
    return np.array(image.convert("RGB"))


def _grey_to_rgb(grey: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(np.ascontiguousarray(grey), cv2.COLOR_GRAY2RGB)


def _scale_uint16(values: np.ndarray) -> np.ndarray:
    # Divide by 257 with rounding: 0 -> 0 and 65535 -> 255 exactly.
    return ((values.astype(np.uint32) + 128) // 257).astype(np.uint8)


def _scale_int32(values: np.ndarray) -> np.ndarray:
    """32-bit integer images: usually 16-bit data in a wider container; else stretch."""
    low, high = int(values.min()), int(values.max())
    if low >= 0 and high <= 65535:
        return _scale_uint16(values)
    return _stretch(values.astype(np.float64), low, high)


def _scale_float_image(values: np.ndarray, label: str) -> np.ndarray:
    """Float files have no agreed scale: [0, 1] or [0, 255] kept, anything else stretched."""
    if not np.isfinite(values).all():
        raise ImageError(label, "float image contains NaN or infinite values")
    low, high = float(values.min()), float(values.max())
    if low >= 0.0 and high <= 1.0:
        return np.round(values * 255.0).astype(np.uint8)
    if low >= 0.0 and high <= 255.0:
        return np.round(values).astype(np.uint8)
    return _stretch(values.astype(np.float64), low, high)


def _stretch(values: np.ndarray, low: float, high: float) -> np.ndarray:
    if high <= low:
        return np.zeros(values.shape, np.uint8)
    return np.round((values - low) * (255.0 / (high - low))).astype(np.uint8)


def _composite_on_white(rgba: np.ndarray) -> np.ndarray:
    """Blend RGBA (straight alpha) over white: transparent pixels become (255, 255, 255)."""
    alpha = rgba[..., 3:4].astype(np.uint16)
    # 255 - (255 - c) * a / 255, in integers with rounding.
    ink = 255 - rgba[..., :3].astype(np.uint16)
    return np.ascontiguousarray(255 - (ink * alpha + 127) // 255, dtype=np.uint8)


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


# --------------------------------------------------------------------------- arrays

def _from_array(array: np.ndarray, label: str, max_pixels, min_size) -> LoadedImage:
    shape = array.shape
    if array.ndim == 3 and shape[2] == 1:
        array = array[..., 0]
    if not (array.ndim == 2 or (array.ndim == 3 and shape[2] in (2, 3, 4))):
        raise ImageError(label, f"unsupported array shape {shape}; expected (H, W, 3) RGB, "
                                "(H, W) grey or (H, W, 4) RGBA")
    height, width = shape[:2]
    if height == 0 or width == 0:
        raise ImageError(label, f"empty array of shape {shape}")
    _check_size(label, height, width, max_pixels, min_size)
    pixels = _array_to_uint8(array, label)
    if pixels.ndim == 2:
        rgb = _grey_to_rgb(pixels)
    elif pixels.shape[2] == 2:  # grey + alpha
        grey, alpha = pixels[..., 0], pixels[..., 1:2]
        rgb = _composite_on_white(np.concatenate([np.repeat(grey[..., None], 3, 2), alpha], 2))
    elif pixels.shape[2] == 4:
        rgb = _composite_on_white(pixels)
    else:
        rgb = np.ascontiguousarray(pixels)
    return LoadedImage(rgb, (height, width), label, 1)


def _array_to_uint8(array: np.ndarray, label: str) -> np.ndarray:
    kind = array.dtype.kind
    if array.dtype == np.uint8:
        return array
    if kind == "b":
        return array.astype(np.uint8) * np.uint8(255)
    if array.dtype == np.uint16:
        return _scale_uint16(array)
    if kind in "iu":
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageError(label, f"{array.dtype} values span {low}..{high}; expected 0..255 "
                                    "(or pass uint8 / uint16 arrays)")
        return array.astype(np.uint8)
    if kind == "f":
        if not np.isfinite(array).all():
            raise ImageError(label, "float array contains NaN or infinite values")
        high = float(array.max())
        if high > LOADING.float_scale_max:
            raise ImageError(label, f"float values up to {high:g} look like a 0-255 scale; "
                                    "float arrays must be in [0, 1] (divide by 255)")
        return np.round(np.clip(array, 0.0, 1.0) * 255.0).astype(np.uint8)
    raise ImageError(label, f"unsupported array dtype {array.dtype}; expected uint8 RGB")
