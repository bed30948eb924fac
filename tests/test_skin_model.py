"""The fitted skin model: shipped table, colour sanity, config wiring, dev accuracy."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import fleck
from fleck.cli import main as cli_main
from fleck.config import FITTED, FITTED_STRICT, FLECK_1996, KAPUR, get_config
from fleck.evaldata import load_pair, read_manifest
from fleck.skin import skin_filter, skin_map
from fleck.skin_model import (
    accepted_region,
    colour_llr,
    decode_llr,
    encode_llr,
    load_table,
    plot_accepted_region,
)
from fleck.skin_rules import kovac_rgb

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
TABLE = Path(fleck.__file__).parent / "data" / "skin_llr.npz"


def test_shipped_table_is_small_and_has_the_documented_layout():
    assert TABLE.stat().st_size < 64_000  # kilobytes, not megabytes
    table = load_table()
    assert table.llr.shape == (64, 64, 16) and table.llr.dtype == np.float32
    assert (table.rg_min, table.by_min, table.step, table.band) == (-20.0, -112.0, 2.0, 16.0)
    assert table.meta["split"] == "dev"
    assert "[1.5, 1.0, 1.0, 1.0, 1.0, 2.5]" in table.meta["skin_weights"]  # provenance kept
    assert load_table() is table  # loaded once


def test_llr_code_round_trips_within_half_a_step():
    values = np.linspace(-8, 8, 101)
    assert np.abs(decode_llr(encode_llr(values)) - values).max() <= 8 / 255 + 1e-4


SKIN = {"pale": (224, 172, 138), "light": (233, 190, 160), "tan": (176, 112, 80),
        "dark": (141, 85, 56), "very dark": (90, 56, 37)}
NOT_SKIN = {"grey": (128, 128, 128), "white": (255, 255, 255), "blue": (40, 80, 200),
            "green": (60, 160, 70), "black": (5, 5, 5), "purple": (120, 40, 160)}


@pytest.mark.parametrize("name", SKIN)
def test_skin_colours_pass_the_lenient_test_and_most_pass_stage1(name):
    llr = float(colour_llr(np.array(SKIN[name], np.uint8)))
    assert llr >= FITTED.skin.table_stage2_min
    if name != "light":  # 1996's boxes reject light and pale skin: the fitted table must not
        assert llr >= FITTED.skin.table_stage1_min


@pytest.mark.parametrize("name", NOT_SKIN)
def test_non_skin_colours_fail_even_the_lenient_test(name):
    assert float(colour_llr(np.array(NOT_SKIN[name], np.uint8))) < FITTED.skin.table_stage2_min


def test_flat_patches_through_the_whole_filter():
    for rgb in (SKIN["tan"], SKIN["pale"], SKIN["very dark"]):
        assert skin_filter(np.full((60, 80, 3), rgb, np.uint8), "fitted").passes
    for rgb in NOT_SKIN.values():
        assert skin_filter(np.full((60, 80, 3), rgb, np.uint8), "fitted").fraction == 0.0


def test_fitted_uses_fleck_texture_and_growth():
    import dataclasses

    rng = np.random.default_rng(0)
    # Skin colour with strong texture: the table branch applies the configured texture bound.
    field = np.full((120, 160, 3), SKIN["tan"], np.float32)
    field = (field * rng.choice([0.3, 1.0], size=(120, 160, 1))).astype(np.uint8)
    loose = skin_map(field, FITTED.skin, keep_maps=True).maps["stage1"]
    strict = skin_map(field, dataclasses.replace(FITTED.skin, texture_max=2.0),
                      keep_maps=True).maps["stage1"]
    assert not (strict & ~loose).any() and strict.sum() < 0.5 * loose.sum()
    # An isolated skin speck is removed by the density growth.
    image = np.full((120, 160, 3), NOT_SKIN["blue"], np.uint8)
    image[56:64, 76:84] = SKIN["tan"]  # 64 px: survives the chroma median, < 1/8 of the disk
    result = skin_map(image, FITTED.skin, keep_maps=True)
    assert result.maps["stage1"][58:62, 78:82].all() and not result.mask.any()
    assert "llr" in result.maps and result.maps["hue"].shape == image.shape[:2]


def test_default_and_kapur_configurations_are_unchanged():
    assert get_config(None) is FLECK_1996 and FLECK_1996.skin.colour_model == "boxes"
    assert KAPUR.skin.colour_model == "boxes"
    rng = np.random.default_rng(3)
    image = rng.integers(0, 256, (90, 120, 3), dtype=np.uint8)
    image[20:70, 30:90] = SKIN["tan"]
    boxes = skin_filter(image, FLECK_1996, keep_maps=True)
    assert "llr" not in boxes.maps
    assert boxes.maps["stage1"].any()
    assert FLECK_1996.skin.texture_max == 5.0 and FITTED.skin.texture_max != 5.0


def test_detector_and_detect_accept_the_fitted_name():
    image = np.full((120, 160, 3), SKIN["dark"], np.uint8)
    detection = fleck.Detector("fitted").detect(image)
    assert detection.skin_fraction == 1.0
    assert fleck.detect(image, "fitted").skin_fraction == 1.0


def test_cli_skin_model_option(tmp_path, capsys):
    import cv2

    path = tmp_path / "tan.png"
    cv2.imwrite(str(path), np.full((60, 80, 3), SKIN["tan"][::-1], np.uint8))
    assert cli_main(["skin", str(path), "--skin-model", "fitted", "--json"]) == 0
    out = capsys.readouterr().out
    assert '"config": "fitted"' in out and '"skin_fraction": 1.0' in out
    assert cli_main(["skin", str(path), "--skin-model", "fleck1996", "--json"]) == 0
    assert '"config": "fleck1996"' in capsys.readouterr().out
    assert cli_main(["detect", str(path), "--skin-model", "fitted"]) == 0
    results = tmp_path / "scan.jsonl"
    assert cli_main(["scan", str(path), "-o", str(results), "--skin-model", "fitted", "-q",
                     "-j", "1"]) == 0
    assert '"skin_fraction": 1.0' in results.read_text()


def test_fitted_strict_is_the_same_table_with_a_subset_of_fitted_skin():
    # Higher thresholds on the same table: fewer stage-1 seeds, a stricter stage 2, and a
    # density growth that is monotone in its seeds, so every strict pixel is a fitted pixel.
    assert FITTED_STRICT.skin.colour_table == FITTED.skin.colour_table
    assert FITTED_STRICT.skin.table_stage1_min > FITTED.skin.table_stage1_min
    assert FITTED_STRICT.skin.table_stage2_min > FITTED.skin.table_stage2_min
    rng = np.random.default_rng(5)
    image = rng.integers(0, 256, (120, 160, 3), dtype=np.uint8)
    corners = ((10, 10), (10, 80), (60, 10), (60, 80))
    for (y, x), rgb in zip(corners, SKIN.values(), strict=False):
        image[y:y + 50, x:x + 70] = rgb
    image = (image * rng.uniform(0.7, 1.0, (120, 160, 1))).astype(np.uint8)  # shading
    strict = skin_filter(image, "fitted_strict").mask
    loose = skin_filter(image, "fitted").mask
    assert strict.any() and not (strict & ~loose).any() and strict.sum() < loose.sum()


def test_cli_accepts_fitted_strict(tmp_path, capsys):
    import cv2

    path = tmp_path / "tan.png"
    cv2.imwrite(str(path), np.full((60, 80, 3), SKIN["tan"][::-1], np.uint8))
    assert cli_main(["skin", str(path), "--skin-model", "fitted_strict", "--json"]) == 0
    assert '"config": "fitted_strict"' in capsys.readouterr().out


def test_accepted_region_and_plot(tmp_path):
    region = accepted_region("fitted")
    assert region["stage1"].shape == (64, 64, 16)
    assert (region["stage2"] >= region["stage1"]).all()  # stage 2 is the lenient test
    with pytest.raises(ValueError, match="no fitted table"):
        accepted_region("fleck1996")
    plot_accepted_region(tmp_path / "region.png")
    assert (tmp_path / "region.png").stat().st_size > 1000


@pytest.mark.skipif(not (DATA / "manifest.csv").is_file(),
                    reason="evaluation data ../shared/data not present")
def test_fitted_beats_kovac_on_abdomen_dev_images():
    rows = [r for r in read_manifest(DATA)
            if r["dataset"] == "abdomen" and r["split"] == "dev"][:60]
    counts = {"fitted": np.zeros(3), "kovac": np.zeros(3)}
    for row in rows:
        image, truth = load_pair(DATA, row)
        for name, mask in (("fitted", skin_filter(image, "fitted").mask_at(truth.shape)),
                           ("kovac", kovac_rgb(image))):
            tp = np.count_nonzero(mask & truth)
            counts[name] += (tp, np.count_nonzero(mask) - tp, np.count_nonzero(truth) - tp)
    f1 = {n: 2 * c[0] / (2 * c[0] + c[1] + c[2]) for n, c in counts.items()}
    assert f1["fitted"] > f1["kovac"]
