"""Censoring (fleck.censoring, fleck censor): modes, what is covered, files written faithfully."""

from __future__ import annotations

import doctest
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

import fleck
import fleck.censoring
from fleck import synth
from fleck.censoring import CENSOR, MODES, censor, censor_file, cover, obscure
from fleck.cli import main
from fleck.config import FLECK_1996
from fleck.regions import cover_mask

SIZE = (240, 320)


def noise(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, (*shape, 3), dtype=np.uint8)


def test_doctests():
    assert doctest.testmod(fleck.censoring).failed == 0


@pytest.mark.parametrize("mode", MODES)
def test_each_mode_changes_the_mask_and_nothing_outside(mode):
    rgb = noise((90, 120))
    mask = np.zeros((90, 120), bool)
    mask[20:50, 30:60] = True
    mask[60:80, 90:110] = True
    out = obscure(rgb, mask, mode)
    assert out.shape == rgb.shape and out.dtype == np.uint8
    changed = (out != rgb).any(axis=2)
    assert changed[mask].mean() > 0.95
    if mode == "box":
        boxes = np.zeros_like(mask)
        boxes[20:50, 30:60] = boxes[60:80, 90:110] = True
        assert np.array_equal(changed, boxes) and (out[boxes] == CENSOR.fill).all()
    else:
        assert not changed[~mask].any()
    if mode == "fill":
        assert (out[mask] == CENSOR.fill).all()
    assert np.array_equal(obscure(rgb, np.zeros_like(mask), mode), rgb)


def test_box_covers_each_part_of_an_irregular_mask_by_its_bounding_box():
    rgb = noise((60, 60))
    mask = np.zeros((60, 60), bool)
    for i in range(10, 40):  # a diagonal bar: its box is much larger than itself
        mask[i, i:i + 4] = True
    out = obscure(rgb, mask, "box")
    assert (out[10:40, 10:43] == 0).all() and np.array_equal(out[45:], rgb[45:])


@pytest.mark.parametrize("mode", ["blur", "pixelate"])
def test_strength_scales_with_image_size(mode):
    small = noise((60, 80), seed=3)
    large = np.repeat(np.repeat(small, 4, axis=0), 4, axis=1)  # the same picture, 4x larger
    a = obscure(small, np.ones((60, 80), bool), mode).astype(float)
    b = obscure(large, np.ones((240, 320), bool), mode).astype(float)
    b_small = b.reshape(60, 4, 80, 4, 3).mean(axis=(1, 3))
    # The large result, seen at the small size, is about as smooth as the small result.
    assert np.std(b_small) == pytest.approx(np.std(a), rel=0.5)
    assert np.std(b_small) < 0.5 * np.std(small)
    if mode == "pixelate":
        def cell(row):
            return np.flatnonzero(np.any(np.diff(row, axis=0) != 0, axis=1))[0] + 1
        assert cell(b[0]) == pytest.approx(4 * cell(a[0]), abs=4)


def test_obscure_refuses_bad_arguments():
    with pytest.raises(ValueError, match="mode must be one of"):
        obscure(noise((8, 8)), np.ones((8, 8), bool), "smudge")
    with pytest.raises(ValueError, match="mask must have shape"):
        obscure(noise((8, 8)), np.ones((4, 8), bool))
    with pytest.raises(ValueError, match="uint8"):
        obscure(noise((8, 8)).astype(float), np.ones((8, 8), bool))


def test_groups_limbs_skin_cover_what_they_say(decided_figure):
    scene, detection = decided_figure
    changed = {what: (censor(scene.image, detection, mode="fill", what=what, margin=0)
                      != scene.image).any(axis=2) for what in ("groups", "limbs", "skin")}
    for what in changed:
        expected = cover_mask(detection, what)
        assert changed[what][expected].mean() > 0.99 and not changed[what][~expected].any()
    assert changed["groups"].sum() <= changed["limbs"].sum()
    skin = detection.mask_at()
    assert changed["skin"][skin].mean() >= 0.95


def test_default_censor_meets_the_coverage_targets_on_a_figure(decided_figure):
    scene, detection = decided_figure
    out = censor(scene.image, detection)
    changed = (out != scene.image).any(axis=2)
    ribbons = cover_mask(detection, "groups", margin=0)
    assert changed[ribbons].mean() >= 0.9
    assert changed[~scene.mask].mean() <= 0.1
    skin = (censor(scene.image, detection, what="skin") != scene.image).any(axis=2)
    assert skin[detection.mask_at()].mean() >= 0.95


def test_a_flagged_image_with_nothing_to_cover_falls_back_to_wider_regions():
    image = synth.figure(0, size=SIZE).image
    low = fleck.Detector(FLECK_1996.replace(verdict={"unsafe_threshold": 0.01}))
    flagged = low.detect(image)
    assert flagged.decision and flagged.deciding_group is None
    mask, used = cover(flagged, "groups", SIZE)
    assert used in ("limbs", "skin") and mask.any()
    unflagged = fleck.detect(image)
    mask, used = cover(unflagged, "groups", SIZE)
    assert used == "groups" and not mask.any()


