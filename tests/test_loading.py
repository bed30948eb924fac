"""fleck.loading: every source kind, every colour mode, orientation, reduced decoding, refusals.

All fixtures are generated in tmp_path / memory with Pillow and numpy.
"""

from __future__ import annotations

import io
import os
import pickle
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from PIL import Image, ImageFile, ImageOps

import fleck
from fleck.errors import ImageError
from fleck.loading import LoadedImage, load, load_image, reduction_factor, sniff_image


def _pattern(height: int = 48, width: int = 64) -> np.ndarray:
    """Distinct flat blocks: survives JPEG nearly unchanged, and shows any flip or rotation."""
    rgb = np.zeros((height, width, 3), np.uint8)
    rgb[:] = (40, 80, 160)
    rgb[: height // 3, : width // 4] = (250, 20, 20)    # top-left: red
    rgb[-height // 3:, : width // 4] = (20, 220, 20)    # bottom-left: green
    rgb[: height // 3, -width // 4:] = (240, 240, 30)   # top-right: yellow
    return rgb


def _encode(array_or_image, fmt: str, **options) -> bytes:
    image = array_or_image if isinstance(array_or_image, Image.Image) \
        else Image.fromarray(array_or_image)
    buffer = io.BytesIO()
    image.save(buffer, fmt, **options)
    return buffer.getvalue()


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _raises(source, *words, **options) -> ImageError:
    with pytest.raises(ImageError) as info:
        load(source, **options)
    message = str(info.value)
    for word in words:
        assert word in message, message
    return info.value


# --------------------------------------------------------------------------- sources

def test_every_source_kind_gives_the_same_pixels(tmp_path):
    rgb = _pattern()
    data = _encode(rgb, "PNG")
    path = _write(tmp_path, "pattern.png", data)
    sources = {
        str(path): str(path),
        "pathlib": path,
        "<bytes>": data,
        "bytearray": bytearray(data),
        "memoryview": memoryview(data),
        "<file object>": io.BytesIO(data),
        "<PIL image>": Image.fromarray(rgb),
        "<array>": rgb,
    }
    for expected_name, source in sources.items():
        loaded = load(source)
        assert isinstance(loaded, LoadedImage)
        np.testing.assert_array_equal(loaded.rgb, rgb, err_msg=expected_name)
        assert loaded.rgb.dtype == np.uint8 and loaded.rgb.flags.c_contiguous
        assert loaded.original_size == (48, 64)
        if expected_name.startswith(("<", "/")):
            assert loaded.name == expected_name
    assert load(path).name == str(path)
    with open(path, "rb") as handle:
        assert load(handle).name == "<file object>"
    assert load(data, name="upload-17").name == "upload-17"


def test_load_image_and_package_export_return_the_array():
    rgb = _pattern()
    np.testing.assert_array_equal(load_image(rgb), rgb)
    np.testing.assert_array_equal(fleck.load_image(_encode(rgb, "PNG")), rgb)


def test_decoded_pixels_are_writeable(tmp_path):
    for data in (_encode(_pattern(), "PNG"), _encode(_pattern(), "JPEG")):
        rgb = load(data).rgb
        rgb[0, 0] = 0  # the caller owns the result


def test_jpeg_fast_path_matches_pillow_decode():
    data = _encode(_pattern(), "JPEG", quality=90)
    reference = np.asarray(Image.open(io.BytesIO(data)).convert("RGB")).astype(int)
    assert np.abs(load(data).rgb.astype(int) - reference).max() <= 2


# --------------------------------------------------------------------------- conversions

def test_greyscale_png_becomes_three_equal_channels():
    grey = np.arange(48 * 64, dtype=np.uint32).reshape(48, 64).astype(np.uint8)
    rgb = load(_encode(grey, "PNG")).rgb
    assert rgb.shape == (48, 64, 3)
    for channel in range(3):
        np.testing.assert_array_equal(rgb[..., channel], grey)


def test_greyscale_jpeg_becomes_three_equal_channels():
    rgb = load(_encode(Image.new("L", (32, 32), 77), "JPEG")).rgb
    assert rgb.shape == (32, 32, 3) and rgb[5, 5].tolist() == [77, 77, 77]


def test_palette_png_is_expanded():
    rgb = _pattern()
    palette = Image.fromarray(rgb).quantize(colors=8)
    assert palette.mode == "P"
    np.testing.assert_array_equal(load(_encode(palette, "PNG")).rgb, rgb)


def test_rgba_png_is_composited_on_white():
    rgba = np.zeros((32, 32, 4), np.uint8)
    rgba[..., :3] = (10, 20, 30)             # colour under a fully transparent alpha
    rgba[:16, :, 3] = 255                   # top half opaque
    rgba[16:, :16, 3] = 128                 # half-transparent block
    rgb = load(_encode(rgba, "PNG")).rgb
    assert rgb[0, 0].tolist() == [10, 20, 30]
    assert rgb[31, 31].tolist() == [255, 255, 255]
    # 255 - (255 - c) * 128 / 255
    assert rgb[20, 4].tolist() == [round(255 - (255 - c) * 128 / 255) for c in (10, 20, 30)]


def test_la_png_is_composited_on_white():
    la = np.zeros((32, 32, 2), np.uint8)
    la[..., 0] = 60
    la[:16, :, 1] = 255
    image = Image.fromarray(la, mode="LA")
    rgb = load(_encode(image, "PNG")).rgb
    assert rgb[0, 0].tolist() == [60, 60, 60]
    assert rgb[31, 0].tolist() == [255, 255, 255]


def test_palette_with_transparency_is_composited_on_white():
    image = Image.fromarray(_pattern()).quantize(colors=4)
    transparent_index = image.getpixel((0, 0))
    rgb = load(_encode(image, "PNG", transparency=transparent_index)).rgb
    assert rgb[0, 0].tolist() == [255, 255, 255]


def test_16_bit_png_is_scaled_not_clipped():
    values = np.array([0, 257, 32896, 65535], np.uint16)
    grey16 = np.tile(np.repeat(values, 4), (16, 1))
    image = Image.fromarray(grey16)
    assert image.mode.startswith("I;16")
    decoded = load(_encode(image, "PNG")).rgb
    assert decoded[0, ::4, 0].tolist() == [0, 1, 128, 255]


def test_cmyk_jpeg_converts_to_rgb(tmp_path):
    cmyk = Image.new("CMYK", (32, 32), (255, 0, 0, 0))  # pure cyan ink
    cmyk.paste((0, 0, 0, 0), (0, 0, 16, 32))           # no ink: paper white
    data = _encode(cmyk, "JPEG", quality=95)
    assert Image.open(io.BytesIO(data)).mode == "CMYK"
    rgb = load(data).rgb.astype(int)
    assert np.abs(rgb[16, 4] - [255, 255, 255]).max() <= 3
    assert np.abs(rgb[16, 28] - [0, 255, 255]).max() <= 3


def test_one_bit_image_is_black_and_white():
    bits = np.zeros((16, 16), bool)
    bits[:, 8:] = True
    rgb = load(_encode(Image.fromarray(bits), "PNG")).rgb
    assert rgb[0, 0].tolist() == [0, 0, 0] and rgb[0, 15].tolist() == [255, 255, 255]


def test_float_and_int32_tiffs_are_scaled():
    ramp = np.linspace(0.0, 1.0, 16 * 16, dtype=np.float32).reshape(16, 16)
    rgb = load(_encode(Image.fromarray(ramp, mode="F"), "TIFF")).rgb
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255
    wide = (ramp * 65535).astype(np.int32)
    rgb = load(_encode(Image.fromarray(wide, mode="I"), "TIFF")).rgb
    assert rgb[0, 0, 0] == 0 and rgb[-1, -1, 0] == 255


def test_float_image_with_nan_is_refused():
    values = np.zeros((16, 16), np.float32)
    values[3, 3] = np.nan
    _raises(Image.fromarray(values, mode="F"), "<PIL image>", "NaN")


def test_premultiplied_and_odd_pil_modes_convert():
    assert load(Image.new("La", (16, 16), (100, 0))).rgb[0, 0].tolist() == [255, 255, 255]
    assert load(Image.new("PA", (16, 16))).rgb[0, 0].tolist() == [255, 255, 255]
    assert load(Image.new("RGBX", (16, 16), (1, 2, 3, 0))).rgb[0, 0].tolist() == [1, 2, 3]
    assert load(Image.new("I;16B", (16, 16), 65535)).rgb[0, 0].tolist() == [255, 255, 255]


def test_closed_pil_image_is_refused(tmp_path):
    path = _write(tmp_path, "x.png", _encode(_pattern(), "PNG"))
    image = Image.open(path)
    image.close()
    _raises(image, "<PIL image>", "unreadable PIL image")


def test_ycbcr_pil_image_converts():
    rgb = _pattern()
    ycbcr = Image.fromarray(rgb).convert("YCbCr")
    assert np.abs(load(ycbcr).rgb.astype(int) - rgb).max() <= 3


@pytest.mark.parametrize("fmt", ["GIF", "PNG", "WEBP"])
def test_animation_gives_first_frame(fmt):
    frames = [Image.new("RGB", (32, 32), colour)
              for colour in ((200, 30, 30), (30, 30, 200), (30, 200, 30))]
    options = {"lossless": True} if fmt == "WEBP" else {}
    data = _encode(frames[0], fmt, save_all=True, append_images=frames[1:], duration=50,
                   **options)
    assert getattr(Image.open(io.BytesIO(data)), "n_frames", 1) == 3
    assert np.abs(load(data).rgb[16, 16].astype(int) - [200, 30, 30]).max() <= 2


# --------------------------------------------------------------------------- arrays

def test_array_conversions():
    grey = np.full((16, 16), 9, np.uint8)
    assert load(grey).rgb[0, 0].tolist() == [9, 9, 9]
    assert load(grey[..., None]).rgb[0, 0].tolist() == [9, 9, 9]
    rgba = np.zeros((16, 16, 4), np.uint8)
    assert load(rgba).rgb[0, 0].tolist() == [255, 255, 255]
    rgba[..., 3] = 255
    assert load(rgba).rgb[0, 0].tolist() == [0, 0, 0]
    mask = np.zeros((16, 16), bool)
    mask[0, 0] = True
    assert load(mask).rgb[0, 0].tolist() == [255] * 3 and load(mask).rgb[1, 1].tolist() == [0] * 3
    assert load(np.full((16, 16, 3), 65535, np.uint16)).rgb.max() == 255
    assert load(np.full((16, 16, 3), 256, np.uint16)).rgb.max() == 1
    assert load(np.full((16, 16, 3), 200, np.int64)).rgb.max() == 200
    floats = np.full((16, 16, 3), 0.5)
    floats[0, 0] = (-0.1, 1.05, 1.0)  # resampling overshoot is clipped
    rgb = load(floats).rgb
    assert rgb[1, 1].tolist() == [128] * 3 and rgb[0, 0].tolist() == [0, 255, 255]


def test_non_contiguous_array_is_made_contiguous():
    rgb = _pattern()
    loaded = load(rgb[:, ::-1])
    assert loaded.rgb.flags.c_contiguous
    np.testing.assert_array_equal(loaded.rgb, rgb[:, ::-1])


@pytest.mark.parametrize("array, words", [
    (np.zeros((16, 16, 3), np.complex64), ["dtype complex64"]),
    (np.zeros((16, 16, 5), np.uint8), ["shape (16, 16, 5)"]),
    (np.zeros((2, 16, 16, 3), np.uint8), ["shape (2, 16, 16, 3)"]),
    (np.zeros((0, 16, 3), np.uint8), ["empty array"]),
    (np.full((16, 16, 3), np.nan), ["NaN"]),
    (np.full((16, 16, 3), np.inf, np.float32), ["infinite"]),
    (np.full((16, 16, 3), 200.0), ["0-255 scale"]),
    (np.full((16, 16, 3), -3, np.int32), ["-3..-3", "0..255"]),
    (np.full((16, 16, 3), "a"), ["dtype <U1"]),
])
def test_bad_arrays_are_refused(array, words):
    _raises(array, "<array>", *words)


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(16, 64), st.integers(16, 64), st.just(3))))
def test_any_rgb_uint8_array_round_trips_unchanged(rgb):
    loaded = load(rgb)
    np.testing.assert_array_equal(loaded.rgb, rgb)
    assert loaded.original_size == rgb.shape[:2]


