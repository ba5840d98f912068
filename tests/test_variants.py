"""The released-code variant, the per-epoch history and the paper-settings slice config."""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import yaml

from efficient_synapses.config import (
    ConfigError,
    check_config,
    sweep_networks,
    training_groups,
    training_networks,
)
from efficient_synapses.training.model import StochasticMLP, inverse_softplus
from efficient_synapses.training.objectives import EnergyEfficientObjective

SIZES = [5, 4, 3, 2]


def _model(noise, variant, sigma=0.3, dtype=torch.float64):
    return StochasticMLP(
        SIZES, [noise], [0], sigma_init=sigma, dtype=dtype, variant=variant, mu_init_range=0.5
    )


def _set_layer_sigmas(model, values):
    """Every weight and threshold of layer l gets σ = values[l] (all networks)."""
    with torch.no_grad():
        for (pw, pb), v in zip(zip(model.phi_w, model.phi_b, strict=True), values, strict=True):
            pw.fill_(inverse_softplus(v))
            pb.fill_(inverse_softplus(v))


def _manual_forward(model, x, relu_after):
    h = x
    for layer, (w, b) in enumerate(model.means()):
        h = h @ w[0].T + b[0]
        if relu_after[layer]:
            h = F.relu(h)
    return h


@pytest.mark.parametrize(
    ("variant", "relu_after"),
    [("methods", [True, True, False]), ("released_code", [False, True, True])],
)
def test_layer_order_of_each_variant(variant, relu_after):
    model = _model("heterogeneous", variant)
    x = torch.randn(7, SIZES[0], generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    ours = model(x)[0]
    assert torch.allclose(ours, _manual_forward(model, x, relu_after), atol=1e-12)
    # and not the other variant's order (the two differ on this input)
    other = [not r if i != 1 else r for i, r in enumerate(relu_after)]
    assert not torch.allclose(ours, _manual_forward(model, x, other), atol=1e-6)


def test_released_code_logits_pass_through_a_relu():
    model = _model("heterogeneous", "released_code")
    logits = model(torch.randn(50, SIZES[0], dtype=torch.float64))
    assert (logits >= 0).all() and (logits == 0).any()


def test_released_code_homogeneous_samples_with_rms_of_own_sigmas():
    model = _model("homogeneous", "released_code")
    _set_layer_sigmas(model, [0.1, 0.2, 0.4])
    # N = 5*4+4 + 4*3+3 + 3*2+2 = 24 + 15 + 8 = 47 weights and thresholds
    expected = math.sqrt((24 * 0.01 + 15 * 0.04 + 8 * 0.16) / 47)
    assert model.n_synapses == 47
    for sw, sb in model.sigmas():
        assert torch.allclose(sw, torch.full_like(sw, expected), rtol=1e-9)
        assert torch.allclose(sb, torch.full_like(sb, expected), rtol=1e-9)
    # the Methods variant samples with its own shared parameter instead
    methods = _model("homogeneous", "methods", sigma=0.3)
    _set_layer_sigmas(methods, [0.1, 0.2, 0.4])
    assert torch.allclose(methods.sigmas()[0][0], torch.full((1, 4, 5), 0.3, dtype=torch.float64))


def _reliability(model, c, rho):
    objective = EnergyEfficientObjective(
        [c], [rho], 0.0, n_train=100, batch_size=10, dtype=torch.float64
    )
    return objective.regularisers(model, model.sigma_parts())["reliability"].item()


def test_released_code_homogeneous_pays_own_and_shared_cost():
    c, rho = 0.7, 2.0
    model = _model("homogeneous", "released_code")
    _set_layer_sigmas(model, [0.1, 0.2, 0.4])
    rms = math.sqrt((24 * 0.01 + 15 * 0.04 + 8 * 0.16) / 47)
    own = 24 * 0.1**-rho + 15 * 0.2**-rho + 8 * 0.4**-rho
    assert _reliability(model, c, rho) == pytest.approx(c * own + 47 * c * rms**-rho, rel=1e-12)
    # all σ_i equal: the released code's homogeneous network pays 2c
    _set_layer_sigmas(model, [0.3, 0.3, 0.3])
    assert _reliability(model, c, rho) == pytest.approx(2 * 47 * c * 0.3**-rho, rel=1e-9)
    methods = _model("homogeneous", "methods", sigma=0.3)
    assert _reliability(methods, c, rho) == pytest.approx(47 * c * 0.3**-rho, rel=1e-9)


def test_released_code_heterogeneous_cost_is_the_methods_cost():
    c, rho = 0.7, 0.5
    released = _model("heterogeneous", "released_code")
    methods = _model("heterogeneous", "methods")
    for model in (released, methods):
        _set_layer_sigmas(model, [0.1, 0.2, 0.4])
    expected = c * (24 * 0.1**-rho + 15 * 0.2**-rho + 8 * 0.4**-rho)
    assert _reliability(released, c, rho) == pytest.approx(expected, rel=1e-12)
    assert _reliability(methods, c, rho) == pytest.approx(expected, rel=1e-12)


def test_released_code_homogeneous_shared_sigma_gets_gradient_from_every_own_sigma():
    model = _model("homogeneous", "released_code")
    x = torch.randn(6, SIZES[0], dtype=torch.float64)
    weights = model.sample_weights(torch.Generator().manual_seed(0))
    model(x, weights).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.phi_w)
    assert model.phi_shared.grad is None  # unused in this variant


