"""Helpers shared by the per-image sub-commands (``fleck skin``, ``fleck detect``).

One failure never stops a batch: each bad input is one line on stderr, ``fleck <command>: <file>:
<reason>``, and the command goes on; the exit status is 1 when any input failed.

>>> unique_output(Path("out"), "a/photo.jpg", "_skin.png", set())
PosixPath('out/photo_skin.png')
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import cv2
import numpy as np

from fleck.config import CONFIGS, FleckConfig, get_config, with_working_size
from fleck.errors import ImageError

CONFIG_NAMES = tuple(CONFIGS)  # fleck1996, kapur, fitted, fitted_strict, fleck_plus


def working_size(text: str) -> int | None:
    """``--working-size`` values: a positive integer (H + W after shrinking) or ``native``.

    >>> working_size("320"), working_size("native")
    (320, None)
    """
    if text.strip().lower() in ("native", "none", "full"):
        return None
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(
            f"expected a number of pixels (height + width, e.g. 320) or 'native', got {text!r}")
    return value


def add_skin_model_option(parser: argparse.ArgumentParser) -> None:
    """``--skin-model NAME``: the detector configuration (one of :data:`CONFIG_NAMES`).

    >>> parser = argparse.ArgumentParser()
    >>> add_skin_model_option(parser)
    >>> parser.parse_args(["--skin-model", "kapur"]).skin_model, parser.parse_args([]).skin_model
    ('kapur', 'fleck1996')
    """
    parser.add_argument("--skin-model", choices=CONFIG_NAMES, default="fleck1996",
                        help="skin model, i.e. detector configuration (default fleck1996: the "
                             "paper's skin filter; kapur: Kapur's 1997 skin boxes; fitted: a "
                             "colour table fitted to data, with Fleck's texture and growth; "
                             "fitted_strict: the same table with stricter thresholds, higher "
                             "precision on web photos; fleck_plus: fitted_strict with a "
                             "per-image skin colour read off the photo's most confident skin)")


def add_config_options(parser: argparse.ArgumentParser) -> None:
    """``--skin-model`` and ``--working-size`` (fleck skin, fleck detect)."""
    add_skin_model_option(parser)
    parser.add_argument("--working-size", type=working_size, default=argparse.SUPPRESS,
                        metavar="N",
                        help="shrink images so that height + width = N before the skin filter "
                             "(default: the configuration's, 320), or 'native' for full size")


def resolve_config(args: argparse.Namespace) -> FleckConfig:
    """The configuration of ``--skin-model``, with ``--working-size`` when given.

    >>> resolve_config(argparse.Namespace(skin_model="kapur", working_size=None)).working_size
    """
    config = get_config(args.skin_model)
    if hasattr(args, "working_size"):  # absent unless given: keep the configuration's own
        # Named 'fleck1996@480' etc., so records say which configuration produced them.
        config = with_working_size(config, args.working_size)
    return with_thresholds(config, getattr(args, "thresholds", None),
                           command=getattr(args, "command", None) or "fleck")


def add_region_options(parser: argparse.ArgumentParser) -> None:
    """``--masks``, ``--skin-rle`` and ``--thresholds`` (fleck detect, fleck scan)."""
    parser.add_argument("--masks", metavar="DIR",
                        help="write the skin map of each image (PNG, 0/255, the image's size) "
                             "to DIR/<image path>.png, named like the overlays; the record's "
                             "'mask' names it")
    parser.add_argument("--skin-rle", action="store_true",
                        help="put the skin map's run-length encoding (COCO's uncompressed "
                             "layout, the image's size) in the record's skin region")
    add_thresholds_option(parser)


def add_thresholds_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--thresholds", metavar="FILE",
                        help="cut the score with the calibrated thresholds in FILE (the "
                             "thresholds.json `fleck compare -o OUT` writes): label unsafe, "
                             "review or safe, and decision = unsafe")


def with_thresholds(config: FleckConfig, path: str | None, *, command: str) -> FleckConfig:
    """``config`` with the calibrated thresholds of ``path`` (``--thresholds``), if given; a
    note on stderr when they were chosen on another configuration's scores."""
    if not path:
        return config
    from fleck.verdict import apply_thresholds, read_thresholds

    thresholds = read_thresholds(path)
    if thresholds.config and thresholds.config != config.name:
        print(f"fleck {command}: note: the thresholds in {path} were chosen on "
              f"{thresholds.config} scores; this run uses {config.name}", file=sys.stderr)
    return apply_thresholds(config, thresholds)


def unique_output(folder: Path, source: str, suffix: str, used: set[Path]) -> Path:
    """``folder/<stem><suffix>``, with ``-2``, ``-3``... after the stem when an earlier input of
    this run already took the name (``a/photo.jpg`` and ``b/photo.png`` both exist)."""
    stem = Path(source).stem or "image"
    candidate = folder / f"{stem}{suffix}"
    count = 1
    while candidate in used:
        count += 1
        candidate = folder / f"{stem}-{count}{suffix}"
    used.add(candidate)
    return candidate


