"""Write the comparison's outputs: metrics.json, metrics.csv, thresholds.json, roc.png, pr.png,
thumbs/, index.html.

The page is self-contained: inline CSS, no script, images by relative path inside the folder
(originals are linked relatively when they exist), every file name HTML-escaped.
"""

from __future__ import annotations

import csv
import hashlib
import html
import json
import os
import urllib.parse
from typing import Any

import numpy as np

from fleck.compare import metrics as M
from fleck.compare.evaluate import CompareSettings, Dataset

__all__ = ["OUTPUT_FILES", "LIST_LIMIT", "write_json", "csv_rows", "write_csv", "Thumbnailer",
           "render_html"]

OUTPUT_FILES = ("metrics.json", "metrics.csv", "thresholds.json", "roc.png", "pr.png",
                "index.html")
LIST_LIMIT = 500  # items of a coverage list shown on the page; metrics.json has all of them


def _json_default(value: Any):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def write_json(report: dict, path: str) -> None:
    """Write the metrics as JSON (metrics.json): NaN refused, numpy values converted.

    Parameters
    ----------
    report : dict
        The metrics of :func:`fleck.compare.compare`.
    path : str
        Output file.

    Examples
    --------
    >>> import json, os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "m.json")
    >>> write_json({"n": np.int64(3)}, path)
    >>> json.load(open(path))
    {'n': 3}
    """
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=1, default=_json_default, allow_nan=False)
        fh.write("\n")


def csv_rows(report: dict) -> list[dict]:
    """One row per (scope, operating point); curve metrics repeated on their detector's rows.

    Parameters
    ----------
    report : dict
        The metrics of :func:`fleck.compare.compare`.

    Returns
    -------
    list of dict
        ``scope``, ``category``, ``detector``, ``operating_point``, ``threshold``, counts, and
        each metric with ``_low`` and ``_high``.

    Examples
    --------
    >>> csv_rows({"detectors": [], "curves": {}, "categories": {}})
    []
    """
    rows = []
    scopes = [("all", None, report["detectors"], report["curves"])]
    scopes += [("category", name, c["detectors"], c["curves"])
               for name, c in report["categories"].items()]
    for scope, category, detectors, curves in scopes:
        for d in detectors:
            row = {"scope": scope, "category": category or "", "detector": d["detector"],
                   "operating_point": d["operating_point"], "threshold": d["threshold"]}
            for key in ("n", "positives", "negatives", "tp", "fp", "tn", "fn"):
                row[key] = d[key]
            for metric in M.METRIC_NAMES:
                for part, suffix in (("value", ""), ("low", "_low"), ("high", "_high")):
                    row[metric + suffix] = d[metric][part]
            curve = curves.get(d["detector"], {})
            for metric in M.CURVE_METRIC_NAMES:
                for part, suffix in (("value", ""), ("low", "_low"), ("high", "_high")):
                    row[metric + suffix] = curve.get(metric, {}).get(part)
            rows.append(row)
    return rows


def write_csv(report: dict, path: str) -> None:
    """Write :func:`csv_rows` as CSV (metrics.csv); missing values are empty cells.

    Parameters
    ----------
    report : dict
        The metrics of :func:`fleck.compare.compare`.
    path : str
        Output file.

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "m.csv")
    >>> write_csv({"detectors": [], "curves": {}, "categories": {}}, path)
    >>> open(path).read()
    'scope,category,detector,operating_point\\n'
    """
    rows = csv_rows(report)
    fields = list(rows[0]) if rows else ["scope", "category", "detector", "operating_point"]
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