@pytest.mark.parametrize(
    ("relu_placement", "homogeneous_form"),
    [("released_code", "methods"), ("methods", "released_code")],
)
def test_each_part_of_the_variant_switches_alone(tmp_path, relu_placement, homogeneous_form):
    """One factor at a time: the ReLU placement and the homogeneous form are independent,
    and a saved network rebuilds with the same parts."""
    from efficient_synapses.artefacts import load_params
    from efficient_synapses.training.params import network_from_params, save_params

    mixed = StochasticMLP(
        SIZES,
        ["homogeneous"],
        [0],
        sigma_init=0.3,
        dtype=torch.float64,
        mu_init_range=0.5,
        relu_placement=relu_placement,
        homogeneous_form=homogeneous_form,
    )
    layers = {"methods": [True, True, False], "released_code": [False, True, True]}
    assert [mixed.relu_after(i, 3) for i in range(3)] == layers[relu_placement]
    _set_layer_sigmas(mixed, [0.1, 0.2, 0.4])
    # Released form: sampled with the RMS of the own σ_i; Methods' form: the shared σ (0.3).
    rms = math.sqrt((24 * 0.01 + 15 * 0.04 + 8 * 0.16) / 47)
    expected = rms if homogeneous_form == "released_code" else 0.3
    assert mixed.sigmas()[1][0].flatten()[0].item() == pytest.approx(expected, rel=1e-9)
    loaded = network_from_params(load_params(save_params(mixed, 0, tmp_path / "p.pt")))
    assert (loaded.relu_placement, loaded.homogeneous_form) == (relu_placement, homogeneous_form)
    assert loaded.variant == "methods"


def test_unknown_variant_part_is_named():
    with pytest.raises(ValueError, match="relu_placement"):
        StochasticMLP(SIZES, ["heterogeneous"], [0], relu_placement="none")


def test_unknown_variant_is_named():
    with pytest.raises(ValueError, match="released"):
        StochasticMLP(SIZES, ["heterogeneous"], [0], variant="released")


@pytest.fixture
def config(project_root):
    return yaml.safe_load((project_root / "config.yaml").read_text())


def _overlay(config, *files):
    merged = copy.deepcopy(config)
    for path in files:
        for section, values in yaml.safe_load(path.read_text()).items():
            if isinstance(values, dict) and isinstance(merged.get(section), dict):
                merged[section] = {**merged[section], **values}
            else:
                merged[section] = values
    return merged


