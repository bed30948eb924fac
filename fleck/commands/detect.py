"""``fleck detect IMAGE... [--json] [--overlay DIR]``: the body-plan decision per image.

Prints one line per image: path, verdict, score, label and the one-line reason::

    photos/beach.jpg  NUDE  0.833  unsafe  limb-limb girdle of segments [10, 11] covers 11.0 % ...
    photos/wood.jpg   no    0.250  safe    skin 100 %, 0 limbs, but no girdle or spine-thigh group

``--json`` prints one JSON object per line, the record ``fleck scan`` writes
(``{"path", "status": "ok", **Detection.summary()}``); ``--json-full`` puts the lossless
``Detection.to_dict()`` (segments, limbs, groups, packed skin map) under ``"detection"``, from
which ``Detection.from_dict`` and ``fleck.draw`` can redraw the overlay later. ``--overlay DIR``
writes the explained overlay of each image to ``DIR/<image path>.png`` (the image's path
mirrored under DIR, as ``fleck scan --overlays DIR`` does: ``photos/a.jpg`` ->
``DIR/photos/a.jpg.png``). ``--masks DIR`` writes the skin map the same way (0 / 255, the
image's size; the record's ``mask``), and ``--skin-rle`` adds the skin map's run-length encoding
(``fleck.regions.skin_rle``) to the skin region of the record. ``--thresholds FILE`` cuts the
score with calibrated thresholds (``label``, ``decision``).

Videos and animated images (recognised by content) are sampled (``--fps``, ``--every-frame``,
``--max-frames``, ``--keyframes``) and judged per file (``--min-frames``, ``--consecutive``,
``--stop-early``): one line per file (``video: 3 of 30 sampled frames flagged ...``); ``--json``
prints each sampled frame's record, then the file's, as ``fleck scan`` writes them; the overlay
of a flagged file is that of its first flagged frame.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from fleck.commands._common import (
    Batch,
    add_config_options,
    add_region_options,
    add_video_options,
    emit,
    make_folder,
    resolve_config,
    video_settings,
    write_png,
)

__all__ = ["register", "run"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck detect`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(['detect', 'x.jpg']).func is run
    True
    """
    parser = subparsers.add_parser(
        "detect", help="decide per image whether it shows a body plan, and say why",
        description="Run the whole detector (skin filter, segments, grouper, decision) on each "
                    "IMAGE and print the decision, the score and the reason.")
    parser.add_argument("images", nargs="+", metavar="IMAGE",
                        help="image files, videos and animated images")
    parser.add_argument("--json", action="store_true",
                        help="one JSON object per image: path, status and Detection.summary()")
    parser.add_argument("--json-full", action="store_true",
                        help="like --json, plus the full Detection.to_dict() under 'detection'")
    parser.add_argument("--overlay", type=Path, metavar="DIR",
                        help="write the explained overlay of each image to DIR/<image path>.png "
                             "(as fleck scan --overlays does)")
    parser.add_argument("--overlay-width", type=int, metavar="PX",
                        help="width of the overlays in pixels (default: the image's)")
    add_region_options(parser)
    add_config_options(parser)
    add_video_options(parser)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fleck detect`` with parsed arguments; return the exit status.

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
    >>> main(["detect", "no/such/file.jpg"])
    1
    """
    from fleck.detector import Detector
    from fleck.overlay import draw, overlay_path
    from fleck.regions import attach_skin_rle
    from fleck.video.sniff import media_kind

    if args.overlay_width is not None and args.overlay_width < 16:
        raise ValueError(f"--overlay-width must be at least 16 pixels, got {args.overlay_width}")
    args.json = args.json or args.json_full
    detector = Detector(resolve_config(args))
    video = video_settings(args)
    folder = make_folder(args.overlay)
    masks = make_folder(None if args.masks is None else Path(args.masks))
    batch = Batch("detect", args)
    for source in args.images:
        if media_kind(source) != "image":
            try:
                _detect_media(source, detector, video, folder, args)
            except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
                batch.fail(source, err)
                continue
            batch.ok += 1
            continue
        try:
            detection = detector.detect(source)
            target = None
            if folder is not None:
                target = Path(overlay_path(source, folder))
                target.parent.mkdir(parents=True, exist_ok=True)
                write_png(target, draw(detection, source, width=args.overlay_width))
            mask = None
            if masks is not None:
                mask = Path(overlay_path(source, masks))
                mask.parent.mkdir(parents=True, exist_ok=True)
                write_png(mask, detection.mask_at().astype(np.uint8) * 255)
        except Exception as err:  # noqa: BLE001 - one bad file must not stop the batch
            batch.fail(source, err)
            continue
        batch.ok += 1
        if args.json:
            record = {"path": source, "status": "ok", **detection.summary()}
            if target is not None:
                record["overlay"] = str(target)
            if mask is not None:
                record["mask"] = str(mask)
            if args.skin_rle:
                attach_skin_rle(record, detection)
            if args.json_full:
                record["detection"] = detection.to_dict()
            emit(record)
        else:
            verdict = "NUDE" if detection.decision else "no  "
            print(f"{source}  {verdict}  {detection.score:.3f}  {detection.label:6s}  "
                  f"{detection.reason}", flush=True)
    return batch.exit_code


def _detect_media(source: str, detector, video, folder: Path | None,
                  args: argparse.Namespace) -> None:
    """One video or animated image: its records (--json) or one line."""
    from fleck.overlay import draw, overlay_path
    from fleck.video.media import detect_media

    result = detect_media(source, detector=detector, settings=video,
                          keep_detections=args.json_full, keep_first_flagged=folder is not None)
    target = None
    if folder is not None and result.first_flagged is not None:
        detection, rgb = result.first_flagged
        target = Path(overlay_path(source, folder))
        target.parent.mkdir(parents=True, exist_ok=True)
        write_png(target, draw(detection, rgb, width=args.overlay_width))
    if not args.json:
        verdict = "NUDE" if result.decision else "no  "
        print(f"{source}  {verdict}  {result.score:.3f}  {result.label:6s}  "
              f"{result.kind}: {result.reason()}", flush=True)
        return
    records = result.records()
    if args.json_full:
        for record, frame in zip(records, result.frames, strict=False):
            record["detection"] = frame.detection.to_dict()
    if target is not None:
        records[-1]["overlay"] = str(target)
    for record in records:
        emit(record)
