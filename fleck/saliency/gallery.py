"""The "where the detectors look" page of the ``fleck compare`` report (``where.html``).

For each CNN peer and each direction of disagreement (fleck yes / CNN no, fleck no / CNN yes),
the first ``per_list`` images get the side-by-side figure of :mod:`fleck.saliency.figure`:
image, fleck's overlay, the CNN's deconvnet, Grad-CAM and occlusion maps. Without the
``saliency`` extra the gradient panels say so and the occlusion map is still drawn. An image
that cannot be explained gets a note in its caption; the page is written anyway.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from fleck.compare.report import _CSS as REPORT_CSS
from fleck.compare.report import _e as escape

__all__ = ["write_where_page", "render_where_html", "WHERE_FILE"]

WHERE_FILE = "where.html"
PEERS = ("open_nsfw", "nudenet")


def write_where_page(ds: Any, indices: dict, outdir: str, *, per_list: int = 6,
                     threads: int | None = None, occlusion: dict | None = None) -> str:
    """Write ``outdir/where.html`` and its figures (``outdir/where/``); returns the page's path.

    Parameters
    ----------
    ds : fleck.compare.evaluate.Dataset
        The aligned dataset of the comparison.
    indices : dict
        The comparison's disagreement indices (``{"pairs": {cnn: {"fleck_only": [...],
        "cnn_only": [...], "threshold": t}}}``).
    outdir : str
        The report folder.
    per_list : int
        Images explained per disagreement list.
    """
    from fleck.loading import load_image
    from fleck.saliency import explain_all, saliency_available
    from fleck.saliency.figure import save_side_by_side

    folder = os.path.join(outdir, "where")
    os.makedirs(folder, exist_ok=True)
    missing = saliency_available()
    methods = ["occlusion"] if missing else ["deconvnet", "gradcam", "occlusion"]
    notes = {"deconvnet": missing or "", "gradcam": missing or ""}
    sections = []
    for name, pair in indices["pairs"].items():
        if name not in PEERS:
            continue
        for key, title in (("fleck_only", f"fleck yes, {name} no"),
                           ("cnn_only", f"fleck no, {name} yes")):
            items = []
            for i in pair[key][:per_list]:
                item = {"path": ds.paths[i], "label": "nsfw" if ds.y[i] else "sfw",
                        "fleck": f"{'yes' if ds.fleck_decision[i] else 'no'} "
                                 f"({ds.fleck_score[i]:.3f})",
                        "cnn": f"{name} {ds.cnn[name][i]:.3f}", "figure": None, "note": None}
                file = ds.files[i]
                if file is None:
                    item["note"] = "image file not found"
                    items.append(item)
                    continue
                stem = hashlib.sha1(file.encode("utf-8", "surrogateescape")).hexdigest()[:16]
                relative = f"where/{stem}.{name}.png"
                try:
                    image = load_image(file)
                    maps = explain_all(image, model=name, methods=methods, threads=threads,
                                       occlusion=occlusion)
                    save_side_by_side(os.path.join(outdir, relative), image, name, maps,
                                      notes=notes)
                    item["figure"] = relative
                except (ImportError, OSError, ValueError, RuntimeError) as err:
                    item["note"] = f"not explained ({type(err).__name__}: {err})"
                items.append(item)
            sections.append({"title": f"{title} (at {pair['threshold']:g})",
                             "total": len(pair[key]), "items": items})
    page = render_where_html(sections, note=missing)
    path = os.path.join(outdir, WHERE_FILE)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(page)
    return path


def render_where_html(sections: list[dict], *, note: str | None = None) -> str:
    """where.html: "where the detectors look", one side-by-side figure per disagreement.

    Parameters
    ----------
    sections : list of dict
        ``{"title", "total", "items": [{"path", "label", "fleck", "cnn", "figure", "note"}]}``
        (``figure`` relative to the report folder, or None); written by
        :func:`fleck.saliency.gallery.write_where_page`.
    note : str, optional
        A page-wide note (e.g. why the gradient maps are missing).

    Returns
    -------
    str
        A self-contained HTML page linking back to ``index.html``.

    Examples
    --------
    >>> page = render_where_html([{"title": "fleck yes, open_nsfw no", "total": 0,
    ...                            "items": []}])
    >>> "<h2>fleck yes, open_nsfw no: 0</h2><p>none</p>" in page
    True
    """
    parts = []
    for section in sections:
        items = []
        for item in section["items"]:
            figure = (f'<a href="{escape(item["figure"])}"><img src="{escape(item["figure"])}" '
                      f'alt="{escape(item["path"])}"></a>' if item.get("figure") else "")
            caption = (f"<b>{escape(item['path'])}</b>: label {escape(item['label'])}, fleck "
                       f"{escape(item['fleck'])}, {escape(item['cnn'])}"
                       + (f'<br><span class=note>{escape(item["note"])}</span>'
                          if item.get("note") else ""))
            items.append(f"<figure class=wide>{figure}<figcaption>{caption}</figcaption>"
                         "</figure>")
        shown = (f" (first {len(section['items'])} shown)"
                 if section["total"] > len(section["items"]) else "")
        parts.append(f"<h2>{escape(section['title'])}: {section['total']}{escape(shown)}</h2>"
                     + ("".join(items) or "<p>none</p>"))
    warning = f'<p class=note>{escape(note)}</p>' if note else ""
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>fleck compare: where the detectors look</title><style>{REPORT_CSS}
figure.wide{{width:auto;max-width:100%;margin:.6em 0}}
figure.wide img{{max-width:100%;max-height:none}}
</style></head><body>
<h1>Where the detectors look</h1>
<p><a href="index.html">Back to the comparison</a>. Each figure: the image; fleck's explained
overlay (skin, segments, the deciding group); the CNN's deconvnet map (pixels whose change moves
its score, rectified backward pass), its Grad-CAM map (the regions its last feature map uses)
and its occlusion map (score drop when a grey window covers the pixel; red lowers the score,
blue raises it).</p>{warning}
{''.join(parts)}
</body></html>
"""
