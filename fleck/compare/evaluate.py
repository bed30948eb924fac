"""Line labels, fleck results and CNN scores up on the same images, and compute every table.

Which images are evaluated: those that have a label, an ok fleck record and a score from every
CNN (the intersection), so that all detectors are compared on the same, paired images. Everything
else is counted and listed in ``coverage`` (fleck failures, labelled images missing from a
source, records without a label, ambiguous file names).

Operating points: fleck's own decision; each CNN at ``default_threshold`` (0.5), at
``match_recall`` (the highest threshold whose recall is at least fleck's) and at ``match_fpr``
(the lowest threshold whose false-positive rate is at most fleck's); see
:func:`fleck.compare.metrics.threshold_for_recall` / ``threshold_for_fpr``. Thresholds are
chosen on all evaluated images and reused unchanged for the per-category tables and the
bootstrap.
"""

from __future__ import annotations

import itertools
import os
from dataclasses import dataclass, field

import numpy as np

from fleck.compare import metrics as M
from fleck.compare.matching import PathMatcher
from fleck.compare.readers import CnnScores, FleckResults, LabelSet

__all__ = ["CompareSettings", "Dataset", "build_dataset", "OperatingPoint", "operating_points",
           "metric_table", "mcnemar_table", "evaluate", "disagreements"]


@dataclass(frozen=True)
class CompareSettings:
    """Choices of the comparison (not detector thresholds), with why.

    Examples
    --------
    >>> CompareSettings(n_bootstrap=0).default_threshold
    0.5
    """

    default_threshold: float = 0.5      # the conventional cut-off of a probability output
    n_bootstrap: int = 1000             # enough for stable 95 % percentile intervals
    seed: int = 0                       # bootstrap resampling is seeded: same input, same CIs
    confidence: float = 0.95
    gallery_size: int = 48              # thumbnails per gallery; the JSON lists every image
    thumb_size: int = 200               # longest side of the report's thumbnails, pixels
    target_precision: float = 0.9       # thresholds.json: the unsafe threshold's precision
    target_recall: float = 0.95         # thresholds.json: the review threshold's recall
    prevalence: float | None = None     # thresholds.json: re-weight to it (None: the sample's)
    frame_aggregate: str = "max"        # CNN per-frame video results -> one score per file
    min_frames: int = 2                 # K of frame_aggregate "k-of-n" (fleck's --min-frames)


@dataclass
class Dataset:
    """The evaluated images (aligned arrays), in labels-file order.

    Examples
    --------
    >>> ds = _example_dataset()
    >>> len(ds), int(ds.y.sum()), sorted(ds.cnn)
    (6, 3, ['cnn'])
    """

    paths: list[str]
    files: list[str | None]
    y: np.ndarray
    categories: list[str | None]
    fleck_score: np.ndarray
    fleck_decision: np.ndarray
    fleck_records: list[dict]
    cnn: dict[str, np.ndarray] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)


def _example_dataset() -> Dataset:
    """Six images, one CNN: the tiny dataset of this module's examples."""
    y = np.array([True, True, True, False, False, False])
    fleck = np.array([0.9, 0.6, 0.2, 0.7, 0.1, 0.3])
    return Dataset(paths=[f"{i}.jpg" for i in range(6)], files=[None] * 6, y=y,
                   categories=["a", "a", "b", "b", "a", "b"], fleck_score=fleck,
                   fleck_decision=fleck >= 0.5,
                   fleck_records=[{"threshold": 0.5} for _ in range(6)],
                   cnn={"cnn": np.array([0.8, 0.4, 0.7, 0.2, 0.6, 0.1])})


