"""Censored copies of encoded images: :func:`censor_file` (a file to a file) and
:func:`censor_bytes` (bytes to bytes, for the HTTP server). See :mod:`fleck.censoring`.
"""

from __future__ import annotations

import dataclasses
import errno
import io
import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from fleck.censoring.pixels import CENSOR, MODES, CensorStyle, cover, default_margin, obscure
from fleck.errors import ImageError

if TYPE_CHECKING:
    from fleck.detector import Detection, Detector

__all__ = ["censor_file", "censor_bytes", "Censored"]


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