def test_released_code_overlay_sets_learning_rate_lambda_and_variant(project_root, config):
    from efficient_synapses.config import resolve_training
    from efficient_synapses.training.jobs import train_options

    overlay = project_root / "profiles" / "released-code" / "overrides.yaml"
    merged = _overlay(config, overlay)
    training = resolve_training(merged["training"])
    assert training["variant"] == "released_code"
    assert training["learning_rate"] == 1e-4 and training["magnitude_lambda"] == 0.01
    assert train_options(training, 0).learning_rate == 1e-4
    assert config["training"]["variant"] == "as_published"  # the default: as published
    # λ = 0.01 enters the magnitude cost as 0.01 Σ|μ| (per dataset; B/N applied outside)
    model = _model("heterogeneous", "released_code")
    objective = EnergyEfficientObjective(
        [1.0], [2.0], training["magnitude_lambda"], 100, 10, dtype=torch.float64
    )
    total = sum(t.abs().sum().item() for pair in model.means() for t in pair)
    magnitude = objective.regularisers(model, model.sigma_parts())["magnitude"].item()
    assert magnitude == pytest.approx(0.01 * total, rel=1e-12)


def test_paper_slice_profile_is_paper_settings_for_eight_networks(project_root, config, schema):
    from snakemake.utils import validate

    slice_overrides = project_root / "profiles" / "experiments" / "paper-slice" / "overrides.yaml"
    for files in (
        [slice_overrides],
        [slice_overrides, project_root / "profiles/released-code/overrides.yaml"],
    ):
        merged = _overlay(config, *files)
        validate(merged, schema)
        check_config(merged)
        training = merged["training"]
        assert (training["epochs"], training["batch_size"]) == (50, 20)
        assert training["train_subset"] is None and training["dtype"] == "float32"
        networks = training_networks(merged)
        assert networks == sweep_networks(merged) and len(networks) == 8
        assert len(training_groups(merged)) == 1


@pytest.fixture
def schema(project_root):
    return str(project_root / "workflow" / "schemas" / "config.schema.yaml")


@pytest.mark.parametrize(
    ("variant", "learning_rate", "magnitude_lambda", "form"),
    [
        ("as_published", 1e-4, 1e-4, "methods"),
        ("methods", 5e-4, 1e-4, "methods"),
        ("released_code", 1e-4, 0.01, "released_code"),
    ],
)
def test_each_variant_resolves_its_learning_rate_lambda_and_model(
    config, variant, learning_rate, magnitude_lambda, form
):
    from efficient_synapses.config import model_variant, resolve_config, resolve_training
    from efficient_synapses.training.jobs import build_model

    training = dict(config["training"], variant=variant)
    resolved = resolve_training(training)
    assert resolved["learning_rate"] == learning_rate
    assert resolved["magnitude_lambda"] == magnitude_lambda
    assert model_variant(resolved) == form
    assert resolve_training(resolved) == resolved  # idempotent
    assert training["learning_rate"] is None  # the input is left as it was
    model = build_model(
        dict(resolved, layer_sizes=[784, 3, 10]), ["homogeneous"], [0], "cpu", torch.float32
    )
    assert model.variant == form
    # the workflow resolves config.yaml once, in place
    whole = resolve_config(copy.deepcopy(config) | {"training": training})
    assert whole["training"]["learning_rate"] == learning_rate


def test_an_explicit_learning_rate_is_kept_and_named(config):
    from efficient_synapses.config import resolve_training
    from efficient_synapses.reproduction.table import variant_label

    assert variant_label(config["training"]) == "as_published"
    assert variant_label(dict(config["training"], variant="methods")) == "methods"
    quick = dict(config["training"], learning_rate=1e-3)
    assert resolve_training(quick)["learning_rate"] == 1e-3
    assert variant_label(quick) == "as_published (learning_rate 0.001)"
    # the Methods' own learning rate given explicitly is the methods variant's
    as_methods = dict(config["training"], variant="methods", learning_rate=5e-4)
    assert variant_label(as_methods) == "methods"


