"""``fleck compare``: fleck against CNN results on labelled images; writes a browsable report.

    fleck compare --labels labels.csv --fleck results.jsonl --cnn open_nsfw=scores.csv
    fleck compare --labels labels.csv --run open_nsfw,nudenet IMAGES...
    fleck compare --labels-from-folders "porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0" IMAGES...

Outputs in ``-o OUTDIR`` (default ``compare-report``): metrics.json, metrics.csv,
thresholds.json (calibrated unsafe / review thresholds for ``--thresholds``), roc.png, pr.png,
index.html (+ thumbs/, cnn_cache/, fleck_results.jsonl when fleck scanned the images).

Videos and animated images are compared per file (labels per file): fleck's file records, and
CNN results per file or per frame (``--frame-aggregate max|k-of-n``); ``--run`` scores their
sampled frames (the same sampling flags as ``fleck scan``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import warnings

from fleck.commands._common import add_skin_model_option, add_video_options, video_settings
from fleck.video.rule import VideoSettings

__all__ = ["register", "parse_cnn_spec", "image_files", "scan_images", "run"]

def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck compare`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(['compare', '--labels', 'l.csv', 'x.jpg']).func is run
    True
    """
    from fleck.compare.readers import CNN_FORMATS
    p = subparsers.add_parser(
        "compare", help="compare fleck with CNN detectors on labelled images",
        description="Compare fleck's decisions and scores with CNN scores on labelled images: "
                    "precision, recall, F1, FPR, accuracy, ROC/PR AUC with bootstrap intervals, "
                    "McNemar tests, per-category tables, plots and an HTML report.")
    p.add_argument("images", nargs="*", metavar="IMAGES",
                   help="images or folders: scanned by fleck when --fleck is not given, and "
                        "scored by the --run CNNs")
    truth = p.add_mutually_exclusive_group(required=True)
    truth.add_argument("--labels", metavar="FILE",
                       help="ground truth: CSV path,label[,category] (or JSON Lines); labels "
                            "1/0, nsfw/sfw, true/false, yes/no, positive/negative")
    truth.add_argument("--labels-from-folders", metavar="SPEC",
                       help="ground truth from folder names, e.g. "
                            "'porn,hentai,sexy,nsfw=1;neutral,drawings,sfw=0': each image "
                            "takes the label of the nearest enclosing listed folder (any case) "
                            "and that folder's name as its category; images under no listed "
                            "folder are counted as unlabelled")
    p.add_argument("--fleck", metavar="RESULTS", help="results.jsonl written by `fleck scan`")
    p.add_argument("--cnn", action="append", default=[], metavar="NAME=FILE[:FORMAT]",
                   help=f"a CNN's results; FORMAT one of {', '.join(CNN_FORMATS)} "
                        "(detected from the content when omitted); repeatable")
    p.add_argument("--run", metavar="NAMES", default="",
                   help="compute CNN scores locally (needs fleck[cnn]): open_nsfw,nudenet; "
                        "cached in OUTDIR/cnn_cache/")
    p.add_argument("-o", "--output", default="compare-report", metavar="OUTDIR",
                   help="report folder (default: compare-report)")
    p.add_argument("--bootstrap", type=int, default=1000, metavar="N",
                   help="bootstrap resamples for the 95%% intervals (default 1000; 0 = none)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--threshold", type=float, default=0.5,
                   help="CNN default operating threshold (default 0.5)")
    p.add_argument("--target-precision", type=_unit_interval, default=0.9, metavar="P",
                   help="thresholds.json: the unsafe threshold is the lowest whose precision "
                        "is at least P (default 0.9)")
    p.add_argument("--target-recall", type=_unit_interval, default=0.95, metavar="R",
                   help="thresholds.json: the review threshold is the highest whose recall is "
                        "at least R (default 0.95)")
    p.add_argument("--prevalence", type=_prevalence, default=None, metavar="P",
                   help="thresholds.json: share of unsafe images in the stream the thresholds "
                        "are for; precision is re-weighted to it (default: the labels' own)")
    p.add_argument("--nudenet-classes", metavar="CLASSES",
                   help="comma-separated NudeNet classes that count as NSFW (default: "
                        "FEMALE_BREAST_EXPOSED, FEMALE_GENITALIA_EXPOSED, MALE_GENITALIA_EXPOSED, "
                        "BUTTOCKS_EXPOSED, ANUS_EXPOSED)")
    p.add_argument("--jobs", type=int, default=None, metavar="N",
                   help="worker processes when fleck scans the images")
    p.add_argument("--cnn-threads", type=int, default=None, metavar="N",
                   help="onnxruntime threads for --run (default: all cores)")
    add_skin_model_option(p)  # the configuration fleck scans IMAGES with
    p.add_argument("--gallery-size", type=int, default=48, metavar="N",
                   help="thumbnails per gallery in index.html (default 48)")
    p.add_argument("--explain", type=int, default=0, metavar="N",
                   help="also write where.html: fleck's overlay beside each CNN's deconvnet, "
                        "Grad-CAM and occlusion maps for the first N images of each "
                        "disagreement list (needs fleck[cnn]; the gradient maps need "
                        "fleck[saliency]); default 0 = off")
    p.add_argument("--no-overlays", action="store_true",
                   help="do not draw fleck's overlay beside the thumbnails (faster)")
    p.add_argument("--frame-aggregate", choices=("max", "k-of-n"), default="max",
                   help="how a CNN's per-frame video results become one score per file: the "
                        "highest frame score (max, default) or the K-th highest (k-of-n, K = "
                        "--min-frames: the file passes a threshold when K frames do, fleck's "
                        "own rule)")
    add_video_options(p)
    p.set_defaults(func=run)


