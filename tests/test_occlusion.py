"""Occlusion maps: exact values against a brute-force reference with known score functions."""

from __future__ import annotations

import importlib
import os
import pickle
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fleck.errors import ImageError
from fleck.occlusion import coverage_counts, occlusion_map, save_occlusion_figure, window_starts
from fleck.scorers import NamedScorer, get_scorer

RED = (255, 0, 0)
GREY = (128, 128, 128)


# --- known score functions (module level, so worker processes can find them) ----------------

def red_fraction(image: np.ndarray) -> float:
    """Fraction of pure-red pixels in the whole input (crop or image)."""
    return float(np.all(image == RED, axis=-1).mean())


BOX = (slice(2, 9), slice(3, 11))  # fixed box, image coordinates (rows 2-8, cols 3-10)


def red_fraction_in_box(image: np.ndarray) -> float:
    """Mean of 'pixel is red' inside a fixed box: the issue's known-answer scorer."""
    return float(np.all(image[BOX] == RED, axis=-1).mean())


def red_fraction_batched(stack: np.ndarray) -> np.ndarray:
    assert stack.ndim == 4 and stack.shape[-1] == 3
    return np.all(stack == RED, axis=-1).mean(axis=(1, 2))


def make_image(seed: int = 0, shape: tuple[int, int] = (13, 17)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 200, (*shape, 3), dtype=np.uint8)
    red = rng.random(shape) < 0.35
    image[red] = RED
    return image


# --- brute force reference, written independently of the library -----------------------------

def reference_starts(length: int, window: int, stride: int) -> list[int]:
    window = min(window, length)
    starts = list(range(0, length - window + 1, stride))
    if starts[-1] != length - window:
        starts.append(length - window)
    return starts


def reference_map(image, score, window, stride, variant, fill=GREY):
    height, width = image.shape[:2]
    wh, ww = min(window, height), min(window, width)
    total = np.zeros((height, width))
    count = np.zeros((height, width), int)
    for top in reference_starts(height, window, stride):
        for left in reference_starts(width, window, stride):
            if variant == "window":
                value = score(image[top:top + wh, left:left + ww].copy())
            else:
                occluded = image.copy()
                occluded[top:top + wh, left:left + ww] = fill
                value = 1.0 - score(occluded)
            for i in range(top, top + wh):  # deliberately the slow, obvious way
                for j in range(left, left + ww):
                    total[i, j] += value
                    count[i, j] += 1
    return total / count, count


# --- geometry -----------------------------------------------------------------------------------

@settings(max_examples=200, deadline=None)
@given(length=st.integers(1, 120), window=st.integers(1, 80), stride=st.integers(1, 80))
def test_window_starts_cover_every_pixel_and_touch_the_border(length, window, stride):
    stride = min(stride, window)
    starts = window_starts(length, window, stride)
    assert starts.tolist() == reference_starts(length, window, stride)
    side = min(window, length)
    assert starts[0] == 0 and starts[-1] == length - side
    assert np.all(np.diff(starts) >= 1) and np.all(np.diff(starts) <= stride)
    counts = coverage_counts((length, 1), starts, np.array([0]), (side, 1))[:, 0]
    assert counts.min() >= 1


def test_counts_are_exact_at_borders_and_interior():
    result = occlusion_map(np.zeros((32, 32, 3), np.uint8), lambda im: 0.5, window=8, stride=4,
                           variant="window")
    assert result.counts[0, 0] == 1 and result.counts[0, 31] == 1 and result.counts[31, 0] == 1
    assert result.counts[0, 10] == 2  # border row: one window vertically, two horizontally
    assert result.counts[10, 10] == 4  # interior: (8 / 4) ** 2
    assert result.positions == 7 * 7 and result.scores.shape == (7, 7)


def test_last_window_added_when_stride_does_not_divide():
    result = occlusion_map(np.zeros((10, 11, 3), np.uint8), lambda im: 0.0, window=4, stride=3,
                           variant="window")
    assert result.row_starts.tolist() == [0, 3, 6]
    assert result.col_starts.tolist() == [0, 3, 6, 7]
    assert result.counts.min() >= 1


# --- exact values -------------------------------------------------------------------------------

@pytest.mark.parametrize("variant", ["window", "occlude"])
@pytest.mark.parametrize("window,stride", [(4, 1), (5, 2), (6, 4), (3, 3), (20, 7)])
def test_map_equals_brute_force_reference(variant, window, stride):
    image = make_image(seed=window * 10 + stride)
    score = red_fraction if variant == "window" else red_fraction_in_box
    result = occlusion_map(image, score, window=window, stride=stride, variant=variant,
                           fill=GREY)
    expected, counts = reference_map(image, score, window, stride, variant)
    assert result.map.shape == image.shape[:2] and result.map.dtype == np.float32
    np.testing.assert_array_equal(result.counts, counts)
    np.testing.assert_allclose(result.map, expected, rtol=0, atol=1e-6)


