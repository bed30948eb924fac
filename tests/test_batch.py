"""fleck.detect_many: input order, every input route, errors as values, crashes, laziness."""

from __future__ import annotations

import io
import os
import signal
from itertools import islice
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fleck
import fleck.scan.local
from fleck.scan.settings import SCAN
from fleck.scan.worker import Worker

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"


@pytest.fixture(scope="module")
def samples() -> list[str]:
    return [str(SAMPLES / name) for name in ("figure_02_medium_arms_raised.jpg",
                                             "figure_10_brown_standing.jpg", "wood_0.jpg",
                                             "grey_1.jpg", "skin_wall_0.jpg")]


def same_detection(a: fleck.Detection, b: fleck.Detection) -> bool:
    return (a == b and a.score == b.score and np.array_equal(a.mask, b.mask))


def test_every_route_in_input_order_with_errors_as_values(samples, tmp_path):
    rgb = fleck.load_image(samples[1])
    missing = str(tmp_path / "missing.jpg")
    pil = Image.open(samples[2])
    handle = open(samples[3], "rb")
    images = [samples[0], b"junk", Path(samples[4]), rgb, missing, pil, handle,
              SAMPLES / "bread_0.jpg", Path(samples[0]).read_bytes()]
    try:
        out = list(fleck.detect_many(images, jobs=2, chunk=1, progress=False))
    finally:
        handle.close()
    assert all(source is image for (source, _), image in zip(out, images, strict=True))
    results = [result for _, result in out]
    assert isinstance(results[1], fleck.ImageError) and results[1].source == "images[1]"
    assert isinstance(results[4], fleck.ImageError) and results[4].source == missing
    detector = fleck.Detector()
    expected = [samples[0], None, samples[4], rgb, None, samples[2], samples[3],
                str(SAMPLES / "bread_0.jpg"), samples[0]]
    for result, image in zip(results, expected, strict=True):
        if image is not None:
            assert isinstance(result, fleck.Detection)
            assert same_detection(result, detector.detect(image))


def test_configuration_is_used(samples):
    (_, result), = fleck.detect_many(samples[:1], config="kapur", jobs=1, progress=False)
    assert result.config == "kapur"
    assert same_detection(result, fleck.detect(samples[0], "kapur"))


class CrashingWorker(Worker):
    """Dies like a segfaulting decoder on bytes that start with b'CRASH'."""

    def detect_one(self, image, name=None):
        if isinstance(image, bytes) and image.startswith(b"CRASH"):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().detect_one(image, name)


def test_a_crashing_image_costs_one_error(samples, monkeypatch):
    monkeypatch.setattr(fleck.scan.local, "_WORKER_CLASS", CrashingWorker)
    images = [*samples[:3], b"CRASH!", *samples[3:]]
    out = list(fleck.detect_many(images, jobs=2, chunk=2, progress=False))
    assert [source for source, _ in out] == images
    errors = [(i, r) for i, (_, r) in enumerate(out) if isinstance(r, fleck.ImageError)]
    assert len(errors) == 1 and errors[0][0] == 3
    assert errors[0][1].source == "images[3]" and "worker process died" in errors[0][1].reason
    assert all(r.score == fleck.detect(s).score for s, r in out if s != b"CRASH!")


def test_endless_input_is_consumed_lazily_and_can_be_left_early():
    pulled = 0
    blue = np.full((48, 64, 3), (60, 90, 160), np.uint8)

    def endless():
        nonlocal pulled
        while True:
            pulled += 1
            yield blue

    first = list(islice(fleck.detect_many(endless(), jobs=1, chunk=1, progress=False), 3))
    assert [r.decision for _, r in first] == [False] * 3
    # At most the chunks in flight (and the one being assembled) were read ahead.
    assert pulled <= 3 + SCAN.in_flight_per_worker * 1 + 1


