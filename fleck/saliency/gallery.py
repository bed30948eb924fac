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

__all__ = ["write_where_page", "WHERE_FILE"]

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
    from fleck.compare.report import render_where_html
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
