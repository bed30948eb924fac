"""Compare fleck with CNN detectors on labelled images: metrics with uncertainty, plots, a report.

>>> from fleck.compare import compare                                   # doctest: +SKIP
>>> result = compare("labels.csv", "results.jsonl",
...                  {"open_nsfw": "open_nsfw.csv"}, outdir="compare-report")  # doctest: +SKIP
>>> result.index_html                                                   # doctest: +SKIP
'compare-report/index.html'

Modules: :mod:`~fleck.compare.readers` (labels, fleck results, CNN formats, path matching),
:mod:`~fleck.compare.folders` (labels from folder names),
:mod:`~fleck.compare.metrics` (numpy metrics checked against scikit-learn),
:mod:`~fleck.compare.evaluate` (alignment and tables), :mod:`~fleck.compare.plots`,
:mod:`~fleck.compare.report` (JSON, CSV, HTML).
"""

from __future__ import annotations

import datetime
import os
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from fleck.compare.evaluate import CompareSettings, Dataset, build_dataset, evaluate
from fleck.compare.folders import FolderLabels, labels_from_folders, parse_folder_spec
from fleck.compare.readers import (
    CnnScores,
    FleckResults,
    LabelSet,
    read_cnn_scores,
    read_fleck_results,
    read_labels,
)

__all__ = ["compare", "CompareResult", "CompareSettings", "read_labels", "read_fleck_results",
           "read_cnn_scores", "LabelSet", "FleckResults", "CnnScores", "labels_from_folders",
           "parse_folder_spec", "FolderLabels"]


DEFAULT_SETTINGS = CompareSettings()  # frozen: one shared default is safe


@dataclass(frozen=True)
class CompareResult:
    """What :func:`compare` wrote: the metrics dict (as in metrics.json) and the file paths.

    Examples
    --------
    See :func:`compare`.

    >>> CompareResult(metrics={}, outdir="r", files={"index.html": "r/index.html"},
    ...               dataset=None).index_html
    'r/index.html'
    """

    metrics: dict
    outdir: str
    files: dict[str, str]
    dataset: Dataset
    #: The detection behind each gallery overlay, by (file, configuration name).
    overlay_detections: dict = field(default_factory=dict)

    @property
    def index_html(self) -> str:
        return self.files["index.html"]


