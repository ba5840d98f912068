"""Figure 5 beside the same panels drawn from the authors' published arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from ..artefacts import read_npz
from ..data.published import PUBLISHED_RHOS, fig5_layer, fig5_table
from ..synapses.tables import layer_quantities
from .style import apply_style, plt, rho_title, save_figure, space_between_panels, tidy_log_axes
from .synapses import LAYER_NAMES, XLABELS, _pattern_panel

QUANTITIES = ("hessian", "learning_rate_abs", "input_rate")


def plot_fig5_published(
    table: pd.DataFrame,
    networks: Sequence[Mapping],
    published_dir,
    layer: int,
    gradient: str,
    scatter_points: int,
    scatter_seed: int,
    pdf,
    png,
) -> None:
    """Rows: for each quantity (Hessian, learning rate η_base/<|g|>, input rate), our
    network (first seed, c = s^ρ/ρ) above the published one; columns: ρ. Each pair of
    panels shares its σ² axis; each panel's title holds the same statistics, Spearman r
    and log-log slope from ``statistics.loglog_fit`` (ours: mean ± sd over seeds from
    curvature.csv; published: its one network). The x axes keep their own units (the
    published arrays are sums over the statistics epochs, ours means), which leave ranks
    and slopes unchanged."""
    apply_style()
    table = table.copy()
    table["rho"] = table["rho"].astype(str)
    ours_by_rho = {str(n["rho"]): n for n in networks if float(n["c_factor"]) == 1.0}
    rhos = [r for r in PUBLISHED_RHOS if r in ours_by_rho]
    theirs_fits = fig5_table(published_dir)
    theirs_fits["seed"] = 0
    fig, axes = plt.subplots(
        2 * len(QUANTITIES),
        len(rhos),
        figsize=(3.0 * len(rhos) + 0.6, 2.4 * 2 * len(QUANTITIES) + 0.4),
        squeeze=False,
        layout="constrained",
    )
    space_between_panels(fig)
    for j, rho in enumerate(rhos):
        network = ours_by_rho[rho]
        ours = layer_quantities(read_npz(network["path"]), layer, gradient)
        theirs = fig5_layer(published_dir, rho, layer)
        for i, quantity in enumerate(QUANTITIES):
            grad = "none" if quantity == "input_rate" else gradient
            rows = table[
                (table["layer"] == layer)
                & (table["rho"] == rho)
                & np.isclose(table["c_factor"], 1.0)
                & (table["quantity"] == quantity)
                & (table["gradient"] == grad)
            ]
            fits = theirs_fits[
                (theirs_fits["rho"] == rho)
                & (theirs_fits["layer"] == layer)
                & (theirs_fits["quantity"] == quantity)
            ]
            ax_ours, ax_theirs = axes[2 * i, j], axes[2 * i + 1, j]
            text = _pattern_panel(
                ax_ours,
                ours[quantity],
                ours["sigma_squared"],
                rows,
                int(network["seed"]),
                quantity,
                scatter_points,
                scatter_seed,
            )
            head = f"{rho_title(rho)}\n" if i == 0 else ""
            ax_ours.set_title(f"{head}ours: {text}", fontsize=6.5)
            text = _pattern_panel(
                ax_theirs,
                theirs[quantity],
                theirs["sigma_squared"],
                fits,
                0,
                quantity,
                scatter_points,
                scatter_seed,
            )
            text = text.replace(" (1 seed)", "")
            ax_theirs.set_title(f"published: {text}", fontsize=6.5)
            ax_theirs.set_xlabel(XLABELS[quantity])
            low = min(ax_ours.get_ylim()[0], ax_theirs.get_ylim()[0])
            high = max(ax_ours.get_ylim()[1], ax_theirs.get_ylim()[1])
            for ax in (ax_ours, ax_theirs):
                ax.set_ylim(low, high)
                tidy_log_axes(ax, plain="short")  # ticks for the shared range
            if j == 0:
                ax_ours.set_ylabel("σ² (ours)")
                ax_theirs.set_ylabel("σ² (published arrays;\nx in their own units)")
    fig.suptitle(
        f"Figure 5, layer {layer} ({LAYER_NAMES.get(layer, '')}), "
        r"$c = s^\rho/\rho$, $s = 0.001$: "
        "our network (upper of each pair) and the authors' published arrays (lower)",
        size=8,
    )
    save_figure(fig, pdf, png)