def test_bad_calls_fail_at_the_call(samples):
    with pytest.raises(TypeError, match="wrap a single image in a list"):
        fleck.detect_many(samples[0])
    with pytest.raises(TypeError, match="iterable of images"):
        fleck.detect_many(io.BytesIO(b"x"))
    with pytest.raises(ValueError, match="jobs"):
        fleck.detect_many(samples, jobs=-1)
    with pytest.raises(ValueError, match="unknown configuration"):
        fleck.detect_many(samples, config="nonsense")


def test_progress_bar_counts_images(samples, capsys):
    list(fleck.detect_many(samples[:3], jobs=1, progress=True))
    err = capsys.readouterr().err
    assert "fleck" in err and "3/3" in err
    list(fleck.detect_many(samples[:3], jobs=1, progress=False))
    assert capsys.readouterr().err == ""


def test_workers_are_kept_for_the_next_call_unless_left_early(samples, monkeypatch):
    from fleck.batch import release_workers

    release_workers()
    made = []
    real = fleck.scan.local.worker_pool
    monkeypatch.setattr(fleck.scan.local, "worker_pool",
                        lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    first = [r.score for _, r in fleck.detect_many(samples[:3], jobs=2, progress=False)]
    second = [r.score for _, r in fleck.detect_many(samples[:3], jobs=2, progress=False)]
    assert first == second and len(made) == 1  # the second call ran on the same workers
    other = [r.config for _, r in fleck.detect_many(samples[:1], "kapur", jobs=2,
                                                    progress=False)]
    assert other == ["kapur"] and len(made) == 2  # another configuration: other workers
    for _ in fleck.detect_many(samples, "kapur", jobs=2, chunk=1, progress=False):
        break  # left early: those workers are ended, not kept
    assert release_workers() == 0
    list(fleck.detect_many(samples[:1], "kapur", jobs=2, progress=False))
    assert len(made) == 3 and release_workers() == 1


def two_results_each(items):
    """A task giving two results per item (as a scan gives a video's frames and file) that
    dies like a decoder on the item 'crash'."""
    if "crash" in items:
        os.kill(os.getpid(), signal.SIGKILL)
    return [(item, part) for item in items for part in ("frames", "file")]


@pytest.mark.parametrize("ordered", [False, True])
def test_run_chunks_retries_the_suspects_alone_keeping_each_items_results_together(ordered):
    from fleck.config import FLECK_1996
    from fleck.scan.local import CRASHED, run_chunks, worker_pool

    chunks = [["a", "b"], ["crash", "c"], ["d"]]
    out = list(run_chunks(iter(chunks), worker_pool(2, FLECK_1996), two_results_each,
                          lambda item, reason: (item, reason), ordered=ordered))
    flat = [result for results in out for result in results]
    assert sorted(flat) == sorted([(i, p) for i in "abcd" for p in ("frames", "file")]
                                  + [("crash", CRASHED)])
    for results in out:  # an item's results never straddle two yields
        items = [item for item, _ in results]
        assert all(items.count(i) == (1 if i == "crash" else 2) for i in items)
    if ordered:
        assert [item for item, _ in flat] == ["a", "a", "b", "b", "crash", "c", "c", "d", "d"]


def test_workers_start_for_a_script_piped_to_python(tmp_path):
    """``python - < script.py``: __main__.__file__ is '<stdin>', which a forkserver worker would
    try to re-run before its first task (every worker died, every image was reported as a crash)."""
    import subprocess
    import sys

    from fleck import synth

    for seed in range(2):
        (tmp_path / f"{seed}.jpg").write_bytes(synth.encode_jpeg(synth.figure(seed).image))
    script = ("import fleck, glob\n"
              f"files = sorted(glob.glob({str(tmp_path / '*.jpg')!r}))\n"
              "results = list(fleck.detect_many(files, jobs=2))\n"
              "print(sum(isinstance(d, fleck.Detection) for _, d in results))\n")
    done = subprocess.run([sys.executable, "-"], input=script, capture_output=True, text=True,
                          timeout=120, cwd=Path(__file__).resolve().parents[1])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"
