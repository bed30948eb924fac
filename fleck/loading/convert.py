"""Pixels of any kind to ``(M, N, 3)`` RGB ``uint8``: Pillow modes, numpy dtypes and channel
counts, alpha composited on white, 16-bit and float data scaled.

>>> import numpy as np
>>> _from_array(np.ones((16, 16), bool), "<array>", None, 16).rgb[0, 0].tolist()
[255, 255, 255]
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from fleck.errors import ImageError
from fleck.loading.base import LOADING, LoadedImage, _check_size

__all__: list[str] = []

_ALPHA_MODES = ("RGBA", "LA", "La", "RGBa", "PA")



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