def test_unknown_training_variant_is_named(config):
    from efficient_synapses.config import resolve_training

    config = copy.deepcopy(config)
    config["training"]["variant"] = "as_printed"
    with pytest.raises(ConfigError, match="as_printed"):
        check_config(config)
    with pytest.raises(ConfigError, match="as_printed"):
        resolve_training(config["training"])


def test_explicit_network_slices_replace_the_cross_product(config):
    config = copy.deepcopy(config)
    config["sweep"]["networks"] = [
        {"rho": "2/3", "noise": "heterogeneous", "log10_c": [0.5, 1.0], "seeds": [0]},
        {"rho": "2/3", "noise": "homogeneous", "log10_c": [0.0], "seeds": [1, 2]},
    ]
    assert [(n["noise"], n["rho"], n["c"], n["seed"]) for n in sweep_networks(config)] == [
        ("heterogeneous", "2_3", "3.16228", "0"),
        ("heterogeneous", "2_3", "10", "0"),
        ("homogeneous", "2_3", "1", "1"),
        ("homogeneous", "2_3", "1", "2"),
    ]
    config["sweep"]["rho"] = ["1/2"]
    with pytest.raises(ConfigError, match=r"sweep.networks\[0\].*2/3"):
        check_config(config)


def test_log10_c_by_rho_replaces_the_grid(config):
    config = copy.deepcopy(config)
    config["sweep"].update(
        rho=["1/2", "2"],
        seeds=[0],
        noise=["heterogeneous"],
        log10_c_by_rho={"1/2": [1.5], "2": [-1.0, 0.0]},
    )
    assert [(n["rho"], n["c"]) for n in sweep_networks(config)] == [
        ("1_2", "31.6228"),
        ("2", "0.1"),
        ("2", "1"),
    ]
    config["sweep"]["log10_c_by_rho"] = {"4/3": [0.0]}
    with pytest.raises(ConfigError, match="4/3"):
        check_config(config)


def test_targets_select_outputs_and_the_networks_they_need(config):
    config = copy.deepcopy(config)
    everything = len(training_networks(config))
    config["targets"] = ["fig2"]
    assert training_networks(config) == sweep_networks(config) != []
    assert len(training_networks(config)) < everything
    config["targets"] = ["fig5"]
    assert sweep_networks(config) == [] and len(training_networks(config)) > 0
    config["targets"] = ["fig9"]
    with pytest.raises(ConfigError, match="fig9"):
        check_config(config)


def _train(mnist_raw, tmp_path, every, name, specs=None):
    from efficient_synapses.training.jobs import NetworkSpec, run_training

    training = {
        "layer_sizes": [784, 20, 10],
        "epochs": 3,
        "batch_size": 20,
        "learning_rate": 1e-3,
        "sigma_learning_rate": 3e-2,
        "magnitude_lambda": 1e-4,
        "mu_init_range": 0.1,
        "sigma_init": 3e-2,
        "dtype": "float32",
        "device": "cpu",
        "train_subset": 200,
        "test_subset": 100,
        "eval_batch_size": 50,
        "cuda_graph": False,
        "history_test_every": every,
    }
    specs = specs or [NetworkSpec("heterogeneous", "2", 0.1, 0)]
    out = [tmp_path / f"{name}{i}" for i in range(len(specs))]
    return run_training(specs, training, mnist_raw, out, log=lambda s: None)


