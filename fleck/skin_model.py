"""The fitted skin colour model: a skin/non-skin log-likelihood-ratio table.

The 1996 filter accepts a colour when its hue and saturation fall in two hand-set boxes. The
fitted model replaces only that colour test: it looks the pixel's (Rg, By, I) up in a small
table of ``log P(colour | skin) / P(colour | non-skin)`` (natural log), a smoothed histogram
ratio in the manner of Jones & Rehg (1999), fitted by ``tools/fit_skin_model.py`` on the dev
split of ``shared/data`` (UCI pixels are not used: see the README section "A fitted skin
model"). Rg, By and I are the filter's own log-opponent values (zero response, noise and chroma
median included), so texture and density growth work unchanged around it.

The table has 64 x 64 chroma bins of 2 log units (Rg in [-20, 108), By in [-112, 16)) and 16
intensity bands of 16 units (I = 105 log10(G + 1)), stored as uint8 (0.063 nats per step) in
``fleck/data/skin_llr.npz`` (36 KB). Colours outside the chroma range get the
lowest value. :func:`plot_accepted_region` draws the accepted region per intensity band.

>>> import numpy as np
>>> table = load_table()
>>> table.llr.shape, table.llr.dtype
((64, 64, 16), dtype('float32'))
>>> tan, grey = [176, 112, 80], [128, 128, 128]
>>> (colour_llr(np.array([tan, grey], np.uint8)) >= 0.5).tolist()
[True, False]
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
from dataclasses import dataclass
from importlib import resources

import numpy as np

from fleck.colour import log_opponent
from fleck.config import FITTED, FleckConfig, SkinConfig, get_config

__all__ = ["LLR_RANGE", "SkinTable", "encode_llr", "decode_llr", "load_table", "colour_llr",
           "accepted_region", "plot_accepted_region"]

LLR_RANGE = (-8.0, 8.0)  # the uint8 code 0..255 spans this many nats, linearly


@dataclass(frozen=True, eq=False)  # hashed by identity: cached per loaded table
class SkinTable:
    """A decoded log-likelihood-ratio table over (Rg, By, I).

    ``llr[i, j, k]`` is the value for Rg in bin i, By in bin j, I in band k; bins are
    ``step`` log units wide starting at ``rg_min`` / ``by_min``; bands are ``band`` units wide
    from 0. ``meta`` records how the table was fitted (sources, counts, smoothing).

    Examples
    --------
    >>> table = load_table()
    >>> table.llr.ndim, float(table.step) > 0
    (3, True)
    """

    llr: np.ndarray
    rg_min: float
    by_min: float
    step: float
    band: float
    outside: float
    meta: dict = dataclasses.field(default_factory=dict, compare=False, repr=False)

    def lookup(self, rg: np.ndarray, by: np.ndarray, intensity: np.ndarray) -> np.ndarray:
        """The table value of every pixel (float32 array of ``rg``'s shape).

        >>> t = load_table()
        >>> float(t.lookup(np.array([300.0]), np.array([0.0]), np.array([100.0]))[0]) == t.outside
        True
        """
        padded = _padded(self)
        n_rg, n_by, n_i = self.llr.shape
        # Bin 0 and bin n + 1 of the padded table hold ``outside``; clipping to them first
        # makes truncation a floor and replaces the out-of-range mask (the lookup must cost
        # no more than the 1996 boxes it replaces).
        i = np.clip(rg * (1.0 / self.step) + (1.0 - self.rg_min / self.step), 0, n_rg + 1)
        j = np.clip(by * (1.0 / self.step) + (1.0 - self.by_min / self.step), 0, n_by + 1)
        k = np.clip(intensity * (1.0 / self.band), 0, n_i - 1)
        flat = (i.astype(np.int32) * (n_by + 2) + j.astype(np.int32)) * n_i + k.astype(np.int32)
        values = padded.take(flat)
        return values


@functools.lru_cache(maxsize=8)
def _padded(table: SkinTable) -> np.ndarray:
    """The table with a border of ``outside`` values around both chroma axes, flattened."""
    n_rg, n_by, n_i = table.llr.shape
    padded = np.full((n_rg + 2, n_by + 2, n_i), table.outside, np.float32)
    padded[1:-1, 1:-1] = table.llr
    return padded.ravel()


def encode_llr(llr: np.ndarray) -> np.ndarray:
    """Quantise LLR values (nats) to the uint8 code stored in the table file.

    Parameters
    ----------
    llr : ndarray
        Log-likelihood ratios in nats (clipped to :data:`LLR_RANGE`).

    Returns
    -------
    uint8 ndarray

    Examples
    --------
    >>> encode_llr(np.array([-8.0, 0.0, 8.0])).tolist()
    [0, 128, 255]
    """
    low, high = LLR_RANGE
    scaled = (np.clip(llr, low, high) - low) * (255.0 / (high - low))
    return np.rint(scaled).astype(np.uint8)


def decode_llr(code: np.ndarray) -> np.ndarray:
    """The inverse of :func:`encode_llr` (to within half a step, 0.031 nats).

    Parameters
    ----------
    code : uint8 ndarray
        Codes from :func:`encode_llr`.

    Returns
    -------
    float32 ndarray
        Nats.

    Examples
    --------
    >>> decode_llr(encode_llr(np.array([-8.0, 8.0]))).tolist()
    [-8.0, 8.0]
    """
    low, high = LLR_RANGE
    return (code.astype(np.float32) * ((high - low) / 255.0) + low).astype(np.float32)


@functools.lru_cache(maxsize=8)
def load_table(name: str = "skin_llr") -> SkinTable:
    """Load ``fleck/data/<name>.npz`` once (cached).

    Raises
    ------
    ValueError
        If no table of that name ships with the package.
    """
    resource = resources.files("fleck").joinpath("data", f"{name}.npz")
    if not resource.is_file():
        raise ValueError(f"no skin table named {name!r} in fleck/data (expected {name}.npz)")
    with resource.open("rb") as handle, np.load(handle, allow_pickle=False) as data:
        llr = decode_llr(data["llr_code"])
        llr.setflags(write=False)
        return SkinTable(llr=llr, rg_min=float(data["rg_min"]), by_min=float(data["by_min"]),
                         step=float(data["step"]), band=float(data["band"]),
                         outside=float(LLR_RANGE[0]), meta=json.loads(str(data["meta"])))


def colour_llr(pixels: np.ndarray,
               config: SkinConfig | FleckConfig | str | None = None) -> np.ndarray:
    """The table value of single colours, without zero response, noise or median.

    Parameters
    ----------
    pixels : (..., 3) uint8 ndarray, RGB
    config : SkinConfig, FleckConfig or name; default the ``fitted`` configuration

    Returns
    -------
    (...) float32 ndarray of log-likelihood ratios (nats)

    Examples
    --------
    >>> float(colour_llr(np.array([141, 85, 56], np.uint8))) > 0.5  # dark skin
    True
    """
    skin = _skin_config(config)
    pixels = np.asarray(pixels)
    if pixels.dtype != np.uint8 or pixels.shape[-1:] != (3,):
        raise ValueError(f"pixels must be a uint8 array of shape (..., 3), got {pixels.dtype} "
                         f"{pixels.shape}")
    plain = dataclasses.replace(skin, zero_response=False, noise=False)
    intensity, rg, by = log_opponent(pixels.reshape(-1, 1, 3), plain)
    values = load_table(skin.colour_table).lookup(rg, by, intensity)
    return values.reshape(pixels.shape[:-1])


def accepted_region(config: SkinConfig | FleckConfig | str | None = None) -> dict[str, np.ndarray]:
    """Boolean (Rg, By, band) grids of the stage-1 and stage-2 colour tests, and the bin edges.

    Parameters
    ----------
    config : SkinConfig, FleckConfig or name, optional
        A table configuration (default ``fitted``).

    Returns
    -------
    dict
        ``stage1`` and ``stage2`` (bool, (Rg, By, band)), ``rg_edges``, ``by_edges``, ``band``.

    Examples
    --------
    >>> region = accepted_region()
    >>> stage1, stage2 = region["stage1"], region["stage2"]
    >>> stage1.shape == stage2.shape, bool((stage1 <= stage2).all())  # stage 2 is more lenient
    (True, True)
    """
    skin = _skin_config(config)
    table = load_table(skin.colour_table)
    n_rg, n_by, _ = table.llr.shape
    return {"stage1": table.llr >= skin.table_stage1_min,
            "stage2": table.llr >= skin.table_stage2_min,
            "rg_edges": table.rg_min + table.step * np.arange(n_rg + 1),
            "by_edges": table.by_min + table.step * np.arange(n_by + 1),
            "band": np.float32(table.band)}


def plot_accepted_region(path: str | os.PathLike,
                         config: SkinConfig | FleckConfig | str | None = None, *,
                         dpi: int = 72) -> None:
    """Draw the accepted colours in the (By, Rg) plane, one panel per intensity band.

    Dark green: stage 1 (the seed colours); light green: stage 2 only (accepted next to
    enough stage-1 pixels). The 1996 stage-1 boxes are outlined in red (hue = atan2(Rg, By),
    saturation = hypot(Rg, By)), the lenient stage-2 sector dashed.

    Parameters
    ----------
    path : str or Path
        Where to write the figure (format from the suffix, e.g. ``.png``).
    config : the fitted configuration by default

    Examples
    --------
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "region.png")
    >>> plot_accepted_region(path, dpi=20)
    >>> os.path.getsize(path) > 0
    True
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.colors import ListedColormap

    skin = _skin_config(config)
    region = accepted_region(skin)
    code = region["stage1"].astype(np.uint8) + region["stage2"].astype(np.uint8)
    bands = code.shape[2]
    cols = 4
    rows = (bands + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(2.6 * cols, 2.7 * rows), sharex=True,
                             sharey=True)
    cmap = ListedColormap(["#ffffff", "#a6dba0", "#1b7837"])
    extent = (region["by_edges"][0], region["by_edges"][-1], region["rg_edges"][0],
              region["rg_edges"][-1])
    box_lines = [_sector(*box) for box in SkinConfig().stage1_boxes]
    lenient = _sector(*SkinConfig().stage2_hue, *SkinConfig().stage2_sat)
    for k, ax in enumerate(np.ravel(axes)):
        if k >= bands:
            ax.axis("off")
            continue
        ax.imshow(code[:, :, k], origin="lower", extent=extent, cmap=cmap, vmin=0, vmax=2,
                  interpolation="nearest", aspect="equal")
        for by_line, rg_line in box_lines:
            ax.plot(by_line, rg_line, color="#d62728", lw=0.8)
        ax.plot(*lenient, color="#d62728", lw=0.6, ls="--")
        ax.set_xlim(extent[0], extent[1])
        ax.set_ylim(extent[2], extent[3])
        low = k * float(region["band"])
        ax.set_title(f"I {low:.0f}-{low + float(region['band']):.0f}", fontsize=8)
        ax.tick_params(labelsize=6)
    for ax in np.ravel(axes)[-cols:]:
        ax.set_xlabel("By", fontsize=7)
    for ax in np.ravel(axes)[::cols]:
        ax.set_ylabel("Rg", fontsize=7)
    fig.suptitle(f"{skin.name}: stage 1 LLR >= {skin.table_stage1_min:g} (dark), stage 2 LLR >= "
                 f"{skin.table_stage2_min:g} (light); red: 1996 boxes", fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def _sector(hue_min: float, hue_max: float, sat_min: float, sat_max: float):
    """Outline of a hue/saturation box in the (By, Rg) plane: hue = atan2(Rg, By)."""
    hues = np.radians(np.linspace(hue_min, hue_max, 40))
    outer = np.stack([sat_max * np.cos(hues), sat_max * np.sin(hues)])
    inner = np.stack([sat_min * np.cos(hues[::-1]), sat_min * np.sin(hues[::-1])])
    ring = np.concatenate([outer, inner, outer[:, :1]], axis=1)
    return ring[0], ring[1]


def _skin_config(config) -> SkinConfig:
    if isinstance(config, SkinConfig):
        skin = config
    else:
        skin = (FITTED if config is None else get_config(config)).skin
    if skin.colour_model != "table":
        raise ValueError(f"skin configuration {skin.name!r} has no fitted table "
                         f"(colour_model={skin.colour_model!r})")
    return skin
