"""Regions (fleck.regions, Detection.regions): where the evidence lies, in the image's frame."""

from __future__ import annotations

import argparse
import doctest
import json

import cv2
import numpy as np
import pytest

import fleck
import fleck.regions
from fleck.config import FLECK_1996
from fleck.detector import Detection
from fleck.regions import cover_mask, deciding_groups, rle_decode, skin_rle

SIZE = (240, 320)


def test_doctests():
    assert doctest.testmod(fleck.regions, optionflags=doctest.ELLIPSIS).failed == 0


def test_deciding_group_first_then_groups_limbs_segments_skin(decided_figure):
    _, detection = decided_figure
    found = detection.regions()
    first = found[0]
    assert first["kind"] == "group" and first["rule"] == detection.rule
    deciding = detection.groups[detection.deciding_group]
    assert first["segments"] == list(deciding.segments)
    assert first["score"] >= detection.threshold  # it fires the rule by itself
    kinds = [r["kind"] for r in found]
    order = {kind: i for i, kind in enumerate(fleck.regions.REGION_KINDS)}
    assert [order[k] for k in kinds] == sorted(order[k] for k in kinds)
    assert kinds.count("segment") == len(detection.segments)
    assert kinds.count("limb") == len(detection.limbs)
    assert kinds.count("group") == len(detection.groups)
    assert kinds[-1] == "skin"
    assert found[-1]["score"] == pytest.approx(detection.skin_fraction, abs=1e-6)
    group_scores = [r["score"] for r in found[1:] if r["kind"] == "group"]
    assert group_scores == sorted(group_scores, reverse=True)


def test_boxes_and_polygons_are_in_the_input_frame(decided_figure):
    _, detection = decided_figure
    rows, cols = detection.image_size
    for region in detection.regions():
        x0, y0, x1, y1 = region["box"]
        assert 0 <= x0 < x1 <= cols and 0 <= y0 < y1 <= rows, region
        for x, y in region.get("polygon", []):
            inside_x = x0 - 0.5 <= x <= x1 - 0.5 or x < 0 or x > cols - 1
            inside_y = y0 - 0.5 <= y <= y1 - 0.5 or y < 0 or y > rows - 1
            assert inside_x and inside_y, (region["kind"], (x, y), region["box"])


def test_segment_region_is_its_ribbon_and_scores_follow_groups(decided_figure):
    _, detection = decided_figure
    found = detection.regions()
    segments = {r["index"]: r for r in found if r["kind"] == "segment"}
    for segment in detection.segments:
        polygon = np.array(segments[segment.index]["polygon"])
        assert polygon == pytest.approx(segment.ribbon(), abs=0.07)  # 1 + 2 decimals
    deciding = found[0]
    for index in deciding["segments"]:
        assert segments[index]["score"] >= deciding["score"]
    members = {i for r in found if r["kind"] == "group" for i in r["segments"]}
    for index, region in segments.items():
        if index not in members:
            assert region["score"] == 0.0


def test_regions_follow_a_resized_input(decided_figure):
    scene, detection = decided_figure
    big = cv2.resize(scene.image, (2 * SIZE[1], 2 * SIZE[0]), interpolation=cv2.INTER_LINEAR)
    large = fleck.detect(big)
    if large.rule != detection.rule:
        pytest.skip("the resized figure is decided through another rule")
    a, b = detection.regions()[0]["box"], large.regions()[0]["box"]
    assert np.array(b) == pytest.approx(2 * np.array(a), abs=12)


def test_negative_image_has_no_regions_and_records_are_json(decided_figure):
    blue = fleck.detect(np.full((60, 80, 3), (40, 70, 150), np.uint8))
    assert blue.regions() == [] and blue.summary()["regions"] == []
    _, detection = decided_figure
    record = json.loads(json.dumps(detection.summary()))
    assert record["regions"] == detection.regions()
    again = Detection.from_dict(json.loads(json.dumps(detection.to_dict())))
    assert again.regions() == detection.regions()


def test_deciding_groups_respect_the_configuration(decided_figure):
    _, detection = decided_figure
    groups = deciding_groups(detection)
    assert groups[0] == detection.deciding_group
    c0 = FLECK_1996.geometry.min_group_coverage
    assert all(detection.groups[i].coverage >= c0 for i in groups)
    off = FLECK_1996.replace(geometry={detection.rule: False})
    assert all(detection.groups[i].kind != detection.rule
               for i in deciding_groups(detection, off) if i != detection.deciding_group)