def test_history_has_sigma_every_epoch_and_accuracy_every_few(mnist_raw, tmp_path):
    with_history = _train(mnist_raw, tmp_path, 2, "a")[0]
    rows = with_history["history"]["epoch_metrics"]
    tested = sorted(
        [
            "sigma_rms",
            "test_accuracy_mean_weights",
            "test_accuracy_sampled",
            # the drift measurements of the one hidden layer (efficient_synapses.training.drift)
            "silent_units_layer1",
            "active_fraction_sampled_layer1",
            "silent_active_fraction_sampled_layer1",
            "sigma_rms_live",
            "sigma_rms_silent_touching",
            "n_weights_live",
            "n_weights_silent_touching",
        ]
    )
    assert [sorted(r) for r in rows] == [["sigma_rms"], tested, tested]  # 2 and the last
    # at the end, metrics.json holds the same measurements and a per-unit record
    assert with_history["silent_units_layer1"] == rows[-1]["silent_units_layer1"]
    units = with_history["unit_activity"]["layer1"]
    assert len(units["silent_at_mean"]) == len(units["active_fraction_sampled"]) == 20
    assert sum(units["silent_at_mean"]) == with_history["silent_units_layer1"]
    assert rows[-1]["sigma_rms"] == pytest.approx(with_history["sigma_rms"], rel=1e-6)
    assert rows[-1]["test_accuracy_mean_weights"] == with_history["test_accuracy_mean_weights"]
    # metrics.json names the training variant (no key: the default) and the model's form
    assert with_history["variant"] == "as_published"
    assert with_history["model_variant"] == "methods"
    assert with_history["hyperparameters"]["variant"] == "as_published"
    # recording the history never touches the training noise stream
    without = _train(mnist_raw, tmp_path, 0, "b")[0]
    assert [sorted(r) for r in without["history"]["epoch_metrics"]] == [["sigma_rms"]] * 3
    assert without["history"]["loss"] == with_history["history"]["loss"]
    a = torch.load(tmp_path / "a0" / "params.pt")
    b = torch.load(tmp_path / "b0" / "params.pt")
    assert all(torch.equal(x, y) for x, y in zip(a["mu_weight"], b["mu_weight"], strict=True))
    saved = json.loads((tmp_path / "a0" / "metrics.json").read_text())
    assert saved["history"]["epoch_metrics"] == rows


# --- item 4: overall cost against the trivial network -------------------------------


def test_label_entropy_and_trivial_bound_by_hand():
    from efficient_synapses.training.chance_bound import label_entropy, trivial_cost_lower_bound

    assert label_entropy(list(range(10)) * 3) == pytest.approx(math.log(10), rel=1e-12)
    # p = (3/4, 1/4): H = -(3/4 ln 3/4 + 1/4 ln 1/4) = 0.562335...
    assert label_entropy([0, 0, 0, 1]) == pytest.approx(0.5623351446188083, rel=1e-12)
    assert trivial_cost_lower_bound([0, 0, 0, 1]) == pytest.approx(4 * 0.5623351446188083)
    with pytest.raises(ValueError, match="at least one"):
        label_entropy([])


def test_overall_cost_and_crossing_c_by_hand():
    from efficient_synapses.training.chance_bound import network_cost_summary, trivial_crossing_c

    # 3000 minibatches of 20: performance per dataset = 3000 x 4.0 = 12,000
    parts = {"performance": 4.0, "magnitude": 50.0, "reliability": 2000.0}
    summary = network_cost_summary(parts, 60000, 20, c=10.0, trivial=138000.0)
    assert summary["performance_cost"] == 12000.0
    assert summary["overall_cost"] == 14050.0
    assert summary["cost_minus_trivial"] == 14050.0 - 138000.0
    assert summary["above_chance_bound"] is False
    # R = 2000 / 10 = 200 per unit c: c_θ = (138000 - 12000 - 50) / 200 = 629.75
    assert summary["c_beats_trivial_below"] == pytest.approx(629.75)
    # at c = 1000 > c_θ the same state costs more than the trivial network
    high = network_cost_summary(
        {**parts, "reliability": 200.0 * 1000}, 60000, 20, c=1000.0, trivial=138000.0
    )
    assert high["above_chance_bound"] is True and high["c_beats_trivial_below"] == pytest.approx(
        629.75
    )
    # a network no better than chance: never cheaper, no crossing
    assert trivial_crossing_c(139000.0, 0.0, 5.0, 1.0, 138000.0) is None
    with pytest.raises(ValueError, match="c must be positive"):
        trivial_crossing_c(1.0, 0.0, 1.0, 0.0, 2.0)