def _unit_interval(text: str) -> float:
    """A target in (0, 1].

    >>> _unit_interval("0.9")
    0.9
    """
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"expected a number in (0, 1], got {text!r}")
    return value


def _prevalence(text: str) -> float:
    value = _unit_interval(text)
    if value >= 1:
        raise argparse.ArgumentTypeError(f"expected a prevalence in (0, 1), got {text!r}")
    return value


def parse_cnn_spec(spec: str) -> tuple[str, str, str | None]:
    """``NAME=FILE[:FORMAT]`` -> (name, file, format or None).

    Parameters
    ----------
    spec : str
        The value of a ``--cnn`` option.

    Returns
    -------
    (str, str, str or None)
        Name, file, and format when the part after the last ``:`` is one of
        :data:`fleck.compare.readers.CNN_FORMATS` (so ``C:/x.csv`` keeps its drive).

    Raises
    ------
    ValueError
        Without ``NAME=`` or a file.

    Examples
    --------
    >>> parse_cnn_spec("open_nsfw=out/scores.csv:open_nsfw")
    ('open_nsfw', 'out/scores.csv', 'open_nsfw')
    >>> parse_cnn_spec("x=C:/data/s.csv")
    ('x', 'C:/data/s.csv', None)
    """
    from fleck.compare.readers import CNN_FORMATS
    name, sep, rest = spec.partition("=")
    if not sep or not name.strip() or not rest:
        raise ValueError(f"--cnn {spec!r}: expected NAME=FILE[:FORMAT]")
    file, colon, fmt = rest.rpartition(":")
    if colon and fmt in CNN_FORMATS:
        return name.strip(), file, fmt
    return name.strip(), rest, None


def image_files(paths: list[str]) -> list[str]:
    """The images ``fleck scan`` would scan under ``paths`` (one walker: :func:`find_images`).

    Parameters
    ----------
    paths : list of str
        Files and folders given on the command line.

    Returns
    -------
    list of str
        Files as given, then the images found under folders, in walk order.

    Examples
    --------
    >>> image_files([])
    []
    """
    from fleck.scan import find_images

    return list(find_images(paths))