def compare(labels: LabelSet | str | os.PathLike, fleck: FleckResults | str | os.PathLike,
            cnn: Mapping[str, CnnScores | str | os.PathLike], *, outdir: str | os.PathLike,
            settings: CompareSettings = DEFAULT_SETTINGS, overlays: bool = True,
            nudenet_classes: Sequence[str] | None = None, inputs: dict | None = None,
            default_config: str = "fleck1996", explain: int = 0) -> CompareResult:
    """Evaluate fleck and every CNN on the labelled images; write the outputs to ``outdir``.

    Outputs: ``metrics.json``, ``metrics.csv``, ``thresholds.json`` (calibrated unsafe and
    review thresholds, :mod:`fleck.compare.thresholds`), ``roc.png``, ``pr.png``, ``index.html``
    (and ``thumbs/``). Raises ValueError when no labelled image has results from every detector.
    Gallery overlays are re-drawn with the configuration each fleck record names
    (``default_config`` for records that name none); ``metrics.json`` lists those names under
    ``fleck_configurations``.

    Parameters
    ----------
    labels : LabelSet or path
        Ground truth (:func:`read_labels`).
    fleck : FleckResults or path
        fleck's results (:func:`read_fleck_results`).
    cnn : mapping of str to CnnScores or path
        Each CNN's scores by name (:func:`read_cnn_scores`); a CNN cannot be called ``fleck``.
    outdir : path
        Report folder (created).
    settings : CompareSettings
        Thresholds, bootstrap and gallery settings.
    overlays : bool
        Draw fleck's overlays beside the gallery thumbnails.
    nudenet_classes : sequence of str, optional
        NudeNet classes that count as NSFW, for NudeNet files.
    inputs : dict, optional
        Extra entries for ``inputs`` in metrics.json.
    default_config : str
        The configuration that draws the overlays of records naming none.
    explain : int
        With ``explain`` > 0, also write ``where.html`` (and ``where/``): side-by-side saliency
        figures of the first ``explain`` images of each disagreement list
        (:mod:`fleck.saliency.gallery`; needs ``fleck[cnn]``, the gradient maps
        ``fleck[saliency]``).

    Returns
    -------
    CompareResult

    Raises
    ------
    ValueError
        When no labelled image has results from every detector.

    Examples
    --------
    >>> import json, os, tempfile
    >>> d = tempfile.mkdtemp()
    >>> _ = open(os.path.join(d, "labels.csv"), "w").write(
    ...     "path,label\\n" + "".join(f"{i}.jpg,{i % 2}\\n" for i in range(6)))
    >>> _ = open(os.path.join(d, "r.jsonl"), "w").write("".join(json.dumps(
    ...     {"path": f"{i}.jpg", "status": "ok", "score": s, "decision": s >= 0.5,
    ...      "threshold": 0.5}) + "\\n" for i, s in enumerate([0.1, 0.8, 0.6, 0.4, 0.2, 0.9])))
    >>> _ = open(os.path.join(d, "cnn.csv"), "w").write(
    ...     "path,score\\n" + "".join(f"{i}.jpg,{(i % 2) * 0.9}\\n" for i in range(6)))
    >>> result = compare(os.path.join(d, "labels.csv"), os.path.join(d, "r.jsonl"),
    ...                  {"cnn": os.path.join(d, "cnn.csv")}, outdir=os.path.join(d, "report"),
    ...                  settings=CompareSettings(n_bootstrap=0), overlays=False)
    >>> result.metrics["coverage"]["evaluated"], result.metrics["detectors"][0]["recall"]["value"]
    (6, 0.6666666666666666)
    >>> sorted(os.listdir(result.outdir))[:3]
    ['index.html', 'metrics.csv', 'metrics.json']
    """
    from fleck import __version__
    from fleck.compare import metrics as M
    from fleck.compare import plots
    from fleck.compare import report as rep

    labels = labels if isinstance(labels, LabelSet) else read_labels(labels)
    fleck = fleck if isinstance(fleck, FleckResults) else read_fleck_results(fleck)
    cnn = {name: s if isinstance(s, CnnScores) else
           read_cnn_scores(s, nudenet_classes=nudenet_classes,
                           frame_aggregate=settings.frame_aggregate,
                           min_frames=settings.min_frames) for name, s in cnn.items()}
    if "fleck" in cnn:
        raise ValueError("a CNN cannot be named 'fleck'")
    ds, coverage = build_dataset(labels, fleck, cnn)
    if len(ds) == 0:
        raise ValueError(
            f"no labelled image has a fleck result and a score from every CNN ({len(labels)} "
            f"labelled, {len(fleck.records)} fleck records); check the paths")
    outdir = os.fspath(outdir)
    os.makedirs(outdir, exist_ok=True)
    tables = evaluate(ds, settings)
    indices = tables.pop("disagreements")
    from fleck.cnn import NUDENET_EXPOSED_CLASSES
    metrics = {
        "fleck_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "settings": {**asdict(settings),
                     "nudenet_classes": list(nudenet_classes or NUDENET_EXPOSED_CLASSES),
                     "pr_auc": "average precision (sklearn average_precision_score)",
                     "evaluated_images": "labelled, with an ok fleck record and every CNN score"},
        "inputs": {"labels": labels.source, "fleck": fleck.source,
                   "cnn": {n: {"source": s.source, "format": s.format} for n, s in cnn.items()},
                   **(inputs or {})},
        "coverage": coverage,
        "fleck_configurations": dict(Counter(
            str(r.get("config") or f"{default_config} (not recorded)") for r in ds.fleck_records)),
        **tables,
        "disagreements": _paths_of(indices, ds),
    }
    files = {name: os.path.join(outdir, name) for name in rep.OUTPUT_FILES}
    rep.write_json(metrics, files["metrics.json"])
    rep.write_csv(metrics, files["metrics.csv"])
    calibrated = _calibrate(ds, settings, metrics)
    rep.write_json(calibrated, files["thresholds.json"])
    points = _calibrated_points(ds, calibrated)
    fleck_rates = M.binary_metrics(ds.y, ds.fleck_decision)
    cnn_rates = {n: M.binary_metrics(ds.y, s >= settings.default_threshold)
                 for n, s in ds.cnn.items()}
    scores = {**ds.cnn, "fleck": ds.fleck_score}
    plots.plot_roc(ds.y, scores, files["roc.png"],
                   fleck_point=(fleck_rates["fpr"], fleck_rates["recall"]),
                   cnn_points={n: (r["fpr"], r["recall"]) for n, r in cnn_rates.items()},
                   chosen_points={n: [(label, r["fpr"], r["recall"]) for label, r in p.items()]
                                  for n, p in points.items()})
    plots.plot_pr(ds.y, scores, files["pr.png"],
                  fleck_point=(fleck_rates["recall"], fleck_rates["precision"]),
                  cnn_points={n: (r["recall"], r["precision"]) for n, r in cnn_rates.items()},
                  chosen_points={n: [(label, r["recall"], r["precision"])
                                     for label, r in p.items()] for n, p in points.items()})
    thumbs = rep.Thumbnailer(outdir, size=settings.thumb_size, overlays=overlays,
                             default_config=default_config)
    where = None
    if explain > 0:
        from fleck.saliency.gallery import write_where_page
        files["where.html"] = write_where_page(ds, indices, outdir, per_list=explain)
        where = os.path.basename(files["where.html"])
    page = rep.render_html({**metrics, "_disagreement_indices": indices,
                            "_thresholds": calibrated}, ds, outdir, settings, thumbs=thumbs,
                           where_page=where)
    with open(files["index.html"], "w", encoding="utf-8") as fh:
        fh.write(page)
    return CompareResult(metrics=metrics, outdir=outdir, files=files, dataset=ds,
                         overlay_detections=dict(thumbs.drawn))