def build_dataset(labels: LabelSet, fleck: FleckResults, cnns: dict[str, CnnScores],
                  ) -> tuple[Dataset, dict]:
    """Match every source to the labels; return the evaluated images and the coverage report.

    Parameters
    ----------
    labels : LabelSet
        Ground truth.
    fleck : FleckResults
        fleck's records.
    cnns : dict of str to CnnScores
        Each CNN's scores.

    Returns
    -------
    dataset : Dataset
        The images with a label, an ok fleck record and every CNN's score.
    coverage : dict
        What was matched, missing, unlabelled or ambiguous, per source.

    Examples
    --------
    >>> import numpy as np
    >>> from fleck.compare.readers import CnnScores, FleckResults, LabelSet
    >>> labels = LabelSet("labels.csv", ("a.jpg", "b.jpg"), np.array([True, False]), (None, None))
    >>> fleck = FleckResults("r.jsonl", {"a.jpg": {"path": "a.jpg", "score": 0.9,
    ...                                            "decision": True}}, {"b.jpg": "not an image"})
    >>> cnn = CnnScores("s.csv", "csv", {"a.jpg": 0.7, "b.jpg": 0.1})
    >>> ds, coverage = build_dataset(labels, fleck, {"cnn": cnn})
    >>> ds.paths, coverage["evaluated"], coverage["fleck"]["failed_labelled"]
    (['a.jpg'], 1, 1)
    """
    matcher = PathMatcher(labels.paths, base_dir=labels.base_dir)
    fleck_found, fleck_report = matcher.align(fleck.records, base_dir=fleck.base_dir,
                                              what=f"fleck results {fleck.source}")
    failed_found, failed_report = matcher.align(fleck.failures, base_dir=fleck.base_dir,
                                                what=f"fleck results {fleck.source}")
    available = set(fleck_found)
    n_labels = len(labels)
    fleck_report.missing = [labels.paths[i] for i in range(n_labels)
                            if i not in fleck_found and i not in failed_found]
    coverage: dict = {
        "labelled": n_labels,
        "labelled_positives": int(labels.labels.sum()),
        "labelled_negatives": int((~labels.labels).sum()),
        "fleck": {"source": fleck.source, "records": len(fleck.records),
                  "failures": [{"path": p, "error": e} for p, e in fleck.failures.items()],
                  "failed_labelled": len(failed_found),
                  **fleck_report.to_dict(),
                  "unlabelled": fleck_report.unlabelled + failed_report.unlabelled},
        "cnn": {},
    }
    cnn_found: dict[str, dict[int, float]] = {}
    for name, scores in cnns.items():
        found, report = matcher.align(scores.scores, base_dir=scores.base_dir,
                                      what=f"{name} scores {scores.source}")
        report.missing = [labels.paths[i] for i in range(n_labels) if i not in found]
        coverage["cnn"][name] = {"source": scores.source, "format": scores.format,
                                 "records": len(scores.scores), "problems": scores.problems,
                                 **report.to_dict()}
        cnn_found[name] = found
        available &= set(found)
    keep = sorted(available)
    coverage["evaluated"] = len(keep)
    coverage["excluded_labelled"] = n_labels - len(keep)
    records = [fleck_found[i] for i in keep]
    dataset = Dataset(
        paths=[labels.paths[i] for i in keep],
        files=[_existing_file(labels.paths[i], labels.base_dir, fleck_found[i]["path"],
                              fleck.base_dir) for i in keep],
        y=labels.labels[keep] if keep else np.zeros(0, bool),
        categories=[labels.categories[i] for i in keep],
        fleck_score=np.array([float(r["score"]) for r in records], dtype=float),
        fleck_decision=np.array([bool(r["decision"]) for r in records], dtype=bool),
        fleck_records=records,
        cnn={name: np.array([found[i] for i in keep], dtype=float)
             for name, found in cnn_found.items()},
    )
    return dataset, coverage


def _existing_file(label_path: str, label_base: str, record_path: str, record_base: str
                   ) -> str | None:
    """The image file on disk, for thumbnails; None when it cannot be found."""
    for path, base in ((label_path, label_base), (label_path, os.getcwd()),
                       (record_path, record_base), (record_path, os.getcwd())):
        candidate = path if os.path.isabs(path) else os.path.join(base, path)
        if os.path.isfile(candidate):
            return os.path.normpath(candidate)
    return None


@dataclass(frozen=True)
class OperatingPoint:
    """One binary detector: a name, its threshold and its predictions on the dataset.

    Examples
    --------
    >>> points, _ = operating_points(_example_dataset(), CompareSettings())
    >>> [p.key for p in points]
    ['fleck', 'cnn@0.5', 'cnn@match_recall', 'cnn@match_fpr']
    """

    key: str            # e.g. "fleck", "open_nsfw@0.5"
    detector: str
    point: str          # "decision", "0.5", "match_recall", "match_fpr"
    threshold: float | None
    predictions: np.ndarray


