"""Labels from folder names: the spec, the nearest listed folder, and `fleck compare
--labels-from-folders` giving the same metrics as the equivalent labels CSV."""

from __future__ import annotations

import argparse
import csv
import json
import os
import shutil
from pathlib import Path

import pytest

from fleck.commands import compare as compare_command
from fleck.compare.folders import labels_from_folders, labels_from_paths, parse_folder_spec

SAMPLES = Path(__file__).resolve().parents[1] / "data_samples"
SPEC = "porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0"

# file in the tree -> (label, category), None for unlabelled; copied from data_samples.
LAYOUT = {
    "porn/figure_02_medium_arms_raised.jpg": (True, "porn"),
    "porn/figure_10_brown_standing.jpg": (True, "porn"),
    "porn/figure_00_very_light_standing.jpg": (True, "porn"),
    "Hentai/figure_16_brown_walking.jpg": (True, "hentai"),  # listed name in another case
    "Hentai/figure_21_tan_walking.jpg": (True, "hentai"),
    "neutral/wood_0.jpg": (False, "neutral"),
    "neutral/skin_wall_0.jpg": (False, "neutral"),
    "drawings/2019/bread_1.jpg": (False, "drawings"),  # an unlisted folder inside a listed one
    "drawings/2019/landscape_1.jpg": (False, "drawings"),
    "sfw/nsfw/figure_22_brown_arms_raised.jpg": (True, "nsfw"),  # the nearest listed wins
    "sfw/fur_0.jpg": (False, "sfw"),
    "misc/figure_04_brown_lying.jpg": None,  # under no listed folder: unlabelled
    "misc/stripes_0.jpg": None,
}


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """The layout above, plus a symbolic link loop, a non-image file and a hidden folder."""
    root = tmp_path_factory.mktemp("sets") / "dataset"
    for name in LAYOUT:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(SAMPLES / Path(name).name, root / name)
    (root / "neutral" / "loop").symlink_to("..", target_is_directory=True)
    (root / "neutral" / "notes.txt").write_text("not an image")
    (root / "porn" / ".thumbnails").mkdir()
    shutil.copy(SAMPLES / "grey_0.jpg", root / "porn" / ".thumbnails" / "grey_0.jpg")
    return root


def run_cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="fleck")
    compare_command.register(parser.add_subparsers())
    args = parser.parse_args(["compare", *argv])
    return args.func(args)


# --------------------------------------------------------------------------------- the spec

def test_spec_is_parsed_and_normalised():
    spec = parse_folder_spec(" porn , Hentai=nsfw ;; sfw= 0 ;")
    assert spec.text == "porn,Hentai=nsfw;sfw=0"
    assert spec.names == {"porn": (True, "porn"), "hentai": (True, "Hentai"),
                          "sfw": (False, "sfw")}


@pytest.mark.parametrize("bad, message", [
    ("porn", "no '=label'"), ("porn=maybe", "label 'maybe'"), ("a,,b=1", "not a folder name"),
    ("a/b=1", "not a folder name"), ("nsfw=1;NSFW=0", "listed twice"), (" ; ", "no folder"),
])
def test_bad_specs_are_refused(bad, message):
    with pytest.raises(ValueError, match=message):
        parse_folder_spec(bad)


# --------------------------------------------------------------------------------- labelling

def test_nearest_listed_folder_labels_each_image(tree):
    found = labels_from_folders(SPEC, [tree])
    got = {os.path.relpath(p, tree): (bool(y), c) for p, y, c in
           zip(found.labels.paths, found.labels.labels, found.labels.categories, strict=True)}
    assert got == {name: hit for name, hit in LAYOUT.items() if hit is not None}
    assert sorted(os.path.relpath(p, tree) for p in found.unlabelled) == sorted(
        name for name, hit in LAYOUT.items() if hit is None)
    # The link loop is walked once, notes.txt and the hidden folder are not images here.
    assert len(found.labels) + len(found.unlabelled) == len(LAYOUT)
    summary = found.summary()
    assert (summary["labelled"], summary["unlabelled"]) == (11, 2)
    assert summary["categories"] == {"hentai": 2, "drawings": 2, "neutral": 2, "porn": 3,
                                     "sfw": 1, "nsfw": 1}


def test_the_given_folder_counts_but_nothing_above_it(tree, tmp_path, monkeypatch):
    found = labels_from_folders(SPEC, [tree / "porn", tree / "misc"])
    assert set(found.labels.categories) == {"porn"} and len(found.unlabelled) == 2
    explicit = labels_from_folders(SPEC, [str(tree / "Hentai" / "figure_21_tan_walking.jpg")])
    assert explicit.labels.categories == ("hentai",)
    monkeypatch.chdir(tree / "porn")  # "." is a folder named porn
    here = labels_from_folders(SPEC, ["."])
    assert sorted(os.path.basename(p) for p in here.labels.paths) == sorted(
        Path(n).name for n in LAYOUT if n.startswith("porn/"))
    assert set(here.labels.categories) == {"porn"} and here.unlabelled == []
    # A listed name above the folder given labels nothing.
    nested = tmp_path / "nsfw" / "data"
    shutil.copytree(tree / "misc", nested / "misc")
    with pytest.raises(ValueError, match="no image is inside a folder named porn"):
        labels_from_folders(SPEC, [nested])