def test_censor_checks_the_detection_frame(decided_figure):
    scene, detection = decided_figure
    with pytest.raises(ValueError, match="pass the same image"):
        censor(scene.image[:, :100], detection)
    half = scene.image[::2, ::2]
    assert censor(half, detection).shape == half.shape


# -- files ----------------------------------------------------------------------------------------

def _save(path, rgb, **options) -> str:
    Image.fromarray(rgb).save(path, **options)
    return str(path)


@pytest.fixture
def folders(tmp_path):
    (tmp_path / "in").mkdir()
    return tmp_path / "in", tmp_path / "out"


@pytest.mark.parametrize("ext, fmt", [("png", "PNG"), ("jpg", "JPEG"), ("webp", "WEBP"),
                                      ("bmp", "BMP"), ("gif", "GIF"), ("tif", "TIFF")])
def test_format_and_size_are_kept(folders, ext, fmt, decided_figure):
    scene, _ = decided_figure
    source = _save(folders[0] / f"figure.{ext}", scene.image)
    folders[1].mkdir()
    done = censor_file(source, folders[1] / f"figure.{ext}", what="skin")
    with Image.open(done.output) as written:
        assert written.format == fmt and written.size == (SIZE[1], SIZE[0])
        pixels = np.asarray(written.convert("RGB"))
    assert done.fraction > 0.2 and (pixels != scene.image).any(axis=2).mean() > 0.2


def test_jpeg_keeps_its_quantisation_and_icc_profile(folders, decided_figure):
    scene, _ = decided_figure
    icc = b"\0" * 128  # any bytes: Pillow carries the profile without reading it
    source = _save(folders[0] / "a.jpg", scene.image, quality=70, icc_profile=icc)
    folders[1].mkdir()
    done = censor_file(source, folders[1] / "a.jpg")
    with Image.open(source) as a, Image.open(done.output) as b:
        assert a.quantization == b.quantization
        assert b.info.get("icc_profile") == icc


def test_exif_rotated_input_is_written_as_displayed_without_orientation_tag(folders,
                                                                           decided_figure):
    scene, _ = decided_figure
    stored = Image.fromarray(scene.image).transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed after a 90 degree clockwise turn
    exif[0x010F] = "camera"
    path = folders[0] / "turned.jpg"
    stored.save(path, quality=95, exif=exif)
    assert fleck.load_image(str(path)).shape == scene.image.shape
    folders[1].mkdir()
    done = censor_file(str(path), folders[1] / "turned.jpg", mode="fill")
    with Image.open(done.output) as written:
        assert written.size == (SIZE[1], SIZE[0])  # landscape, as displayed
        assert written.getexif().get(0x0112) is None and not written.info.get("exif")
        pixels = np.asarray(written.convert("RGB")).astype(int)
    mask = cover_mask(done.detection, "groups", margin=done.margin)
    assert (pixels[mask] < 40).mean() > 0.97  # filled black where covered
    assert np.abs(pixels[~mask] - scene.image[~mask]).mean() < 4  # the rest as displayed


def test_png_with_alpha_keeps_alpha_and_colours_outside_the_censored_area(folders,
                                                                          decided_figure):
    scene, _ = decided_figure
    alpha = np.where(scene.mask, 255, 90).astype(np.uint8)
    rgba = np.dstack([scene.image, alpha])
    source = _save(folders[0] / "cutout.png", rgba)
    folders[1].mkdir()
    done = censor_file(source, folders[1] / "cutout.png", what="skin", mode="pixelate")
    written = np.asarray(Image.open(done.output))
    assert written.shape == rgba.shape
    mask = cover_mask(done.detection, "skin", margin=done.margin)
    assert mask.any() and (written[mask, 3] == 255).all()
    assert np.array_equal(written[~mask], rgba[~mask])  # lossless, uncomposited
    assert (written[mask, :3] != rgba[mask, :3]).any(axis=1).mean() > 0.9


def test_greyscale_stays_greyscale(folders, decided_figure):
    scene, _ = decided_figure
    grey = np.asarray(Image.fromarray(scene.image).convert("L"))
    source = _save(folders[0] / "grey.png", grey)
    folders[1].mkdir()
    done = censor_file(source, folders[1] / "grey.png", what="skin", mode="fill", margin=0)
    assert Image.open(done.output).mode == "L"


def test_nothing_to_cover_is_copied_byte_for_byte_and_only_flagged_writes_nothing(folders):
    blue = np.full((60, 80, 3), (40, 70, 150), np.uint8)
    source = _save(folders[0] / "blue.jpg", blue, quality=80)
    folders[1].mkdir()
    done = censor_file(source, folders[1] / "blue.jpg")
    assert done.fraction == 0.0
    assert open(done.output, "rb").read() == open(source, "rb").read()
    skipped = censor_file(source, folders[1] / "blue2.jpg", only_flagged=True)
    assert skipped.output is None and not (folders[1] / "blue2.jpg").exists()