def scan_images(paths: list[str], *, out: str, config: str, jobs: int | None,
                video: VideoSettings | None = None) -> None:
    """Write fleck's results for ``paths`` to ``out`` (JSON Lines, `fleck scan`'s schema).

    Parameters
    ----------
    paths : list of str
        Files and folders.
    out : str
        Results file (overwritten).
    config : str
        Skin model (configuration) name.
    jobs : int, optional
        Worker processes (default: every core).
    video : fleck.video.VideoSettings, optional
        Sampling and per-file rule of videos and animated images.

    Examples
    --------
    >>> import os, tempfile, numpy as np
    >>> from PIL import Image
    >>> folder = tempfile.mkdtemp()
    >>> Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(os.path.join(folder, "a.png"))
    >>> scan_images([folder], out=os.path.join(folder, "r.jsonl"), config="fleck1996", jobs=1)
    >>> from fleck.scan import read_results
    >>> [r["status"] for r in read_results(os.path.join(folder, "r.jsonl"))]
    ['ok']
    """
    from fleck.scan import scan

    scan(paths, out=out, config=config, jobs=jobs, quiet=True, overwrite=True, video=video)


def _folder_labels(spec: str, images: list[str], fleck: str | None):
    """Labels from folder names: of the images under IMAGES, else of the --fleck records."""
    from fleck.compare.folders import labels_from_folders, labels_from_paths, parse_folder_spec
    from fleck.compare.readers import read_fleck_results

    parsed = parse_folder_spec(spec)  # a bad spec is refused before any walking
    if images:
        return labels_from_folders(parsed, images)
    results = read_fleck_results(fleck)
    return labels_from_paths(parsed, [*results.records, *results.failures],
                             base=results.base_dir)


def _print_table(metrics: dict) -> None:
    rows = [("detector", "point", "thresh", "prec", "recall", "F1", "FPR", "acc")]
    for d in metrics["detectors"]:
        rows.append((d["detector"], d["operating_point"],
                     "-" if d["threshold"] is None else f"{d['threshold']:.4g}",
                     *(_f(d[m]["value"]) for m in ("precision", "recall", "f1", "fpr",
                                                    "accuracy"))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(r, widths, strict=False))))
    for name, c in metrics["curves"].items():
        print(f"{name}: ROC AUC {_f(c['roc_auc']['value'])}  "
              f"PR AUC (AP) {_f(c['average_precision']['value'])}")


def _print_thresholds(path: str) -> None:
    with open(path, encoding="utf-8") as fh:
        document = json.load(fh)
    prevalence = document["prevalence"]["value"]
    for name, entries in document["detectors"].items():
        parts = []
        for label in ("unsafe", "review"):
            e = entries[label]
            if e["threshold"] is None:
                parts.append(f"{label} -")
                print(f"fleck compare: note: {name}: {e['note']}", file=sys.stderr)
            else:
                parts.append(f"{label} >= {e['threshold']:.4g} [{_f(e['low'])}, {_f(e['high'])}]"
                             f" (precision {_f(e.get('precision'))}, recall "
                             f"{_f(e.get('recall'))})")
        print(f"{name} thresholds at prevalence {prevalence:.3g}: {'; '.join(parts)}")
    print(path)


def _f(value) -> str:
    return "-" if value is None else f"{value:.3f}"