# ----------------------------------------------------------------------------------- thumbnails
class Thumbnailer:
    """Thumbnails and fleck overlays of gallery images, written once each into ``thumbs/``.

    An overlay is drawn from a fresh detection of the file with the configuration its record
    names (``record["config"]``; ``default_config`` for records written before records carried
    it), so the overlay's banner says what the caption says. A re-run that disagrees with the
    record (the file or fleck changed since the scan) is drawn, and noted under the image.
    ``drawn`` keeps each overlay's detection, by file and configuration.

    Parameters
    ----------
    outdir : str
        The report folder (thumbnails go to ``outdir/thumbs``).
    size : int
        Longest side of a thumbnail in pixels.
    overlays : bool
        Also draw fleck's overlay of each image.
    default_config : str
        The configuration of records that name none.

    Examples
    --------
    >>> import os, tempfile
    >>> Thumbnailer(tempfile.mkdtemp(), size=64).get(None)
    (None, None, 'image file not found')
    """

    def __init__(self, outdir: str, *, size: int, overlays: bool = True,
                 default_config: str = "fleck1996") -> None:
        self.dir = os.path.join(outdir, "thumbs")
        self.size = size
        self.overlays = overlays
        self.default_config = default_config
        self.overlay_note: str | None = None if overlays else "overlays switched off"
        self.drawn: dict[tuple[str, str], object] = {}
        self._done: dict[tuple[str, str], tuple[str | None, str | None, str | None]] = {}

    def get(self, file: str | None, record: dict | None = None
            ) -> tuple[str | None, str | None, str | None]:
        """(thumbnail, overlay, note), paths relative to the report folder."""
        if file is None:
            return None, None, "image file not found"
        record = record or {}
        key = (file, str(record.get("config") or self.default_config))
        if key not in self._done:
            self._done[key] = self._make(file, record, key[1])
        return self._done[key]

    def _make(self, file: str, record: dict, config: str):
        from PIL import Image, ImageOps
        os.makedirs(self.dir, exist_ok=True)
        stem = hashlib.sha1(f"{file}\0{config}".encode("utf-8", "surrogateescape")).hexdigest()[:16]
        try:
            with Image.open(file) as im:
                rgb = ImageOps.exif_transpose(im).convert("RGB")
        except (OSError, ValueError) as err:
            if record.get("kind") == "video":
                return None, None, f"video: {record.get('reason', '')}"
            return None, None, f"cannot read image ({err})"
        thumb = f"thumbs/{stem}.jpg"
        self._save(rgb, thumb)
        if record.get("kind") in ("video", "animation"):  # the first frame; no overlay
            return thumb, None, f"{record['kind']}: {record.get('reason', '')}"
        overlay, note = None, None  # a page-wide note says when overlays are unavailable
        if self.overlay_note is None:
            overlay, note = self._overlay(file, stem, record, config)
            if note == self.overlay_note:
                note = None
        return thumb, overlay, note

    def _save(self, image, relative: str) -> None:
        image = image.copy()
        image.thumbnail((self.size, self.size))
        image.save(os.path.join(os.path.dirname(self.dir), relative), "JPEG", quality=85)

    def _overlay(self, file: str, stem: str, record: dict, config: str):
        from PIL import Image

        from fleck.detector import Detector
        from fleck.loading import load_image
        from fleck.overlay import draw

        try:
            detector = Detector(config)
        except ValueError as err:
            return None, f"no overlay ({err})"
        try:
            image = load_image(file)
            detection = detector.detect(image, name=file)
            drawn = draw(detection, image)
        except (ValueError, OSError) as err:
            return None, f"no overlay ({err})"
        self.drawn[(file, config)] = detection
        relative = f"thumbs/{stem}_overlay.jpg"
        self._save(Image.fromarray(np.asarray(drawn, dtype=np.uint8)), relative)
        notes = []
        if not record.get("config"):
            notes.append(f"the record names no configuration; overlay drawn with {config}")
        recorded = record.get("score")
        if isinstance(recorded, (int, float)) and (
                bool(record.get("decision")) != detection.decision
                or abs(float(recorded) - detection.score) > 1e-6):
            version = record.get("fleck_version")
            notes.append(f"re-run gives {detection.score:.3f} "
                         f"({'yes' if detection.decision else 'no'}), recorded {recorded:.3f}: "
                         "the file or fleck changed since the scan"
                         + (f" (recorded by fleck {version})" if version else ""))
        return relative, "; ".join(notes) or None


