"""Censoring: blur, pixelate or cover the regions a detection found, and write censored copies.

``censor(image, detection)`` returns the image with the chosen regions obscured:

* ``what``: ``"groups"`` (default) covers the ribbons of every group that fires the body-plan
  rule by itself (the deciding group and any other as strong), ``"limbs"`` those and both
  ribbons of every limb, ``"skin"`` the whole skin map (:func:`fleck.regions.cover_mask`).
  When an image is flagged (``decision``) but that choice covers nothing (a calibrated threshold
  can flag an image in which no group fires), the next wider choice is used: groups, then
  limbs, then skin, so that a flagged image is never returned untouched.
* ``mode``: ``"blur"`` (Gaussian), ``"pixelate"`` (mosaic), ``"fill"`` (the covered pixels in a
  solid colour) or ``"box"`` (the bounding box of each covered area in a solid colour).
* ``margin``: pixels added around the covered area; by default 1 % of the image's mean side.

Strength scales with the image: the blur's standard deviation is 1/20 of the mean side
((height + width) / 2) and mosaic cells are 1/24 of it, so a 640 x 480 image is blurred with
sigma 28 px and pixelated in 23 px cells, and a thumbnail of the result shows the same.

:func:`censor_file` writes a censored copy of an image file: same size, same format, shown the
same way (the pixels are written in the displayed orientation, EXIF orientation applied, and
the EXIF block is dropped because it may hold an uncensored thumbnail; the ICC colour profile
and resolution are kept; JPEGs reuse their quantisation tables, PNGs are compressed fast (zlib
level 1); an alpha channel is kept, made opaque where the image was censored). An image in
which nothing is to be covered is copied unchanged. It never writes over its input.

>>> import numpy as np, fleck
>>> image = np.full((60, 80, 3), (176, 112, 80), np.uint8)     # all skin, no body plan
>>> out = censor(image, what="skin", mode="fill")
>>> out.shape, bool((out == 0).all())
((60, 80, 3), True)
"""

from __future__ import annotations

import dataclasses
import errno
import io
import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from fleck.config import FleckConfig
from fleck.errors import ImageError
from fleck.regions import COVER_WHAT, cover_mask

if TYPE_CHECKING:
    from fleck.detector import Detection, Detector
    from fleck.loading import Source

__all__ = ["censor", "obscure", "cover", "censor_file", "censor_bytes", "default_margin",
           "CensorStyle", "CENSOR", "MODES", "COVER_WHAT", "Censored"]

MODES = ("blur", "pixelate", "fill", "box")


@dataclass(frozen=True)
class CensorStyle:
    """How strongly and in what colour to censor: presentation choices, not detector settings.

    Lengths are fractions of the image's mean side (height + width) / 2, so that a censored
    image and its thumbnail look the same.

    >>> CensorStyle(fill=(255, 255, 255)).pixel_cell == CENSOR.pixel_cell
    True
    """

    blur_sigma: float = 1 / 20
    """Gaussian standard deviation. At 1/20 a limb (about 1/15 of the side wide in a framed
    figure) is smeared over three times its width: no shape inside it survives."""
    pixel_cell: float = 1 / 24
    """Mosaic cell side: a framed figure's limb is one or two cells wide."""
    min_blur_sigma: float = 3.0
    min_pixel_cell: int = 4
    """Floors in pixels, for tiny images."""
    margin: float = 1 / 100
    """Default margin around the covered area."""
    fill: tuple[int, int, int] = (0, 0, 0)
    """Colour of ``fill`` and ``box`` (RGB)."""


CENSOR = CensorStyle()


def _mean_side(shape) -> float:
    return (int(shape[0]) + int(shape[1])) / 2.0


def default_margin(shape: tuple[int, int], style: CensorStyle = CENSOR) -> float:
    """The margin (pixels) used when none is given: ``style.margin`` of the mean side.

    Parameters
    ----------
    shape : (int, int)
        (rows, cols) of the image.
    style : CensorStyle

    Returns
    -------
    float

    Examples
    --------
    >>> default_margin((480, 640))
    5.6
    """
    return round(style.margin * _mean_side(shape), 2)


