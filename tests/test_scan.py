"""Tests for fleck.scan and ``fleck scan``: walking, records, resume, parallelism, robustness.

Images are small and generated in tmp_path; the kill/Ctrl-C tests run the command in a
subprocess on a few hundred images.
"""

from __future__ import annotations

import csv
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import fleck.scan.local
from fleck.cli import main
from fleck.scan import CSV_COLUMNS, ResultsWarning, find_images, overlay_path, read_results, scan
from fleck.scan.results import ResultsFile
from fleck.scan.worker import Worker

REPO = Path(__file__).resolve().parents[1]
OK_KEYS = {"path", "status", "decision", "score", "threshold", "label", "review_threshold",
           "skin_fraction", "passes_skin", "rule", "reason", "groups", "times_ms", "width",
           "height", "config", "fleck_version", "regions"}


def skin_noise(rng: np.random.Generator, shape=(96, 128)) -> np.ndarray:
    base = np.array([200, 140, 110]) * rng.uniform(0.7, 1.1)
    return np.clip(base + rng.normal(0, 12, (*shape, 3)), 0, 255).astype(np.uint8)


def save(path: Path, rgb: np.ndarray, format: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rgb).save(path, format=format)
    return path


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A folder with images, a disguised image, non-images, hidden entries and a link loop."""
    rng = np.random.default_rng(1)
    root = tmp_path / "photos"
    save(root / "a.jpg", skin_noise(rng))
    save(root / "b.png", skin_noise(rng))
    save(root / "disguised.txt", skin_noise(rng), format="PNG")  # an image by content
    (root / "broken.jpg").write_text("not really a JPEG")  # claims to be an image
    (root / "notes.txt").write_text("just text")  # neither: ignored
    save(root / "sub" / "c.jpg", skin_noise(rng))
    save(root / "sub" / "deeper" / "d.png", skin_noise(rng))
    save(root / ".hidden" / "e.jpg", skin_noise(rng))
    (root / "._a.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    os.symlink("..", root / "sub" / "loop")  # a folder link back up: walked once only
    return root


EXPECTED = ["a.jpg", "b.png", "broken.jpg", "disguised.txt", "sub/c.jpg", "sub/deeper/d.png"]


def relative(paths, root: Path) -> list[str]:
    return [os.path.relpath(p, root).replace(os.sep, "/") for p in paths]


def by_path(records: list[dict]) -> dict[str, dict]:
    keyed = {r["path"]: r for r in records}
    assert len(keyed) == len(records), "a path was recorded twice"
    return keyed


def without_times(record: dict) -> dict:
    return {k: v for k, v in record.items() if k != "times_ms"}


# ------------------------------------------------------------------------------------ walking

def test_walk_is_recursive_sorted_by_content_and_skips_hidden(tree):
    assert relative(find_images([tree]), tree) == EXPECTED


def test_explicit_files_are_always_attempted_and_never_repeated(tree):
    found = relative(find_images([tree / "notes.txt", tree, tree / "a.jpg", tree / "a.jpg"]),
                     tree)
    # a.jpg is left to its explicit mention, in its place in the arguments.
    assert found == ["notes.txt", *EXPECTED[1:], "a.jpg"]


def test_walk_errors_are_reported_not_raised(tree, monkeypatch):
    locked = str(tree / "sub" / "deeper")
    real_scandir = os.scandir

    def scandir(path):  # chmod 0 does not stop root, so refuse the listing here
        if os.fspath(path) == locked:
            raise PermissionError(13, "Permission denied", path)
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    errors = []
    found = relative(find_images([tree], on_error=lambda p, r: errors.append((p, r))), tree)
    assert found == [p for p in EXPECTED if not p.startswith("sub/deeper/")]
    assert errors == [(locked, "cannot list folder: Permission denied")]
    # In a scan, the folder becomes an error record (once, even when resumed).
    out = tree.parent / "r.jsonl"
    assert scan([tree], out, jobs=1).failed == 2
    assert scan([tree], out, jobs=1, resume=True).images == 0
    assert by_path(read_results(out))[locked]["status"] == "error"


def test_overlay_path_mirrors_the_image_path():
    assert overlay_path("x/y.jpg", "ov") == os.path.join("ov", "x", "y.jpg.png")
    assert overlay_path("/abs/../y.jpg", "ov") == os.path.join("ov", "abs", "__", "y.jpg.png")


# ------------------------------------------------------------------------------------ records

def test_records_and_summary(tree, tmp_path):
    out = tmp_path / "r.jsonl"
    summary = scan([tree], out, jobs=2, chunk=2)
    records = by_path(read_results(out))
    assert sorted(relative(records, tree)) == sorted(EXPECTED)
    broken = records[str(tree / "broken.jpg")]
    assert set(broken) == {"path", "status", "error"} and broken["status"] == "error"
    assert "broken.jpg" not in broken["error"] and broken["error"]  # reason only, path apart
    for path, record in records.items():
        if path != str(tree / "broken.jpg"):
            assert record["status"] == "ok" and set(record) == OK_KEYS
            assert record["times_ms"]["total"] > 0
            assert (record["height"], record["width"]) == (96, 128)
    flagged = sum(r.get("decision") is True for r in records.values())
    assert (summary.images, summary.failed, summary.flagged, summary.skipped) == (6, 1, flagged, 0)
    assert summary.exit_code == 1 and summary.out == out
    assert summary.images_per_second == pytest.approx(6 / summary.seconds)
    assert summary.line().startswith("scanned 6 images in ") and "1 failed -> " in summary.line()


def test_record_paths_are_as_given(tree, tmp_path, monkeypatch):
    monkeypatch.chdir(tree.parent)
    scan(["./photos/sub/deeper", f"{tree}/a.jpg"], tmp_path / "r.jsonl", jobs=1)
    assert sorted(r["path"] for r in read_results(tmp_path / "r.jsonl")) == [
        f"{tree}/a.jpg", "photos/sub/deeper/d.png"]


def test_one_and_two_jobs_give_the_same_records(tree, tmp_path):
    rng = np.random.default_rng(7)
    for i in range(10):
        save(tree / "more" / f"m{i}.png", skin_noise(rng))
    one = scan([tree], tmp_path / "one.jsonl", jobs=1, chunk=1)
    two = scan([tree], tmp_path / "two.jsonl", jobs=2, chunk=3)
    first = {p: without_times(r) for p, r in by_path(read_results(one.out)).items()}
    second = {p: without_times(r) for p, r in by_path(read_results(two.out)).items()}
    assert len(first) == 16 and first == second


def test_csv_has_the_same_records(tree, tmp_path):
    out, table = tmp_path / "r.jsonl", tmp_path / "r.csv"
    scan([tree], out, csv=table, jobs=2)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0]) == CSV_COLUMNS
    records = by_path(read_results(out))
    assert [r["path"] for r in rows] == list(records)  # same order as the JSON lines
    for row in rows:
        record = records[row["path"]]
        assert row["status"] == record["status"]
        if record["status"] == "ok":
            assert float(row["score"]) == pytest.approx(record["score"])
            assert row["decision"] == str(record["decision"]).lower()
            assert int(row["segments"]) == record["groups"]["segments"]
            assert float(row["total_ms"]) == pytest.approx(record["times_ms"]["total"])
            assert row["error"] == ""
        else:
            assert row["error"] == record["error"] and row["score"] == ""


def test_overlays_for_flagged_images_only(tmp_path):
    from fleck import synth

    folder = tmp_path / "figures"
    for seed in range(8):
        save(folder / f"f{seed}.png", synth.figure(seed, size=(120, 160)).image)
    summary = scan([folder], tmp_path / "r.jsonl", overlays=tmp_path / "ov", jobs=2)
    records = read_results(summary.out)
    flagged = {r["path"] for r in records if r["decision"]}
    assert summary.flagged == len(flagged) >= 1
    written = {str(p) for p in (tmp_path / "ov").rglob("*.png")}
    assert written == {overlay_path(p, tmp_path / "ov") for p in flagged}
    assert Image.open(next(iter(written))).size == (160, 120)


def test_overlay_folder_inside_the_scanned_folder_is_not_scanned(tree, tmp_path):
    from fleck import synth

    save(tree / "fig.png", synth.figure(1, size=(120, 160)).image)
    scan([tree], tmp_path / "r.jsonl", overlays=tree / "overlays", jobs=1)
    paths = [r["path"] for r in read_results(tmp_path / "r.jsonl")]
    assert not any("overlays" in p for p in paths)


# ------------------------------------------------------------------------------------ resume

def test_resume_skips_recorded_images_and_repairs_a_torn_last_line(tree, tmp_path):
    out = tmp_path / "r.jsonl"
    scan([tree], out, jobs=2)
    lines = out.read_bytes().splitlines(keepends=True)
    lost = json.loads(lines[-1])["path"]
    out.write_bytes(b"".join(lines[:-1]) + lines[-1][: len(lines[-1]) // 2])  # torn write
    with pytest.warns(ResultsWarning, match="torn"):
        assert len(read_results(out)) == 5
    summary = scan([tree], out, resume=True, jobs=2)
    assert (summary.images, summary.skipped) == (1, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = by_path(read_results(out))
    assert sorted(relative(records, tree)) == sorted(EXPECTED) and lost in records
    assert out.read_bytes().endswith(b"\n")
    # Nothing left to do: the same summary a finished scan gives.
    again = scan([tree], out, resume=True)
    assert (again.images, again.skipped, again.exit_code) == (0, 6, 0)


def test_resume_matches_paths_however_spelled(tree, tmp_path, monkeypatch):
    out = tmp_path / "r.jsonl"
    monkeypatch.chdir(tree.parent)
    scan(["photos"], out, jobs=1)
    summary = scan([str(tree)], out, resume=True, jobs=1)  # absolute this time
    assert (summary.images, summary.skipped) == (0, 6)


def test_resume_rebuilds_the_csv_from_the_results(tree, tmp_path):
    out, table = tmp_path / "r.jsonl", tmp_path / "r.csv"
    scan([tree / "a.jpg", tree / "b.png"], out, csv=table)
    with open(table, "a") as f:
        f.write("half a row,ok")  # e.g. killed between the two writes
    scan([tree], out, csv=table, resume=True)
    with open(table, newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["path"] for r in rows] == [r["path"] for r in read_results(out)]
    assert len(rows) == 6


def test_an_existing_results_file_needs_resume_or_overwrite(tree, tmp_path):
    out = tmp_path / "r.jsonl"
    scan([tree], out)
    before = out.read_bytes()
    with pytest.raises(FileExistsError, match="--resume"):
        scan([tree / "a.jpg"], out)
    assert out.read_bytes() == before  # nothing lost
    scan([tree / "a.jpg"], out, overwrite=True)
    assert [r["path"] for r in read_results(out)] == [str(tree / "a.jpg")]


def test_a_second_scan_cannot_write_the_same_file(tmp_path):
    pytest.importorskip("fcntl")
    out = tmp_path / "r.jsonl"
    out.write_text('{"path": "x.jpg", "status": "ok"}\n')
    first = ResultsFile(str(out), resume=True, csv=None)
    try:
        with pytest.raises(OSError, match="another fleck scan"):
            ResultsFile(str(out), resume=False, csv=None)
    finally:
        first.close()
    assert out.read_text().count("\n") == 1  # the refused scan did not truncate it


# ------------------------------------------------------------------------------------ failures

class CrashingWorker(Worker):
    """Dies like a segfaulting decoder on files whose name contains 'crash'."""

    def scan_one(self, path):
        if "crash" in os.path.basename(path):
            os.kill(os.getpid(), signal.SIGKILL)
        return super().scan_one(path)


def test_a_worker_crash_costs_one_error_record(tree, tmp_path, monkeypatch):
    save(tree / "crash.png", skin_noise(np.random.default_rng(3)))
    monkeypatch.setattr(fleck.scan.local, "_WORKER_CLASS", CrashingWorker)
    summary = scan([tree], tmp_path / "r.jsonl", jobs=2, chunk=2)
    records = by_path(read_results(summary.out))
    assert sorted(relative(records, tree)) == sorted([*EXPECTED, "crash.png"])
    assert "worker process died" in records[str(tree / "crash.png")]["error"]
    assert records[str(tree / "a.jpg")]["status"] == "ok"
    assert (summary.images, summary.failed) == (7, 2)


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(FileNotFoundError):
        scan([tmp_path / "nope"], tmp_path / "r.jsonl")
    assert not (tmp_path / "r.jsonl").exists()


@pytest.mark.parametrize("bad", [{"jobs": -1}, {"chunk": 0}, {"config": "nonsense"}])
def test_bad_options_are_refused(tree, tmp_path, bad):
    with pytest.raises(ValueError):
        scan([tree], tmp_path / "r.jsonl", **bad)


def test_command_exit_status(tree, tmp_path, capsys):
    out = str(tmp_path / "r.jsonl")
    assert main(["scan", str(tree / "a.jpg"), str(tree / "sub" / "deeper"), "-o", out]) == 0
    assert capsys.readouterr().out.startswith("scanned 2 images")
    assert main(["scan", str(tree), "-o", out, "-j", "1"]) == 2  # holds records: refused
    assert "--resume" in capsys.readouterr().err
    assert main(["scan", str(tree), "-o", out, "-j", "1", "--overwrite"]) == 1
    err = capsys.readouterr().err
    assert err.strip() == f"fleck scan: {tree / 'broken.jpg'}: " + by_path(
        read_results(out))[str(tree / "broken.jpg")]["error"]
    assert main(["scan", str(tree), "-o", out, "--quiet", "--resume"]) == 0  # nothing to do
    assert capsys.readouterr().out == ""
    assert main(["scan", str(tmp_path / "missing"), "-o", out]) == 2
    assert len(read_results(out)) == 6  # untouched
    (tmp_path / "empty").mkdir()
    assert main(["scan", str(tmp_path / "empty"), "-o", out, "--overwrite"]) == 2
    assert "no images found" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ kill, Ctrl-C

N_MANY = 300


@pytest.fixture(scope="module")
def many(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("many")
    rng = np.random.default_rng(5)
    for i in range(N_MANY):
        save(root / f"d{i % 7}" / f"img{i:03d}.jpg", skin_noise(rng, (120, 160)))
    return root


def start_scan(folder: Path, out: Path, *extra: str) -> subprocess.Popen:
    env = dict(os.environ,
               PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "fleck.cli", "scan", str(folder), "-o", str(out),
                             "--jobs", "2", "--chunk", "1", *extra],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_lines(process: subprocess.Popen, out: Path, n: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if out.exists() and (lines := out.read_bytes().count(b"\n")) >= n:
            return lines
        assert process.poll() is None, process.communicate()
        time.sleep(0.002)
    raise AssertionError("the scan wrote nothing")


def descendants(pid: int) -> list[int]:
    """Linux: every process below ``pid`` (empty elsewhere)."""
    found, todo = [], [pid]
    while todo:
        parent = todo.pop()
        children = Path(f"/proc/{parent}/task/{parent}/children")
        if children.exists():
            kids = [int(k) for k in children.read_text().split()]
            found += kids
            todo += kids
    return found


def assert_every_image_once(out: Path, folder: Path) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        records = by_path(read_results(out))
    assert len(records) == N_MANY and all(r["status"] == "ok" for r in records.values())
    assert set(records) == {str(p) for p in folder.rglob("*.jpg")}


def test_sigkill_loses_only_images_in_flight_and_resume_completes(many, tmp_path):
    out = tmp_path / "r.jsonl"
    process = start_scan(many, out)
    wait_for_lines(process, out, 30)
    helpers = descendants(process.pid)  # workers, fork server, resource tracker
    assert helpers or not sys.platform.startswith("linux")
    process.kill()
    process.wait()
    data = out.read_bytes()
    complete = data[: data.rfind(b"\n") + 1]
    assert all(json.loads(line) for line in complete.splitlines())  # no corrupt complete line
    assert complete.count(b"\n") < N_MANY, "the scan finished before it was killed"
    summary = scan([many], out, resume=True, jobs=2)
    assert summary.skipped == complete.count(b"\n") and summary.images == N_MANY - summary.skipped
    assert_every_image_once(out, many)
    # Orphaned workers notice that the scan is gone and exit (and the fork server with them).
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in helpers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in helpers if Path(f"/proc/{pid}").exists()]


def test_ctrl_c_stops_cleanly_with_a_valid_file(many, tmp_path):
    out = tmp_path / "r.jsonl"
    process = start_scan(many, out)
    wait_for_lines(process, out, 30)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=30)
    assert process.returncode == 130, stderr
    assert "(interrupted)" in stdout and "Traceback" not in stderr
    data = out.read_bytes()
    assert data.endswith(b"\n") and data.count(b"\n") < N_MANY
    written = len(read_results(out))
    assert f"scanned {written} images" in stdout
    hint = f"fleck scan: to finish the scan, run: fleck scan {many} -o {out} --resume"
    assert hint in stderr  # the exact command, with the scan's own options
    resume = shlex.split(stderr.split("to finish the scan, run: ")[1].splitlines()[0])
    assert resume[:2] == ["fleck", "scan"] and "--chunk" in resume
    assert main(resume[1:]) == 0
    summary = scan([many], out, resume=True, jobs=2)
    assert summary.skipped == N_MANY and summary.images == 0
    assert_every_image_once(out, many)


def test_scan_benchmark_can_repeat_a_measurement(tree, tmp_path):
    """bench/bench_scan.py times the same scan twice into one results file (--repeat 2)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_scan", REPO / "bench" / "bench_scan.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    folder = tree / "sub" / "deeper"
    out = tmp_path / "bench.jsonl"
    seconds = [bench.time_scan(folder, out, jobs=1) for _ in range(2)]
    assert all(s > 0 for s in seconds)
    assert len(read_results(out)) == 1  # d.png: the second run replaced the first
