"""``fleck scan PATH... -o results.jsonl``: the detector over files and folders, in parallel.

The work is done by :func:`fleck.scan.scan`; this module is the command-line face.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from fleck.commands._common import (
    add_region_options,
    add_skin_model_option,
    add_video_options,
    video_flags,
    video_settings,
    with_thresholds,
)

__all__ = ["DESCRIPTION", "EPILOG", "register", "run", "resume_command"]

DESCRIPTION = """\
Run the detector on every image in PATH (files, and folders walked recursively; images are
recognised by content as well as by name) in parallel worker processes. Each finished image is
appended to the results file as one JSON line and flushed, so a scan that is killed loses only
the images in flight: run the same command with --resume to finish it (a torn last line is
repaired). Ctrl-C stops cleanly: images in flight are finished and written (press it again to
abandon them).
"""

EPILOG = """\
records (one JSON object per line, in completion order):
  {"path": ..., "status": "ok", "decision", "score", "threshold", "label",
   "review_threshold", "skin_fraction", "passes_skin", "rule", "reason",
   "groups": {kind: count}, "times_ms": {stage: ms}, "width", "height", "config",
   "fleck_version", "regions": [{kind, rule, box, polygon, score, ...}],
   "mask" (with --masks)}
  label: unsafe (= decision), review or safe, from threshold and review_threshold.
  {"path": ..., "status": "error", "error": "<reason>"}
  a video or animated image: one record per sampled frame, {"path", "frame", "time_s",
  "status": "ok", ...the fields above}, then one for the file, {"path", "status": "ok",
  "kind": "video"|"animation", "frames", "flagged_frames", "decision", "score", "label",
  "first_flagged_s", "duration_s", "reason", ...}; --resume redoes a file whose file
  record is missing, and --csv has one row per file
  Paths are as given, joined with the names found in folders (relative paths stay relative).

folders: hidden entries (.name) are skipped; links are followed, each folder walked once; a
file with an image extension that is not an image becomes an error record, other non-images
are ignored. A file named on the command line is always attempted.

exit status:
  0    every image scanned
  1    some images failed (error records; each named on stderr unless --quiet)
  2    usage error, a PATH that does not exist, or no images found
  130  interrupted (Ctrl-C or SIGTERM); what finished is in the results file

example:
  fleck scan data_samples/ -o results.jsonl --csv results.csv --overlays overlays/
"""


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck scan`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(['scan', 'x', '-o', 'r.jsonl']).func is run
    True
    """
    parser = subparsers.add_parser(
        "scan", help="run the detector over files and folders, writing results.jsonl",
        description=DESCRIPTION, epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="+", metavar="PATH", help="image files and folders")
    parser.add_argument("-o", "--output", required=True, metavar="RESULTS.jsonl",
                        help="results file, JSON Lines (an existing one needs --resume or "
                             "--overwrite)")
    parser.add_argument("-j", "--jobs", type=int, default=None, metavar="N",
                        help="worker processes (default: all cores)")
    parser.add_argument("--resume", action="store_true",
                        help="keep the records already in the results file and skip their "
                             "images (repairs a torn last line)")
    parser.add_argument("--overwrite", action="store_true",
                        help="start the results file afresh even if it holds records")
    parser.add_argument("--csv", metavar="FILE",
                        help="also write the records as CSV (path, status, decision, score, "
                             "label, skin_fraction, passes_skin, rule, segments, limbs, group "
                             "counts, total_ms, config, error)")
    parser.add_argument("--overlays", metavar="DIR",
                        help="write the explained overlay (PNG) of every flagged image to "
                             "DIR/<image path>.png")
    add_region_options(parser)
    add_skin_model_option(parser)
    add_video_options(parser)
    parser.add_argument("--scheduler", metavar="ADDRESS",
                        help="run on a Dask distributed cluster, e.g. tcp://host:8786 "
                             "(pip install 'fleck[dask]'; every worker must see the same paths)")
    parser.add_argument("--chunk", type=int, default=None, metavar="N",
                        help="images per task sent to a worker (default 4)")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress bar, no per-image failure lines, no summary")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fleck scan`` with parsed arguments; return the exit status.

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
    >>> main(["scan", "no/such/folder", "-o", "r.jsonl"])
    2
    """
    from fleck.config import get_config
    from fleck.scan import SCAN, scan

    config = with_thresholds(get_config(args.skin_model), args.thresholds, command="scan")
    summary = scan(args.paths, args.output, config=config, jobs=args.jobs,
                   resume=args.resume, csv=args.csv, overlays=args.overlays, quiet=args.quiet,
                   scheduler=args.scheduler, chunk=args.chunk or SCAN.chunk,
                   overwrite=args.overwrite, masks=args.masks, skin_rle=args.skin_rle,
                   video=video_settings(args))
    if summary.images == 0 and summary.skipped == 0 and not summary.interrupted:
        print(f"fleck scan: error: no images found in {' '.join(args.paths)}", file=sys.stderr)
    elif not args.quiet:
        print(summary.line(), flush=True)
        if summary.interrupted:
            print(f"fleck scan: to finish the scan, run: {resume_command(args)}",
                  file=sys.stderr, flush=True)
    return summary.exit_code


def resume_command(args: argparse.Namespace) -> str:
    """The command that finishes an interrupted scan: the same options, with ``--resume``.

    Parameters
    ----------
    args : argparse.Namespace
        The interrupted scan's arguments.

    Returns
    -------
    str
        A shell command line (arguments quoted where needed).

    Examples
    --------
    >>> args = argparse.Namespace(paths=["photos", "my dir"], output="r.jsonl", jobs=2, csv=None,
    ...                           overlays=None, skin_model="kapur", scheduler=None, chunk=None,
    ...                           quiet=False)
    >>> resume_command(args)
    "fleck scan photos 'my dir' -o r.jsonl --resume --jobs 2 --skin-model kapur"
    >>> args.fps, args.every_frame, args.max_frames, args.keyframes = 2.0, False, 300, False
    >>> args.min_frames, args.consecutive, args.stop_early = 3, False, False
    >>> resume_command(args).endswith("--fps 2 --min-frames 3")
    True
    """
    words = ["fleck", "scan", *args.paths, "-o", args.output, "--resume"]
    options = (("--jobs", args.jobs), ("--csv", args.csv), ("--overlays", args.overlays),
               ("--masks", getattr(args, "masks", None)),
               ("--thresholds", getattr(args, "thresholds", None)),
               ("--skin-model", None if args.skin_model == "fleck1996" else args.skin_model),
               ("--scheduler", args.scheduler), ("--chunk", args.chunk))
    for flag, value in options:
        if value is not None:
            words += [flag, str(value)]
    if getattr(args, "skin_rle", False):
        words.append("--skin-rle")
    if hasattr(args, "fps"):
        words += video_flags(video_settings(args))
    if args.quiet:
        words.append("--quiet")
    return shlex.join(words)