def test_corner_pixel_is_exactly_its_one_window():
    image = make_image(seed=3)
    result = occlusion_map(image, red_fraction, window=5, stride=2, variant="window")
    assert result.map[0, 0] == pytest.approx(red_fraction(image[:5, :5]), abs=1e-7)
    assert result.map[-1, -1] == pytest.approx(red_fraction(image[-5:, -5:]), abs=1e-7)


def test_window_map_peaks_on_the_red_patch():
    image = np.full((40, 40, 3), 90, np.uint8)
    image[20:28, 12:20] = RED  # 8 x 8 patch, centre (23.5, 15.5)
    result = occlusion_map(image, red_fraction, window=8, stride=2, variant="window")
    peak = np.unravel_index(np.argmax(result.map), result.map.shape)
    assert 20 <= peak[0] < 28 and 12 <= peak[1] < 20
    # the maximum is symmetric about the patch centre, pixels no window links to the patch are 0
    assert result.map[23, 15] == pytest.approx(result.map[24, 16], abs=1e-6)
    assert result.map[:10].max() == 0 and result.map[:, 30:].max() == 0
    assert result.scores.max() == 1.0  # the window lying exactly on the patch


def test_occlude_map_peaks_where_hiding_removes_red_inside_the_box():
    image = np.full((16, 16, 3), 60, np.uint8)
    image[BOX] = RED
    image[12:16, 0:4] = RED  # red outside the box: the scorer ignores it
    result = occlusion_map(image, red_fraction_in_box, window=4, stride=1, variant="occlude")
    peak = np.unravel_index(np.argmax(result.map), result.map.shape)
    assert 2 <= peak[0] < 9 and 3 <= peak[1] < 11
    assert result.base_score == 1.0
    # windows that never touch the box do not change the score: 1 - 1 = 0 there
    assert result.map[15, 0] == 0.0 and result.map[0, 15] == 0.0


def test_variants_relate_as_documented():
    """With score = red fraction of the input and a non-red fill, hiding a window removes its red
    pixels: 1 - score(occluded) = 1 - R/N + red_in_window/N, so
    occlude_map = 1 - R/N + (window^2 / N) * window_map, exactly."""
    image = make_image(seed=7, shape=(15, 18))
    window, stride = 5, 2
    occl = occlusion_map(image, red_fraction, window=window, stride=stride, variant="occlude")
    win = occlusion_map(image, red_fraction, window=window, stride=stride, variant="window")
    n = image.shape[0] * image.shape[1]
    total_red = red_fraction(image) * n
    np.testing.assert_allclose(occl.map, 1 - total_red / n + window ** 2 / n * win.map,
                               atol=1e-6)
    assert occl.base_score == win.base_score == pytest.approx(total_red / n)


def test_constant_score_gives_constant_maps():
    image = make_image(seed=1)
    for variant, expected in [("window", 0.3), ("occlude", 0.7)]:
        result = occlusion_map(image, lambda im: 0.3, window=4, stride=3, variant=variant)
        np.testing.assert_allclose(result.map, expected, atol=1e-6)


# --- fills, batching, workers, working size --------------------------------------------------

@pytest.mark.parametrize("fill,expected", [((10, 20, 30), (10, 20, 30)), (7, (7, 7, 7)),
                                           ("grey", GREY), ("mean", None)])
def test_flat_fills_paint_the_window(fill, expected):
    image = make_image(seed=2)
    if expected is None:
        expected = tuple(np.round(image.reshape(-1, 3).mean(0)).astype(int))
    seen = []

    def record(im):
        seen.append(im[0:3, 0:3].copy())
        return 0.0

    occlusion_map(image, record, window=3, stride=3, variant="occlude", fill=fill)
    np.testing.assert_array_equal(seen[1], np.broadcast_to(expected, (3, 3, 3)))  # [0] = base


def test_blur_fill_keeps_the_rest_of_the_image():
    image = make_image(seed=4, shape=(20, 20))
    changed = []

    def record(im):
        changed.append(np.argwhere(np.any(im != image, axis=-1)))
        return 0.0

    occlusion_map(image, record, window=6, stride=6, variant="occlude", fill="blur")
    rows, cols = changed[1][:, 0], changed[1][:, 1]  # first window at (0, 0)
    assert len(rows) > 0 and rows.max() < 6 and cols.max() < 6


