"""Skin-tone measurement used by the benchmarks and the fit script (fleck.evaldata)."""

from __future__ import annotations

import numpy as np

from fleck.evaldata import ITA_BINS, ita_bin_index, skin_tone


def test_ita_bins_follow_the_published_edges():
    ita = np.array([90.0, 55.1, 55.0, 41.0, 30.0, 28.0, 0.0, -30.0, -60.0])
    names = [ITA_BINS[i][0] for i in ita_bin_index(ita)]
    assert names == ["very light", "very light", "light", "intermediate", "intermediate",
                     "tan", "brown", "dark", "dark"]


def test_skin_tone_reads_ita_of_skin_colours_and_sets_casts_aside():
    pale, tan, dark = (236, 200, 180), (200, 140, 100), (90, 55, 40)
    grey, magenta_cast, blue_ink = (150, 150, 150), (170, 60, 110), (40, 50, 90)
    image = np.array([[pale, tan, dark, grey, magenta_cast, blue_ink]], np.uint8)
    ita, readable = skin_tone(image)
    assert readable[0].tolist() == [True, True, True, False, False, False]
    bins = [ITA_BINS[i][0] for i in ita_bin_index(ita[0, :3])]
    assert bins[0] == "very light" and bins[2] in ("brown", "dark")
    assert ita[0, 0] > ita[0, 1] > ita[0, 2]  # lighter skin, larger angle
    assert abs(ita[0, 3]) > 80  # a grey has b* ~ 0: arctan2 sends it to an extreme bin
