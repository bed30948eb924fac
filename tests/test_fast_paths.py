"""The fast code paths give bit-identical detections to the reference (slow, plain) ones.

Every speed-up of the detector must leave every answer unchanged. These tests run the whole
detector twice in the same process, once as it is and once with the frozen reference functions
of ``tests/_reference_impl.py`` swapped in, on every image of ``data_samples/`` and on generated
figures and controls at several sizes, under every named configuration, and compare the complete
lossless record (``Detection.to_dict()`` without the timings).
"""

from __future__ import annotations

import json
from pathlib import Path

import _reference_impl as reference  # tests/_reference_impl.py
import numpy as np
import pytest

import fleck
from fleck import synth
from fleck.config import CONFIGS
from fleck.loading import load

SAMPLES = sorted(p for p in (Path(__file__).resolve().parents[1] / "data_samples").iterdir()
                 if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
# (kind, seed, size): figures and skin-coloured controls at sizes below, at and above the
# working size, in both orientations.
SCENES = [("figure", seed, size) for seed, size in enumerate(
    [(240, 320), (480, 640), (300, 200), (120, 160), (600, 450), (360, 640), (200, 200),
     (480, 360)])] + [
    (kind, seed, size) for seed, (kind, size) in enumerate(
        [("wood", (480, 640)), ("bread", (240, 320)), ("skin_wall", (640, 480)),
         ("fur", (300, 400)), ("stripes", (480, 640)), ("face_closeup", (320, 240))])]


def _images() -> list[tuple[str, np.ndarray]]:
    images = [(p.name, load(p).rgb) for p in SAMPLES]
    images += [(f"{kind}-{seed}-{size[0]}x{size[1]}", synth.scene(kind, seed, size=size).image)
               for kind, seed, size in SCENES]
    return images


def _records(images, config: str) -> dict[str, str]:
    detector = fleck.Detector(config)
    records = {}
    for name, image in images:
        record = detector.detect(image).to_dict()
        record.pop("times_ms")
        records[name] = json.dumps(record, sort_keys=True)
    return records


@pytest.fixture(scope="module")
def images():
    return _images()


def test_the_samples_are_all_there():
    assert len(SAMPLES) >= 40


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_fast_and_reference_paths_give_identical_detections(images, config, monkeypatch):
    fast = _records(images, config)
    with monkeypatch.context() as patch:
        reference.install(patch)
        slow = _records(images, config)
    assert fast.keys() == slow.keys()
    differing = [name for name in fast if fast[name] != slow[name]]
    assert not differing, f"{config}: detections differ on {differing}"
    # The comparison has teeth: the images reach every stage.
    decoded = [json.loads(r) for r in fast.values()]
    assert any(r["segments"] for r in decoded) and any(r["group_list"] for r in decoded)