def operating_points(ds: Dataset, settings: CompareSettings) -> tuple[list[OperatingPoint], dict]:
    """fleck's decision and every CNN's thresholds; also the threshold table for the JSON.

    Parameters
    ----------
    ds : Dataset
        The evaluated images.
    settings : CompareSettings
        ``default_threshold`` of the CNNs.

    Returns
    -------
    points : list of OperatingPoint
        fleck's decision, then each CNN at ``default_threshold``, ``match_recall``, ``match_fpr``.
    thresholds : dict
        The chosen thresholds per detector (and fleck's recall and FPR), for metrics.json.

    Examples
    --------
    >>> _, thresholds = operating_points(_example_dataset(), CompareSettings())
    >>> thresholds["cnn"]
    {'0.5': 0.5, 'match_recall': 0.7, 'match_fpr': 0.4}
    """
    thresholds = {r.get("threshold") for r in ds.fleck_records}
    fleck_threshold = thresholds.pop() if len(thresholds) == 1 else None
    points = [OperatingPoint("fleck", "fleck", "decision", fleck_threshold, ds.fleck_decision)]
    fleck_rates = M.binary_metrics(ds.y, ds.fleck_decision) if len(ds) else {}
    table: dict = {"fleck": {"decision": fleck_threshold,
                             "recall": fleck_rates.get("recall"), "fpr": fleck_rates.get("fpr")}}
    default = settings.default_threshold
    for name, score in ds.cnn.items():
        chosen = {f"{default:g}": default}
        if len(ds):
            chosen["match_recall"] = M.threshold_for_recall(ds.y, score, fleck_rates["recall"])
            chosen["match_fpr"] = M.threshold_for_fpr(ds.y, score, fleck_rates["fpr"])
        table[name] = chosen
        for point, threshold in chosen.items():
            if threshold is None:
                continue  # e.g. no positives: there is no recall to match
            points.append(OperatingPoint(f"{name}@{point}", name, point, threshold,
                                         score >= threshold))
    return points, table


def _interval(value, ci: dict) -> dict:
    return {"value": value, "low": ci["low"], "high": ci["high"]}


def metric_table(y: np.ndarray, points: list[OperatingPoint], scores: dict[str, np.ndarray],
                 settings: CompareSettings) -> tuple[list[dict], dict]:
    """Rows (one per operating point) and curve metrics (one per score), with bootstrap CIs.

    Parameters
    ----------
    y : bool ndarray
        Labels (True = NSFW).
    points : list of OperatingPoint
        Binary detectors.
    scores : dict of str to ndarray
        Continuous scores, for ROC AUC and average precision.
    settings : CompareSettings
        Bootstrap resamples, seed and confidence.

    Returns
    -------
    rows : list of dict
        Counts and rates (value, low, high) per operating point.
    curves : dict
        ``roc_auc`` and ``average_precision`` (value, low, high) per score.

    Examples
    --------
    >>> ds = _example_dataset()
    >>> points, _ = operating_points(ds, CompareSettings())
    >>> rows, curves = metric_table(ds.y, points[:1], {"fleck": ds.fleck_score},
    ...                             CompareSettings(n_bootstrap=0))
    >>> rows[0]["tp"], rows[0]["recall"]["value"], curves["fleck"]["roc_auc"]["value"]
    (2, 0.6666666666666666, 0.6666666666666667)
    """
    boot = M.bootstrap_intervals(y, predictions={p.key: p.predictions for p in points},
                                 scores=scores, n_resamples=settings.n_bootstrap,
                                 seed=settings.seed, confidence=settings.confidence)
    rows = []
    for p in points:
        counts = M.confusion_counts(y, p.predictions)
        rates = counts.rates()
        rows.append({"detector": p.detector, "operating_point": p.point,
                     "threshold": p.threshold, "n": len(y), "positives": int(y.sum()),
                     "negatives": int((~y).sum()), **counts.to_dict(),
                     **{m: _interval(rates[m], boot[p.key][m]) for m in M.METRIC_NAMES}})
    curves = {}
    for name, score in scores.items():
        curves[name] = {
            "roc_auc": _interval(M.roc_auc(y, score) if len(y) else None, boot[name]["roc_auc"]),
            "average_precision": _interval(M.average_precision(y, score) if len(y) else None,
                                           boot[name]["average_precision"]),
        }
    return rows, curves


