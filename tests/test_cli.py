"""``fleck skin`` and ``fleck detect``: outputs, JSON, and one bad file among good ones."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

import fleck
import fleck.config
from fleck.cli import main
from fleck.detector import Detection
from fleck.overlay import overlay_path

REPO = Path(__file__).resolve().parents[1]
SKIN_RGB = (176, 112, 80)


def figure() -> np.ndarray:
    """A drawn skin-coloured figure (280 x 220) on a blue background."""
    m = np.zeros((280, 220), np.uint8)
    cx = 110
    cv2.ellipse(m, (cx, 112), (36, 60), 0, 0, 360, 1, -1)
    cv2.circle(m, (cx, 32), 20, 1, -1)
    for a, b, t in [((cx - 22, 66), (cx - 62, 110), 20), ((cx - 62, 110), (cx - 80, 165), 17),
                    ((cx + 22, 66), (cx + 62, 110), 20), ((cx + 62, 110), (cx + 84, 160), 17),
                    ((cx - 18, 160), (cx - 30, 215), 30), ((cx - 30, 215), (cx - 26, 272), 24),
                    ((cx + 18, 160), (cx + 34, 215), 30), ((cx + 34, 215), (cx + 28, 272), 24)]:
        cv2.line(m, a, b, 1, t)
    img = np.zeros((280, 220, 3), np.uint8)
    img[:] = (60, 90, 150)
    img[m > 0] = SKIN_RGB
    return cv2.GaussianBlur(img, (3, 3), 0)


def save(path: Path, rgb: np.ndarray) -> str:
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), rgb[..., ::-1])
    return str(path)


@pytest.fixture
def images(tmp_path):
    """A figure (PNG), a large blue JPEG, and a truncated PNG."""
    good = save(tmp_path / "in" / "figure.png", figure())
    large = save(tmp_path / "in" / "sky.jpg", np.full((600, 900, 3), (70, 110, 190), np.uint8))
    data = (tmp_path / "in" / "figure.png").read_bytes()
    broken = tmp_path / "in" / "broken.png"
    broken.write_bytes(data[: len(data) // 2])
    return good, large, str(broken)


def test_skin_writes_masks_at_the_input_size(images, tmp_path, capsys):
    good, large, _ = images
    out = tmp_path / "masks"
    assert main(["skin", good, large, "--out", str(out)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith(f"{good}  skin ") and lines[0].endswith("passes")
    assert lines[1].endswith("skin 0.0 %  fails")
    figure_mask = cv2.imread(str(out / "figure_skin.png"), cv2.IMREAD_UNCHANGED)
    assert figure_mask.shape == (280, 220) and set(np.unique(figure_mask)) == {0, 255}
    assert figure_mask[112, 110] == 255 and figure_mask[5, 5] == 0, "torso skin, corner not"
    sky_mask = cv2.imread(str(out / "sky_skin.png"), cv2.IMREAD_UNCHANGED)
    assert sky_mask.shape == (600, 900) and not sky_mask.any()


def test_skin_json_lines(images, tmp_path, capsys):
    good, large, _ = images
    assert main(["skin", good, large, "--json", "--out", str(tmp_path / "m"),
                 "--working-size", "native", "--skin-model", "kapur"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["path"] for r in records] == [good, large]
    first = records[0]
    assert first["status"] == "ok" and first["passes"] is True
    assert first["config"] == "kapur@native"  # the name says which working size was used
    assert 0.2 < first["skin_fraction"] < 0.5
    assert Path(first["mask"]).is_file() and (first["height"], first["width"]) == (280, 220)


def test_same_stem_twice_gives_two_masks(images, tmp_path, capsys):
    good, _, _ = images
    other = save(tmp_path / "elsewhere" / "figure.png", np.full((50, 60, 3), 128, np.uint8))
    out = tmp_path / "masks"
    assert main(["skin", good, other, "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["figure-2_skin.png", "figure_skin.png"]
    assert cv2.imread(str(out / "figure-2_skin.png")).shape[:2] == (50, 60)


def test_bad_file_among_good_ones(images, tmp_path, capsys):
    good, large, broken = images
    missing = str(tmp_path / "in" / "missing.jpg")
    out = tmp_path / "masks"
    assert main(["skin", good, broken, missing, large, "--out", str(out)]) == 1
    captured = capsys.readouterr()
    errors = captured.err.splitlines()
    assert len(errors) == 2
    assert errors[0].startswith(f"fleck skin: {broken}: truncated or corrupt image data")
    assert errors[1] == f"fleck skin: {missing}: no such file"
    assert "Traceback" not in captured.err
    assert len(captured.out.splitlines()) == 2, "the good files are still processed"
    assert (out / "figure_skin.png").is_file() and (out / "sky_skin.png").is_file()


def test_missing_file_alone(tmp_path, capsys):
    assert main(["detect", str(tmp_path / "nope.png")]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.strip().endswith("nope.png: no such file")


def test_bad_working_size_is_a_usage_error(images, capsys):
    with pytest.raises(SystemExit) as stop:
        main(["skin", images[0], "--working-size", "big"])
    assert stop.value.code == 2 and "--working-size" in capsys.readouterr().err


def test_detect_lines_and_json(images, capsys):
    good, large, broken = images
    assert main(["detect", good, large]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1].startswith(f"{large}  no    0.")
    assert "skin covers 0.0 %" in lines[1]

    assert main(["detect", good, broken, "--json"]) == 1
    captured = capsys.readouterr()
    ok, error = (json.loads(line) for line in captured.out.splitlines())
    assert ok["path"] == good and ok["status"] == "ok"
    for key in ("decision", "score", "threshold", "rule", "reason", "groups", "width", "height"):
        assert key in ok
    assert (ok["height"], ok["width"]) == (280, 220) and "detection" not in ok
    assert ok["decision"] == (ok["score"] >= ok["threshold"])
    assert error["status"] == "error" and error["error"].startswith("truncated")
    assert captured.err.count("\n") == 1 and broken in captured.err


def test_detect_records_name_the_configuration_that_decided(images, capsys):
    good = images[0]
    for argv, name in ((["--skin-model", "fitted"], "fitted"),
                       (["--working-size", "480"], "fleck1996@480"),
                       (["--skin-model", "kapur", "--working-size", "native"], "kapur@native")):
        assert main(["detect", good, "--json", *argv]) == 0
        record = json.loads(capsys.readouterr().out)
        assert record["config"] == name and record["fleck_version"] == fleck.__version__
        # The name rebuilds the configuration: a re-run gives the same answer.
        again = fleck.Detector(fleck.config.get_config(name)).detect(good)
        assert (again.decision, again.score) == (record["decision"], record["score"])


def test_detect_json_full_rebuilds_the_detection(images, capsys):
    good = images[0]
    assert main(["detect", good, "--json-full"]) == 0
    record = json.loads(capsys.readouterr().out)
    rebuilt = Detection.from_dict(record["detection"])
    assert rebuilt.decision == record["decision"] and rebuilt.image_size == (280, 220)


def test_detect_overlay_writes_pngs(images, tmp_path, capsys):
    good, large, _ = images
    out = tmp_path / "overlays"
    assert main(["detect", good, large, "--overlay", str(out), "--json"]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    figure_png, sky_png = (overlay_path(p, out) for p in (good, large))
    assert [r["overlay"] for r in records] == [figure_png, sky_png]
    assert figure_png.endswith(good.lstrip("/") + ".png") and sky_png.startswith(str(out))
    assert cv2.imread(figure_png).shape == (280, 220, 3)
    assert cv2.imread(sky_png).shape == (600, 900, 3)
    assert main(["detect", large, "--overlay", str(out), "--overlay-width", "300"]) == 0
    assert cv2.imread(sky_png).shape == (200, 300, 3)


def test_detect_and_scan_name_overlays_alike(tmp_path, monkeypatch, capsys):
    """One naming scheme: DIR/<image path>.png, for `detect --overlay` and `scan --overlays`."""
    import shutil

    samples = Path(__file__).resolve().parents[1] / "data_samples"
    for name in ("figure_03_tan_sitting.jpg", "figure_09_tan_lying.jpg", "wood_0.jpg"):
        (tmp_path / "in").mkdir(exist_ok=True)
        shutil.copy(samples / name, tmp_path / "in" / name)
    monkeypatch.chdir(tmp_path)
    images = sorted(str(Path("in") / p.name) for p in (tmp_path / "in").iterdir())
    assert main(["detect", *images, "--overlay", "by_detect", "--json"]) == 0
    flagged = {r["path"] for r in map(json.loads, capsys.readouterr().out.splitlines())
               if r["decision"]}
    assert main(["scan", "in", "-o", "r.jsonl", "--overlays", "by_scan", "-q", "-j", "1"]) == 0

    def written(folder):
        return sorted(str(p.relative_to(folder)) for p in Path(folder).rglob("*.png"))

    assert written("by_scan") == sorted(f"{p}.png" for p in flagged)  # scan: flagged only
    assert set(written("by_scan")) <= set(written("by_detect"))
    assert written("by_detect") == sorted(f"{p}.png" for p in images)


def test_module_entry_point_in_a_subprocess(images, tmp_path):
    good, _, broken = images
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    done = subprocess.run(
        [sys.executable, "-m", "fleck.cli", "skin", good, broken, "--out", str(tmp_path / "m")],
        capture_output=True, text=True, env=env, timeout=120)
    assert done.returncode == 1
    assert done.stdout.startswith(good) and "Traceback" not in done.stderr
    assert done.stderr.startswith(f"fleck skin: {broken}: truncated")
    assert (tmp_path / "m" / "figure_skin.png").is_file()


@pytest.mark.parametrize("command", ["skin", "detect", "scan", "compare"])
def test_skin_model_is_the_one_configuration_flag(command, capsys):
    """--config was kept "for compatibility" before the first release; --skin-model is the flag."""
    with pytest.raises(SystemExit) as exit_info:
        main([command, "--help"])
    assert exit_info.value.code == 0
    help_text = capsys.readouterr().out
    assert "--skin-model" in help_text and "--config" not in help_text
    with pytest.raises(SystemExit) as exit_info:
        main([command, "x.jpg", "--config", "kapur", "-o", "r.jsonl", "--labels", "l.csv"])
    assert exit_info.value.code == 2 and "unrecognized arguments: --config" in \
        capsys.readouterr().err