def test_batched_scorer_gets_bounded_stacks_and_same_answer():
    image = make_image(seed=5)
    shapes = []

    def batched(stack):
        shapes.append(stack.shape)
        return red_fraction_batched(stack)

    batched.batched = True  # discovered through the attribute
    got = occlusion_map(image, batched, window=4, stride=1, variant="window", batch_size=16)
    plain = occlusion_map(image, red_fraction, window=4, stride=1, variant="window")
    np.testing.assert_array_equal(got.map, plain.map)
    assert shapes[0] == (1, *image.shape)  # the base score: the whole image
    assert all(s[0] <= 16 and s[1:] == (4, 4, 3) for s in shapes[1:])
    assert sum(s[0] for s in shapes) == got.positions + 1  # + the whole-image base score


def test_parallel_workers_give_the_same_map():
    image = make_image(seed=6, shape=(24, 24))
    serial = occlusion_map(image, red_fraction_in_box, window=4, stride=1, batch_size=8)
    parallel = occlusion_map(image, red_fraction_in_box, window=4, stride=1, batch_size=8,
                             jobs=2)
    closure = occlusion_map(image, lambda im: red_fraction_in_box(im), window=4, stride=1,
                            batch_size=8, jobs=2)  # fork: no pickling needed
    np.testing.assert_array_equal(serial.map, parallel.map)
    np.testing.assert_array_equal(serial.map, closure.map)


def test_working_size_shrinks_windows_and_returns_input_resolution():
    image = np.zeros((60, 40, 3), np.uint8)
    result = occlusion_map(image, lambda im: 0.25, window=20, stride=10, variant="window",
                           working_size=50)
    assert result.working_shape == (30, 20)
    assert (result.working_window, result.working_stride) == (10, 5)
    assert result.map.shape == (60, 40) and result.counts.shape == (60, 40)
    np.testing.assert_allclose(result.map, 0.25, atol=1e-6)


def test_window_larger_than_image_is_clamped():
    image = make_image(seed=8, shape=(6, 9))
    result = occlusion_map(image, red_fraction, window=64, stride=3, variant="window")
    assert result.positions == 1
    np.testing.assert_allclose(result.map, red_fraction(image), atol=1e-7)


# --- errors -------------------------------------------------------------------------------------

@pytest.mark.parametrize("bad", [lambda im: 1.5, lambda im: float("nan"), lambda im: -0.1])
def test_scores_outside_unit_interval_are_refused(bad):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        occlusion_map(make_image(), bad, window=4, stride=4)


@pytest.mark.parametrize("kwargs,match", [
    (dict(variant="blend"), "variant"), (dict(window=0), "window"),
    (dict(window=4, stride=5), "must not exceed"), (dict(fill="plaid"), "fill"),
    (dict(fill=(1, 2)), "fill"), (dict(jobs=-1), "jobs")])
def test_bad_parameters_name_themselves(kwargs, match):
    with pytest.raises(ValueError, match=match):
        occlusion_map(make_image(), lambda im: 0.0, **{"window": 4, "stride": 2, **kwargs})


@pytest.mark.parametrize("image", [np.zeros((8, 8), np.uint8), np.zeros((8, 8, 4), np.uint8),
                                   np.zeros((8, 8, 3), np.float32)])
def test_non_rgb_arrays_raise_image_error(image):
    with pytest.raises(ImageError):
        occlusion_map(image, lambda im: 0.0, window=4, stride=2)


# --- scorers ------------------------------------------------------------------------------------

def test_named_scorer_pickles_by_name():
    scorer = get_scorer("fleck.scorers:mean_brightness")
    clone = pickle.loads(pickle.dumps(scorer))
    assert isinstance(clone, NamedScorer) and clone.name == scorer.name
    assert clone(np.full((2, 2, 3), 255, np.uint8)) == 1.0
    assert not clone.batched


@pytest.mark.parametrize("name,match", [("no_such_model", "unknown model"),
                                        ("fleck.scorers:nope", "no attribute"),
                                        ("no_such_pkg_xyz:f", "cannot import")])
def test_bad_scorer_names(name, match):
    with pytest.raises(ValueError, match=match):
        get_scorer(name)


def test_cnn_scorer_without_extra_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "fleck.cnn", None)  # makes `import fleck.cnn` fail
    from fleck import scorers

    monkeypatch.setattr(scorers, "_BUILT", {})
    with pytest.raises(ValueError, match=r"model 'open_nsfw' needs `pip install fleck\[cnn\]`"):
        get_scorer("open_nsfw")


def test_fleck_scorer_smoke():
    try:
        importlib.import_module("fleck.detector")
        import fleck

        fleck.Detector  # noqa: B018
    except (ImportError, AttributeError) as err:
        pytest.skip(f"fleck.Detector not available yet ({err})")
    image = np.full((48, 40, 3), 90, np.uint8)
    image[8:40, 10:30] = (200, 140, 110)
    result = occlusion_map(image, "fleck", window=16, stride=8)
    assert result.map.shape == (48, 40) and 0 <= result.base_score <= 1
    assert np.all((result.map >= 0) & (result.map <= 1))


