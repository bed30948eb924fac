"""Score a folder of images with fleck and open_nsfw, and draw both ROC curves.

The labels come from a ``labels.csv`` (``path,label``) in the folder, as in ``data_samples/``,
or from folder names when the data set has one folder per class::

    python docs/examples/roc_fleck_open_nsfw.py data_samples -o roc.png
    python docs/examples/roc_fleck_open_nsfw.py my_dataset \\
        --folders "porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0"

fleck takes part as a scikit-learn estimator (``RocCurveDisplay.from_estimator``); open_nsfw's
scores come from ``fleck.cnn.score_paths`` (``RocCurveDisplay.from_predictions``). Needs
``pip install "fleck[cnn]" scikit-learn``.
"""

from __future__ import annotations

import argparse
import os
import sys

import matplotlib

matplotlib.use("Agg")  # write a file; no window needed

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import RocCurveDisplay  # noqa: E402

import fleck  # noqa: E402
from fleck.cnn import score_paths  # noqa: E402
from fleck.compare import labels_from_folders, read_labels  # noqa: E402


def load_dataset(folder: str, folders: str | None = None) -> tuple[list[str], np.ndarray]:
    """Image paths and 0/1 labels: from folder names when ``folders`` is given, else from
    ``folder/labels.csv``."""
    if folders:
        labels = labels_from_folders(folders, [folder]).labels
        paths = list(labels.paths)
    else:
        labels = read_labels(os.path.join(folder, "labels.csv"))
        paths = [os.path.join(folder, p) for p in labels.paths]
    return paths, labels.labels.astype(int)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", help="the images (with labels.csv unless --folders)")
    parser.add_argument("--folders", metavar="SPEC",
                        help="labels from folder names, e.g. 'nsfw=1;sfw=0'")
    parser.add_argument("-o", "--output", default="roc.png", help="the figure (PNG)")
    parser.add_argument("--jobs", type=int, default=-1,
                        help="fleck's worker processes (-1: every core; 1: this process)")
    args = parser.parse_args(argv)

    paths, y = load_dataset(args.folder, args.folders)
    print(f"{len(paths)} images, {int(y.sum())} labelled 1")

    # open_nsfw first: images it cannot read are left out of both curves.
    failures: dict[str, str] = {}
    cnn = score_paths("open_nsfw", paths, failures=failures)
    for path, reason in failures.items():
        print(f"open_nsfw skipped {path}: {reason}", file=sys.stderr)
    keep = [i for i, path in enumerate(paths) if path in cnn]
    paths, y = [paths[i] for i in keep], y[keep]

    # fleck is an estimator: fit records the classes (the rules are fixed), and
    # from_estimator calls its predict_proba on the paths.
    classifier = fleck.FleckClassifier(n_jobs=args.jobs).fit(paths, y)
    figure, ax = plt.subplots(figsize=(5.5, 5))
    fleck_curve = RocCurveDisplay.from_estimator(classifier, paths, y, name="fleck", ax=ax)
    cnn_curve = RocCurveDisplay.from_predictions(
        y, np.array([cnn[path] for path in paths]), name="open_nsfw", ax=ax)
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
    ax.set_title(f"{os.path.basename(os.path.abspath(args.folder))}: {len(paths)} images")
    figure.savefig(args.output, dpi=100, bbox_inches="tight")
    plt.close(figure)

    aucs = {"fleck": float(fleck_curve.roc_auc), "open_nsfw": float(cnn_curve.roc_auc)}
    print("  ".join(f"{name} ROC AUC {auc:.3f}" for name, auc in aucs.items()),
          f"-> {args.output}")
    return aucs


if __name__ == "__main__":
    main()