def run(args: argparse.Namespace) -> int:
    """Run ``fleck compare`` with parsed arguments; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`register` built.

    Returns
    -------
    int
        0 success, 1 some inputs failed, 2 usage error.

    Examples
    --------
    :func:`fleck.cli.main` parses the arguments and calls it:

    >>> from fleck.cli import main
    >>> main(["compare", "--labels", "l.csv"])
    2
    """
    from fleck.cnn import CNN_NAMES, CnnUnavailableError, score_media, score_paths
    from fleck.compare import CompareSettings, compare
    from fleck.compare.readers import CnnScores, read_cnn_scores, read_labels

    outdir = args.output
    if not args.fleck and not args.images:
        print("fleck compare: error: give --fleck results.jsonl or IMAGES to scan",
              file=sys.stderr)
        return 2
    run_names = [n.strip() for n in args.run.split(",") if n.strip()]
    for name in run_names:
        if name not in CNN_NAMES:
            print(f"fleck compare: error: --run {name!r}: known CNNs are {', '.join(CNN_NAMES)}",
                  file=sys.stderr)
            return 2
    nudenet_classes = ([c.strip() for c in args.nudenet_classes.split(",") if c.strip()]
                       if args.nudenet_classes else None)
    video = video_settings(args)
    folder_labels = None
    if args.labels_from_folders is not None:
        folder_labels = _folder_labels(args.labels_from_folders, args.images, args.fleck)
        labels = folder_labels.labels
    else:
        labels = read_labels(args.labels)
    cnn: dict[str, object] = {}
    for spec in args.cnn:
        name, file, fmt = parse_cnn_spec(spec)
        if name in cnn or name in run_names:
            raise ValueError(f"--cnn {spec!r}: the name {name!r} is used twice")
        cnn[name] = read_cnn_scores(file, format=fmt, nudenet_classes=nudenet_classes,
                                    frame_aggregate=args.frame_aggregate,
                                    min_frames=video.min_frames)
    os.makedirs(outdir, exist_ok=True)
    failed: list[str] = []
    fleck_source = args.fleck
    if not fleck_source:
        fleck_source = os.path.join(outdir, "fleck_results.jsonl")
        scan_images(args.images, out=fleck_source, config=args.skin_model, jobs=args.jobs,
                    video=video)
    if run_names:
        from fleck.video.sniff import media_kind

        targets = image_files(args.images) if args.images else [
            p if os.path.isabs(p) else os.path.join(labels.base_dir, p) for p in labels.paths]
        media = [p for p in targets if media_kind(p) != "image"]
        targets = [p for p in targets if p not in set(media)]
        for name in run_names:
            failures: dict[str, str] = {}
            cache = os.path.join(outdir, "cnn_cache", f"{name}.csv")
            try:
                scores = score_paths(name, targets, threads=args.cnn_threads,
                                     classes=nudenet_classes, cache=cache, failures=failures,
                                     progress=sys.stderr.isatty())
                if media:
                    scores.update(score_media(name, media, video,
                                              frame_aggregate=args.frame_aggregate,
                                              threads=args.cnn_threads, classes=nudenet_classes,
                                              failures=failures))
            except CnnUnavailableError as err:
                print(f"fleck compare: error: {err}", file=sys.stderr)
                return 2
            failed += [f"{path}: {name}: {reason}" for path, reason in failures.items()]
            cnn[name] = CnnScores(source=cache, format=name, scores=scores,
                                  problems=[f"{p}: {r}" for p, r in failures.items()])
    settings = CompareSettings(default_threshold=args.threshold, n_bootstrap=args.bootstrap,
                               seed=args.seed, gallery_size=args.gallery_size,
                               target_precision=args.target_precision,
                               target_recall=args.target_recall, prevalence=args.prevalence,
                               frame_aggregate=args.frame_aggregate,
                               min_frames=video.min_frames)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        inputs = ({"labels_from_folders": folder_labels.summary()} if folder_labels else None)
        result = compare(labels, fleck_source, cnn, outdir=outdir, settings=settings,
                         overlays=not args.no_overlays, nudenet_classes=nudenet_classes,
                         default_config=args.skin_model, inputs=inputs,
                         explain=max(0, args.explain))
    for w in caught:
        print(f"fleck compare: warning: {w.message}", file=sys.stderr)
    coverage = result.metrics["coverage"]
    failed = [f"{f['path']}: fleck: {f['error']}" for f in coverage["fleck"]["failures"]] + failed
    for line in failed:
        print(line, file=sys.stderr)
    notes = []
    for source, c in [("fleck", coverage["fleck"]), *coverage["cnn"].items()]:
        if c["missing"] or c["unlabelled"]:
            notes.append(f"{source}: {len(c['missing'])} labelled images missing, "
                         f"{len(c['unlabelled'])} records without a label")
    if folder_labels is not None and folder_labels.unlabelled:
        n = len(folder_labels.unlabelled)
        notes.append(f"{n} image{'s' if n != 1 else ''} under no listed folder: "
                     "unlabelled, not evaluated")
    for note in notes:
        print(f"fleck compare: note: {note} (listed in metrics.json)", file=sys.stderr)
    print(f"{coverage['evaluated']} of {coverage['labelled']} labelled images evaluated")
    _print_table(result.metrics)
    _print_thresholds(result.files["thresholds.json"])
    print(result.index_html)
    return 1 if failed else 0
