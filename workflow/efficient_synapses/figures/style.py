"""One style for every figure of the workflow."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

# The paper's colours: green for optimised heterogeneous noise, grey for homogeneous.
NOISE_COLOURS = {"heterogeneous": "#2e8b57", "homogeneous": "#808080"}
NOISE_LABELS = {"heterogeneous": "heterogeneous σ", "homogeneous": "homogeneous σ"}
RHO_MECHANISM = {
    "1/2": "calcium efflux",
    "2/3": "vesicle membrane",
    "4/3": "actin",
    "2": "trafficking",
}

STYLE = {
    "font.size": 8,
    "axes.titlesize": 8,
    "axes.labelsize": 8,
    "legend.fontsize": 7,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "savefig.dpi": 200,
    "pdf.fonttype": 42,
}


def apply_style() -> None:
    plt.rcParams.update(STYLE)


def rho_title(rho: str) -> str:
    mechanism = RHO_MECHANISM.get(rho)
    return f"ρ = {rho}" + (f" ({mechanism})" if mechanism else "")


def save_figure(fig, pdf: str | Path, png: str | Path) -> None:
    """Write the figure as PDF and PNG, then close it."""
    for path in (pdf, png):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
