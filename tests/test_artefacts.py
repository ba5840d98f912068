"""The saved artefacts: network identity, params.pt, JSON, .npz keys, the atomic write."""

from __future__ import annotations

import json
from fractions import Fraction

import numpy as np
import pytest
import torch

from efficient_synapses import artefacts
from efficient_synapses.artefacts import (
    ArtefactError,
    NetworkSpec,
    atomic_write,
    c_label,
    load_params,
    network_key,
    network_of_path,
    networks_in,
    parse_network_key,
    parse_rho,
    parse_statistics_key,
    read_json,
    read_npz,
    rho_label,
    rho_text,
    rho_value,
    statistics_key,
    statistics_layers,
    write_json,
    write_npz,
)
from efficient_synapses.training import params as params_file
from efficient_synapses.training.model import StochasticMLP
from efficient_synapses.training.params import network_from_params, save_params


@pytest.mark.parametrize(
    "text, label, value",
    [("1/2", "1_2", 0.5), ("2/3", "2_3", 2 / 3), ("4/3", "4_3", 4 / 3), ("2", "2", 2.0),
     ("1", "1", 1.0)],
)  # fmt: skip
def test_rho_label_and_parse_round_trip(text, label, value):
    assert rho_label(text) == label
    assert rho_text(label) == text  # the label reads back to the text config.yaml writes
    assert parse_rho(label) == parse_rho(text) == Fraction(text)
    assert rho_value(label) == value  # the float the costs used: float(Fraction)
    assert rho_label(parse_rho(text)) == label
    assert rho_label(value) == label  # from a number too


def test_each_rho_of_appendix_1_names_one_mechanism():
    from efficient_synapses.costs import mechanism_of

    assert mechanism_of("1/2") == mechanism_of("1_2") == mechanism_of(0.5) == "calcium efflux"
    assert mechanism_of("2/3") == "vesicle membrane"
    assert mechanism_of("4/3") == "actin"
    assert mechanism_of("2") == "trafficking"
    assert mechanism_of("1") is None


def test_rho_rejects_what_is_not_a_positive_fraction():
    for bad in ("-1", "0", "x/2", "1/0"):
        with pytest.raises(ValueError, match="rho"):
            parse_rho(bad)


def test_network_spec_wildcards_round_trip():
    spec = NetworkSpec("heterogeneous", "2/3", 10**-2.75, 3)
    wildcards = spec.wildcards()
    assert wildcards == {"noise": "heterogeneous", "rho": "2_3", "c": "0.00177828", "seed": "3"}
    back = NetworkSpec.from_wildcards(wildcards)
    assert (back.noise, back.rho, back.seed) == ("heterogeneous", "2/3", 3)
    assert back.c == float(c_label(spec.c))
    assert back.rho_value == 2 / 3
    assert back.describe() == "noise=heterogeneous rho=2/3 c=0.00177828 seed=3"


def test_network_of_path_reads_the_wildcards_of_both_layouts():
    train = "results/train/homogeneous/rho1_2/c0.01/seed2/params.pt"
    posterior = "results/posterior/fig7/seed2/rho1_2/c0.01/posterior.pt"
    expected = {"noise": "homogeneous", "rho": "1_2", "c": "0.01", "seed": "2"}
    assert network_of_path(train) == expected
    assert network_of_path(posterior) == {"rho": "1_2", "c": "0.01", "seed": "2"}
    assert network_of_path("results/curvature/x.npz") == {}


def test_atomic_write_that_fails_midway_leaves_no_partial_file(tmp_path):
    target = tmp_path / "out" / "metrics.json"

    def half_then_fail(tmp):
        tmp.write_text('{"half": ')
        raise RuntimeError("killed")

    with pytest.raises(RuntimeError, match="killed"):
        atomic_write(target, half_then_fail)
    assert list(target.parent.iterdir()) == []
    # An existing artefact stays as it was.
    write_json({"a": 1}, target)
    with pytest.raises(RuntimeError):
        atomic_write(target, half_then_fail)
    assert json.loads(target.read_text()) == {"a": 1}
    assert sorted(p.name for p in target.parent.iterdir()) == ["metrics.json"]


