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
    """Choices of the comparison (not detector thresholds), with why."""

    default_threshold: float = 0.5      # the conventional cut-off of a probability output
    n_bootstrap: int = 1000             # enough for stable 95 % percentile intervals
    seed: int = 0                       # bootstrap resampling is seeded: same input, same CIs
    confidence: float = 0.95
    gallery_size: int = 48              # thumbnails per gallery; the JSON lists every image
    thumb_size: int = 200               # longest side of the report's thumbnails, pixels


@dataclass
class Dataset:
    """The evaluated images (aligned arrays), in labels-file order."""

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


def build_dataset(labels: LabelSet, fleck: FleckResults, cnns: dict[str, CnnScores],
                  ) -> tuple[Dataset, dict]:
    """Match every source to the labels; return the evaluated images and the coverage report."""
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
    """One binary detector: a name, its threshold and its predictions on the dataset."""

    key: str            # e.g. "fleck", "open_nsfw@0.5"
    detector: str
    point: str          # "decision", "0.5", "match_recall", "match_fpr"
    threshold: float | None
    predictions: np.ndarray


def operating_points(ds: Dataset, settings: CompareSettings) -> tuple[list[OperatingPoint], dict]:
    """fleck's decision and every CNN's thresholds; also the threshold table for the JSON."""
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
    """Rows (one per operating point) and curve metrics (one per score), with bootstrap CIs."""
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
    """McNemar's exact test for every pair of binary detectors from different detectors."""
    out = []
    for a, b in itertools.combinations(points, 2):
        if a.detector == b.detector:
            continue  # one CNN at two thresholds: nested predictions, not a paired comparison
        out.append({"a": a.key, "b": b.key, **M.mcnemar_exact(y, a.predictions, b.predictions)})
    return out


def evaluate(ds: Dataset, settings: CompareSettings = CompareSettings()) -> dict:
    """Every number of the report as one JSON-able dict (see module docstring)."""
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
