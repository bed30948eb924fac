"""``fleck censor IMAGE... --out DIR``: censored copies of images, where fleck found a body plan.

Each IMAGE is run through the detector; the chosen regions are blurred, pixelated or filled and
the copy is written to ``DIR/<file name>`` (same name, format and size; a second input with the
same name gets ``-2``, ``-3``... before its extension). Prints one line per image::

    photos/beach.jpg -> censored/beach.jpg  unsafe 0.834  blur groups 6.1 %

``--json`` prints one JSON object per image instead: the record ``fleck detect --json`` prints,
plus ``output`` (None when not written) and ``censored`` (mode, what, margin, fraction of the
image's pixels changed). The output folder must not be an input's folder, an existing output
is replaced only with ``--overwrite``, and an input is never written over.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from fleck.commands._common import (
    Batch,
    add_config_options,
    add_thresholds_option,
    emit,
    make_folder,
    resolve_config,
    unique_output,
)

__all__ = ["register", "run", "check_folders"]

WHAT_HELP = ("what to cover: groups = the ribbons of the groups that fire the body-plan rule "
             "(default); limbs = those and every limb; skin = the whole skin map. A flagged "
             "image on which the choice covers nothing gets the next wider one")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck censor`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> args = parser.parse_args(["censor", "x.jpg", "--out", "censored", "--mode", "fill"])
    >>> args.func is run, args.mode, args.what
    (True, 'fill', 'groups')
    """
    from fleck.censoring import COVER_WHAT, MODES

    parser = subparsers.add_parser(
        "censor", help="write censored copies: blur, pixelate or cover what fleck found",
        description="Run the detector on each IMAGE and write a copy to DIR with the regions "
                    "it found blurred, pixelated or covered, in the image's own size, format "
                    "and orientation as displayed. Blur and mosaic strength scale with the "
                    "image size.")
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR",
                        help="folder for the censored copies (created if needed); must not be "
                             "the folder of an input")
    parser.add_argument("--mode", choices=MODES, default="blur",
                        help="blur (default), pixelate, fill (solid black over the regions) or "
                             "box (solid black over each region's bounding box)")
    parser.add_argument("--what", choices=COVER_WHAT, default="groups", help=WHAT_HELP)
    parser.add_argument("--margin", type=_margin, default=None, metavar="PX",
                        help="pixels added around the covered regions (default: 1 %% of the "
                             "image's mean side)")
    parser.add_argument("--only-flagged", action="store_true",
                        help="write copies only of images the detector flags (label unsafe)")
    parser.add_argument("--overwrite", action="store_true",
                        help="replace existing files in DIR (never an input)")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per image: the detect record plus output and "
                             "censored")
    add_thresholds_option(parser)
    add_config_options(parser)
    parser.set_defaults(func=run)


def _margin(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a number of pixels >= 0, got {text!r}")
    return value


def check_folders(out: Path, images: list[str]) -> None:
    """Refuse an output folder that is the folder of one of ``images``.

    Parameters
    ----------
    out : Path
        The output folder (``--out``).
    images : list of str
        The input files.

    Raises
    ------
    ValueError
        If ``out`` is, links included, the folder of one of ``images``.

    Examples
    --------
    >>> check_folders(Path("/tmp/out"), ["/tmp/in/a.jpg"])
    >>> try:
    ...     check_folders(Path("/tmp/in"), ["/tmp/in/a.jpg"])
    ... except ValueError as err:
    ...     print(str(err)[:48])
    --out /tmp/in is the folder of the input /tmp/in
    """
    target = os.path.realpath(out)
    for image in images:
        if os.path.realpath(os.path.dirname(os.path.abspath(image))) == target:
            raise ValueError(f"--out {out} is the folder of the input {image}; choose another "
                             "folder (censored copies never go beside their originals)")


def run(args: argparse.Namespace) -> int:
    """Run ``fleck censor`` with parsed arguments; return the exit status.

    Parameters
    ----------
    args : argparse.Namespace
        From the parser :func:`register` built.

    Returns
    -------
    int
        0 success, 1 some inputs failed, 2 usage error (raised as ValueError, reported by
        :func:`fleck.cli.main`).

    Examples
    --------
    :func:`fleck.cli.main` parses the arguments and calls it:

    >>> import tempfile
    >>> from fleck.cli import main
    >>> main(["censor", "no/such/file.jpg", "--out", tempfile.mkdtemp()])
    1
    """
    from fleck.censoring import censor_file
    from fleck.detector import Detector

    check_folders(args.out, args.images)
    detector = Detector(resolve_config(args))
    folder = make_folder(args.out)
    batch = Batch("censor", args)
    used: set[Path] = set()
    for source in args.images:
        try:
            output = unique_output(folder, source, Path(source).suffix, used)
            done = censor_file(source, output, detector=detector, mode=args.mode,
                               what=args.what, margin=args.margin, overwrite=args.overwrite,
                               only_flagged=args.only_flagged)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
            batch.fail(source, err)
            continue
        batch.ok += 1
        detection = done.detection
        if args.json:
            emit({"path": source, "status": "ok", **detection.summary(),
                  "output": done.output,
                  "censored": {"mode": args.mode, "what": done.what, "margin": done.margin,
                               "fraction": round(done.fraction, 6)}})
        elif done.output is None:
            print(f"{source}  {detection.label} {detection.score:.3f}  not flagged: not written",
                  flush=True)
        else:
            print(f"{source} -> {done.output}  {detection.label} {detection.score:.3f}  "
                  f"{args.mode} {done.what} {100 * done.fraction:.1f} %", flush=True)
    return batch.exit_code
