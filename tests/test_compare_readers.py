"""Readers of labels, fleck results and CNN formats; path matching."""

import json
import os
import warnings

import pytest

from fleck.compare.readers import (
    PathMatcher,
    parse_label,
    read_cnn_scores,
    read_fleck_results,
    read_labels,
)


def write(path, text):
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("value,expected", [
    ("1", True), ("0", False), ("NSFW", True), ("sfw", False), ("True", True), ("no", False),
    ("Positive", True), ("negative", False), (1, True), (0.0, False)])
def test_label_values(value, expected):
    assert parse_label(value, "row 1") is expected


def test_labels_csv_with_categories_and_bad_row_named(tmp_path):
    f = write(tmp_path / "labels.csv", "path,label,category\na.jpg,nsfw,\nb.jpg,0,wood\n")
    labels = read_labels(f)
    assert labels.paths == ("a.jpg", "b.jpg")
    assert labels.labels.tolist() == [True, False]
    assert labels.categories == (None, "wood")
    bad = write(tmp_path / "bad.csv", "path,label\na.jpg,1\nb.jpg,maybe\n")
    with pytest.raises(ValueError, match=r"bad.csv row 3: label 'maybe'"):
        read_labels(bad)


def test_labels_headerless_and_jsonl_and_conflicts(tmp_path):
    assert read_labels(write(tmp_path / "h.csv", "a.jpg,yes\nb.jpg,no\n")).labels.tolist() == \
        [True, False]
    jl = write(tmp_path / "l.jsonl", '{"path": "a.jpg", "label": true, "category": "x"}\n')
    assert read_labels(jl).categories == ("x",)
    with pytest.raises(ValueError, match="both ways"):
        read_labels(write(tmp_path / "c.csv", "path,label\na.jpg,1\na.jpg,0\n"))


def test_fleck_results_keep_failures(tmp_path):
    f = write(tmp_path / "results.jsonl", "\n".join(json.dumps(r) for r in [
        {"path": "a.jpg", "status": "ok", "decision": True, "score": 0.8, "threshold": 0.5},
        {"path": "b.jpg", "status": "error", "error": "cannot decode"},
        {"path": "c.jpg", "status": "ok", "score": "high"},
    ]) + "\n")
    r = read_fleck_results(f)
    assert list(r.records) == ["a.jpg"]
    assert r.failures["b.jpg"] == "cannot decode"
    assert "c.jpg" in r.failures
    with pytest.raises(ValueError, match="line 1"):
        read_fleck_results(write(tmp_path / "x.jsonl", "not json\n"))


def test_generic_csv_and_jsonl(tmp_path):
    r = read_cnn_scores(write(tmp_path / "s.csv", "path,score\na.jpg,0.25\nb.jpg,\n"))
    assert (r.format, r.scores) == ("csv", {"a.jpg": 0.25})
    assert len(r.problems) == 1 and "b.jpg" not in r.scores  # listed, not silently dropped
    r = read_cnn_scores(write(tmp_path / "s.jsonl", '{"path": "a.jpg", "score": 0.5}\n'
                                                    '{"path": "b.jpg", "score": 1}\n'))
    assert (r.format, r.scores) == ("jsonl", {"a.jpg": 0.5, "b.jpg": 1.0})
    with pytest.raises(ValueError, match="outside"):
        read_cnn_scores(write(tmp_path / "logit.csv", "path,score\na.jpg,3.2\n"))


def test_open_nsfw_style(tmp_path):
    r = read_cnn_scores(write(tmp_path / "o.csv", "path,sfw,nsfw\na.jpg,0.9,0.1\n"))
    assert (r.format, r.scores) == ("open_nsfw", {"a.jpg": 0.1})
    r = read_cnn_scores(write(tmp_path / "o.json", '{"a.jpg": {"sfw": 0.3}}'))
    assert r.format == "open_nsfw" and r.scores["a.jpg"] == pytest.approx(0.7)