def cover(detection: Detection, what: str, shape: tuple[int, int], *,
          margin: float | None = None, config: FleckConfig | str | None = None,
          style: CensorStyle = CENSOR) -> tuple[np.ndarray, str]:
    """The pixels to censor, and which ``what`` produced them.

    A flagged detection (``decision``) whose ``what`` covers nothing falls back to the next
    wider choice (groups -> limbs -> skin); an unflagged one does not.

    Parameters
    ----------
    detection : Detection
    what : {'groups', 'limbs', 'skin'}
    shape : (int, int)
        (rows, cols) of the image to censor.
    margin : float, optional
        Pixels added around the covered area (default: :func:`default_margin`).
    config : FleckConfig or name, optional
        Which groups fire the rule (default: the detection's configuration).
    style : CensorStyle

    Returns
    -------
    ((M, N) bool ndarray, str)
        The pixels to censor and the ``what`` used.

    Examples
    --------
    >>> import numpy as np, fleck
    >>> d = fleck.detect(np.full((60, 80, 3), (176, 112, 80), np.uint8))
    >>> mask, used = cover(d, "groups", (60, 80))
    >>> bool(mask.any()), used
    (False, 'groups')
    """
    if what not in COVER_WHAT:
        raise ValueError(f"what must be one of {', '.join(COVER_WHAT)}, got {what!r}")
    margin = default_margin(shape, style) if margin is None else float(margin)
    if margin < 0:
        raise ValueError(f"margin must be at least 0 pixels, got {margin}")
    choices = COVER_WHAT[COVER_WHAT.index(what):] if detection.decision else (what,)
    for used in choices:
        mask = cover_mask(detection, used, shape, margin=margin, config=config)
        if mask.any():
            return mask, used
    return mask, what


