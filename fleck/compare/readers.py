"""Readers for labels, fleck results and CNN scores, and robust matching of their image paths.

Labels: CSV with a header ``path,label[,category]`` (a header-less file is accepted when its
first row already holds a label) or JSON Lines with the same keys. Label values (any case):
1/0, nsfw/sfw, true/false, yes/no, positive/negative.

CNN formats (``format=None`` detects them from the content):

``csv`` / ``jsonl``
    generic ``path,score``, score in [0, 1].
``open_nsfw``
    Yahoo open_nsfw style ``path,sfw,nsfw`` (CSV, JSON Lines, or a JSON list/mapping);
    the score is ``nsfw`` (``1 - sfw`` when only ``sfw`` is given).
``nudenet``
    NudeNet detections: JSON ``{path: [{"class", "score", "box"}, ...]}``, a JSON list or JSON
    Lines of ``{"path": ..., "detections": [...]}``, or CSV with a JSON ``detections`` column.
    The score is the highest detection score among ``classes`` (default
    :data:`fleck.cnn.NUDENET_EXPOSED_CLASSES`), 0 when none of them was detected.
``clarifai``
    Clarifai v2 predict responses (one JSON object, a list of them, or JSON Lines):
    ``outputs[].data.concepts[]``; the score is the value of concept ``nsfw`` (``1 - sfw`` when
    only ``sfw`` is present). The image is named by ``outputs[].input.data.metadata.path`` (or
    ``filename``), else by the path of ``outputs[].input.data.image.url``, else by
    ``outputs[].input.id``.

Videos: fleck's per-file records are used (per-frame records skipped); a CNN's per-frame
results (rows with ``frame`` or ``time_s``) become one score per file, the highest (``max``) or
the ``K``-th highest (``k-of-n``, fleck's own rule), see :func:`read_cnn_scores`.

Matching the paths of these files to each other: :mod:`fleck.compare.matching`
(:class:`PathMatcher`, importable from here too).
"""

from __future__ import annotations

import json
import math
import os
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from fleck.cnn import NUDENET_EXPOSED_CLASSES, nudenet_score
from fleck.compare.matching import MatchReport, PathMatcher
from fleck.compare.rows import (
    PATH_KEYS,
    _csv_rows,
    _is_number,
    _jsonl_objects,
    _looks_like_json,
    _path_of,
    _present,
    _Skip,
)
from fleck.video.rule import aggregate_scores

__all__ = ["CNN_FORMATS", "PATH_KEYS", "LabelSet", "parse_label", "read_labels", "FleckResults",
           "read_fleck_results", "CnnScores", "read_cnn_scores", "MatchReport", "PathMatcher",
           "nudenet_score"]

CNN_FORMATS = ("csv", "jsonl", "open_nsfw", "nudenet", "clarifai")
_TRUE = {"1", "nsfw", "true", "yes", "positive"}
_FALSE = {"0", "sfw", "false", "no", "negative"}


# --------------------------------------------------------------------------------------- labels
@dataclass(frozen=True)
class LabelSet:
    """Ground truth: image paths as written in the file, labels (True = NSFW), categories.

    Examples
    --------
    >>> import numpy as np
    >>> labels = LabelSet("data/labels.csv", ("a.jpg",), np.array([True]), (None,))
    >>> len(labels), labels.base_dir.endswith("data")
    (1, True)
    """

    source: str
    paths: tuple[str, ...]
    labels: np.ndarray
    categories: tuple[str | None, ...]
    #: The folder relative ``paths`` are relative to; default: the labels file's folder.
    base: str | None = None

    @property
    def base_dir(self) -> str:
        if self.base is not None:
            return self.base
        return os.path.dirname(os.path.abspath(self.source))

    def __len__(self) -> int:
        return len(self.paths)


def parse_label(value: Any, where: str) -> bool:
    """A label value as a bool (True = NSFW); ValueError naming ``where`` otherwise.

    Parameters
    ----------
    value : str, int, float or bool
        1/0, nsfw/sfw, true/false, yes/no, positive/negative (any case).
    where : str
        Where the value was read (for the error message).

    Returns
    -------
    bool

    Raises
    ------
    ValueError
        For any other value.

    Examples
    --------
    >>> parse_label("NSFW", "row 2"), parse_label(0, "row 3")
    (True, False)
    """
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if isinstance(value, float) and value.is_integer():
        text = str(int(value))
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(f"{where}: label {value!r} is not one of 1/0, nsfw/sfw, true/false, yes/no, "
                     "positive/negative")