def test_nudenet_detections_use_the_configured_classes(tmp_path):
    detections = {
        "a.jpg": [{"class": "FACE_FEMALE", "score": 0.9, "box": [0, 0, 5, 5]},
                  {"class": "BUTTOCKS_EXPOSED", "score": 0.6, "box": [1, 1, 5, 5]}],
        "b.jpg": [{"class": "FEET_EXPOSED", "score": 0.8, "box": [0, 0, 2, 2]}],
        "c.jpg": [],
    }
    f = write(tmp_path / "n.json", json.dumps(detections))
    r = read_cnn_scores(f)
    assert r.format == "nudenet"
    assert r.scores == {"a.jpg": 0.6, "b.jpg": 0.0, "c.jpg": 0.0}
    r = read_cnn_scores(f, nudenet_classes=["FEET_EXPOSED"])
    assert r.scores == {"a.jpg": 0.0, "b.jpg": 0.8, "c.jpg": 0.0}
    jl = write(tmp_path / "n.jsonl", "\n".join(
        json.dumps({"path": k, "detections": v}) for k, v in detections.items()))
    assert read_cnn_scores(jl).scores == {"a.jpg": 0.6, "b.jpg": 0.0, "c.jpg": 0.0}


def test_clarifai_v2_response(tmp_path):
    def output(url, concepts, code=10000):
        return {"id": "x", "status": {"code": code, "description": "Ok"},
                "input": {"id": "in1", "data": {"image": {"url": url}}},
                "data": {"concepts": [{"id": n, "name": n, "value": v, "app_id": "main"}
                                      for n, v in concepts]}}
    response = {"status": {"code": 10000}, "outputs": [
        output("https://example.com/imgs/a%20b.jpg", [("sfw", 0.2), ("nsfw", 0.8)]),
        output("https://example.com/imgs/c.jpg", [("sfw", 0.9)]),
        output("https://example.com/imgs/d.jpg", [], code=21100),
    ]}
    r = read_cnn_scores(write(tmp_path / "c.json", json.dumps(response)))
    assert r.format == "clarifai"
    assert r.scores["/imgs/a b.jpg"] == 0.8
    assert r.scores["/imgs/c.jpg"] == pytest.approx(0.1)
    assert len(r.problems) == 1 and "d.jpg" not in str(r.scores)
    # A list of responses and the format forced by name read the same way.
    both = write(tmp_path / "c2.json", json.dumps([response, response]))
    assert len(read_cnn_scores(both, format="clarifai").problems) >= 2


def test_format_override_and_unknown(tmp_path):
    f = write(tmp_path / "s.csv", "path,nsfw\na.jpg,0.4\n")
    with pytest.raises(ValueError, match="unknown CNN format"):
        read_cnn_scores(f, format="caffe")
    with pytest.raises(ValueError, match="cannot tell the format"):
        read_cnn_scores(write(tmp_path / "q.csv", "path,prob\na.jpg,0.4\n"))


def test_path_matching_rules(tmp_path):
    root = str(tmp_path)
    m = PathMatcher(["pos/a.jpg", "neg/a.jpg", "neg/b.jpg", "c.jpg"], base_dir=root)
    assert m.match(os.path.join(root, "neg", "a.jpg"), base_dir="/x") == (1, "exact")
    assert m.match("neg/../neg/b.jpg", base_dir=root) == (2, "exact")
    assert m.match("neg/b.jpg", base_dir="/somewhere/else") == (2, "exact")  # via the CWD
    assert m.match("/mnt/copy/b.jpg", base_dir="/x") == (2, "basename")
    assert m.match("/mnt/copy/pos/a.jpg", base_dir="/x") == (0, "suffix")
    assert m.match("/mnt/copy/a.jpg", base_dir="/x") == (None, "ambiguous")
    assert m.match("C.JPG", base_dir="/x") == (None, "unlabelled")  # case-sensitive


def test_align_counts_and_lists_everything(tmp_path):
    m = PathMatcher(["pos/a.jpg", "neg/a.jpg", "b.jpg"], base_dir=str(tmp_path))
    records = {"b.jpg": 1, "/other/b.jpg": 2, "a.jpg": 3, "zzz.jpg": 4}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        found, report = m.align(records, base_dir=str(tmp_path), what="test")
    assert found == {2: 1}
    assert report.duplicates == ["/other/b.jpg"]
    assert report.ambiguous == ["a.jpg"]
    assert report.unlabelled == ["zzz.jpg"]
    assert any("a.jpg" in str(w.message) for w in caught)