def obscure(rgb: np.ndarray, mask: np.ndarray, mode: str = "blur", *,
            style: CensorStyle = CENSOR) -> np.ndarray:
    """A copy of ``rgb`` with the pixels of ``mask`` obscured by ``mode``.

    Parameters
    ----------
    rgb : (M, N, 3) uint8 ndarray
    mask : (M, N) bool ndarray
        The pixels to censor. ``blur`` and ``pixelate`` take their colours from around them
        too (a blurred limb includes its surroundings), but only these pixels change.
    mode : {'blur', 'pixelate', 'fill', 'box'}
        ``box`` fills the bounding box of each connected part of ``mask``.
    style : CensorStyle

    Returns
    -------
    (M, N, 3) uint8 ndarray

    Examples
    --------
    >>> rgb = np.arange(48 * 64 * 3, dtype=np.uint8).reshape(48, 64, 3)
    >>> mask = np.zeros((48, 64), bool); mask[10:20, 10:20] = True
    >>> out = obscure(rgb, mask, "pixelate")
    >>> bool((out[~mask] == rgb[~mask]).all()), bool((out[mask] != rgb[mask]).any())
    (True, True)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"rgb must be an (M, N, 3) uint8 array, got {rgb.shape} {rgb.dtype}")
    if mask.shape != rgb.shape[:2]:
        raise ValueError(f"mask must have shape {rgb.shape[:2]}, got {mask.shape}")
    out = rgb.copy()
    mask_u8 = mask.astype(np.uint8)
    x, y, w, h = cv2.boundingRect(mask_u8)
    if w == 0 or h == 0:
        return out
    side = _mean_side(rgb.shape)
    if mode == "fill":
        out[mask] = style.fill
    elif mode == "box":
        count, _, stats, _ = cv2.connectedComponentsWithStats(mask_u8, connectivity=8)
        for left, top, width, height, _ in stats[1:count]:
            out[top:top + height, left:left + width] = style.fill
    elif mode == "pixelate":
        cell = max(style.min_pixel_cell, int(round(style.pixel_cell * side)))
        # Cells on a grid anchored at the image's corner: neighbouring regions share cells.
        top, left = y - y % cell, x - x % cell
        bottom, right = min(rgb.shape[0], y + h), min(rgb.shape[1], x + w)
        crop = rgb[top:bottom, left:right]
        rows, cols = -(-crop.shape[0] // cell), -(-crop.shape[1] // cell)
        padded = cv2.copyMakeBorder(crop, 0, rows * cell - crop.shape[0], 0,
                                    cols * cell - crop.shape[1], cv2.BORDER_REPLICATE)
        small = cv2.resize(padded, (cols, rows), interpolation=cv2.INTER_AREA)
        mosaic = cv2.resize(small, (cols * cell, rows * cell), interpolation=cv2.INTER_NEAREST)
        _paste(out, mosaic[:crop.shape[0], :crop.shape[1]], mask, top, left)
    else:
        sigma = max(style.min_blur_sigma, style.blur_sigma * side)
        reach = int(math.ceil(3 * sigma))
        top, left = max(0, y - reach), max(0, x - reach)
        bottom, right = min(rgb.shape[0], y + h + reach), min(rgb.shape[1], x + w + reach)
        _paste(out, _blur(rgb[top:bottom, left:right], sigma), mask, top, left)
    return out


def _blur(crop: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian blur of ``sigma`` px, computed on a copy shrunk by a whole factor (the cost
    stays about a millisecond whatever sigma: a direct 28 px blur costs ~20x more and looks the
    same)."""
    factor = max(1, int(sigma // 3))
    rows, cols = crop.shape[:2]
    # Padded to whole cells: OpenCV's area shrink is 4x faster by a whole factor.
    padded = cv2.copyMakeBorder(crop, 0, -rows % factor, 0, -cols % factor, cv2.BORDER_REFLECT)
    small_size = (padded.shape[1] // factor, padded.shape[0] // factor)
    small = cv2.resize(padded, small_size, interpolation=cv2.INTER_AREA)
    # The area shrink already averaged factor x factor pixels (variance factor^2 / 12).
    rest = math.sqrt(max(sigma ** 2 - factor ** 2 / 12.0, 0.25)) / factor
    small = cv2.GaussianBlur(small, (0, 0), rest, borderType=cv2.BORDER_REFLECT)
    large = cv2.resize(small, (padded.shape[1], padded.shape[0]), interpolation=cv2.INTER_LINEAR)
    return large[:rows, :cols]


def _paste(out: np.ndarray, patch: np.ndarray, mask: np.ndarray, top: int, left: int) -> None:
    rows, cols = patch.shape[:2]
    window = out[top:top + rows, left:left + cols]
    cv2.copyTo(patch, mask[top:top + rows, left:left + cols].view(np.uint8), window)


def censor(image: Source, detection: Detection | None = None, *, mode: str = "blur",
           what: str = "groups",
           margin: float | None = None, config: FleckConfig | str | None = None,
           style: CensorStyle = CENSOR) -> np.ndarray:
    """The image with the regions ``detection`` found obscured.

    Parameters
    ----------
    image : path, bytes, file object, PIL image or (M, N, 3) RGB uint8 ndarray
        Anything :func:`fleck.load_image` accepts (EXIF orientation applied).
    detection : fleck.detector.Detection, optional
        A detection made on this image (or on a copy with the same aspect ratio); by default
        the detector runs on it with ``config``.
    mode : {'blur', 'pixelate', 'fill', 'box'}
    what : {'groups', 'limbs', 'skin'}
        See the module docstring.
    margin : float, optional
        Pixels added around the covered area (default: 1 % of the mean side).
    config : FleckConfig or name, optional
        Detector configuration (default ``'fleck1996'``).
    style : CensorStyle

    Returns
    -------
    (M, N, 3) uint8 ndarray
        A new RGB array the size of ``image``.

    Raises
    ------
    fleck.ImageError
        If the image cannot be read.
    ValueError
        For an unknown ``mode`` or ``what``, or a detection made on an image of another shape.

    Examples
    --------
    >>> from fleck import synth
    >>> scene = synth.figure(1, size=(240, 320))
    >>> out = censor(scene.image, mode="pixelate")
    >>> out.shape, bool((out != scene.image).any())
    ((240, 320, 3), True)
    """
    from fleck.detector import Detector
    from fleck.loading import load_image

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    rgb = load_image(image)
    if detection is None:
        detection = Detector(config).detect(rgb)
    else:
        _check_frame(detection, rgb.shape[:2])
    mask, _ = cover(detection, what, rgb.shape[:2], margin=margin, config=config, style=style)
    return obscure(rgb, mask, mode, style=style)


def _check_frame(detection, shape) -> None:
    src_h, src_w = (int(v) for v in detection.image_size)
    rows, cols = shape
    if abs(cols / rows - src_w / src_h) > 0.02 * (src_w / src_h) + 1.0 / min(rows, cols):
        raise ValueError(f"image is {rows}x{cols} (rows x cols) but the detection was made on "
                         f"a {src_h}x{src_w} image; pass the same image")


# -- files ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Censored:
    """What :func:`censor_file` did: the detection, where it wrote (None when it did not), which
    ``what`` was covered, with what margin (pixels) and the fraction of the image's pixels
    censored.

    >>> Censored(detection=None, output=None, what="groups", margin=5.6, fraction=0.0).output
    """

    detection: Detection
    output: str | None
    what: str
    margin: float
    fraction: float


# Pillow format names that are written under another name, and options per format.
_WRITE_AS = {"MPO": "JPEG"}
_TIFF_COMPRESSIONS = ("raw", "tiff_lzw", "tiff_adobe_deflate", "tiff_deflate", "packbits")


def censor_file(source: str | os.PathLike, output: str | os.PathLike, *,
                detector: Detector | None = None,
                mode: str = "blur", what: str = "groups", margin: float | None = None,
                overwrite: bool = False, only_flagged: bool = False,
                style: CensorStyle = CENSOR) -> Censored:
    """Detect, censor and write a censored copy of the image file ``source`` to ``output``.

    The copy has the source's size and format and is shown the same way (see the module
    docstring). ``output`` is written atomically (a temporary file, then renamed).

    Parameters
    ----------
    source, output : path
    detector : fleck.Detector, optional
        Reused across files (default: the 1996 configuration).
    mode, what, margin, style
        As in :func:`censor`.
    overwrite : bool
        Replace an existing ``output`` (never the source itself).
    only_flagged : bool
        Write nothing unless the detection is flagged (``decision``).

    Returns
    -------
    Censored

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.fromarray(np.full((60, 80, 3), (176, 112, 80), np.uint8)).save(f"{folder}/a.png")
    >>> os.mkdir(f"{folder}/out")
    >>> done = censor_file(f"{folder}/a.png", f"{folder}/out/a.png", what="skin", mode="fill")
    >>> done.what, done.fraction, os.path.basename(done.output)
    ('skin', 1.0, 'a.png')

    Raises
    ------
    fleck.ImageError
        If the image cannot be read (the messages ``fleck detect`` gives) or written in its
        format.
    FileExistsError
        If ``output`` exists and ``overwrite`` is false, or ``output`` is ``source``.
    ValueError
        If ``output`` is in ``source``'s folder.
    """
    source, output = os.fspath(source), os.fspath(output)
    if _same_folder(os.path.dirname(output) or ".", os.path.dirname(source) or "."):
        raise ValueError(f"{output}: refusing to write beside the input {source}; choose "
                         "another output folder")
    _check_output(source, output, overwrite)
    done, encoded = _censor_encoded(source, source, detector=detector, mode=mode, what=what,
                                    margin=margin, only_flagged=only_flagged, style=style)
    if only_flagged and not done.detection.decision:
        return done
    if encoded is None:  # nothing to cover: an unchanged copy
        _atomic(output, lambda temporary: shutil.copyfile(source, temporary))
    else:
        _atomic(output, lambda temporary: Path(temporary).write_bytes(encoded))
    return dataclasses.replace(done, output=output)


def censor_bytes(data: bytes, *, detector: Detector | None = None, mode: str = "blur",
                 what: str = "groups", margin: float | None = None,
                 only_flagged: bool = False, name: str = "<bytes>",
                 style: CensorStyle = CENSOR) -> tuple[Censored, bytes]:
    """:func:`censor_file` in memory: the censored copy of an encoded image, encoded the same way.

    Parameters
    ----------
    data : bytes
        An encoded image (JPEG, PNG, ...).
    detector : fleck.Detector, optional
        Default: the 1996 configuration.
    mode, what, margin, only_flagged, style
        As in :func:`censor_file`.
    name : str
        What error messages call the image.

    Returns
    -------
    (Censored, bytes)
        What was done (``output`` is None) and the censored copy, in ``data``'s format, size
        and displayed orientation; ``data`` itself when nothing was covered (or, with
        ``only_flagged``, the image is not flagged).

    Raises
    ------
    fleck.ImageError
        If the image cannot be read, or written back in its format.

    Examples
    --------
    >>> import io, numpy as np
    >>> from PIL import Image
    >>> buffer = io.BytesIO()
    >>> Image.fromarray(np.full((60, 80, 3), (176, 112, 80), np.uint8)).save(buffer, "PNG")
    >>> done, png = censor_bytes(buffer.getvalue(), what="skin", mode="fill")
    >>> done.fraction, Image.open(io.BytesIO(png)).format
    (1.0, 'PNG')
    """
    done, encoded = _censor_encoded(io.BytesIO(data), name, detector=detector, mode=mode,
                                    what=what, margin=margin, only_flagged=only_flagged,
                                    style=style, data=bytes(data))
    return done, data if encoded is None else encoded


def _censor_encoded(source, label: str, *, detector, mode: str, what: str, margin, only_flagged,
                    style: CensorStyle, data: bytes | None = None) -> tuple[Censored, bytes | None]:
    """Detect and censor ``source`` (a path, or ``data``'s bytes behind a BytesIO); the encoded
    copy, None when nothing is to change."""
    from fleck.detector import Detector
    from fleck.loading import load

    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    detector = detector or Detector()
    config = detector.config
    # Decoded once, at full size, as fleck detect decodes it: the same detection, the same
    # messages for a bad file.
    loaded = load(source if data is None else data, max_pixels=config.max_pixels,
                  min_size=config.min_size, name=label if data is not None else None)
    detection = detector.detect(loaded.rgb, name=label)
    shape = loaded.shape
    margin = default_margin(shape, style) if margin is None else float(margin)
    if only_flagged and not detection.decision:
        return Censored(detection, None, what, margin, 0.0), None
    mask, used = cover(detection, what, shape, margin=margin, config=config, style=style)
    if not mask.any():
        return Censored(detection, None, used, margin, 0.0), None
    rgb = obscure(loaded.rgb, mask, mode, style=style)
    encoded = _encode_like(source, label, rgb, mask)
    return Censored(detection, None, used, margin, float(mask.mean())), encoded


def _atomic(output: str, write) -> None:
    """``write(temporary)`` beside ``output``, then rename: never a half-written output."""
    folder = os.path.dirname(output) or "."
    temporary = os.path.join(folder, f".{os.path.basename(output)}.tmp-{os.getpid()}")
    try:
        write(temporary)
        os.replace(temporary, output)
    finally:
        if os.path.lexists(temporary):
            os.remove(temporary)


def _same_folder(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def _check_output(source: str, output: str, overwrite: bool) -> None:
    if os.path.exists(output) and os.path.exists(source) and os.path.samefile(output, source):
        raise FileExistsError(errno.EEXIST, f"output {output} is the input itself; not written",
                              output)
    if os.path.lexists(output) and not overwrite:
        raise FileExistsError(errno.EEXIST, f"output {output} exists (use --overwrite)", output)


def _encode_like(source, label: str, rgb: np.ndarray, censored: np.ndarray) -> bytes:
    """``rgb`` encoded in ``source``'s format, mode family and colour profile (``source``: a
    path or a file object, called ``label`` in messages)."""
    from PIL import Image, ImageOps, JpegImagePlugin

    try:
        with Image.open(source) as original:
            fmt = _WRITE_AS.get(original.format, original.format)
            mode, info = original.mode, dict(original.info)
            grey = mode in ("1", "L", "LA", "La", "I", "I;16", "I;16B", "I;16L", "F")
            has_alpha = (mode in ("RGBA", "LA", "La", "RGBa", "PA")
                         or "transparency" in original.info)
            options: dict = {}
            if fmt == "JPEG" and mode != "CMYK":
                options["qtables"] = original.quantization
                sampling = JpegImagePlugin.get_sampling(original)
                if sampling != -1:
                    options["subsampling"] = sampling
            with_alpha = None
            if has_alpha:
                # Uncensored pixels keep their own colour and alpha (the detector saw them
                # composited on white, which is not what the file holds).
                upright = ImageOps.exif_transpose(original)
                with_alpha = np.asarray(upright.convert("LA" if grey else "RGBA"))
    except (OSError, ValueError, SyntaxError) as err:
        raise ImageError(label, f"cannot read it back to write a censored copy ({err})") from None
    pixels = rgb[..., :1] if grey else rgb
    if with_alpha is not None:
        if with_alpha.shape[:2] != rgb.shape[:2]:
            raise ImageError(label, "alpha channel and image differ in size; not written")
        merged = with_alpha.copy()
        merged[censored, :-1] = pixels[censored]
        merged[censored, -1] = 255  # a censor is never see-through
        pixels = merged
    elif grey:
        pixels = pixels[..., 0]
    picture = Image.fromarray(np.ascontiguousarray(pixels))
    if mode != "CMYK" and info.get("icc_profile"):
        options["icc_profile"] = info["icc_profile"]
    if "dpi" in info:
        options["dpi"] = info["dpi"]
    if fmt == "JPEG":
        options["progressive"] = bool(info.get("progressive") or info.get("progression"))
        if "qtables" not in options:  # with the source's tables a quality would rescale them
            options["quality"] = 95
    elif fmt == "PNG":
        # zlib level 1: 3x faster than the default 6 on photographs, files ~15 % larger.
        options["compress_level"] = 1
    elif fmt == "WEBP":
        options["quality"] = 90
    elif fmt == "TIFF" and info.get("compression") in _TIFF_COMPRESSIONS:
        options["compression"] = info["compression"]
    # Encoded in memory, written in one call: Pillow's direct file output (many small writes)
    # costs as much again as the JPEG encoding itself.
    encoded = io.BytesIO()
    try:
        picture.save(encoded, format=fmt, **options)
    except (KeyError, ValueError, OSError) as err:
        raise ImageError(label, f"cannot write a censored {fmt} file ({err})") from None
    return encoded.getvalue()