# --- figure and command line --------------------------------------------------------------------

def test_figure_is_written(tmp_path):
    image = make_image(seed=9, shape=(20, 24))
    result = occlusion_map(image, red_fraction, window=6, stride=3, variant="window")
    save_occlusion_figure(tmp_path / "map.png", image, {"red": result, "again": result})
    assert (tmp_path / "map.png").stat().st_size > 1000


def _needs_loading():
    try:
        importlib.import_module("fleck.loading")
    except ImportError as err:
        pytest.skip(f"fleck.loading not available yet ({err})")


def test_cli_writes_png_and_npy(tmp_path, capsys):
    _needs_loading()
    import cv2

    from fleck.cli import main

    image = make_image(seed=10, shape=(30, 26))
    cv2.imwrite(str(tmp_path / "in.png"), image[..., ::-1])
    code = main(["occlude", str(tmp_path / "in.png"), "--model",
                 "fleck.scorers:mean_brightness", "--window", "8", "--stride", "4",
                 "--jobs", "1", "-o", str(tmp_path / "out" / "map.png")])
    assert code == 0
    raw = np.load(tmp_path / "out" / "map.npy")
    assert raw.shape == (30, 26) and raw.dtype == np.float32
    assert (tmp_path / "out" / "map.png").stat().st_size > 1000
    assert "map.npy" in capsys.readouterr().out


def test_cli_bad_image_is_one_line_exit_2(tmp_path, capsys):
    _needs_loading()
    from fleck.cli import main

    (tmp_path / "broken.png").write_bytes(b"not an image")
    code = main(["occlude", str(tmp_path / "broken.png"), "-o", str(tmp_path / "m.png")])
    err = capsys.readouterr().err
    assert code == 2 and "broken.png" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "m.npy").exists()


def test_spawned_workers_rebuild_a_named_scorer():
    image = make_image(seed=11, shape=(16, 16))
    serial = occlusion_map(image, "fleck.scorers:mean_brightness", window=4, stride=2)
    spawned = occlusion_map(image, "fleck.scorers:mean_brightness", window=4, stride=2,
                            batch_size=4, jobs=2, mp_context="spawn")
    np.testing.assert_array_equal(serial.map, spawned.map)


class _DiesIfDestroyedInChild:
    """Stands in for an ONNX session: destroying it in a forked child would hang (here: exit)."""

    def __init__(self):
        self.parent = os.getpid()

    def __call__(self, image):
        return 0.5

    def __del__(self):
        if os.getpid() != self.parent:
            os._exit(7)


def test_forked_workers_do_not_destroy_models_built_in_the_parent(monkeypatch):
    from fleck import scorers

    monkeypatch.setattr(scorers, "_BUILT", {"parent_model": _DiesIfDestroyedInChild()})
    result = occlusion_map(make_image(seed=12), red_fraction_in_box, window=4, stride=2,
                           batch_size=4, jobs=2, mp_context="fork")
    assert result.positions == 48


def test_occlude_model_from_a_module_in_the_current_folder(tmp_path, monkeypatch):
    """`fleck occlude --model mymodule:fn` finds mymodule.py in the working directory, as
    `python -m` would; the `fleck` console script does not put that folder on sys.path."""
    from PIL import Image

    from fleck.cli import main

    (tmp_path / "my_cwd_scorer.py").write_text("def half(image):\n    return 0.5\n")
    Image.fromarray(np.full((24, 32, 3), 90, np.uint8)).save(tmp_path / "in.png")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in ("", str(tmp_path))])
    monkeypatch.delitem(sys.modules, "my_cwd_scorer", raising=False)
    assert main(["occlude", "in.png", "--model", "my_cwd_scorer:half", "--window", "8",
                 "--stride", "8", "--jobs", "1", "-q", "-o", "map.png"]) == 0
    assert float(np.load(tmp_path / "map.npy").mean()) == pytest.approx(0.5)


def test_the_base_score_is_what_fleck_detect_says_for_the_file(tmp_path):
    # One route for every caller: a JPEG large enough that the path route once decoded it at
    # reduced size gets the same score from fleck detect and from the occlusion map.
    import fleck
    from fleck import synth
    from fleck.occlusion import occlusion_map

    path = tmp_path / "figure.jpg"
    path.write_bytes(synth.encode_jpeg(synth.figure(7, size=(700, 520)).image, 90))
    result = occlusion_map(str(path), "fleck", window=260, stride=260)
    assert result.base_score == fleck.detect(path).score