def read_labels(path: str | os.PathLike) -> LabelSet:
    """Read ``path,label[,category]`` rows from a CSV (with header) or JSON Lines file.

    Identical duplicate rows are merged; a path labelled both ways is an error.

    Parameters
    ----------
    path : path
        The labels file.

    Returns
    -------
    LabelSet

    Raises
    ------
    ValueError
        For a row without path or label, a bad label, or no rows at all.

    Examples
    --------
    >>> import os, tempfile
    >>> f = os.path.join(tempfile.mkdtemp(), "labels.csv")
    >>> _ = open(f, "w").write("path,label,category\\na.jpg,nsfw,beach\\nb.jpg,0,\\n")
    >>> labels = read_labels(f)
    >>> labels.paths, labels.labels.tolist(), labels.categories
    (('a.jpg', 'b.jpg'), [True, False], ('beach', None))
    """
    source = os.fspath(path)
    text = Path(source).read_text(encoding="utf-8-sig")
    if _looks_like_json(text):
        rows = [(f"{source} line {i}", r) for i, r in _jsonl_objects(text, source)]
    else:
        rows = [(f"{source} row {i}", r) for i, r in _csv_rows(text, source, _label_header)]
    paths: list[str] = []
    labels: list[bool] = []
    categories: list[str | None] = []
    seen: dict[str, int] = {}
    for where, row in rows:
        image = _path_of(row, where)
        if "label" not in row:
            raise ValueError(f"{where}: no `label` field (columns: {', '.join(row)})")
        label = parse_label(row["label"], where)
        category = row.get("category")
        category = str(category).strip() or None if category is not None else None
        if image in seen:
            i = seen[image]
            if labels[i] != label:
                raise ValueError(f"{where}: {image!r} is labelled both ways")
            continue
        seen[image] = len(paths)
        paths.append(image)
        labels.append(label)
        categories.append(category)
    if not paths:
        raise ValueError(f"{source}: no labelled images")
    return LabelSet(source=source, paths=tuple(paths), labels=np.array(labels, dtype=bool),
                    categories=tuple(categories))


def _label_header(first: list[str]) -> bool:
    """True when the first CSV row is a header (not already ``path,label``)."""
    if len(first) >= 2:
        try:
            parse_label(first[1], "")
            return False
        except ValueError:
            return True
    return True


# ------------------------------------------------------------------------------ fleck results
@dataclass(frozen=True)
class FleckResults:
    """Records of ``fleck scan``: ok records by path, failures by path (path -> reason).

    Examples
    --------
    >>> FleckResults("r.jsonl", {}, {"a.jpg": "not an image"}).failures
    {'a.jpg': 'not an image'}
    """

    source: str
    records: dict[str, dict]
    failures: dict[str, str]

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.source))


def read_fleck_results(path: str | os.PathLike) -> FleckResults:
    """Read a ``results.jsonl`` written by ``fleck scan``.

    Error records, and ok records without a usable score or decision, become failures (listed,
    never dropped). A line that is not JSON is an error naming the line. Videos and animated
    images are judged by their file record; their per-frame records are skipped.

    Parameters
    ----------
    path : path
        The results file.

    Returns
    -------
    FleckResults

    Raises
    ------
    ValueError
        For a line that is not a JSON object, or a record without a path.

    Examples
    --------
    >>> import os, tempfile
    >>> f = os.path.join(tempfile.mkdtemp(), "r.jsonl")
    >>> _ = open(f, "w").write('{"path": "a.jpg", "status": "ok", "score": 0.7, "decision": true}'
    ...                        '\\n{"path": "b.jpg", "status": "error", "error": "truncated"}\\n')
    >>> results = read_fleck_results(f)
    >>> list(results.records), results.failures
    (['a.jpg'], {'b.jpg': 'truncated'})
    """
    source = os.fspath(path)
    text = Path(source).read_text(encoding="utf-8")
    records: dict[str, dict] = {}
    failures: dict[str, str] = {}
    for line_no, record in _jsonl_objects(text, source):
        if "frame" in record:  # a video's sampled frame: its file record holds the verdict
            continue
        where = f"{source} line {line_no}"
        image = _path_of(record, where)
        if record.get("status", "ok") != "ok":
            failures[image] = str(record.get("error") or record.get("status"))
            continue
        score, decision = record.get("score"), record.get("decision")
        if not isinstance(decision, bool) or not _is_number(score):
            failures[image] = "record has no numeric score and boolean decision"
            continue
        records[image] = record
    return FleckResults(source=source, records=records, failures=failures)