def mcnemar_table(y: np.ndarray, points: list[OperatingPoint]) -> list[dict]:
    """McNemar's exact test for every pair of binary detectors from different detectors.

    Parameters
    ----------
    y : bool ndarray
        Labels.
    points : list of OperatingPoint
        Binary detectors; pairs of one detector at two thresholds are left out.

    Returns
    -------
    list of dict
        ``a``, ``b`` and the test's counts and p-value per pair.

    Examples
    --------
    >>> ds = _example_dataset()
    >>> points, _ = operating_points(ds, CompareSettings())
    >>> [(row["a"], row["b"]) for row in mcnemar_table(ds.y, points)][:2]
    [('fleck', 'cnn@0.5'), ('fleck', 'cnn@match_recall')]
    """
    out = []
    for a, b in itertools.combinations(points, 2):
        if a.detector == b.detector:
            continue  # one CNN at two thresholds: nested predictions, not a paired comparison
        out.append({"a": a.key, "b": b.key, **M.mcnemar_exact(y, a.predictions, b.predictions)})
    return out


def evaluate(ds: Dataset, settings: CompareSettings = CompareSettings()) -> dict:
    """Every number of the report as one JSON-able dict (see module docstring).

    Parameters
    ----------
    ds : Dataset
        The evaluated images.
    settings : CompareSettings
        Thresholds and bootstrap settings.

    Returns
    -------
    dict
        ``thresholds``, ``detectors``, ``curves``, ``mcnemar``, ``categories`` (the same tables per
        category) and ``disagreements`` (indices; :func:`disagreements`).

    Examples
    --------
    >>> tables = evaluate(_example_dataset(), CompareSettings(n_bootstrap=0))
    >>> sorted(tables["categories"]), len(tables["detectors"])
    (['a', 'b'], 4)
    """
    points, thresholds = operating_points(ds, settings)
    scores = {"fleck": ds.fleck_score, **ds.cnn}
    rows, curves = metric_table(ds.y, points, scores, settings)
    result = {"thresholds": thresholds, "detectors": rows, "curves": curves,
              "mcnemar": mcnemar_table(ds.y, points), "categories": {},
              "disagreements": disagreements(ds, settings)}
    categories = np.array([c if c is not None else "" for c in ds.categories], dtype=object)
    for category in sorted({c for c in ds.categories if c is not None}):
        mask = categories == category
        sub_points = [OperatingPoint(p.key, p.detector, p.point, p.threshold, p.predictions[mask])
                      for p in points]
        sub_rows, sub_curves = metric_table(ds.y[mask], sub_points,
                                            {k: v[mask] for k, v in scores.items()}, settings)
        result["categories"][category] = {"n": int(mask.sum()), "positives": int(ds.y[mask].sum()),
                                          "detectors": sub_rows, "curves": sub_curves}
    return result


def disagreements(ds: Dataset, settings: CompareSettings) -> dict:
    """Indices (into the dataset) of disagreements and worst errors, most striking first.

    For each CNN (at ``default_threshold``): ``fleck_only`` (fleck yes, CNN no, lowest CNN score
    first) and ``cnn_only`` (the reverse, highest CNN score first). For every detector: false
    positives by decreasing score and false negatives by increasing score.

    Parameters
    ----------
    ds : Dataset
        The evaluated images.
    settings : CompareSettings
        ``default_threshold`` of the CNNs.

    Returns
    -------
    dict
        ``pairs`` (per CNN: ``fleck_only``, ``cnn_only``) and ``errors`` (per detector:
        ``false_positives``, ``false_negatives``), lists of dataset indices.

    Examples
    --------
    >>> found = disagreements(_example_dataset(), CompareSettings())
    >>> found["pairs"]["cnn"]["fleck_only"], found["errors"]["fleck"]["false_positives"]
    ([3, 1], [3])
    """
    def order(mask, key):
        index = np.nonzero(mask)[0]
        return index[np.lexsort((index, key[index]))].tolist()

    out: dict = {"pairs": {}, "errors": {}}
    y = ds.y
    out["errors"]["fleck"] = {
        "false_positives": order(ds.fleck_decision & ~y, -ds.fleck_score),
        "false_negatives": order(~ds.fleck_decision & y, ds.fleck_score)}
    for name, score in ds.cnn.items():
        cnn_yes = score >= settings.default_threshold
        out["pairs"][name] = {
            "threshold": settings.default_threshold,
            "fleck_only": order(ds.fleck_decision & ~cnn_yes, score),
            "cnn_only": order(~ds.fleck_decision & cnn_yes, -score)}
        out["errors"][name] = {"false_positives": order(cnn_yes & ~y, -score),
                               "false_negatives": order(~cnn_yes & y, score)}
    return out
