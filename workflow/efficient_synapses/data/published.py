"""The authors' published simulation results (Figures 2, 3 and 5): reading and reducing them.

The arrays come with the paper's code (JamesMalkin/EfficientBayes, CC BY 4.0; fetched
and verified by ``data.fetch_published``), as NumPy ``.npy`` files read with
``allow_pickle=False``. Every shape is checked; a wrong one stops the reader with an
error naming the file and the shape expected.

Layout (``../shared/data/README.md``, "published/"):

* ``data-fig2and3/{accs,sig,rel,loss}_arr.npy``, 4 x 60: row i is ρ = 1/2, 2/3, 4/3, 2;
  columns alternate heterogeneous (even) and homogeneous (odd) noise, one pair per value
  of c: test accuracy in percent (sampled weights), RMS σ over the weights (biases
  excluded), reliability cost Σ (1/ρ) σ^-ρ over the weights (s = 1) and test loss. The
  value of c of each pair is not stored: ``published.log10_c`` in config.yaml holds the
  grid we adopt, and docs/reproduction.md says why.
* ``data-fig5/{hessian,var,lr}_list_{k}.npy`` for k = 3p + layer − 1 (p: index of ρ,
  layer 1, 2, 3; shapes 100 x 784, 100 x 100, 10 x 100): per synapse of the four Figure 5
  networks (s = 0.001) the accumulated squared minibatch gradient (the empirical Fisher),
  σ², and the accumulated absolute gradient; ``x_{k}.npy`` the input rates: summed |x| of
  the pixels (784,) for layer 1, the mean output of the layer before per minibatch
  position (20 x 100) for layers 2 and 3.

Reductions use our own statistics module with our own definitions (``synapses.tables``):
the learning rate of the Methods is η_base / <|g|>, so its ranks are those of 1 / (the
accumulated |g|); the input rate of a synapse is that of its presynaptic unit; synapses
whose quantity is not positive and finite are left out of a log-log fit and of its
Spearman r, exactly as for our networks.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..artefacts import rho_value
from ..costs import linear_model_slope
from ..statistics import layer_unit_summary, loglog_fit

# Rows of the Figure 2/3 arrays and the ρ of the four Figure 5 networks, in order.
PUBLISHED_RHOS = ("1/2", "2/3", "4/3", "2")
NOISE_COLUMNS = ("heterogeneous", "homogeneous")  # even, odd columns
FIG23_ARRAYS = {
    "accs_arr": "test_accuracy_sampled",  # percent in the file, a fraction here
    "sig_arr": "sigma_rms",
    "rel_arr": "reliability_cost_s1",
    "loss_arr": "test_loss",
}
FIG23_SHAPE = (len(PUBLISHED_RHOS), 60)
LAYER_SHAPES = {1: (100, 784), 2: (100, 100), 3: (10, 100)}
INPUT_SHAPES = {1: (784,), 2: (20, 100), 3: (20, 100)}
# The quantities of Figure 5 the arrays allow, as curvature.csv names them.
FIG5_QUANTITIES = ("hessian", "learning_rate_abs", "input_rate")


class PublishedDataError(ValueError):
    """A published array that is missing, unreadable or not of the expected shape."""


def load_array(path: str | Path, shape: tuple[int, ...]) -> np.ndarray:
    """One published array, its shape and values checked; errors name the file."""
    path = Path(path)
    if not path.is_file():
        raise PublishedDataError(f"{path}: published array not found")
    try:
        array = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError) as err:
        raise PublishedDataError(f"{path}: not a readable .npy array ({err})") from err
    if array.shape != tuple(shape):
        raise PublishedDataError(
            f"{path}: expected an array of shape {tuple(shape)}, found {array.shape}"
        )
    if not np.issubdtype(array.dtype, np.floating):
        raise PublishedDataError(f"{path}: expected floating-point values, found {array.dtype}")
    if not np.all(np.isfinite(array)):
        raise PublishedDataError(f"{path}: {int((~np.isfinite(array)).sum())} values not finite")
    return array.astype(float)


def c_grid(log10_c: dict) -> np.ndarray:
    """log10 c of the published columns: ``start + step * j`` for j = 0 .. count - 1."""
    return float(log10_c["start"]) + float(log10_c["step"]) * np.arange(int(log10_c["count"]))


def compared_fig23_table(inputs, log10_c: dict) -> pd.DataFrame | None:
    """``fig23_table`` of the published directory among a rule's ``inputs`` (a path or a
    list holding at most one), or None where the rule has none (``published.compare``
    off): what Figures 2 and 3 draw beside ours."""
    paths = [inputs] if isinstance(inputs, (str, Path)) else list(inputs)
    return fig23_table(paths[0], log10_c) if paths else None


def fig23_table(directory: str | Path, log10_c: dict) -> pd.DataFrame:
    """The Figure 2/3 arrays as one long table: one row per (ρ, noise, c), accuracy as a
    fraction (the file holds percent). ``log10_c``: config's ``published.log10_c``."""
    directory = Path(directory) / "data-fig2and3"
    grid = c_grid(log10_c)
    if 2 * len(grid) != FIG23_SHAPE[1]:
        raise PublishedDataError(
            f"published.log10_c has {len(grid)} values, but the Figure 2/3 arrays hold "
            f"{FIG23_SHAPE[1] // 2} values of c (one heterogeneous and one homogeneous column each)"
        )
    arrays = {
        column: load_array(directory / f"{name}.npy", FIG23_SHAPE)
        for name, column in FIG23_ARRAYS.items()
    }
    arrays["test_accuracy_sampled"] = arrays["test_accuracy_sampled"] / 100.0
    rows = []
    for i, rho in enumerate(PUBLISHED_RHOS):
        for offset, noise in enumerate(NOISE_COLUMNS):
            for j, lc in enumerate(grid):
                row = {"rho": rho, "rho_value": rho_value(rho), "noise": noise}
                row |= {"log10_c": float(lc), "c": float(10.0**lc)}
                row |= {column: a[i, 2 * j + offset] for column, a in arrays.items()}
                rows.append(row)
    return pd.DataFrame(rows)