# --------------------------------------------------------------------------------- CNN scores
@dataclass(frozen=True)
class CnnScores:
    """One CNN's scores by path (in [0, 1]); ``problems`` lists records that gave no score.

    Examples
    --------
    >>> CnnScores("s.csv", "csv", {"a.jpg": 0.2}).scores["a.jpg"]
    0.2
    """

    source: str
    format: str
    scores: dict[str, float]
    problems: list[str] = field(default_factory=list)

    @property
    def base_dir(self) -> str:
        return os.path.dirname(os.path.abspath(self.source))


def read_cnn_scores(path: str | os.PathLike, *, format: str | None = None,
                    nudenet_classes: Sequence[str] | None = None,
                    frame_aggregate: str = "max", min_frames: int = 2) -> CnnScores:
    """Read one CNN's results file; ``format`` is one of :data:`CNN_FORMATS` or None (detect).

    Per-frame results of videos (records with a ``frame`` or ``time_s`` field) are combined
    into one score per file by ``frame_aggregate``; a per-file record of the same file takes
    precedence over its frames.

    Parameters
    ----------
    path : path
        The CNN's results file.
    format : str, optional
        One of :data:`CNN_FORMATS`; detected from the fields when None.
    nudenet_classes : sequence of str, optional
        NudeNet classes that count as NSFW (default
        :data:`fleck.cnn.NUDENET_EXPOSED_CLASSES`).
    frame_aggregate : {"max", "k-of-n"}
        How a video's frame scores become its score (:func:`fleck.video.aggregate_scores`):
        the highest, or the ``min_frames``-th highest.
    min_frames : int
        ``K`` of ``k-of-n``.

    Returns
    -------
    CnnScores
        Records that give no score are listed in ``problems``, not dropped silently.

    Raises
    ------
    ValueError
        For an unknown format, an unreadable file, or a score outside [0, 1].

    Examples
    --------
    >>> import tempfile, os
    >>> f = os.path.join(tempfile.mkdtemp(), "s.csv")
    >>> _ = open(f, "w").write("path,sfw,nsfw\\na.jpg,0.9,0.1\\n")
    >>> r = read_cnn_scores(f)
    >>> r.format, r.scores
    ('open_nsfw', {'a.jpg': 0.1})
    """
    source = os.fspath(path)
    if format is not None and format not in CNN_FORMATS:
        raise ValueError(f"unknown CNN format {format!r}; known: {', '.join(CNN_FORMATS)}")
    text = Path(source).read_text(encoding="utf-8-sig")
    rows, container = _load_rows(text, source)
    detected = format or _detect_format(rows, container, source)
    if nudenet_classes is None:
        nudenet_classes = NUDENET_EXPOSED_CLASSES
    classes = frozenset(nudenet_classes)
    scores: dict[str, float] = {}
    problems: list[str] = []
    frames: dict[str, list[float]] = {}
    for where, row in rows:
        try:
            image = _path_of(row, where)
            score = _score_of(row, detected, classes, where)
        except _Skip as skip:
            problems.append(str(skip))
            continue
        if _present(row.get("frame")) or _present(row.get("time_s")):
            frames.setdefault(image, []).append(score)
            continue
        if image in scores:
            problems.append(f"{where}: duplicate record for {image!r} (the first one is kept)")
            continue
        scores[image] = score
    for image, frame_scores in frames.items():
        scores.setdefault(image, aggregate_scores(frame_scores, frame_aggregate, min_frames))
    return CnnScores(source=source, format=detected, scores=scores, problems=problems)


def _score_of(row: dict, fmt: str, classes: frozenset[str], where: str) -> float:
    if fmt in ("csv", "jsonl"):
        return _unit(row.get("score"), "score", where)
    if fmt == "open_nsfw":
        if _present(row.get("nsfw")):
            return _unit(row["nsfw"], "nsfw", where)
        if _present(row.get("sfw")):
            return 1.0 - _unit(row["sfw"], "sfw", where)
        raise _Skip(f"{where}: neither `nsfw` nor `sfw` given")
    if fmt == "nudenet":
        detections = row.get("detections")
        if isinstance(detections, str):
            try:
                detections = json.loads(detections) if detections.strip() else []
            except json.JSONDecodeError as err:
                raise _Skip(f"{where}: `detections` is not JSON ({err})") from None
        if not isinstance(detections, list):
            raise _Skip(f"{where}: no `detections` list")
        try:
            return _unit(nudenet_score(detections, classes), "detection score", where)
        except (KeyError, TypeError, ValueError) as err:
            raise _Skip(f"{where}: malformed detection ({err})") from None
    if fmt == "clarifai":
        concepts = {c.get("name"): c.get("value") for c in row.get("concepts", [])}
        if _present(concepts.get("nsfw")):
            return _unit(concepts["nsfw"], "concept nsfw", where)
        if _present(concepts.get("sfw")):
            return 1.0 - _unit(concepts["sfw"], "concept sfw", where)
        raise _Skip(f"{where}: no concept named nsfw or sfw")
    raise ValueError(f"unknown CNN format {fmt!r}")