# --- item 3/5: convergence rule and the slice table ------------------------------------


def test_convergence_epoch_rule():
    from efficient_synapses.reproduction.histories import convergence_epoch, equilibrium_window

    epochs = list(range(1, 11))
    # σ settles at epoch 6 (within 10 % of the final 1.0 from then on)
    sigma = [0.001, 0.01, 0.1, 0.5, 0.8, 0.95, 1.02, 0.97, 1.05, 1.0]
    assert convergence_epoch(epochs, sigma, 0.10, log_scale=True) == 6
    # still drifting: only the last value is "converged"
    drifting = [0.1 * 1.5**e for e in range(10)]
    assert convergence_epoch(epochs, drifting, 0.10, log_scale=True) == 10
    # accuracy that rose and then fell to chance converges only once it is at chance
    accuracy = [0.9, 0.95, 0.97, 0.9, 0.5, 0.2, 0.11, 0.1, 0.1, 0.1]
    assert convergence_epoch(epochs, accuracy, 0.02) == 7
    assert convergence_epoch([], [], 0.1) is None
    assert equilibrium_window(50) == 10 and equilibrium_window(3) == 5


def _metrics(sigma, accuracy, **extra):
    n = len(sigma)
    epoch_metrics = [
        {"sigma_rms": s, **({"test_accuracy_sampled": a} if a is not None else {})}
        for s, a in zip(sigma, accuracy, strict=True)
    ]
    return {
        "noise": "heterogeneous", "rho": "2", "rho_value": 2.0, "c": 1.0, "seed": 0,
        "test_accuracy_sampled": [a for a in accuracy if a is not None][-1],
        "test_accuracy_mean_weights": 0.5, "sigma_rms": sigma[-1], "wall_seconds": 60.0,
        "history": {"epoch": list(range(1, n + 1)), "loss": [1.0] * n,
                    "train_accuracy": [0.5] * n, "epoch_metrics": epoch_metrics},
        **extra,
    }  # fmt: skip


def test_slice_table_says_equilibrium_or_in_transit(tmp_path):
    from efficient_synapses.reproduction.histories import markdown_table, slice_table

    settled = _metrics([0.1] * 5 + [1.0] * 15, [None, None, None, None, 0.9] + [None] * 4
                       + [0.8] + [None] * 4 + [0.8] + [None] * 4 + [0.8])  # fmt: skip
    moving = _metrics([0.1 * 1.2**e for e in range(20)], [None] * 19 + [0.5],
                      c=10.0, variant="released_code",
                      cost_at_end={"overall_cost": 2.0, "chance_bound": 1.0,
                                   "c_beats_trivial_below": 3.0,
                                   "above_chance_bound": True})  # fmt: skip
    files = []
    for name, m in (("a", settled), ("b", moving)):
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(m))
        files.append(path)
    table = slice_table(files)
    by_variant = table.set_index("variant")
    assert by_variant.loc["methods", "state"] == "equilibrium"
    assert by_variant.loc["methods", "epochs_to_convergence"] == 10
    assert by_variant.loc["released_code", "state"] == "in transit"
    assert by_variant.loc["released_code", "epochs_to_convergence"] == 20
    text = markdown_table(table)
    assert "| released_code | 2 | 10 | heterogeneous |" in text and "in transit" in text


