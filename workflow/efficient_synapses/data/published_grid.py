"""Which c belongs to each column of the published Figure 2/3 arrays, read off fig2.png.

The arrays hold 30 (heterogeneous, homogeneous) column pairs per ρ but not their c, and
the authors' two scripts disagree (``../shared/data/README.md``, "published/"). The
authors' own rendering of Figure 2 does hold it: this module traces its accuracy curves
(row a: green heterogeneous, grey homogeneous) in pixel space, converts them to
(log10 c, accuracy) with the panel's axes, and scores candidate grids
log10 c_j = start + step j by the RMS difference, in accuracy points, between the traced
curve and the array's accuracies drawn at those c. The accuracy panels decide: their
steep fall pins every column to its place. (The σ panels cannot: a straight log-log line
shifted sideways looks like one shifted up.)

The figure's tick values are read by eye, not by the code: the two labelled x ticks of
each panel are 10^-1 and 10^1, the five accuracy ticks 100, 80, 60, 40, 20 (%).

    python -m efficient_synapses.data.published_grid ../shared/data/published
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..artefacts import rho_value
from .published import FIG23_SHAPE, load_array

X_TICKS = (-1.0, 1.0)  # log10 c of the two labelled x ticks of every panel
ACCURACY_TICKS = (100.0, 80.0, 60.0, 40.0, 20.0)  # top to bottom, percent

# Candidates: the authors' plotting and simulation scripts, our sweep's grid, and the
# two grids that a reading of the axes suggests.
CANDIDATES = {
    "10^(-4 + 0.25 j), j = 0..29 (10^-4 ... 10^3.25)": (-4.0, 0.25),
    "np.logspace(-4, 3, 30)": (-4.0, 7.0 / 29.0),
    "the plotting script's: 10^(-3 + 0.25 j), j = 0..29 (10^-3 ... 10^4.25)": (-3.0, 0.25),
    "plotting script: 10^(-3 + 0.25 j) from the second column": (-3.25, 0.25),
    "simulation script: from 10^-2 in quarter decades": (-2.0, 0.25),
}


@dataclass
class Panel:
    """One accuracy panel: its pixel box and the pixel positions of its ticks."""

    x0: int
    x1: int
    y0: int
    y1: int
    x_ticks: tuple[float, float]  # pixel x of the ticks X_TICKS
    y_ticks: list[float]  # pixel y of the ticks ACCURACY_TICKS


def load_image(path: str | Path) -> np.ndarray:
    """The figure as an RGB integer array on a white background."""
    from PIL import Image

    rgba = Image.open(path).convert("RGBA")
    background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    background.alpha_composite(rgba)
    return np.asarray(background.convert("RGB")).astype(int)


def _runs(indices: np.ndarray) -> list[tuple[int, int]]:
    """Consecutive runs of sorted integer indices, as (first, last)."""
    runs: list[list[int]] = []
    for i in indices:
        if runs and i == runs[-1][1] + 1:
            runs[-1][1] = int(i)
        else:
            runs.append([int(i), int(i)])
    return [(a, b) for a, b in runs]


def accuracy_panels(image: np.ndarray) -> list[Panel]:
    """The four panels of row a: spines from long dark lines, ticks from short ones."""
    dark = image.sum(2) < 150
    height, width = dark.shape
    spine_cols = [(a + b) // 2 for a, b in _runs(np.flatnonzero(dark.sum(0) > 0.2 * height))]
    spine_rows = [b for a, b in _runs(np.flatnonzero(dark.sum(1) > 0.2 * width))]
    spine_rows = [r for r in spine_rows if r > 0.05 * height]  # not the top border
    x_axis = spine_rows[0]  # the x axis of row a
    panels = []
    for col in spine_cols:
        x1 = col
        while x1 + 1 < width and dark[x_axis, x1 + 1]:
            x1 += 1
        top = col_top = int(np.flatnonzero(dark[:x_axis, col])[0])
        ticks_below = _runs(np.flatnonzero(dark[x_axis + 8, col + 3 : x1]) + col + 3)
        if len(ticks_below) != len(X_TICKS):
            raise ValueError(f"panel at x={col}: expected 2 labelled x ticks, found {ticks_below}")
        ticks_left = _runs(np.flatnonzero(dark[top:x_axis, col - 10]) + top)
        if len(ticks_left) != len(ACCURACY_TICKS):
            raise ValueError(f"panel at x={col}: expected 5 accuracy ticks, found {ticks_left}")
        panels.append(
            Panel(
                x0=col + 3,
                x1=x1 - 1,
                y0=col_top,
                y1=x_axis - 3,
                x_ticks=tuple((a + b) / 2 for a, b in ticks_below),
                y_ticks=[(a + b) / 2 for a, b in ticks_left],
            )
        )
    return panels


def _is_green(pixels):
    return (pixels[:, 1] > pixels[:, 0] + 30) & (pixels.sum(1) < 600)


def _is_grey(pixels):
    flat = (np.abs(pixels[:, 0] - pixels[:, 1]) < 8) & (np.abs(pixels[:, 1] - pixels[:, 2]) < 8)
    return flat & (pixels[:, 0] > 150) & (pixels[:, 0] < 200)


def trace(image: np.ndarray, panel: Panel, noise: str) -> tuple[np.ndarray, np.ndarray]:
    """(log10 c, accuracy %) along the curve of ``noise`` in ``panel``: per pixel column,
    the median row of the curve's colour."""
    is_colour = _is_green if noise == "heterogeneous" else _is_grey
    log10_c, accuracy = [], []
    (tx0, tx1), ty = panel.x_ticks, panel.y_ticks
    for x in range(panel.x0, panel.x1):
        rows = np.flatnonzero(is_colour(image[panel.y0 : panel.y1, x]))
        if rows.size:
            y = np.median(rows) + panel.y0
            log10_c.append(X_TICKS[0] + (x - tx0) * (X_TICKS[1] - X_TICKS[0]) / (tx1 - tx0))
            frac = (y - ty[0]) / (ty[-1] - ty[0])
            accuracy.append(ACCURACY_TICKS[0] + frac * (ACCURACY_TICKS[-1] - ACCURACY_TICKS[0]))
    return np.array(log10_c), np.array(accuracy)