def write_png(path: Path, rgb_or_grey: np.ndarray) -> None:
    """Write a PNG (RGB or single-channel) or raise OSError naming the file."""
    image = rgb_or_grey if rgb_or_grey.ndim == 2 else rgb_or_grey[..., ::-1]
    ok, encoded = cv2.imencode(".png", np.ascontiguousarray(image))
    if not ok:
        raise OSError(f"{path}: could not encode PNG")
    path.write_bytes(encoded.tobytes())


def make_folder(path: Path | None) -> Path | None:
    if path is None:
        return None
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OSError(f"cannot create output folder {path}: {err.strerror or err}") from None
    return path


class Batch:
    """Counts successes and failures and reports each failure on one stderr line."""

    def __init__(self, command: str, args: argparse.Namespace) -> None:
        self.command = command
        self.debug = bool(getattr(args, "debug", False))
        self.as_json = bool(getattr(args, "json", False))
        self.ok = 0
        self.failed = 0

    def fail(self, source: str, err: BaseException) -> None:
        if self.debug and not isinstance(err, ImageError):
            raise err
        if isinstance(err, ImageError):
            message = str(err)
        elif isinstance(err, OSError):
            message = f"{source}: {err.strerror or err}"
        else:
            message = f"{source}: unexpected error: {type(err).__name__}: {err}"
        print(f"fleck {self.command}: {message}", file=sys.stderr, flush=True)
        if self.as_json:
            reason = err.reason if isinstance(err, ImageError) else message.split(": ", 1)[-1]
            emit({"path": source, "status": "error", "error": reason})
        self.failed += 1

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def add_video_options(parser: argparse.ArgumentParser) -> None:
    """Sampling and per-file rule of videos and animated images (detect, scan, compare).

    >>> parser = argparse.ArgumentParser()
    >>> add_video_options(parser)
    >>> video_settings(parser.parse_args(["--fps", "2", "--stop-early"])).interval_s
    0.5
    """
    group = parser.add_argument_group(
        "videos and animated images",
        "Videos (MP4, WebM, MKV, AVI, MOV...; pip install 'fleck[video]') and animated "
        "GIF/APNG/WebP are sampled: one record per sampled frame (path, frame, time_s, ...) "
        "and one per file (kind, frames, flagged_frames, decision, score, label, "
        "first_flagged_s, duration_s). A file is flagged when at least K sampled frames are "
        "(K consecutive with --consecutive); its score is the K-th highest frame score.")
    group.add_argument("--fps", type=float, default=1.0, metavar="F",
                       help="frames sampled per second of video (default 1)")
    group.add_argument("--every-frame", action="store_true", help="sample every frame")
    group.add_argument("--max-frames", type=int, default=300, metavar="N",
                       help="at most N sampled frames per file (default 300)")
    group.add_argument("--keyframes", action="store_true",
                       help="decode keyframes only (fast), at most F per second")
    group.add_argument("--min-frames", type=int, default=2, metavar="K",
                       help="a file is flagged when at least K sampled frames are (default 2; "
                            "fewer when fewer frames were sampled)")
    group.add_argument("--consecutive", action="store_true",
                       help="the K flagged frames must be consecutive samples")
    group.add_argument("--stop-early", action="store_true",
                       help="stop reading a file as soon as it is flagged")


def video_settings(args: argparse.Namespace):
    """The :class:`fleck.video.VideoSettings` of :func:`add_video_options`' flags.

    Raises ValueError (a usage error) for a bad value.
    """
    from fleck.video.rule import VideoSettings

    return VideoSettings(fps=args.fps, every_frame=args.every_frame, max_frames=args.max_frames,
                         keyframes=args.keyframes, min_frames=args.min_frames,
                         consecutive=args.consecutive, stop_early=args.stop_early)


def video_flags(settings) -> list[str]:
    """The command-line flags that give ``settings`` (only those that differ from defaults).

    >>> from fleck.video.rule import VideoSettings
    >>> video_flags(VideoSettings(fps=0.5, stop_early=True))
    ['--fps', '0.5', '--stop-early']
    """
    from fleck.video.rule import VideoSettings

    default = VideoSettings()
    words: list[str] = []
    for name in ("fps", "max_frames", "min_frames"):
        if getattr(settings, name) != getattr(default, name):
            words += [f"--{name.replace('_', '-')}", f"{getattr(settings, name):g}"]
    for name in ("every_frame", "keyframes", "consecutive", "stop_early"):
        if getattr(settings, name):
            words.append(f"--{name.replace('_', '-')}")
    return words