def fig5_index(rho: str, layer: int) -> int:
    """k of ``{hessian,var,lr}_list_{k}.npy``: 3 p + layer − 1, p the index of ρ."""
    return 3 * PUBLISHED_RHOS.index(rho) + layer - 1


def fig5_layer(directory: str | Path, rho: str, layer: int) -> dict[str, np.ndarray]:
    """Per-synapse arrays of one layer of the published Figure 5 network of ``rho``, named
    as ``synapses.tables.layer_quantities`` names ours (flat, one value per synapse),
    plus ``unit_output``: the mean output of each presynaptic unit (hidden layers only)."""
    directory = Path(directory) / "data-fig5"
    k = fig5_index(rho, layer)
    shape = LAYER_SHAPES[layer]
    sigma_squared = load_array(directory / f"var_list_{k}.npy", shape)
    hessian = load_array(directory / f"hessian_list_{k}.npy", shape)
    abs_gradient = load_array(directory / f"lr_list_{k}.npy", shape)
    x = load_array(directory / f"x_{k}.npy", INPUT_SHAPES[layer])
    # Input rate of a presynaptic unit: layer 1 the pixel's summed |x|, layers 2 and 3 the
    # unit's output averaged over the minibatch positions (ranks are all that matter).
    rate = np.abs(x) if layer == 1 else x.mean(axis=0)
    with np.errstate(divide="ignore"):
        learning_rate_abs = np.where(abs_gradient > 0, 1.0 / abs_gradient, np.inf)
    out = {
        "sigma_squared": sigma_squared.ravel(),
        "hessian": hessian.ravel(),
        "learning_rate_abs": learning_rate_abs.ravel(),
        "input_rate": np.broadcast_to(rate, shape).ravel(),
    }
    if layer > 1:
        out["unit_output"] = rate
    return out


def fig5_table(directory: str | Path) -> pd.DataFrame:
    """Spearman r and log-log slope of σ² against each Figure 5 quantity, per ρ and layer,
    of the published networks, by ``statistics.loglog_fit`` as curvature.csv has ours."""
    rows = []
    for rho in PUBLISHED_RHOS:
        for layer in LAYER_SHAPES:
            q = fig5_layer(directory, rho, layer)
            for quantity in FIG5_QUANTITIES:
                fit = loglog_fit(q[quantity], q["sigma_squared"])
                rows.append(
                    {
                        "rho": rho,
                        "rho_value": rho_value(rho),
                        "layer": layer,
                        "quantity": quantity,
                        **fit,
                        "linear_model_slope": linear_model_slope(quantity, rho_value(rho)),
                    }
                )
    return pd.DataFrame(rows)


def fig5_unit_summary(directory: str | Path) -> pd.DataFrame:
    """Per ρ and layer of the published Figure 5 networks: the largest and median σ² of its
    synapses and, for the hidden units feeding it, the smallest mean output and how many
    have none (silent units): what the drift measurements compare (docs/drift.md)."""
    rows = []
    for rho in PUBLISHED_RHOS:
        for layer in LAYER_SHAPES:
            q = fig5_layer(directory, rho, layer)
            summary = layer_unit_summary(q["sigma_squared"], q.get("unit_output"))
            rows.append({"rho": rho, "layer": layer} | summary)
    return pd.DataFrame(rows)