def _calibrate(ds: Dataset, settings: CompareSettings, metrics: dict) -> dict:
    """The thresholds.json document: calibrated thresholds and where they come from."""
    from fleck.compare.thresholds import ThresholdTargets, calibrate

    targets = ThresholdTargets(settings.target_precision, settings.target_recall)
    document = calibrate(ds.y, {"fleck": ds.fleck_score, **ds.cnn}, targets=targets,
                         prevalence=settings.prevalence, n_bootstrap=settings.n_bootstrap,
                         seed=settings.seed, confidence=settings.confidence)
    configs = {r.get("config") for r in ds.fleck_records}
    document["detectors"]["fleck"]["config"] = configs.pop() if len(configs) == 1 else None
    return {"fleck_version": metrics["fleck_version"], "created": metrics["created"],
            "inputs": metrics["inputs"], **document}


def _calibrated_points(ds: Dataset, calibrated: dict) -> dict[str, dict[str, dict]]:
    """Each detector's calibrated thresholds as points at the sample's own prevalence (where
    the plotted curves are): {name: {label: rates}}."""
    from fleck.compare.thresholds import rates_at

    scores = {"fleck": ds.fleck_score, **ds.cnn}
    points: dict[str, dict[str, dict]] = {}
    for name, entries in calibrated["detectors"].items():
        for label in ("review", "unsafe"):
            threshold = entries[label]["threshold"]
            if threshold is not None:
                points.setdefault(name, {})[label] = rates_at(ds.y, scores[name], threshold,
                                                              np.ones(len(ds)))
    return points


def _paths_of(indices: dict, ds: Dataset) -> dict:
    """The disagreement index lists as label paths (every one, not capped)."""
    def paths(index_list):
        return [ds.paths[i] for i in index_list]
    return {
        "pairs": {name: {"threshold": p["threshold"], "fleck_only": paths(p["fleck_only"]),
                         "cnn_only": paths(p["cnn_only"])} for name, p in indices["pairs"].items()},
        "errors": {name: {k: paths(v) for k, v in e.items()}
                   for name, e in indices["errors"].items()},
    }