def test_cover_mask_groups_limbs_skin_and_margin(decided_figure):
    _, detection = decided_figure
    groups = cover_mask(detection, "groups")
    limbs = cover_mask(detection, "limbs")
    skin = cover_mask(detection, "skin")
    assert groups.shape == limbs.shape == skin.shape == detection.image_size
    assert groups.any() and not (groups & ~limbs).any() and limbs.sum() >= groups.sum()
    # Every spine midpoint of the deciding group lies in the covered area.
    segments = {s.index: s for s in detection.segments}
    for index in detection.groups[detection.deciding_group].segments:
        row, col = (int(round(v)) for v in segments[index].midpoint)
        assert groups[row, col]
    assert np.array_equal(skin, detection.mask_at())
    grown = cover_mask(detection, "groups", margin=5)
    assert not (groups & ~grown).any() and grown.sum() > groups.sum()
    # A 5 px margin reaches 5 px, not 7.
    distance = cv2.distanceTransform((~groups).view(np.uint8), cv2.DIST_L2, 5)
    assert distance[grown].max() <= 5.5  # the chamfer distance is within 2 %
    half = cover_mask(detection, "groups", (SIZE[0] // 2, SIZE[1] // 2))
    assert half.sum() == pytest.approx(groups.sum() / 4, rel=0.15)
    with pytest.raises(ValueError, match="what must be one of"):
        cover_mask(detection, "faces")


@pytest.mark.parametrize("seed", range(5))
def test_rle_round_trip(seed):
    rng = np.random.default_rng(seed)
    shape = tuple(int(v) for v in rng.integers(1, 30, 2))
    mask = rng.random(shape) < rng.random()
    rle = skin_rle(mask)
    assert rle["size"] == list(shape) and sum(rle["counts"]) == mask.size
    assert np.array_equal(rle_decode(rle), mask)
    with pytest.raises(ValueError):
        rle_decode({"size": [shape[0] + 1, shape[1]], "counts": rle["counts"]})


def test_detect_command_writes_masks_and_run_lengths(tmp_path, capsys, decided_figure):
    from PIL import Image

    from fleck.cli import main

    scene, detection = decided_figure
    path = tmp_path / "fig.png"
    Image.fromarray(scene.image).save(path)
    assert main(["detect", str(path), "--json", "--masks", str(tmp_path / "m"),
                 "--skin-rle"]) == 0
    record = json.loads(capsys.readouterr().out)
    mask = np.asarray(Image.open(record["mask"])) > 127
    assert mask.shape == SIZE and np.array_equal(mask, detection.mask_at())
    skin = record["regions"][-1]
    assert skin["kind"] == "skin" and np.array_equal(rle_decode(skin["rle"]), mask)
    assert record["regions"][0] == detection.regions()[0]
    assert main(["detect", str(path), "--json"]) == 0
    assert "rle" not in json.loads(capsys.readouterr().out)["regions"][-1]  # never by default


def test_scan_writes_masks_and_run_lengths_outside_its_walk(tmp_path, decided_figure):
    from PIL import Image

    from fleck.cli import main
    from fleck.commands.scan import resume_command
    from fleck.overlay import overlay_path

    scene, detection = decided_figure
    Image.fromarray(scene.image).save(tmp_path / "fig.png")
    masks = tmp_path / "masks"  # inside the scanned folder: must not be scanned itself
    for _ in range(2):
        assert main(["scan", str(tmp_path), "-o", str(tmp_path / "r.jsonl"), "-j", "1", "-q",
                     "--masks", str(masks), "--skin-rle", "--overwrite"]) == 0
    (record,) = [json.loads(line) for line in (tmp_path / "r.jsonl").read_text().splitlines()]
    assert record["mask"] == overlay_path(str(tmp_path / "fig.png"), masks)
    mask = np.asarray(Image.open(record["mask"])) > 127
    assert np.array_equal(mask, detection.mask_at())
    assert np.array_equal(rle_decode(record["regions"][-1]["rle"]), mask)
    args = argparse.Namespace(paths=["p"], output="r.jsonl", jobs=None, csv=None, overlays=None,
                              masks="m", thresholds="t.json", skin_rle=True,
                              skin_model="fleck1996", scheduler=None, chunk=None, quiet=True)
    assert resume_command(args) == ("fleck scan p -o r.jsonl --resume --masks m "
                                    "--thresholds t.json --skin-rle --quiet")