def test_labels_from_result_paths():
    found = labels_from_paths(SPEC, ["a/NSFW/x.jpg", "a/sfw/deep/y.jpg", "b/z.jpg"], base="/r")
    assert found.labels.paths == ("a/NSFW/x.jpg", "a/sfw/deep/y.jpg")
    assert found.labels.labels.tolist() == [True, False] and found.unlabelled == ["b/z.jpg"]
    assert found.labels.base_dir == "/r"


# --------------------------------------------------------------------------------- compare

def write_cnn_scores(tree: Path, path: Path) -> None:
    """A fake CNN that disagrees with fleck on some images (deterministic scores)."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "score"])
        for i, name in enumerate(sorted(LAYOUT)):
            writer.writerow([str(tree / name), round((i * 0.37) % 1.0, 3)])


def write_labels_csv(tree: Path, path: Path) -> None:
    """The labels CSV equivalent to the folder spec, rows in the walker's order."""
    with open(path, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["path", "label", "category"])
        for name in sorted(LAYOUT, key=lambda n: Path(n).parts):
            if LAYOUT[name] is not None:
                label, category = LAYOUT[name]
                writer.writerow([name, int(label), category])


def test_folder_labels_give_the_metrics_of_the_equivalent_csv(tree, tmp_path, capsys):
    cnn = tmp_path / "cnn.csv"
    write_cnn_scores(tree, cnn)
    common = ["--cnn", f"fake={cnn}", "--bootstrap", "50", "--no-overlays", "--jobs", "2"]
    assert run_cli(["--labels-from-folders", SPEC, str(tree), "-o", str(tmp_path / "folders"),
                    *common]) == 0
    err = capsys.readouterr().err
    assert "2 images under no listed folder: unlabelled, not evaluated" in err
    labels_csv = tree / "labels.csv"
    write_labels_csv(tree, labels_csv)
    try:
        assert run_cli(["--labels", str(labels_csv), "--fleck",
                        str(tmp_path / "folders" / "fleck_results.jsonl"), "-o",
                        str(tmp_path / "csv"), *common]) == 0
    finally:
        labels_csv.unlink()
    by_folders = json.loads((tmp_path / "folders" / "metrics.json").read_text())
    by_csv = json.loads((tmp_path / "csv" / "metrics.json").read_text())
    for key in ("thresholds", "detectors", "curves", "mcnemar", "categories",
                "fleck_configurations"):
        assert by_folders[key] == by_csv[key], key
    assert set(by_folders["categories"]) == {"porn", "hentai", "neutral", "drawings", "sfw",
                                             "nsfw"}
    for key in ("labelled", "labelled_positives", "labelled_negatives", "evaluated"):
        assert by_folders["coverage"][key] == by_csv["coverage"][key], key
    assert by_folders["coverage"]["evaluated"] == 11
    absolute = {key: sorted(os.path.normpath(os.path.join(tree, p)) for p in paths)
                for key, paths in by_csv["disagreements"]["errors"]["fleck"].items()}
    assert absolute == {key: sorted(paths)
                        for key, paths in by_folders["disagreements"]["errors"]["fleck"].items()}
    # The unlabelled images are counted and named, and fleck's records of them too.
    folders = by_folders["inputs"]["labels_from_folders"]
    assert folders["spec"] == SPEC and folders["unlabelled"] == 2
    assert sorted(folders["unlabelled_images"]) == sorted(
        str(tree / n) for n, hit in LAYOUT.items() if hit is None)
    assert sorted(by_folders["coverage"]["fleck"]["unlabelled"]) == sorted(
        folders["unlabelled_images"])

    # Without IMAGES the folders are read from the paths of the fleck results (which are in
    # the order the scan finished them; the labels are sorted into the walker's order).
    assert run_cli(["--labels-from-folders", SPEC, "--fleck",
                    str(tmp_path / "folders" / "fleck_results.jsonl"), "-o",
                    str(tmp_path / "records"), *common]) == 0
    by_records = json.loads((tmp_path / "records" / "metrics.json").read_text())
    for key in ("detectors", "curves", "categories"):
        assert by_records[key] == by_folders[key], key


def test_labels_and_labels_from_folders_are_exclusive(tree, capsys):
    with pytest.raises(SystemExit) as exit_:
        run_cli(["--labels", "x.csv", "--labels-from-folders", SPEC, str(tree)])
    assert exit_.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        run_cli([str(tree)])  # one of them is required