def rms_difference(log10_c, accuracy, data, start: float, step: float) -> float:
    """RMS (accuracy points) of the traced curve minus the data drawn at c_j = 10^(start +
    step j), over the traced points inside the candidate's range; inf if none are."""
    grid = start + step * np.arange(len(data))
    inside = (log10_c >= grid[0]) & (log10_c <= grid[-1])
    if not inside.any():
        return float("inf")
    return float(np.sqrt(np.mean((np.interp(log10_c[inside], grid, data) - accuracy[inside]) ** 2)))


def score_candidates(published_dir: str | Path, candidates=None) -> dict[str, list[float]]:
    """Per candidate grid, the RMS difference of each of the 8 accuracy curves (ρ x noise)."""
    published_dir = Path(published_dir)
    candidates = CANDIDATES if candidates is None else candidates
    image = load_image(published_dir / "fig2.png")
    accuracy = load_array(published_dir / "data-fig2and3" / "accs_arr.npy", FIG23_SHAPE)
    panels = accuracy_panels(image)
    scores: dict[str, list[float]] = {name: [] for name in candidates}
    for row, panel in enumerate(panels):
        for offset, noise in enumerate(("heterogeneous", "homogeneous")):
            log10_c, traced = trace(image, panel, noise)
            for name, (start, step) in candidates.items():
                data = accuracy[row, offset::2]
                scores[name].append(rms_difference(log10_c, traced, data, start, step))
    return scores


FIG5_S = 0.001  # the s of the published Figure 5 networks: c = s^ρ/ρ (Methods, Eq. 48)


def fig5_networks_on_the_sigma_curve(
    published_dir: str | Path, grids: dict[str, tuple[float, float]] | None = None
) -> list[dict]:
    """A second line of evidence for the grid, independent of fig2.png: the published
    Figure 5 networks have a known c (s^ρ/ρ, s = 0.001) and a known RMS σ over all their
    weights (their σ² arrays); on the published Figure 2b heterogeneous σ curve of the
    same ρ, a grid puts that σ at some log10 c, which should be near the network's own.
    Per ρ and grid: the network's log10 c and RMS σ, where the curve reaches that σ under
    the grid (log-interpolated), and the difference in decades; NaN where the σ lies
    outside the curve (its c below the published grid's first column)."""
    from .published import PUBLISHED_RHOS, fig5_layer

    grids = grids or {
        "adopted: 10^(-4 + 0.25 j)": (-4.0, 0.25),
        "the plotting script's: 10^(-3 + 0.25 j)": (-3.0, 0.25),
    }
    published_dir = Path(published_dir)
    sigma = load_array(published_dir / "data-fig2and3" / "sig_arr.npy", FIG23_SHAPE)
    rows = []
    for i, rho in enumerate(PUBLISHED_RHOS):
        value = rho_value(rho)
        squared = np.concatenate(
            [fig5_layer(published_dir, rho, layer)["sigma_squared"] for layer in (1, 2, 3)]
        )
        rms = float(np.sqrt(squared.mean()))
        true = float(np.log10(FIG5_S**value / value))
        curve = np.log10(sigma[i, 0::2])
        for name, (start, step) in grids.items():
            log10_c = start + step * np.arange(curve.size)
            inside = curve.min() <= np.log10(rms) <= curve.max()
            at = float(np.interp(np.log10(rms), curve, log10_c)) if inside else float("nan")
            rows.append(
                {
                    "rho": rho,
                    "grid": name,
                    "network_rms_sigma": rms,
                    "network_log10_c": true,
                    "curve_log10_c": at,
                    "difference_decades": at - true,
                }
            )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("published", type=Path, help="directory of fig2.png and data-fig2and3/")
    args = parser.parse_args(argv)
    scores = score_candidates(args.published)
    print("RMS difference, accuracy points, per curve (ρ = 1/2, 2/3, 4/3, 2; het, hom):")
    for name, values in sorted(scores.items(), key=lambda kv: np.mean(kv[1])):
        cells = " ".join(f"{v:5.2f}" for v in values)
        print(f"{np.mean(values):6.2f}  {cells}  {name}")
    print("\nThe published Figure 5 networks (known c) on the published Figure 2b σ curve:")
    for row in fig5_networks_on_the_sigma_curve(args.published):
        print(
            f"ρ = {row['rho']:>3}  RMS σ {row['network_rms_sigma']:.4f}  true log10 c "
            f"{row['network_log10_c']:6.2f}  on the curve {row['curve_log10_c']:6.2f}  "
            f"({row['difference_decades']:+.2f} decades)  {row['grid']}"
        )


if __name__ == "__main__":
    main()