def _unit(value: Any, name: str, where: str) -> float:
    if not _present(value):
        raise _Skip(f"{where}: no `{name}` value")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise _Skip(f"{where}: `{name}` {value!r} is not a number") from None
    if not math.isfinite(number):
        raise _Skip(f"{where}: `{name}` is {value!r}")
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{where}: `{name}` {number} is outside [0, 1]; scores must be "
                         "probabilities (convert logits first)")
    return number


def _detect_format(rows: list[tuple[str, dict]], container: str, source: str) -> str:
    keys: set[str] = set()
    for _, row in rows[:100]:
        keys.update(row)
    if "concepts" in keys and "_clarifai" in keys:
        return "clarifai"
    if "detections" in keys:
        return "nudenet"
    if keys & {"nsfw", "sfw"}:
        return "open_nsfw"
    if "score" in keys:
        return "csv" if container == "csv" else "jsonl"
    raise ValueError(f"{source}: cannot tell the format from the fields ({', '.join(sorted(keys))})"
                     f"; expected path,score or one of {', '.join(CNN_FORMATS[2:])} (name it with "
                     "NAME=FILE:FORMAT)")


def _load_rows(text: str, source: str) -> tuple[list[tuple[str, dict]], str]:
    """Rows as dicts with a location string, plus the container ('csv' or 'json')."""
    if not _looks_like_json(text):
        return [(f"{source} row {i}", r) for i, r in _csv_rows(text, source, lambda _: True)], "csv"
    try:
        documents = [(f"{source}", json.loads(text))]
    except json.JSONDecodeError:
        documents = [(f"{source} line {i}", obj) for i, obj in _jsonl_objects(text, source)]
    rows: list[tuple[str, dict]] = []
    for where, doc in documents:
        items = doc if isinstance(doc, list) else [doc]
        for i, item in enumerate(items):
            item_where = f"{where} item {i}" if isinstance(doc, list) else where
            rows.extend(_normalise_item(item, item_where))
    return rows, "json"


def _normalise_item(item: Any, where: str) -> list[tuple[str, dict]]:
    if not isinstance(item, dict):
        raise ValueError(f"{where}: expected a JSON object, got {type(item).__name__}")
    if "outputs" in item:
        return [(f"{where} output {i}", _clarifai_row(o, f"{where} output {i}"))
                for i, o in enumerate(item["outputs"] or [])]
    if any(k in item for k in PATH_KEYS):
        return [(where, item)]
    # A mapping {path: value}: value is a score, a list of detections, or a dict of fields.
    rows = []
    for key, value in item.items():
        if isinstance(value, list):
            rows.append((f"{where} [{key!r}]", {"path": key, "detections": value}))
        elif isinstance(value, dict):
            rows.append((f"{where} [{key!r}]", {**value, "path": key}))
        else:
            rows.append((f"{where} [{key!r}]", {"path": key, "score": value}))
    return rows


def _clarifai_row(output: dict, where: str) -> dict:
    data_in = (output.get("input") or {}).get("data") or {}
    metadata = data_in.get("metadata") or {}
    image = metadata.get("path") or metadata.get("filename")
    if not image:
        url = (data_in.get("image") or {}).get("url")
        if url:
            parsed = urllib.parse.urlparse(url)
            image = urllib.parse.unquote(parsed.path) if parsed.scheme in ("http", "https",
                                                                            "file") else url
    if not image:
        image = (output.get("input") or {}).get("id")
    row: dict[str, Any] = {"_clarifai": True,
                           "concepts": ((output.get("data") or {}).get("concepts") or [])}
    if image:
        row["path"] = image
    code = (output.get("status") or {}).get("code")
    if code not in (None, 10000):
        row["concepts"] = []  # a failed prediction gives no score; reported as a problem
    return row


# ------------------------------------------------------------------------------ file parsing


