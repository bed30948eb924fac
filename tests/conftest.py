"""Fixtures shared by the test modules."""

from __future__ import annotations

import pytest

import fleck
from fleck import synth

FIGURE_SIZE = (240, 320)


@pytest.fixture(scope="session")
def decided_figure():
    """(scene, detection): a synthetic figure the detector decides positive, with more than one
    group and at least one limb (240 x 320)."""
    for seed in range(40):
        scene = synth.figure(seed, size=FIGURE_SIZE)
        detection = fleck.detect(scene.image)
        if detection.decision and len(detection.groups) > 1 and detection.limbs:
            return scene, detection
    raise AssertionError("no decided figure among 40 seeds")
