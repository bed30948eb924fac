"""End-to-end `fleck compare` on a tiny generated set (fake fleck results, a CNN CSV)."""

import argparse
import csv
import json
import os

import numpy as np
import pytest
from PIL import Image

import fleck
from fleck.commands import compare as compare_command
from fleck.compare import CompareSettings, compare
from fleck.overlay import headline

NASTY = '<script>a&b".jpg'


def run_cli(argv):
    parser = argparse.ArgumentParser(prog="fleck")
    compare_command.register(parser.add_subparsers())
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


@pytest.fixture()
def tiny_set(tmp_path):
    """24 flat-colour images in two folders, labels with categories, fleck and CNN results."""
    rng = np.random.default_rng(0)
    root = tmp_path / "data"
    (root / "imgs").mkdir(parents=True)
    names = [f"imgs/{i:02d}.jpg" for i in range(23)] + [f"imgs/{NASTY}"]
    y = np.arange(24) % 2 == 1
    for i, name in enumerate(names):
        Image.fromarray(np.full((40, 50, 3), (20 * (i % 12), 90, 60), np.uint8)).save(root / name)
    with open(root / "labels.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["path", "label", "category"])
        for i, name in enumerate(names):
            w.writerow([name, "nsfw" if y[i] else "sfw", "wood" if i % 3 == 0 else "portrait"])
        w.writerow(["imgs/not_scored.jpg", "sfw", ""])
    fleck_score = np.clip(0.4 * y + rng.uniform(0, 0.6, 24), 0, 1)
    fleck_score[23] = 0.95  # the nasty name: fleck yes, the CNN no -> shown in a gallery
    with open(root / "results.jsonl", "w") as fh:
        for i, name in enumerate(names):
            fh.write(json.dumps({"path": str(root / name), "status": "ok",
                                 "decision": bool(fleck_score[i] >= 0.5),
                                 "score": float(fleck_score[i]), "threshold": 0.5,
                                 "reason": "test <b>reason</b>"}) + "\n")
        fh.write(json.dumps({"path": str(root / "imgs/broken.jpg"), "status": "error",
                             "error": "cannot decode"}) + "\n")
    cnn_score = np.clip(0.5 * y + rng.uniform(0, 0.5, 24), 0, 1)
    cnn_score[23] = 0.05
    with open(tmp_path / "cnn.csv", "w", newline="") as fh:  # another folder: basename matching
        w = csv.writer(fh)
        w.writerow(["path", "score"])
        for i, name in enumerate(names):
            w.writerow([os.path.basename(name), cnn_score[i]])
        w.writerow(["stranger.jpg", 0.9])
    return root, tmp_path / "cnn.csv", y, fleck_score, cnn_score


def test_cli_writes_all_five_outputs(tiny_set, tmp_path, capsys):
    root, cnn_csv, y, fleck_score, cnn_score = tiny_set
    out = tmp_path / "report"
    code = run_cli(["--labels", str(root / "labels.csv"), "--fleck", str(root / "results.jsonl"),
                    "--cnn", f"mycnn={cnn_csv}", "-o", str(out), "--bootstrap", "100"])
    assert code == 1  # the fleck error record is a failed input
    captured = capsys.readouterr()
    assert "broken.jpg: fleck: cannot decode" in captured.err
    assert str(out / "index.html") in captured.out
    for name in ("metrics.json", "metrics.csv", "roc.png", "pr.png", "index.html"):
        assert (out / name).stat().st_size > 0, name
    metrics = json.loads((out / "metrics.json").read_text())
    cov = metrics["coverage"]
    assert cov["labelled"] == 25 and cov["evaluated"] == 24
    assert cov["fleck"]["missing"] == ["imgs/not_scored.jpg"]
    assert cov["fleck"]["unlabelled"] == [str(root / "imgs/broken.jpg")]
    assert cov["cnn"]["mycnn"]["unlabelled"] == ["stranger.jpg"]
    assert cov["cnn"]["mycnn"]["matched_by"] == {"basename": 24}
    fleck_row = metrics["detectors"][0]
    decision = fleck_score >= 0.5
    assert fleck_row["tp"] == int((decision & y).sum())
    assert fleck_row["recall"]["value"] == pytest.approx((decision & y).sum() / y.sum())
    points = [(d["detector"], d["operating_point"]) for d in metrics["detectors"]]
    assert points == [("fleck", "decision"), ("mycnn", "0.5"), ("mycnn", "match_recall"),
                      ("mycnn", "match_fpr")]
    recall_row = metrics["detectors"][2]
    assert recall_row["recall"]["value"] >= fleck_row["recall"]["value"]
    assert metrics["detectors"][3]["fpr"]["value"] <= fleck_row["fpr"]["value"]
    assert set(metrics["categories"]) == {"wood", "portrait"}
    assert metrics["categories"]["wood"]["n"] == 8
    assert len(metrics["mcnemar"]) == 3
    with open(out / "metrics.csv") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 4 * 3  # all + two categories
    assert {r["scope"] for r in rows} == {"all", "category"}


def test_html_escapes_file_names_and_works_offline(tiny_set, tmp_path):
    root, cnn_csv, *_ = tiny_set
    result = compare(root / "labels.csv", root / "results.jsonl", {"mycnn": cnn_csv},
                     outdir=tmp_path / "r", settings=CompareSettings(n_bootstrap=20),
                     overlays=False)
    page = open(result.index_html, encoding="utf-8").read()
    assert "<script" not in page.lower()
    assert "&lt;script&gt;a&amp;b&quot;.jpg" in page
    assert "<b>reason</b>" not in page and "&lt;b&gt;reason&lt;/b&gt;" in page
    assert "http://" not in page and "https://" not in page
    # Every local image reference exists inside the report folder.
    import re
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert os.path.isfile(os.path.join(result.outdir, src)), src
    assert "thumbs/" in page


def test_all_disagreements_listed_in_json_even_past_the_gallery_cap(tiny_set, tmp_path):
    root, cnn_csv, y, fleck_score, cnn_score = tiny_set
    result = compare(root / "labels.csv", root / "results.jsonl", {"mycnn": cnn_csv},
                     outdir=tmp_path / "r", settings=CompareSettings(n_bootstrap=0,
                                                                     gallery_size=1),
                     overlays=False)
    pair = result.metrics["disagreements"]["pairs"]["mycnn"]
    expected = int(((fleck_score >= 0.5) & (cnn_score < 0.5)).sum())
    assert len(pair["fleck_only"]) == expected
    # Bootstrap off: intervals are null, not a crash.
    assert result.metrics["detectors"][0]["recall"]["low"] is None


def test_nothing_matched_is_a_clear_error(tmp_path):
    (tmp_path / "labels.csv").write_text("path,label\na.jpg,1\n")
    (tmp_path / "r.jsonl").write_text(json.dumps(
        {"path": "b.jpg", "status": "ok", "decision": True, "score": 0.9}) + "\n")
    with pytest.raises(ValueError, match="no labelled image"):
        compare(tmp_path / "labels.csv", tmp_path / "r.jsonl", {}, outdir=tmp_path / "o")


def test_usage_errors(tmp_path, capsys):
    (tmp_path / "labels.csv").write_text("path,label\na.jpg,1\n")
    assert run_cli(["--labels", str(tmp_path / "labels.csv")]) == 2
    assert run_cli(["--labels", str(tmp_path / "labels.csv"), "--fleck", "x",
                    "--run", "alexnet"]) == 2
    assert "known CNNs" in capsys.readouterr().err


def test_parse_cnn_spec():
    assert compare_command.parse_cnn_spec("a=s.json:nudenet") == ("a", "s.json", "nudenet")
    assert compare_command.parse_cnn_spec("a=dir:x/s.csv") == ("a", "dir:x/s.csv", None)
    with pytest.raises(ValueError, match="NAME=FILE"):
        compare_command.parse_cnn_spec("scores.csv")


def test_gallery_shows_fleck_overlay_beside_thumbnail(tiny_set, tmp_path, monkeypatch):
    import fleck.detector
    import fleck.overlay
    calls = []

    def fake_draw(detection, image):
        calls.append(detection)
        return 255 - np.asarray(image)

    monkeypatch.setattr(fleck.overlay, "draw", fake_draw)
    monkeypatch.setattr(fleck.detector, "detect", lambda image, config=None: "det")
    root, cnn_csv, *_ = tiny_set
    result = compare(root / "labels.csv", root / "results.jsonl", {"mycnn": cnn_csv},
                     outdir=tmp_path / "r", settings=CompareSettings(n_bootstrap=0))
    page = open(result.index_html, encoding="utf-8").read()
    assert calls and 'alt="fleck overlay"' in page
    overlays = list((tmp_path / "r" / "thumbs").glob("*_overlay.jpg"))
    assert overlays and all(max(Image.open(f).size) <= 200 for f in overlays)


def test_images_are_walked_like_fleck_scan_walks_them(tmp_path, monkeypatch):
    """`--run` scores the same files fleck scans: sniffed by content, every image extension,
    hidden entries skipped (compare had its own walker with 8 extensions and no sniffing)."""
    import fleck.cnn
    from fleck.scan import find_images

    root = tmp_path / "imgs"
    (root / ".thumbnails").mkdir(parents=True)
    picture = Image.fromarray(np.full((40, 50, 3), (200, 140, 110), np.uint8))
    picture.save(root / "a.jpg")
    picture.save(root / "disguised.dat", format="PNG")  # an image by content only
    picture.save(root / "b.jfif", format="JPEG")  # an extension compare did not know
    picture.save(root / ".thumbnails" / "c.jpg")  # hidden: never walked
    (root / "notes.txt").write_text("not an image")
    labels = tmp_path / "labels.csv"
    labels.write_text("path,label\nimgs/a.jpg,1\nimgs/disguised.dat,0\nimgs/b.jfif,0\n")
    scored: list[list[str]] = []

    def fake_score_paths(name, targets, **options):
        scored.append(list(targets))
        return {path: 0.5 for path in targets}

    monkeypatch.setattr(fleck.cnn, "score_paths", fake_score_paths)
    run_cli(["--labels", str(labels), "--run", "open_nsfw", "-o", str(tmp_path / "out"),
             "--bootstrap", "0", "--no-overlays", "--jobs", "1", str(root)])
    assert scored == [list(find_images([str(root)]))]
    assert sorted(os.path.basename(p) for p in scored[0]) == ["a.jpg", "b.jfif", "disguised.dat"]
    fleck_paths = [json.loads(line)["path"]
                   for line in (tmp_path / "out" / "fleck_results.jsonl").read_text().splitlines()]
    assert sorted(fleck_paths) == sorted(scored[0])


@pytest.fixture(scope="module")
def scanned_samples(tmp_path_factory):
    """The bundled samples scanned with kapur, their labels, and a CNN CSV that disagrees."""
    from pathlib import Path

    from fleck.scan import read_results, scan

    samples = Path(__file__).resolve().parents[1] / "data_samples"
    out = tmp_path_factory.mktemp("provenance")
    results = out / "results.jsonl"
    scan([samples], out=results, config="kapur", jobs=1, quiet=True)
    records = read_results(results)
    with open(out / "cnn.csv", "w", newline="") as fh:  # the opposite of fleck everywhere
        w = csv.writer(fh)
        w.writerow(["path", "score"])
        for r in records:
            w.writerow([r["path"], 0.1 if r.get("decision") else 0.9])
    return samples, results, out / "cnn.csv", records


def test_a_records_configuration_survives_scan_to_compare(scanned_samples, tmp_path):
    samples, results, cnn_csv, records = scanned_samples
    assert {r["config"] for r in records if r["status"] == "ok"} == {"kapur"}
    assert {r["fleck_version"] for r in records if r["status"] == "ok"} == {fleck.__version__}
    result = compare(samples / "labels.csv", results, {"cnn": cnn_csv}, outdir=tmp_path / "r",
                     settings=CompareSettings(n_bootstrap=20, gallery_size=4))
    assert result.metrics["fleck_configurations"] == {"kapur": len(result.dataset)}
    assert result.overlay_detections, "the galleries should show overlays"
    assert {det.config for det in result.overlay_detections.values()} == {"kapur"}


def test_every_gallery_overlay_says_what_its_caption_says(scanned_samples, tmp_path):
    samples, results, cnn_csv, records = scanned_samples
    by_path = {r["path"]: r for r in records}
    result = compare(samples / "labels.csv", results, {"cnn": cnn_csv}, outdir=tmp_path / "r",
                     settings=CompareSettings(n_bootstrap=20, gallery_size=6))
    page = (tmp_path / "r" / "index.html").read_text()
    assert len(result.overlay_detections) >= 6
    for (file, _config), det in result.overlay_detections.items():
        record = by_path[file]
        # The banner is drawn from `det`, the caption from the record: they must agree.
        assert (det.decision, det.score) == (record["decision"], record["score"]), file
        assert f"fleck {'yes' if det.decision else 'no'} (score {det.score:.3f})" in page
        banner = headline(det)[0]
        verdict = "NUDE body plan" if record["decision"] else "no body plan"
        assert banner.startswith(f"{verdict} {record['score']:.2f}"), (banner, record)
    assert "re-run gives" not in page