def test_fig2_marks_diverged_networks_and_the_trivial_bound(tmp_path):
    import pandas as pd

    from efficient_synapses.figures.tradeoff import plot_fig2, plot_fig3, trivial_bounds

    rows = []
    for noise in ("heterogeneous", "homogeneous"):
        for c, acc, crossing in ((0.1, 0.9, 5.0), (1.0, 0.5, 2.0)):
            rows.append({"noise": noise, "rho": "2", "rho_value": 2.0, "c": c, "seed": 0,
                         "test_accuracy_sampled": acc, "sigma_rms": 0.5 / acc,
                         "reliability_cost_s1": 1e4 * acc, "diverged": False,
                         "c_beats_trivial_below": crossing})  # fmt: skip
    rows.append({**rows[-1], "c": 10.0, "test_accuracy_sampled": float("nan"),
                 "diverged": True, "c_beats_trivial_below": 100.0})  # fmt: skip
    table = pd.DataFrame(rows)
    # the diverged network gives no bound; the others' largest c_θ does
    assert trivial_bounds(table) == {("heterogeneous", "2"): 5.0, ("homogeneous", "2"): 5.0}
    # a bound far outside the c drawn (a network barely above chance) is not marked: it
    # would stretch the axis over decades where nothing was trained
    far = table.assign(c_beats_trivial_below=np.where(table["noise"] == "homogeneous", 1e-27, 5.0))
    assert trivial_bounds(far) == {("heterogeneous", "2"): 5.0}
    import matplotlib.pyplot as plt

    from efficient_synapses.figures.tradeoff import _mark_diverged

    fig, ax = plt.subplots()
    drawn = _mark_diverged(ax, table[table["diverged"]], "c", "test_accuracy_sampled")
    assert drawn == 1 and "diverged: 1" in ax.texts[0].get_text()
    assert len(ax.lines) == 2  # nothing at a finite value, one cross on the panel's edge
    assert list(ax.lines[1].get_xdata()) == [10.0]
    plt.close(fig)
    plot_fig2(table, tmp_path / "f2.pdf", tmp_path / "f2.png")
    plot_fig3(table, tmp_path / "f3.pdf", tmp_path / "f3.png")
    assert (tmp_path / "f2.png").stat().st_size > 0 and (tmp_path / "f3.png").stat().st_size > 0


def test_statistics_passes_rebuild_the_variant_they_were_trained_in(tmp_path):
    from efficient_synapses.synapses.extract import load_network
    from efficient_synapses.training.params import save_params

    model = _model("homogeneous", "released_code", dtype=torch.float32)
    _set_layer_sigmas(model, [0.1, 0.2, 0.4])
    save_params(model, 0, tmp_path / "params.pt")
    loaded = load_network(tmp_path / "params.pt")
    assert loaded.variant == "released_code"
    x = torch.randn(9, SIZES[0])
    assert torch.allclose(loaded(x), model(x), atol=1e-6)
    for (a, _), (b, _) in zip(loaded.sigmas(), model.sigmas(), strict=True):
        assert torch.allclose(a, b, rtol=1e-5)


def test_cost_at_end_is_recomputed_for_older_metrics():
    from efficient_synapses.reproduction.histories import with_cost_at_end

    metrics = {
        "c": 10.0, "n_train": 60000, "hyperparameters": {"batch_size": 20},
        "history": {"parts": [{"performance": 9.0, "magnitude": 1.0, "reliability": 1.0},
                              {"performance": 4.0, "magnitude": 50.0, "reliability": 2000.0}]},
    }  # fmt: skip
    cost = with_cost_at_end(metrics, 138000.0)["cost_at_end"]
    # the last epoch only: 3000 x 4 + 50 + 2000, c_θ = (138000 - 12050) / 200
    assert cost["overall_cost"] == 14050.0
    assert cost["c_beats_trivial_below"] == pytest.approx(629.75)
    recorded = {**metrics, "cost_at_end": {"overall_cost": 1.0}}
    assert with_cost_at_end(recorded, 138000.0) is recorded  # never overwritten


