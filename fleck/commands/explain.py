"""``fleck explain IMAGE...``: where a detector looks, as saliency maps (PNG figure + raw .npy).

For each image, model and method, writes ``DIR/<stem>.<model>.<method>.png`` (the map over the
image) and ``DIR/<stem>.<model>.<method>.npy`` (float32, the image's height x width). With
``--figure`` also ``DIR/<stem>.<model>.side_by_side.png`` per CNN: the image, fleck's overlay,
the CNN's deconvnet, Grad-CAM and occlusion maps. One line per map on stdout (JSON Lines with
``--json``); a file that fails is named on stderr and the batch goes on (exit status 1).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from fleck.commands._common import Batch, emit, make_folder, unique_output

METHOD_CHOICES = ("deconvnet", "guided_backprop", "gradcam", "occlusion")
MODEL_CHOICES = ("open_nsfw", "nudenet", "fleck")
DEFAULT_METHODS = ("deconvnet", "guided_backprop", "gradcam")

__all__ = ["METHOD_CHOICES", "MODEL_CHOICES", "DEFAULT_METHODS", "register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck explain`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["explain", "x.jpg", "--model", "fleck"])
    >>> args.func is run, args.model, args.method
    (True, ['fleck'], None)
    """
    parser = subparsers.add_parser(
        "explain", help="saliency maps: where open_nsfw, NudeNet and fleck look",
        description="Deconvnet, guided-backprop and Grad-CAM maps of the CNN peers (their ONNX "
                    "weights run with PyTorch: needs fleck[saliency] and fleck[cnn]), "
                    "occlusion maps of any model, and fleck's own evidence (skin, segment "
                    "ribbons, the deciding group).")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--model", action="append", choices=MODEL_CHOICES, metavar="MODEL",
                        help="open_nsfw (default), nudenet or fleck; repeatable")
    parser.add_argument("--method", action="append", choices=METHOD_CHOICES, metavar="METHOD",
                        help="deconvnet, guided_backprop, gradcam or occlusion; repeatable "
                             "(default: the three gradient methods)")
    parser.add_argument("-o", "--output", type=Path, default=Path("explain"), metavar="DIR",
                        help="output folder (default: explain)")
    parser.add_argument("--figure", action="store_true",
                        help="also write the side-by-side figure per CNN (computes its "
                             "deconvnet, Grad-CAM and occlusion maps)")
    parser.add_argument("--window", type=int, default=None,
                        help="occlusion window in pixels (default: 1/6 of the shorter side)")
    parser.add_argument("--stride", type=int, default=None,
                        help="occlusion stride in pixels (default: half the window)")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads for the CNNs (default: the runtimes' own)")
    parser.add_argument("--no-check", action="store_true",
                        help="skip the comparison of the PyTorch run with onnxruntime")
    parser.add_argument("--json", action="store_true", help="JSON Lines on stdout")
    parser.add_argument("-q", "--quiet", action="store_true", help="no summary lines")
    parser.set_defaults(func=run)


def _occlusion_options(args: argparse.Namespace) -> dict:
    options = {}
    if args.window is not None:
        options["window"] = args.window
    if args.stride is not None:
        options["stride"] = args.stride
    return options


def _preflight(models: list[str], methods: list[str]) -> str | None:
    """Why the requested maps cannot be made at all (missing extras), before any work."""
    from fleck.saliency import GRADIENT_METHODS, saliency_available

    cnns = [m for m in models if m != "fleck"]
    if cnns and any(m in GRADIENT_METHODS for m in methods):
        reason = saliency_available()
        if reason:
            return reason
    if cnns:
        try:
            from fleck.saliency.peers import get_peer
            for model in cnns:
                get_peer(model)
        except ImportError as err:
            return str(err)
    return None


def run(args: argparse.Namespace) -> int:
    """Run ``fleck explain`` with parsed arguments; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`register` built.

    Returns
    -------
    int
        0 success, 1 some inputs failed, 2 usage error or a missing extra.

    Examples
    --------
    :func:`fleck.cli.main` parses the arguments and calls it:

    >>> import tempfile
    >>> from fleck.cli import main
    >>> main(["explain", "no/such/file.jpg", "--model", "fleck", "-o", tempfile.mkdtemp()])
    1
    """
    from fleck.detector import detect
    from fleck.loading import load_image
    from fleck.saliency import explain_all, saliency_available
    from fleck.saliency.figure import save_explanation_figure, save_side_by_side

    models = list(dict.fromkeys(args.model or ["open_nsfw"]))
    methods = list(dict.fromkeys(args.method or DEFAULT_METHODS))
    problem = _preflight(models, methods)
    if problem:
        print(f"fleck explain: error: {problem}", file=sys.stderr)
        return 2
    if args.threads is not None:
        import contextlib
        with contextlib.suppress(ImportError):
            import torch
            torch.set_num_threads(max(1, args.threads))
    out = make_folder(args.output)
    batch = Batch("explain", args)
    used: set[Path] = set()
    occlusion = _occlusion_options(args)
    for source in args.images:
        try:
            image = load_image(source)
            stem = unique_output(out, source, "", used).name
            detection = None
            for model in models:
                wanted = list(methods)
                if args.figure and model != "fleck":
                    figure_methods = ["deconvnet", "gradcam", "occlusion"]
                    if saliency_available():
                        figure_methods = ["occlusion"]
                    wanted += [m for m in figure_methods if m not in wanted]
                maps = explain_all(image, model=model, methods=wanted, threads=args.threads,
                                   check=not args.no_check, occlusion=occlusion)
                for method in methods:
                    result = maps[method]
                    png = out / f"{stem}.{model}.{method}.png"
                    np.save(png.with_suffix(".npy"), result.map)
                    save_explanation_figure(png, image, result)
                    _report(args, source, png, result)
                if args.figure and model != "fleck":
                    if detection is None:
                        detection = detect(image)
                    notes = {m: saliency_available() or "" for m in ("deconvnet", "gradcam")}
                    path = out / f"{stem}.{model}.side_by_side.png"
                    save_side_by_side(path, image, model, maps, detection, notes=notes)
                    if not args.quiet and not args.json:
                        print(f"{source}: {path}")
            batch.ok += 1
        except Exception as err:  # one bad file never stops the batch
            if isinstance(err, ImportError):
                raise
            batch.fail(source, err)
    return batch.exit_code


def _report(args, source: str, png: Path, result) -> None:
    if args.json:
        emit({"path": source, "status": "ok", "png": str(png),
              "npy": str(png.with_suffix(".npy")), **result.summary()})
    elif not args.quiet:
        check = ""
        if result.check:
            check = f", |score - onnxruntime| {result.check['score_delta']:.1e}"
        print(f"{source}: {result.model} {result.method} -> {png} "
              f"(score {result.score:.3f}{check}, {result.seconds:.2f} s)")
