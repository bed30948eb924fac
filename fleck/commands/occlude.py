"""``fleck occlude IMAGE``: occlusion-sensitivity heat map of a detector on one image.

Writes the map blended over the image (perceptual colour map, colour bar) to ``-o map.png`` and
the raw float map, at the input resolution, to ``map.npy``. With several ``--model`` options the
panels are drawn side by side and each raw map goes to ``map.<model>.npy``.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import numpy as np

from fleck.occlusion import DEFAULTS, NAMED_FILLS, VARIANTS

__all__ = ["CLI_STRIDE", "register", "parse_fill", "npy_paths", "default_jobs", "run"]

CLI_STRIDE = 8  # the post's 3 px means ~7x more evaluations; 8 px is a quick first look


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``fleck occlude`` to ``subparsers`` (its ``func`` is :func:`run`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        From ``ArgumentParser.add_subparsers()``.

    Examples
    --------
    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="fleck")
    >>> register(parser.add_subparsers(dest="command"))
    >>> parser.parse_args(['occlude', 'x.jpg']).func is run
    True
    """
    parser = subparsers.add_parser(
        "occlude", help="occlusion-sensitivity heat map of a detector on one image",
        description="Slide a square window over IMAGE and map how the model's score responds "
                    "(Compton 2016). 'occlude': each pixel = mean of 1 - score with a covering "
                    "window painted over; 'window': mean score of the covering windows' crops.")
    parser.add_argument("image", help="image file")
    parser.add_argument("--model", action="append", metavar="NAME",
                        help="fleck (default), fleck:kapur, open_nsfw, nudenet (need "
                             "fleck[cnn]) or package.module:function; repeat to compare "
                             "models side by side")
    parser.add_argument("--window", type=int, default=DEFAULTS.window,
                        help=f"window side in pixels (default {DEFAULTS.window})")
    parser.add_argument("--stride", type=int, default=CLI_STRIDE,
                        help=f"grid step in pixels (default {CLI_STRIDE}; the post used 3)")
    parser.add_argument("--variant", choices=VARIANTS, default="occlude",
                        help="occlude (default) or window")
    parser.add_argument("--fill", default="grey",
                        help=f"occluder: {', '.join(NAMED_FILLS)} (default grey = 128,128,128) "
                             "or R,G,B")
    parser.add_argument("--jobs", type=int, default=None,
                        help="worker processes; 0 = one per CPU (default: one per CPU for "
                             "fleck, 1 for the CNNs, whose runtime already uses every core)")
    parser.add_argument("--working-size", type=int, default=None, metavar="N",
                        help="shrink the image so that height + width = N first; window "
                             "and stride shrink with it, so each evaluation is cheaper but "
                             "their number stays the same (use --stride for fewer)")
    parser.add_argument("--batch-size", type=int, default=DEFAULTS.batch_size,
                        help=f"images per scoring step (default {DEFAULTS.batch_size})")
    parser.add_argument("--scale", choices=("auto", "fixed"), default="auto",
                        help="colour range: the map's own (auto) or 0..1 (fixed)")
    parser.add_argument("--cmap", default="inferno", help="matplotlib colour map (inferno)")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="output image (default IMAGE-stem.occlusion.png); the raw map "
                             "goes next to it as .npy")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=run)


def parse_fill(text: str) -> str | tuple[int, ...]:
    """``'grey'``/``'mean'``/``'blur'`` or ``'R,G,B'`` -> a fill for :func:`occlusion_map`.

    Parameters
    ----------
    text : str
        The value of ``--fill``.

    Returns
    -------
    str or tuple of int

    Raises
    ------
    ValueError
        For anything else, or values outside 0-255.

    Examples
    --------
    >>> parse_fill("blur"), parse_fill("255,0,0")
    ('blur', (255, 0, 0))
    """
    if text in NAMED_FILLS or text == "gray":
        return text
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 3) or not all(0 <= v <= 255 for v in values):
        raise ValueError(f"--fill must be {', '.join(NAMED_FILLS)} or R,G,B with values "
                         f"0-255, got {text!r}")
    return values


def npy_paths(output: Path, models: list[str]) -> dict[str, Path]:
    """Where each model's raw map goes: ``map.npy``, or ``map.<model>.npy`` for several.

    Parameters
    ----------
    output : Path
        The figure's path (``-o``).
    models : list of str
        The ``--model`` names, in order.

    Returns
    -------
    dict of str to Path

    Examples
    --------
    >>> from pathlib import Path
    >>> npy_paths(Path("map.png"), ["fleck"])
    {'fleck': PosixPath('map.npy')}
    >>> npy_paths(Path("map.png"), ["fleck", "my.mod:fn"])["my.mod:fn"]
    PosixPath('map.my_mod_fn.npy')
    """
    if len(models) == 1:
        return {models[0]: output.with_suffix(".npy")}
    return {m: output.with_suffix(f".{re.sub(r'[^A-Za-z0-9_-]+', '_', m)}.npy") for m in models}


def default_jobs(model: str, jobs: int | None) -> int:
    """``--jobs`` as given, else 1 for a CNN (ONNX Runtime threads itself), else every CPU.

    Parameters
    ----------
    model : str
        A ``--model`` name.
    jobs : int, optional
        ``--jobs`` as given.

    Returns
    -------
    int
        For :func:`fleck.occlusion.occlusion_map` (0 = one process per CPU).

    Examples
    --------
    >>> default_jobs("open_nsfw", None), default_jobs("fleck", None), default_jobs("fleck", 3)
    (1, 0, 3)
    """
    from fleck.scorers import CNN_MODELS

    if jobs is not None:
        return jobs
    return 1 if model in CNN_MODELS else 0


def run(args: argparse.Namespace) -> int:
    """Run ``fleck occlude`` with parsed arguments; return the exit status.

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
    >>> main(["occlude", "no/such/file.jpg"])
    2
    """
    from fleck.loading import load_image
    from fleck.occlusion import occlusion_map, save_occlusion_figure
    from fleck.scorers import get_scorer

    models = list(dict.fromkeys(args.model or ["fleck"]))
    fill = parse_fill(args.fill)
    scorers = {name: get_scorer(name) for name in models}  # bad names fail before any work
    image = load_image(args.image)
    output = args.output or Path(f"{Path(args.image).stem}.occlusion.png")
    show_progress = not args.quiet and sys.stderr.isatty()

    results = {}
    for name, scorer in scorers.items():
        results[name] = occlusion_map(
            image, scorer, window=args.window, stride=args.stride, variant=args.variant,
            fill=fill, batch_size=args.batch_size, jobs=default_jobs(name, args.jobs),
            working_size=args.working_size, progress=show_progress)

    output.parent.mkdir(parents=True, exist_ok=True)
    save_occlusion_figure(output, image, results, cmap=args.cmap, scale=args.scale)
    for name, path in npy_paths(output, models).items():
        np.save(path, results[name].map)
        if not args.quiet:
            r = results[name]
            print(f"{output} {path.name}: {name} {r.variant}, {r.positions} windows "
                  f"({r.working_window} px, stride {r.working_stride} at "
                  f"{r.working_shape[1]}x{r.working_shape[0]}) in {r.elapsed:.1f} s; "
                  f"score {r.base_score:.3f}, map {r.map.min():.3f}-{r.map.max():.3f}")
    return 0