def test_atomic_write_of_a_directory_replaces_the_old_one(tmp_path):
    target = tmp_path / "mnist"
    target.mkdir()
    (target / "old").write_text("old")

    def write(tmp):
        tmp.mkdir()
        (tmp / "new").write_text("new")

    atomic_write(target, write)
    assert [p.name for p in target.iterdir()] == ["new"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mnist"]


def test_json_round_trip_keeps_the_format(tmp_path):
    metrics = {"rho": "1/2", "b": [1.5, None], "a": {"z": 1, "y": 2}}
    path = write_json(metrics, tmp_path / "metrics.json")
    assert path.read_text() == json.dumps(metrics, indent=2, sort_keys=True)
    assert read_json(path) == metrics


def test_missing_or_corrupt_json_names_the_file_and_key(tmp_path):
    path = write_json({"test_accuracy_sampled": 0.9}, tmp_path / "metrics.json")
    record = read_json(path)
    with pytest.raises(KeyError, match=r"metrics\.json.*'sigma_rms'"):
        record["sigma_rms"]
    assert record.get("diverged", False) is False  # optional keys still have defaults
    (tmp_path / "bad.json").write_text('{"a": ')
    with pytest.raises(ArtefactError, match=r"bad\.json"):
        read_json(tmp_path / "bad.json")
    with pytest.raises(ArtefactError, match=r"absent\.json: file not found"):
        read_json(tmp_path / "absent.json")


@pytest.mark.parametrize("compressed", [True, False])
def test_npz_round_trip(tmp_path, compressed):
    arrays = {"hessian_minibatch_layer1": np.arange(6.0).reshape(2, 3), "n_train": np.array(5)}
    path = write_npz(tmp_path / "statistics.npz", arrays, compressed=compressed)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["statistics.npz"]
    loaded = read_npz(path)
    assert set(loaded) == set(arrays)
    for key, value in arrays.items():
        np.testing.assert_array_equal(loaded[key], value)
    with np.load(path) as plain:  # an ordinary .npz for any reader
        np.testing.assert_array_equal(plain["n_train"], 5)


def test_corrupt_npz_or_missing_key_names_the_file_and_key(tmp_path):
    path = write_npz(tmp_path / "statistics.npz", {"sigma_squared_layer1": np.ones(3)})
    with pytest.raises(KeyError, match=r"statistics\.npz.*'hessian_minibatch_layer1'"):
        read_npz(path)["hessian_minibatch_layer1"]
    path.write_bytes(path.read_bytes()[:20])
    with pytest.raises(ArtefactError, match=r"statistics\.npz"):
        read_npz(path)


def _network(noise="heterogeneous", variant="methods"):
    model = StochasticMLP([4, 3, 2], [noise], [1], sigma_init=0.05, variant=variant)
    with torch.no_grad():
        for phi in model.phi_w:
            phi.add_(0.3 * torch.randn_like(phi))
    return model


@pytest.mark.parametrize("noise", ["heterogeneous", "homogeneous"])
def test_params_round_trip(tmp_path, noise):
    model = _network(noise, "released_code")
    path = save_params(model, 0, tmp_path / "params.pt")
    params = load_params(path)
    assert set(params) == {*artefacts.PARAMS_KEYS, "variant", "relu_placement", "homogeneous_form"}
    assert params["noise"] == noise and params["variant"] == "released_code"
    assert params["layer_sizes"] == [4, 3, 2]
    loaded = network_from_params(params, seed=1)
    assert loaded.variant == "released_code"
    for (sw, sb), (lw, lb) in zip(model.sigmas(), loaded.sigmas(), strict=True):
        torch.testing.assert_close(sw, lw)
        torch.testing.assert_close(sb, lb)
    for a, b in zip(model.mu_w, loaded.mu_w, strict=True):
        assert torch.equal(a, b)


def test_params_without_variant_are_of_the_methods_variant(tmp_path):
    params = params_file.network_params(_network(), 0)
    del params["variant"]
    torch.save(params, tmp_path / "old.pt")
    assert network_from_params(load_params(tmp_path / "old.pt")).variant == "methods"


def test_params_with_a_missing_key_or_corrupt_name_the_file_and_key(tmp_path):
    params = params_file.network_params(_network(), 0)
    del params["sigma_weight"]
    torch.save(params, tmp_path / "params.pt")
    with pytest.raises(KeyError, match=r"params\.pt.*'sigma_weight'"):
        load_params(tmp_path / "params.pt")
    (tmp_path / "corrupt.pt").write_bytes(b"not a torch file")
    with pytest.raises(ArtefactError, match=r"corrupt\.pt"):
        load_params(tmp_path / "corrupt.pt")


def test_statistics_keys_round_trip():
    cases = [
        (("hessian", 2, "minibatch"), "hessian_minibatch_layer2"),
        (("learning_rate_abs", 1, "per_datapoint"), "learning_rate_abs_per_datapoint_layer1"),
        (("input_rate", 3, None), "input_rate_layer3"),
        (("sigma_squared", 12, None), "sigma_squared_layer12"),
        (("exact_hessian_index", 1, None), "exact_hessian_index_layer1"),
    ]
    for (quantity, layer, gradient), key in cases:
        assert statistics_key(quantity, layer, gradient) == key
        assert parse_statistics_key(key) == (quantity, gradient, layer)
    assert parse_statistics_key("n_train") is None
    assert parse_statistics_key("exact_hessian_examples") is None
    with pytest.raises(ValueError, match="gradient"):
        statistics_key("hessian", 1, "full_batch")
    arrays = {statistics_key("sigma_squared", layer): 0 for layer in (3, 1, 2)}
    assert statistics_layers(arrays | {"n_train": 1, "mu_layer1": 0}) == [1, 2, 3]


def test_network_keys_round_trip():
    assert network_key(3, "pair_laplace") == "net3_pair_laplace"
    assert parse_network_key("net3_pair_laplace") == (3, "pair_laplace")
    assert parse_network_key("net12_rho") == (12, "rho")
    assert parse_network_key("layer") is None
    arrays = {network_key(k, name): 0 for k in (10, 2) for name in ("meta", "rho")}
    assert networks_in(arrays | {"layer": 1, "gradient": "minibatch"}) == [2, 10]


def test_checkpoint_name_changes_with_any_setting_and_stale_ones_go(tmp_path):
    from efficient_synapses.artefacts import checkpoint_file, remove_other_checkpoints

    identity = {"training": {"magnitude_lambda": 1e-4, "epochs": 50}, "networks": ["a", "b"]}
    name = checkpoint_file(identity)
    assert name == checkpoint_file(json_copy(identity))  # deterministic, key order free
    other = checkpoint_file(identity | {"training": {"magnitude_lambda": 1e-2, "epochs": 50}})
    assert other != name and name.startswith("checkpoint-") and name.endswith(".pt")
    for n in (name, other):
        (tmp_path / n).write_bytes(b"x")
    (tmp_path / "params.pt").write_bytes(b"x")
    assert remove_other_checkpoints(tmp_path, keep=name) == [tmp_path / other]
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([name, "params.pt"])


def json_copy(obj):
    import json

    return json.loads(json.dumps(obj, sort_keys=False))