def test_never_overwrites_without_permission_and_never_the_input(folders, decided_figure):
    scene, _ = decided_figure
    source = _save(folders[0] / "a.png", scene.image)
    folders[1].mkdir()
    target = folders[1] / "a.png"
    target.write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="--overwrite"):
        censor_file(source, target)
    assert target.read_bytes() == b"keep me"
    censor_file(source, target, overwrite=True)
    assert target.read_bytes() != b"keep me"
    link = folders[1] / "link.png"
    os.link(source, link)  # the output name is the input under another name
    before = open(source, "rb").read()
    with pytest.raises(FileExistsError, match="input itself"):
        censor_file(source, link, overwrite=True)
    with pytest.raises(ValueError, match="beside the input"):
        censor_file(source, folders[0] / "b.png")
    assert open(source, "rb").read() == before
    assert sorted(p.name for p in folders[1].iterdir()) == ["a.png", "link.png"]


# -- command line ---------------------------------------------------------------------------------

def _bad_inputs(folder) -> list[str]:
    (folder / "empty.jpg").write_bytes(b"")
    (folder / "text.jpg").write_bytes(b"hello, not an image")
    data = synth.encode_jpeg(synth.figure(0, size=SIZE).image, 90)
    (folder / "cut.jpg").write_bytes(data[: len(data) // 2])
    return [str(folder / n) for n in ("empty.jpg", "text.jpg", "cut.jpg", "missing.jpg")]


def _messages(err: str, command: str) -> list[str]:
    prefix = f"fleck {command}: "
    return [line[len(prefix):] for line in err.splitlines() if line.startswith(prefix)]


def test_command_batch_goes_on_past_bad_files_with_detects_messages(folders, capsys,
                                                                    decided_figure):
    scene, _ = decided_figure
    good = _save(folders[0] / "good.png", scene.image)
    bad = _bad_inputs(folders[0])
    assert main(["detect", *bad]) == 1
    expected = _messages(capsys.readouterr().err, "detect")
    assert len(expected) == 4
    assert main(["censor", bad[0], good, *bad[1:], "--out", str(folders[1])]) == 1
    captured = capsys.readouterr()
    assert _messages(captured.err, "censor") == expected
    assert "good.png -> " in captured.out and (folders[1] / "good.png").exists()
    assert sorted(p.name for p in folders[1].iterdir()) == ["good.png"]


def test_command_refuses_the_input_folder_and_existing_outputs(folders, capsys, decided_figure):
    scene, _ = decided_figure
    good = _save(folders[0] / "good.png", scene.image)
    assert main(["censor", good, "--out", str(folders[0])]) == 2
    assert "is the folder of the input" in capsys.readouterr().err
    assert main(["censor", good, "--out", str(folders[1])]) == 0
    first = (folders[1] / "good.png").read_bytes()
    assert main(["censor", good, "--out", str(folders[1]), "--mode", "fill"]) == 1
    assert "exists (use --overwrite)" in capsys.readouterr().err
    assert (folders[1] / "good.png").read_bytes() == first
    assert main(["censor", good, "--out", str(folders[1]), "--mode", "fill",
                 "--overwrite"]) == 0
    assert (folders[1] / "good.png").read_bytes() != first


@pytest.mark.parametrize("what", ["groups", "limbs", "skin"])
def test_command_json_records(folders, capsys, what, decided_figure):
    scene, detection = decided_figure
    good = _save(folders[0] / "fig.png", scene.image)
    blue = _save(folders[0] / "blue.png", np.full((60, 80, 3), (40, 70, 150), np.uint8))
    code = main(["censor", good, blue, "--out", str(folders[1]), "--what", what,
                 "--margin", "3", "--only-flagged", "--json"])
    assert code == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    fig, sky = records
    assert fig["label"] == "unsafe" and fig["output"].endswith("fig.png")
    assert fig["censored"] == {"mode": "blur", "what": what, "margin": 3.0,
                               "fraction": pytest.approx(fig["censored"]["fraction"])}
    assert fig["censored"]["fraction"] > 0 and fig["regions"][0]["kind"] == "group"
    assert sky["output"] is None and sky["label"] == "safe"


def test_same_names_from_two_folders_do_not_collide(tmp_path, capsys, decided_figure):
    scene, _ = decided_figure
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        _save(tmp_path / name / "x.png", scene.image)
    assert main(["censor", str(tmp_path / "a/x.png"), str(tmp_path / "b/x.png"),
                 "--out", str(tmp_path / "out")]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x-2.png", "x.png"]


def test_fleck_censor_function_is_the_public_name(decided_figure):
    scene, _ = decided_figure
    out = fleck.censor(io.BytesIO(synth.encode_jpeg(scene.image, 95)), mode="fill")
    assert out.shape == scene.image.shape
