"""A network's params.pt (and posterior.pt): written from a ``StochasticMLP`` of a group,
read back into one (the file format itself: ``artefacts``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch

from ..artefacts import ArtefactError, params_variant, save_torch
from .model import StochasticMLP, inverse_softplus


def network_params(model: StochasticMLP, index: int) -> dict:
    """μ and σ of network ``index`` of a group, as plain CPU tensors (the params.pt dict)."""
    with torch.no_grad():
        sigmas = model.sigmas()
        return {
            "layer_sizes": list(model.layer_sizes),
            "noise": model.noise[index],
            "variant": model.variant,
            "relu_placement": model.relu_placement,
            "homogeneous_form": model.homogeneous_form,
            "mu_weight": [w[index].cpu().clone() for w in model.mu_w],
            "mu_bias": [b[index].cpu().clone() for b in model.mu_b],
            "sigma_weight": [sw[index].cpu().clone() for sw, _ in sigmas],
            "sigma_bias": [sb[index].cpu().clone() for _, sb in sigmas],
        }


def save_params(model: StochasticMLP, index: int, path: str | Path) -> Path:
    """params.pt (or posterior.pt) of network ``index``: μ and σ of every layer."""
    return save_torch(network_params(model, index), path)


def set_means(model: StochasticMLP, index: int, params: Mapping) -> None:
    """Copy μ (weights and biases) of a params.pt into network ``index`` of ``model``."""
    if list(params["layer_sizes"]) != list(model.layer_sizes):
        source = getattr(params, "source", "parameters")
        raise ArtefactError(
            f"{source}: layer sizes {list(params['layer_sizes'])} differ from the model's "
            f"{list(model.layer_sizes)}"
        )
    with torch.no_grad():
        for layer in range(model.n_layers):
            model.mu_w[layer][index].copy_(params["mu_weight"][layer])
            model.mu_b[layer][index].copy_(params["mu_bias"][layer])


def network_from_params(params: Mapping, seed: int = 0, device="cpu", dtype=None):
    """A one-network StochasticMLP with the μ and σ of a params.pt (φ = softplus⁻¹(σ))."""
    noise = params["noise"]
    model = StochasticMLP(
        params["layer_sizes"],
        [noise],
        [seed],
        dtype=torch.float32 if dtype is None else dtype,
        device=device,
        variant=params_variant(params),
        # Files written before the parts could be switched alone follow their variant.
        relu_placement=params.get("relu_placement"),
        homogeneous_form=params.get("homogeneous_form"),
    )
    set_means(model, 0, params)
    with torch.no_grad():
        for layer in range(model.n_layers):
            model.phi_w[layer][0].copy_(inverse_softplus(params["sigma_weight"][layer]))
            model.phi_b[layer][0].copy_(inverse_softplus(params["sigma_bias"][layer]))
        if noise == "homogeneous":  # one σ shared by every synapse
            shared = params["sigma_weight"][0].reshape(-1)[:1]
            model.phi_shared.copy_(inverse_softplus(shared))
    return model