# --------------------------------------------------------------------------- orientation

def _with_orientation(rgb: np.ndarray, orientation: int, fmt: str) -> bytes:
    exif = Image.Exif()
    exif[0x0112] = orientation
    options = {"quality": 100} if fmt == "JPEG" else {}
    return _encode(rgb, fmt, exif=exif, **options)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(orientation, fmt):
    data = _with_orientation(_pattern(), orientation, fmt)
    upright = ImageOps.exif_transpose(Image.open(io.BytesIO(data))).convert("RGB")
    loaded = load(data)
    assert loaded.original_size == (upright.height, upright.width)
    assert np.abs(loaded.rgb.astype(int) - np.asarray(upright).astype(int)).max() <= 2


@pytest.mark.parametrize("reduce_to", [None, 40])
def test_orientation_6_swaps_size_and_moves_the_marked_corner(reduce_to):
    # Orientation 6: the stored image must be turned 90 degrees clockwise to be upright,
    # so the stored top-left (red) corner ends up top-right, stored bottom-left (green) top-left.
    rgb = _pattern(96, 128)
    loaded = load(_with_orientation(rgb, 6, "JPEG"), reduce_to=reduce_to)
    assert loaded.original_size == (128, 96)
    factor = 4 if reduce_to else 1
    assert loaded.reduction == factor
    assert loaded.rgb.shape == (128 // factor, 96 // factor, 3)
    height, width = loaded.rgb.shape[:2]
    assert np.abs(loaded.rgb[1, width - 2].astype(int) - [250, 20, 20]).max() <= 12
    assert np.abs(loaded.rgb[1, 1].astype(int) - [20, 220, 20]).max() <= 12


def test_corrupt_exif_does_not_cost_the_picture():
    data = _encode(_pattern(), "JPEG")
    # An APP1 Exif segment whose TIFF header is garbage, right after SOI.
    junk = b"Exif\x00\x00" + b"XX\x00\x2a" + bytes(8)
    segment = b"\xff\xe1" + struct.pack(">H", len(junk) + 2) + junk
    loaded = load(data[:2] + segment + data[2:])
    assert loaded.rgb.shape == (48, 64, 3)


# --------------------------------------------------------------------------- reduced decode

@pytest.mark.parametrize("height, width, reduce_to, factor", [
    (2000, 3000, 320, 8), (2000, 3000, 626, 4), (2000, 3000, 625, 8), (480, 640, 320, 2),
    (480, 640, 1120, 1), (480, 640, 2000, 1), (480, 640, None, 1), (16, 16, 4, 8)])
def test_reduction_factor_is_the_largest_that_stays_at_or_above_target(height, width,
                                                                       reduce_to, factor):
    assert reduction_factor(height, width, reduce_to) == factor
    if reduce_to:
        assert (height + width) / factor >= reduce_to or factor == 1


def test_reduced_jpeg_decode_size_and_original_size():
    rgb = np.kron(_pattern(40, 60), np.ones((20, 20, 1), np.uint8))  # 800 x 1200
    data = _encode(rgb, "JPEG", quality=90)
    loaded = load(data, reduce_to=320)  # 2000 / 4 = 500 >= 320 > 2000 / 8
    assert loaded.reduction == 4
    assert loaded.rgb.shape == (200, 300, 3)
    assert loaded.original_size == (800, 1200)
    assert np.abs(loaded.rgb[10, 10].astype(int) - [250, 20, 20]).max() <= 8
    odd = load(_encode(rgb[:797, :1199], "JPEG"), reduce_to=320)
    assert odd.rgb.shape == (200, 300, 3) and odd.original_size == (797, 1199)


def test_reduced_decode_through_pillow_matches_fast_path():
    rgb = np.kron(_pattern(40, 60), np.ones((20, 20, 1), np.uint8))
    data = _encode(rgb, "JPEG", quality=90)
    fast = load(data, reduce_to=320)
    # Trailing data after the end-of-image marker (as phones append) takes the Pillow path.
    slow = load(data + b"TRAILER" * 200, reduce_to=320)
    assert slow.rgb.shape == fast.rgb.shape and slow.reduction == fast.reduction == 4
    assert np.abs(slow.rgb.astype(int) - fast.rgb.astype(int)).max() <= 3
    cmyk = load(_encode(Image.fromarray(rgb).convert("CMYK"), "JPEG"), reduce_to=320)
    assert cmyk.rgb.shape == (200, 300, 3)


def test_reduce_to_leaves_other_formats_full_size():
    rgb = _pattern(96, 128)
    for source in (_encode(rgb, "PNG"), rgb, Image.fromarray(rgb)):
        loaded = load(source, reduce_to=32)
        assert loaded.rgb.shape == (96, 128, 3) and loaded.reduction == 1


# --------------------------------------------------------------------------- refusals

def test_missing_file(tmp_path):
    path = tmp_path / "nope.jpg"
    error = _raises(path, str(path), "no such file")
    assert error.source == str(path) and error.reason == "no such file"


def test_directory(tmp_path):
    _raises(tmp_path, str(tmp_path), "is a directory")


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file(tmp_path):
    path = _write(tmp_path, "secret.png", _encode(_pattern(), "PNG"))
    path.chmod(0)
    try:
        _raises(path, str(path), "permission denied")
    finally:
        path.chmod(0o600)


def test_permission_error_is_named(tmp_path, monkeypatch):
    import fleck.loading.decode

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    path = _write(tmp_path, "locked.png", _encode(_pattern(), "PNG"))
    monkeypatch.setattr(fleck.loading.decode, "open", refuse, raising=False)
    _raises(path, str(path), "permission denied")


def test_zero_bytes(tmp_path):
    path = _write(tmp_path, "empty.jpg", b"")
    error = _raises(path, str(path), "empty file (0 bytes)")
    assert error.reason == "empty file (0 bytes)"  # not re-wrapped as "cannot read file (...)"
    _raises(io.BytesIO(b""), "<file object>", "empty file (0 bytes)")
    _raises(b"", "<bytes>", "empty")


def test_random_bytes(tmp_path):
    noise = np.random.default_rng(0).bytes(5000)
    path = _write(tmp_path, "noise.jpg", noise)
    _raises(path, str(path), "not an image (unrecognised format)")


def test_postscript_is_not_handed_to_ghostscript():
    eps = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 32 32\nshowpage\n%%EOF\n"
    assert Image.open(io.BytesIO(eps)).format == "EPS"  # Pillow alone would accept it
    _raises(eps, "not an image (unrecognised format)")


def test_truncated_jpeg(tmp_path):
    data = _encode(np.random.default_rng(1).integers(0, 255, (64, 64, 3), np.uint8), "JPEG")
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False
    for cut in (len(data) // 2, len(data) - 2, len(data) - 1):
        path = _write(tmp_path, f"cut{cut}.jpg", data[:cut])
        _raises(path, str(path), "truncated or corrupt image data")
        _raises(path, "truncated", reduce_to=32)


def test_truncated_png(tmp_path):
    data = _encode(np.random.default_rng(2).integers(0, 255, (64, 64, 3), np.uint8), "PNG")
    path = _write(tmp_path, "cut.png", data[: len(data) // 2])
    _raises(path, str(path), "truncated or corrupt image data")


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        body = kind + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(bytes(100))) + chunk(b"IEND", b""))


def _jpeg_claiming(width: int, height: int) -> bytes:
    data = bytearray(_encode(_pattern(), "JPEG"))
    sof = data.index(b"\xff\xc0")
    data[sof + 5: sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def test_header_claiming_huge_size_is_refused_before_decoding(tmp_path):
    path = _write(tmp_path, "bomb.png", _png_header_only(30000, 30000))
    _raises(path, str(path), "too large: 30000x30000 = 900.0 megapixels > limit 100.0")
    # Without our limit, Pillow's decompression-bomb limit still refuses, as an ImageError.
    _raises(path, "too large: 30000x30000", "decompression-bomb", max_pixels=None)
    _raises(_jpeg_claiming(20000, 20000), "too large: 20000x20000 = 400.0 megapixels")


def test_size_limit_uses_header_and_silences_pillow_warning():
    data = _jpeg_claiming(12000, 9000)  # 108 MP: Pillow warns, we refuse
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _raises(data, "too large: 12000x9000 = 108.0 megapixels > limit 100.0")
    _raises(_pattern(), "too large: 64x48", max_pixels=1000)


def test_too_small(tmp_path):
    path = _write(tmp_path, "tiny.png", _encode(np.zeros((8, 8, 3), np.uint8), "PNG"))
    _raises(path, str(path), "too small: 8x8 < minimum side 16")
    _raises(np.zeros((40, 8, 3), np.uint8), "too small: 8x40")
    assert load(path, min_size=8).rgb.shape == (8, 8, 3)


def test_odd_sources_are_refused():
    _raises(12345, "unsupported source type int")
    _raises(io.StringIO("text"), "<file object>", "text mode")
    closed = io.BytesIO(b"abc")
    closed.close()
    _raises(closed, "<file object>", "cannot read")


def test_bad_options_are_programming_errors():
    for options in ({"reduce_to": -1}, {"max_pixels": 1.5}, {"min_size": None},
                    {"reduce_to": True}):
        with pytest.raises(ValueError, match="must be a non-negative int"):
            load(_pattern(), **options)


def test_image_error_is_a_value_error_and_pickles():
    try:
        load(b"not an image at all", name="x.jpg")
    except ValueError as error:
        copy = pickle.loads(pickle.dumps(error))
        assert isinstance(copy, ImageError)
        assert (copy.source, copy.reason, str(copy)) == (error.source, error.reason, str(error))
    else:
        pytest.fail("no error")


# --------------------------------------------------------------------------- sniffing

@pytest.mark.parametrize("fmt, suffix", [
    ("JPEG", ".jpg"), ("PNG", ".png"), ("GIF", ".gif"), ("WEBP", ".webp"), ("BMP", ".bmp"),
    ("TIFF", ".tif"), ("PPM", ".ppm"), ("ICO", ".ico")])
def test_sniff_recognises_images_by_content(tmp_path, fmt, suffix):
    path = _write(tmp_path, "no_extension", _encode(_pattern(), fmt))
    assert sniff_image(path)
    grey = _write(tmp_path, "grey", _encode(Image.fromarray(_pattern()).convert("L"), "PPM"))
    assert sniff_image(grey)  # written as PGM (P5)


def test_sniff_rejects_non_images(tmp_path):
    assert not sniff_image(_write(tmp_path, "a.jpg", b"hello world, not a picture"))
    assert not sniff_image(_write(tmp_path, "b.bmp", b"BMW owners club minutes " * 3))
    assert not sniff_image(_write(tmp_path, "c.png", b""))
    assert not sniff_image(_write(tmp_path, "d.gif", np.random.default_rng(3).bytes(64)))
    assert not sniff_image(tmp_path / "missing.png")
    assert not sniff_image(tmp_path)


def test_sniff_avif_when_pillow_reads_it(tmp_path):
    try:
        data = _encode(_pattern(), "AVIF")
    except (KeyError, OSError) as err:
        pytest.skip(f"Pillow cannot write AVIF here ({err})")
    assert sniff_image(_write(tmp_path, "photo", data))
    assert load(data).rgb.shape == (48, 64, 3)


# --- JPEG headers read without Pillow -----------------------------------------------------

def _segment(marker: int, payload: bytes) -> bytes:
    return bytes((0xFF, marker)) + struct.pack(">H", len(payload) + 2) + payload


def _spliced(jpeg: bytes, *segments: bytes) -> bytes:
    """``jpeg`` with extra marker segments right after its start-of-image marker."""
    return jpeg[:2] + b"".join(segments) + jpeg[2:]


def _exif_block(orientation: int | None, order: str = "II") -> bytes:
    """A minimal EXIF APP1 payload: IFD0 with an orientation SHORT (or no entry)."""
    end = "<" if order == "II" else ">"
    head = (b"II*\x00" if order == "II" else b"MM\x00*") + struct.pack(end + "I", 8)
    if orientation is None:
        return b"Exif\x00\x00" + head + struct.pack(end + "HI", 0, 0)
    entry = struct.pack(end + "HHIH2x", 0x0112, 3, 1, orientation)
    return b"Exif\x00\x00" + head + struct.pack(end + "H", 1) + entry + struct.pack(end + "I", 0)


def _jpeg_variants() -> dict[str, bytes]:
    rng = np.random.default_rng(5)
    pixels = rng.integers(0, 256, (40, 56, 3), np.uint8)
    image = Image.fromarray(pixels)

    def save(picture, **options) -> bytes:
        out = io.BytesIO()
        picture.save(out, "JPEG", quality=90, **options)
        return out.getvalue()

    plain = save(image)
    variants = {"plain": plain, "grey": save(image.convert("L")),
                "progressive": save(image, progressive=True),
                "cmyk": save(image.convert("CMYK")), "comment": save(image, comment=b"hello"),
                "restart markers": save(image, restart_marker_blocks=1),
                "truncated": plain[:-600], "no end marker": plain[:-2],
                "empty EXIF": _spliced(plain, _segment(0xE1, _exif_block(None))),
                "XMP": _spliced(plain, _segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00<x/>")),
                "two EXIF": _spliced(plain, _segment(0xE1, _exif_block(6)),
                                     _segment(0xE1, _exif_block(3))),
                "EXIF LONG": _spliced(plain, _segment(0xE1, _exif_block(6)[:-8].replace(
                    b"\x12\x01\x03\x00", b"\x12\x01\x04\x00") + _exif_block(6)[-8:])),
                "corrupt EXIF": _spliced(plain, _segment(0xE1, b"Exif\x00\x00II*\x00\xff\xff")),
                "tiny": save(image.resize((8, 8)))}
    for orientation in range(0, 10):
        exif = Image.Exif()
        exif[0x0112] = orientation
        variants[f"orientation {orientation}"] = save(image, exif=exif.tobytes())
        variants[f"big-endian orientation {orientation}"] = _spliced(
            plain, _segment(0xE1, _exif_block(orientation, "MM")))
    return variants


def _outcome(data: bytes, **options):
    try:
        loaded = load(data, name="x.jpg", **options)
    except ImageError as err:
        return str(err)
    return loaded.rgb.tobytes(), loaded.rgb.shape, loaded.original_size, loaded.reduction


@pytest.mark.parametrize("name", sorted(_jpeg_variants()))
def test_jpeg_header_shortcut_gives_what_pillow_gives(name, monkeypatch):
    from fleck.loading import decode

    data = _jpeg_variants()[name]
    for options in ({}, {"reduce_to": 40}, {"min_size": 50}, {"max_pixels": 1000}):
        fast = _outcome(data, **options)
        with monkeypatch.context() as patch:
            patch.setattr(decode, "_from_plain_jpeg", lambda *args: None)
            slow = _outcome(data, **options)
        assert fast == slow, (name, options)
    header = decode._plain_jpeg_header(data)
    plain = not any(word in name for word in ("cmyk", "XMP", "two", "LONG", "corrupt"))
    assert (header is not None) == plain, name
    if header is not None:
        with Image.open(io.BytesIO(data)) as opened:
            assert header == (opened.height, opened.width, decode._orientation(opened)), name