# ------------------------------------------------------------------------------------------ HTML
_CSS = """
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;font-size:.85em;margin:.5em 0}
td,th{border:1px solid #ccc;padding:.25em .5em;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.ci{color:#777;font-size:.85em}.plots img{max-width:48%;margin-right:1%}
.gallery{display:flex;flex-wrap:wrap;gap:.6em}
figure{margin:0;border:1px solid #ddd;padding:.3em;width:420px;background:#fafafa}
figure img{max-width:200px;max-height:200px;vertical-align:top}
figcaption{font-size:.75em;word-break:break-all}.note{color:#a33;font-size:.8em}
details{margin:.3em 0}ul.paths{font-size:.8em;font-family:monospace}
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any, digits: int = 3) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return _e(value)


def _threshold(value: Any) -> str:
    return "–" if value is None else f"{value:.4g}"


def _with_ci(cell: dict) -> str:
    if cell["value"] is None:
        return "–"
    ci = (f' <span class="ci">[{_fmt(cell["low"])}, {_fmt(cell["high"])}]</span>'
          if cell["low"] is not None else "")
    return _fmt(cell["value"]) + ci


def _detector_table(rows: list[dict]) -> str:
    head = ("<tr><th class=l>detector</th><th class=l>operating point</th><th>threshold</th>"
            + "".join(f"<th>{m}</th>" for m in M.METRIC_NAMES)
            + "<th>TP</th><th>FP</th><th>TN</th><th>FN</th></tr>")
    body = "".join(
        f"<tr><td class=l>{_e(r['detector'])}</td><td class=l>{_e(r['operating_point'])}</td>"
        f"<td>{_threshold(r['threshold'])}</td>"
        + "".join(f"<td>{_with_ci(r[m])}</td>" for m in M.METRIC_NAMES)
        + "".join(f"<td>{_fmt(r[k])}</td>" for k in ("tp", "fp", "tn", "fn")) + "</tr>"
        for r in rows)
    return f"<table>{head}{body}</table>"


def _curve_table(curves: dict) -> str:
    body = "".join(f"<tr><td class=l>{_e(name)}</td><td>{_with_ci(c['roc_auc'])}</td>"
                   f"<td>{_with_ci(c['average_precision'])}</td></tr>"
                   for name, c in curves.items())
    return ("<table><tr><th class=l>score</th><th>ROC AUC</th><th>PR AUC (average precision)"
            f"</th></tr>{body}</table>")


def _mcnemar_table(rows: list[dict]) -> str:
    if not rows:
        return "<p>Only one binary detector: nothing to pair.</p>"
    body = "".join(f"<tr><td class=l>{_e(r['a'])}</td><td class=l>{_e(r['b'])}</td>"
                   f"<td>{r['a_only_correct']}</td><td>{r['b_only_correct']}</td>"
                   f"<td>{_fmt(r['p_value'], 4)}</td></tr>" for r in rows)
    return ("<table><tr><th class=l>A</th><th class=l>B</th><th>only A right</th>"
            f"<th>only B right</th><th>exact p (two-sided)</th></tr>{body}</table>")


def _thresholds_html(doc: dict) -> str:
    """The calibrated thresholds (thresholds.json) as a table, with how they were chosen."""
    prevalence = doc["prevalence"]
    where = (f"at a prevalence of {prevalence['value']:.3g} (given; the sample's is "
             f"{prevalence['sample']:.3g})" if prevalence["given"] else
             f"at the sample's own prevalence, {prevalence['value']:.3g}")
    targets = doc["targets"]
    rows = []
    for name, entries in doc["detectors"].items():
        for label in ("unsafe", "review"):
            e = entries[label]
            interval = (f' <span class="ci">[{_threshold(e["low"])}, {_threshold(e["high"])}]'
                        "</span>" if e.get("low") is not None else "")
            target = ", ".join(f"{k} {v:g}" for k, v in e["target"].items())
            cells = "".join(f"<td>{_fmt(e.get(k))}</td>"
                            for k in ("precision", "recall", "fpr", "flagged"))
            note = f"<td class=l>{_e(e['note'])}</td>" if e.get("note") else "<td></td>"
            rows.append(f"<tr><td class=l>{_e(name)}</td><td class=l>{label}</td>"
                        f"<td class=l>{_e(target)}</td><td>{_threshold(e['threshold'])}"
                        f"{interval}</td>{cells}{note}</tr>")
    return (f"<p>Chosen on the evaluated images, {_e(where)}: <i>unsafe</i> is the lowest "
            f"threshold whose precision is at least {targets['unsafe']['precision']:g}, "
            f"<i>review</i> the highest whose recall is at least "
            f"{targets['review']['recall']:g} (never above <i>unsafe</i>). Brackets: "
            "percentile bootstrap intervals of the threshold itself, chosen again on each "
            "resample. <i>flagged</i>: share of images at or above the threshold at that "
            "prevalence. Written to thresholds.json; apply them with <code>fleck detect|scan "
            "--thresholds thresholds.json</code>. The plots mark them on each curve at the "
            "sample's prevalence (triangle: unsafe, square: review).</p>"
            "<table><tr><th class=l>detector</th><th class=l>label</th><th class=l>target</th>"
            "<th>threshold</th><th>precision</th><th>recall</th><th>FPR</th><th>flagged</th>"
            f"<th class=l>note</th></tr>{''.join(rows)}</table>")


def _path_list(title: str, paths: list, *, describe=lambda p: _e(p)) -> str:
    if not paths:
        return ""
    shown = "".join(f"<li>{describe(p)}</li>" for p in paths[:LIST_LIMIT])
    more = (f"<li>… {len(paths) - LIST_LIMIT} more in metrics.json</li>"
            if len(paths) > LIST_LIMIT else "")
    return (f"<details><summary>{_e(title)}: {len(paths)}</summary>"
            f"<ul class=paths>{shown}{more}</ul></details>")


def _coverage_html(coverage: dict) -> str:
    fleck = coverage["fleck"]
    parts = [_path_list("fleck failures", fleck["failures"],
                        describe=lambda f: f"{_e(f['path'])}: {_e(f['error'])}"),
             _path_list("labelled images missing from fleck's results", fleck["missing"]),
             _path_list("fleck records without a label", fleck["unlabelled"]),
             _path_list("fleck records with an ambiguous file name", fleck["ambiguous"])]
    for name, c in coverage["cnn"].items():
        parts += [_path_list(f"labelled images without a {name} score", c["missing"]),
                  _path_list(f"{name} records without a label", c["unlabelled"]),
                  _path_list(f"{name} records with an ambiguous file name", c["ambiguous"]),
                  _path_list(f"{name} records that gave no score", c["problems"])]
    text = "".join(parts)
    return text or "<p>Every labelled image was scored by every detector.</p>"


def _href(file: str, outdir: str) -> str:
    try:
        relative = os.path.relpath(file, outdir)
    except ValueError:  # another drive (Windows): fall back to an absolute file URI
        return "file://" + urllib.parse.quote(os.path.abspath(file).replace(os.sep, "/"))
    return urllib.parse.quote(relative.replace(os.sep, "/"))


def _gallery(title: str, indices: list[int], ds: Dataset, thumbs: Thumbnailer, outdir: str,
             cnn: str | None, cap: int) -> str:
    items = []
    for i in indices[:cap]:
        record = ds.fleck_records[i]
        thumb, overlay, note = thumbs.get(ds.files[i], record)
        image = (f'<img src="{_e(thumb)}" alt="{_e(ds.paths[i])}">' if thumb else "")
        if thumb and ds.files[i]:
            image = f'<a href="{_e(_href(ds.files[i], outdir))}">{image}</a>'
        over = f' <img src="{_e(overlay)}" alt="fleck overlay">' if overlay else ""
        cnn_text = f", {_e(cnn)} {ds.cnn[cnn][i]:.3f}" if cnn else ""
        caption = (f"<b>{_e(ds.paths[i])}</b><br>label {'nsfw' if ds.y[i] else 'sfw'}"
                   + (f", category {_e(ds.categories[i])}" if ds.categories[i] else "")
                   + f"<br>fleck {'yes' if ds.fleck_decision[i] else 'no'} "
                   f"(score {ds.fleck_score[i]:.3f}){cnn_text}"
                   + (f"<br>{_e(record['reason'])}" if record.get("reason") else "")
                   + (f'<br><span class=note>{_e(note)}</span>' if note else ""))
        items.append(f"<figure>{image}{over}<figcaption>{caption}</figcaption></figure>")
    shown = f" (first {cap} shown)" if len(indices) > cap else ""
    body = "".join(items) or "<p>none</p>"
    return (f"<h3>{_e(title)}: {len(indices)}{_e(shown)}</h3>"
            f"<div class=gallery>{body}</div>")


def render_html(report: dict, ds: Dataset, outdir: str, settings: CompareSettings, *,
                overlays: bool = True, default_config: str = "fleck1996",
                thumbs: Thumbnailer | None = None, where_page: str | None = None) -> str:
    """The index.html text (writes the gallery thumbnails as a side effect).

    Parameters
    ----------
    report : dict
        The metrics (with ``_disagreement_indices``).
    ds : Dataset
        The evaluated images.
    outdir : str
        The report folder (links are relative to it).
    settings : CompareSettings
        Gallery and thumbnail sizes.
    overlays : bool
        Draw fleck's overlays beside the thumbnails.
    default_config : str
        Draws the overlays of records that name no configuration.
    thumbs : Thumbnailer, optional
        The thumbnailer to use (default: a new one); the caller keeps what it drew.
    where_page : str, optional
        The "where the detectors look" page (``where.html``) to link, when one was written.

    Returns
    -------
    str
        A self-contained HTML page (no scripts, nothing fetched).

    Examples
    --------
    See :func:`fleck.compare.compare`, which writes it to ``index.html``.
    """
    cov = report["coverage"]
    thumbs = thumbs or Thumbnailer(outdir, size=settings.thumb_size, overlays=overlays,
                                   default_config=default_config)
    dis = report["_disagreement_indices"]
    galleries = []
    cap = settings.gallery_size
    for name, pair in dis["pairs"].items():
        t = f"{pair['threshold']:g}"
        galleries.append(_gallery(f"fleck yes, {name} no (at {t})", pair["fleck_only"], ds,
                                  thumbs, outdir, name, cap))
        galleries.append(_gallery(f"fleck no, {name} yes (at {t})", pair["cnn_only"], ds,
                                  thumbs, outdir, name, cap))
    for name, errors in dis["errors"].items():
        cnn = None if name == "fleck" else name
        where = "" if cnn is None else f" at {settings.default_threshold:g}"
        galleries.append(_gallery(f"{name}{where}: worst false positives (highest score)",
                                  errors["false_positives"], ds, thumbs, outdir, cnn, cap))
        galleries.append(_gallery(f"{name}{where}: worst false negatives (lowest score)",
                                  errors["false_negatives"], ds, thumbs, outdir, cnn, cap))
    categories = "".join(
        f"<h3>{_e(name)} (n = {c['n']}, positives {c['positives']})</h3>"
        + _detector_table(c["detectors"]) + _curve_table(c["curves"])
        for name, c in report["categories"].items()) or "<p>No category column.</p>"
    overlay_note = (f'<p class=note>{_e(thumbs.overlay_note)}</p>'
                    if thumbs.overlay_note else "")
    summary = (f"{cov['labelled']} labelled images ({cov['labelled_positives']} nsfw, "
               f"{cov['labelled_negatives']} sfw); <b>{cov['evaluated']} evaluated</b> (labelled "
               f"and scored by every detector); {cov['excluded_labelled']} labelled images "
               f"excluded; {len(cov['fleck']['failures'])} fleck failures.")
    where_link = (f'<p><a href="{_e(where_page)}">Where the detectors look</a>: the '
                  "disagreements with fleck's overlay beside the CNN's deconvnet, Grad-CAM "
                  "and occlusion maps.</p>" if where_page else "")
    thresholds = "".join(
        f"<tr><td class=l>{_e(name)}</td><td class=l>"
        + ", ".join(f"{_e(k)} = {_threshold(v)}" for k, v in t.items()) + "</td></tr>"
        for name, t in report["thresholds"].items())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>fleck compare</title><style>{_CSS}</style></head><body>
<h1>fleck compared with {_e(', '.join(report['coverage']['cnn']) or 'no CNN')}</h1>
<p>{summary}</p>
<p>Operating points: fleck's own decision; each CNN at {settings.default_threshold:g}, at
<i>match_recall</i> (the highest threshold whose recall is at least fleck's) and at
<i>match_fpr</i> (the lowest threshold whose false-positive rate is at most fleck's).
Brackets: {settings.confidence:.0%} percentile bootstrap intervals ({settings.n_bootstrap}
resamples of the images, seed {settings.seed}; thresholds held fixed). PR AUC is average
precision (scikit-learn's definition). – marks an undefined value.</p>
<h2>Binary detectors</h2>{_detector_table(report['detectors'])}
<h2>Continuous scores</h2>{_curve_table(report['curves'])}
<table>{thresholds}</table>
<h2>Calibrated thresholds</h2>{_thresholds_html(report['_thresholds'])
                                 if '_thresholds' in report else ''}
<div class=plots><img src="roc.png" alt="ROC curves"> <img src="pr.png" alt="PR curves"></div>
<h2>McNemar's exact test (paired disagreements)</h2>{_mcnemar_table(report['mcnemar'])}
<h2>By category</h2>{categories}
<h2>Disagreements and worst errors</h2>{overlay_note}{where_link}
<p>Left: the image; right: fleck's explained overlay, re-drawn with the configuration that
produced each record.</p>
{''.join(galleries)}
<h2>Coverage</h2>{_coverage_html(cov)}
</body></html>
"""
