"""The fleck_plus configuration: registered and selectable everywhere, provenance complete."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import fleck
from fleck.cli import main as cli_main
from fleck.commands._common import CONFIG_NAMES
from fleck.config import (
    CONFIGS,
    FITTED_STRICT,
    FLECK_PLUS,
    FLECK_PLUS_SKIN,
    describe,
    get_config,
    provenance,
)
from fleck.scorers import get_scorer

TAN = (176, 112, 80)


def _photo() -> np.ndarray:
    rng = np.random.default_rng(7)
    image = rng.integers(30, 80, (120, 160, 3)).astype(np.uint8)
    image[20:100, 50:90] = TAN
    image[30:45, 90:150] = (186, 120, 88)
    return image


def test_registered_by_name_and_with_a_working_size():
    assert CONFIGS["fleck_plus"] is FLECK_PLUS is get_config("fleck_plus")
    assert fleck.get_config("fleck_plus") is FLECK_PLUS
    assert get_config("fleck_plus@480").working_size == 480
    assert get_config("fleck_plus@480").name == "fleck_plus@480"
    assert FLECK_PLUS.skin is FLECK_PLUS_SKIN and FLECK_PLUS.skin.adaptive
    assert "fleck_plus" in CONFIG_NAMES


def test_every_value_changed_from_fitted_strict_says_why():
    strict = {name: value for name, value, _ in describe(FITTED_STRICT)}
    changed = [(name, why) for name, value, why in describe(FLECK_PLUS)
               if not name.endswith("name") and strict[name] != value]
    assert {name for name, _ in changed} >= {"skin.adaptive", "skin.adaptive_penalty_max"}
    for name, why in changed:
        assert "dev" in why, name  # measured on the dev split, and says so
    assert "lip_hpa dev" in provenance(FLECK_PLUS_SKIN, "adaptive")


def test_detector_detect_and_scorer_agree():
    image = _photo()
    detection = fleck.Detector("fleck_plus").detect(image)
    assert detection.config == "fleck_plus"
    assert fleck.detect(image, "fleck_plus").score == detection.score
    assert get_scorer("fleck:fleck_plus")(image) == detection.score
    # the adaptive skin map is the one the detector uses: it differs from fitted_strict's here
    plain = fleck.Detector("fitted_strict").detect(image)
    assert not np.array_equal(plain.mask, detection.mask)


def test_cli_skin_model_fleck_plus(tmp_path, capsys):
    from PIL import Image

    path = tmp_path / "photo.png"
    Image.fromarray(_photo()).save(path)
    assert cli_main(["skin", str(path), "--skin-model", "fleck_plus", "--json"]) == 0
    assert '"config": "fleck_plus"' in capsys.readouterr().out
    assert cli_main(["detect", str(path), "--skin-model", "fleck_plus", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["config"] == "fleck_plus"


def test_estimator_accepts_the_name():
    estimator = pytest.importorskip("fleck.estimator")
    clf = estimator.FleckClassifier("fleck_plus")
    assert clf.predict([_photo()]).tolist() in ([0], [1])


def test_the_gate_reads_the_fitted_tables_map():
    from fleck.config import FITTED_STRICT_SKIN
    from fleck.skin import skin_map

    image = _photo()
    plus = skin_map(image, FLECK_PLUS_SKIN, keep_maps=True)
    strict = skin_map(image, FITTED_STRICT_SKIN)
    assert plus.maps["seed"].any()  # the photo has its own skin colour: the maps differ
    assert not np.array_equal(plus.mask, strict.mask)
    assert plus.fraction == strict.fraction  # but the gate counts the table's skin
    assert plus.passes == (strict.fraction >= FLECK_PLUS_SKIN.min_skin_fraction)
    adapted = skin_map(image, dataclasses.replace(FLECK_PLUS_SKIN, adaptive_skin_gate="adapted"))
    assert adapted.fraction == np.count_nonzero(plus.mask) / plus.mask.size
