"""Silent units and where σ grows: what a network looks like while it drifts.

At large c our networks do not settle: accuracy keeps falling and RMS σ keeps rising
to the last epoch. The hypothesis measured here: a hidden unit that never fires on the
training set at w = μ (*silent*) passes no gradient, so a synapse into or out of it has
no performance gradient (H = 0) and only the reliability cost acts on its σ, which then
grows by about one learning rate per Adam step; these σ inflate RMS σ, and once a silent
unit's incoming σ are large it fires at random under sampled weights and injects noise
downstream.

Definitions (``drift_metrics``):

* a unit is *active* on an example when its output passes a gradient: positive before
  its ReLU; a unit with no ReLU after it (the first layer of the released code) is
  active on every example, never silent;
* *silent units* of hidden layer l: active on no example of the training set at w = μ;
* *active fraction with sampled weights*: the fraction of a sampled pass's examples
  (every minibatch a fresh draw of all weights, as in training) at which a unit is
  active; its mean over the layer's units and over its silent units;
* a weight *touches a silent unit* if its postsynaptic unit (a hidden unit) or its
  presynaptic unit (a hidden unit of the layer before) is silent; *live* weights are the
  others. RMS σ over each set (σ with which the weights are sampled, weights only, as
  ``sigma_rms``), and their counts: n_live σ²_live + n_silent σ²_silent = n σ²_rms.
"""

from __future__ import annotations

import math

import torch

from .model import StochasticMLP

NAN = float("nan")


def silent_units(active_counts: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per hidden layer, (K, units) bool: active on no example of the pass."""
    return [counts == 0 for counts in active_counts]


def silent_touching_masks(model: StochasticMLP, silent: list[torch.Tensor]) -> list[torch.Tensor]:
    """Per layer, (K, out, in) bool: the weights whose post- or presynaptic unit is silent."""
    masks = []
    n_layers = model.n_layers
    for layer, mu in enumerate(model.mu_w):
        k, n_out, n_in = mu.shape
        mask = torch.zeros(k, n_out, n_in, dtype=torch.bool)
        if layer < n_layers - 1:  # postsynaptic unit is hidden unit of this layer
            mask |= silent[layer].cpu()[:, :, None]
        if layer > 0:  # presynaptic unit is a hidden unit of the layer before
            mask |= silent[layer - 1].cpu()[:, None, :]
        masks.append(mask)
    return masks


def sigma_split(model: StochasticMLP, silent: list[torch.Tensor]) -> dict[str, list[float]]:
    """RMS σ of the live weights and of those touching a silent unit, and their counts.

    σ is the σ each weight is sampled with (``model.sigmas()``), as in ``sigma_rms``; an
    empty set has RMS NaN.
    """
    masks = silent_touching_masks(model, silent)
    with torch.no_grad():
        sigmas = [sw.detach().double().cpu() for sw, _ in model.sigmas()]
    k = model.n_networks
    sq_live = torch.zeros(k, dtype=torch.float64)
    sq_silent = torch.zeros(k, dtype=torch.float64)
    n_live = torch.zeros(k, dtype=torch.long)
    n_silent = torch.zeros(k, dtype=torch.long)
    for sw, mask in zip(sigmas, masks, strict=True):
        sq = (sw * sw).flatten(1)
        m = mask.flatten(1)
        sq_silent += torch.where(m, sq, 0.0).sum(1)
        sq_live += torch.where(m, 0.0, sq).sum(1)
        n_silent += m.sum(1)
        n_live += (~m).sum(1)

    def rms(total, count):
        pairs = zip(total.tolist(), count.tolist(), strict=True)
        return [math.sqrt(t / n) if n else NAN for t, n in pairs]

    return {
        "sigma_rms_live": rms(sq_live, n_live),
        "sigma_rms_silent_touching": rms(sq_silent, n_silent),
        "n_weights_live": [float(n) for n in n_live.tolist()],
        "n_weights_silent_touching": [float(n) for n in n_silent.tolist()],
    }


def drift_metrics(
    model: StochasticMLP,
    at_mean: dict,
    sampled: dict | None = None,
) -> dict[str, list[float]]:
    """Silent units, active fractions and the live / silent-touching split of RMS σ.

    ``at_mean``: ``engine.evaluate(..., sample=False, unit_activity=True)`` over the
    training set (which units are silent); ``sampled``: the same with ``sample=True``
    (a test pass with sampled weights), for the active fractions, or None. Returns
    {name: one value per network}; layers are numbered from 1 (hidden layer 1 is the
    output of weight layer 1).
    """
    silent = silent_units(at_mean["active_counts"])
    values: dict[str, list[float]] = {}
    for layer, mask in enumerate(silent, start=1):
        values[f"silent_units_layer{layer}"] = [float(n) for n in mask.sum(1).tolist()]
    if sampled is not None:
        for layer, (counts, mask) in enumerate(
            zip(sampled["active_counts"], silent, strict=True), start=1
        ):
            fraction = counts.double() / sampled["n_examples"]
            values[f"active_fraction_sampled_layer{layer}"] = fraction.mean(1).tolist()
            n_silent = mask.sum(1)
            on_silent = torch.where(mask, fraction, 0.0).sum(1)
            pairs = zip(on_silent.tolist(), n_silent.tolist(), strict=True)
            values[f"silent_active_fraction_sampled_layer{layer}"] = [
                s / n if n else NAN for s, n in pairs
            ]
    values.update(sigma_split(model, silent))
    return values


def unit_activity_record(at_mean: dict, sampled: dict | None, index: int) -> dict:
    """metrics.json's per-unit record of network ``index``: per hidden layer, which units
    are silent at w = μ on the training set and each unit's active fraction with sampled
    weights (test set)."""
    record = {}
    for layer, counts in enumerate(at_mean["active_counts"], start=1):
        entry = {
            "silent_at_mean": [bool(v) for v in (counts[index] == 0).tolist()],
            "active_fraction_at_mean": (counts[index].double() / at_mean["n_examples"]).tolist(),
        }
        if sampled is not None:
            fraction = sampled["active_counts"][layer - 1][index].double() / sampled["n_examples"]
            entry["active_fraction_sampled"] = fraction.tolist()
        record[f"layer{layer}"] = entry
    return record
