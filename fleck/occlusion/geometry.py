"""Geometry of occlusion maps: window corners and exact per-pixel means over covering windows.

>>> window_starts(10, 4, 3).tolist()
[0, 3, 6]
"""

from __future__ import annotations

import numpy as np

__all__ = ["window_starts", "coverage_counts", "window_sums"]


def window_starts(length: int, window: int, stride: int) -> np.ndarray:
    """Top-left corners along one axis; the last window always touches the far border.

    Parameters
    ----------
    length : int
        Image side in pixels.
    window : int
        Window side (clamped to ``length``).
    stride : int
        Step between corners.

    Returns
    -------
    int64 ndarray
        Corners, increasing; the last is ``length - window``.

    Examples
    --------
    >>> window_starts(10, 4, 3).tolist()
    [0, 3, 6]
    >>> window_starts(10, 4, 4).tolist()
    [0, 4, 6]
    >>> window_starts(3, 8, 2).tolist()  # window clamped to the side
    [0]
    """
    window = min(window, length)
    last = length - window
    starts = np.arange(0, last + 1, stride, dtype=np.int64)
    if starts[-1] != last:
        starts = np.append(starts, last)
    return starts


def coverage_counts(shape: tuple[int, int], row_starts: np.ndarray, col_starts: np.ndarray,
                    window_hw: tuple[int, int]) -> np.ndarray:
    """Number of windows covering each pixel (a grid of windows: rows x columns factorise).

    Parameters
    ----------
    shape : (rows, cols)
        Image size.
    row_starts, col_starts : int ndarrays
        Window corners (:func:`window_starts`).
    window_hw : (int, int)
        Window height and width.

    Returns
    -------
    (rows, cols) int64 ndarray

    Examples
    --------
    >>> coverage_counts((4, 4), window_starts(4, 2, 1), window_starts(4, 2, 1), (2, 2))[0].tolist()
    [1, 2, 2, 1]
    """
    rows = _axis_counts(shape[0], row_starts, window_hw[0])
    cols = _axis_counts(shape[1], col_starts, window_hw[1])
    return np.outer(rows, cols)


def _axis_counts(length: int, starts: np.ndarray, window: int) -> np.ndarray:
    diff = np.zeros(length + 1, np.int64)
    np.add.at(diff, starts, 1)
    np.add.at(diff, starts + window, -1)
    return np.cumsum(diff)[:length]


def window_sums(shape: tuple[int, int], row_starts: np.ndarray, col_starts: np.ndarray,
                window_hw: tuple[int, int], values: np.ndarray) -> np.ndarray:
    """Per pixel, the sum of ``values[r, c]`` over the windows covering it.

    Each window adds its value to a rectangle; done with a 2-D difference array (four corner
    updates per window, then two cumulative sums), so the cost is O(windows + pixels).

    Parameters
    ----------
    shape : (rows, cols)
        Image size.
    row_starts, col_starts : int ndarrays
        Window corners.
    window_hw : (int, int)
        Window height and width.
    values : (len(row_starts), len(col_starts)) array
        One value per window.

    Returns
    -------
    (rows, cols) float64 ndarray

    Examples
    --------
    >>> starts = window_starts(3, 2, 1)
    >>> window_sums((3, 3), starts, starts, (2, 2), np.ones((2, 2)))[1].tolist()
    [2.0, 4.0, 2.0]
    """
    height, width = shape
    wh, ww = window_hw
    diff = np.zeros((height + 1, width + 1), np.float64)
    rr, cc = np.meshgrid(row_starts, col_starts, indexing="ij")
    values = np.asarray(values, np.float64)
    np.add.at(diff, (rr, cc), values)
    np.add.at(diff, (rr, cc + ww), -values)
    np.add.at(diff, (rr + wh, cc), -values)
    np.add.at(diff, (rr + wh, cc + ww), values)
    return diff.cumsum(axis=0).cumsum(axis=1)[:height, :width]