@pytest.mark.parametrize(
    ("args", "expected", "absent"),
    [
        (["--profile", "profiles/experiments/paper-slice"],
         {"train_group": 1, "plot_fig2": 1, "plot_training_history": 1,
          "tabulate_paper_slice": 1}, ["extract_statistics_group", "fit_posterior", "plot_fig5"]),
        (["--profile", "profiles/experiments/paper-slice", "--configfile", "config.yaml",
          "profiles/experiments/paper-slice/overrides.yaml",
          "profiles/released-code/overrides.yaml"],
         {"train_group": 1, "plot_fig3": 1}, ["extract_statistics_group", "plot_fig7"]),
        (["--profile", "profiles/experiments/paper-slice-fig5"],
         {"train_group": 1, "extract_statistics_group": 1, "plot_fig5": 1, "plot_figA6_1": 1},
         ["plot_fig2", "fit_posterior", "plot_figA6_2"]),
    ],
)  # fmt: skip
def test_slice_profiles_schedule_only_what_they_need(project_root, args, expected, absent):
    import re
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--quiet", "rules", *args],
        cwd=project_root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    counts = dict(re.findall(r"^(\w+)\s+(\d+)$", result.stdout + result.stderr, re.M))
    assert {k: int(counts.get(k, 0)) for k in expected} == expected
    assert not [rule for rule in absent if rule in counts]


@pytest.mark.parametrize("variant", ["methods", "released_code"])
@pytest.mark.parametrize("noise", ["heterogeneous", "homogeneous"])
def test_objective_step_computes_the_sigmas_once_with_the_same_loss(variant, noise):
    # The objective computes σ_i (and their RMS) once per step and hands them on; the
    # loss and its gradient must be those built from scratch by each part.
    model = _model(noise, variant)
    _set_layer_sigmas(model, [0.1, 0.2, 0.4])
    objective = EnergyEfficientObjective(
        [0.7], [0.5], 0.01, n_train=100, batch_size=10, dtype=torch.float64
    )
    x = torch.randn(10, SIZES[0], dtype=torch.float64)
    y = torch.randint(0, SIZES[-1], (10,))
    params = [*model.phi_w, model.phi_shared]
    fast = objective(model, x, y, generator=torch.Generator().manual_seed(3)).loss.sum()
    grads = torch.autograd.grad(fast, params, allow_unused=True)
    weights = model.sample_weights(torch.Generator().manual_seed(3), sigmas=model.sigmas())
    reg = objective.regularisers(model, model.sigma_parts())  # σ computed a second time
    slow = objective.loss(model(x, weights), y) + 0.1 * (reg["magnitude"] + reg["reliability"])
    assert torch.allclose(fast, slow.sum(), rtol=1e-12)
    again = torch.autograd.grad(slow.sum(), params, allow_unused=True)
    for a, b in zip(grads, again, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)


def test_a_homogeneous_group_skips_the_unused_own_sigmas_with_the_same_numbers():
    """Every network homogeneous (Methods' form): σ is one number per network, broadcast;
    no softplus over the unused φ_i. The loss and the gradient of φ_shared are those of
    the same network in a mixed group, which takes the general path."""

    def loss_and_grad(noise):
        model = StochasticMLP(SIZES, noise, [0] * len(noise), sigma_init=0.3,
                              dtype=torch.float64, mu_init_range=0.5)  # fmt: skip
        k = len(noise)
        objective = EnergyEfficientObjective([0.7] * k, [0.5] * k, 0.01, 100, 10,
                                             dtype=torch.float64)  # fmt: skip
        x = torch.randn(
            10, SIZES[0], dtype=torch.float64, generator=torch.Generator().manual_seed(1)
        )
        y = (torch.arange(10) % SIZES[-1]).expand(k, -1)
        from efficient_synapses.training.model import network_noise_generators

        value = objective(model, x, y, network_noise_generators(model.seeds, "cpu"))
        value.loss[0].backward()
        assert all(p.grad is None for p in model.phi_w) == (noise == ["homogeneous"])
        return (
            value.loss[0].item(),
            model.phi_shared.grad[0].item(),
            value.parts["reliability"][0].item(),
        )

    alone = loss_and_grad(["homogeneous"])
    mixed = loss_and_grad(["homogeneous", "heterogeneous"])
    assert alone == pytest.approx(mixed, rel=1e-12)
