"""Every saved artefact of the workflow, in one place: what a file holds and how it is named.

* **Network identity.** A network is (noise setting, ρ, c, seed): :class:`NetworkSpec`.
  ρ has one text form, the fraction as config.yaml writes it ("2/3", :func:`rho_text`),
  one path label ("2_3", :func:`rho_label`) and one parser (:func:`parse_rho`), which
  reads either; c has one path label (:func:`c_label`). Snakemake wildcards and the
  directories of a network are built and read back here (:meth:`NetworkSpec.wildcards`,
  :meth:`NetworkSpec.from_wildcards`, :func:`network_of_path`).
* **params.pt / posterior.pt**: μ and σ of every layer of one network
  (:func:`load_params`; written by ``training.params.save_params``).
* **metrics.json** and every other JSON file (:func:`write_json`, :func:`read_json`).
* **.npz keys**: the per-synapse statistics of ``statistics.npz``
  (:func:`statistics_key`, :func:`parse_statistics_key`) and the per-network arrays of
  the figure files, ``net{k}_{name}`` (:func:`network_key`, :func:`parse_network_key`).
* **One atomic write** (:func:`atomic_write`): a file or directory appears under its
  name complete, or not at all, so a killed job never leaves a partial output that
  Snakemake would take for a finished one.

Reading an artefact gives a :class:`Record`, a dict whose missing keys raise an error
naming the file and the key. No heavy imports at module level: the Snakefile imports
this module (through ``config``) in an environment without PyTorch.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

# The noise settings of the paper (one σ per synapse, or one for all): a path component of
# every trained network.
NOISE_SETTINGS = ("heterogeneous", "homogeneous")

PARAMS_FILE = "params.pt"
POSTERIOR_FILE = "posterior.pt"
METRICS_FILE = "metrics.json"
STATISTICS_FILE = "statistics.npz"
CHECKPOINT_FILE = "checkpoint.pt"  # prefix; see checkpoint_file


class ArtefactError(ValueError):
    """A saved artefact is missing, unreadable, or lacks a key; the message names the file."""


class MissingKeyError(ArtefactError, KeyError):
    """An artefact lacks a key (a KeyError too, so that ``except KeyError`` still works)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class Record(dict):
    """The contents of one artefact; ``record[key]`` of a missing key names file and key."""

    def __init__(self, contents: Mapping, source: str | Path):
        super().__init__(contents)
        self.source = str(source)

    def __missing__(self, key):
        raise MissingKeyError(
            f"{self.source}: no key {key!r} (it has: {', '.join(sorted(map(str, self)))}); "
            "the file is corrupt or was written by another version: delete it and run again"
        )


# ---------------------------------------------------------------- network identity


def parse_rho(text: str | float | int | Fraction) -> Fraction:
    """ρ as an exact fraction, from its text ("2/3"), its path label ("2_3") or a number."""
    if isinstance(text, Fraction):
        value = text
    elif isinstance(text, int | float):
        value = Fraction(text).limit_denominator(1000)
    else:
        s = str(text).strip().replace("_", "/")
        try:
            value = Fraction(s)
        except (ValueError, ZeroDivisionError) as err:
            raise ValueError(
                f"rho {text!r} is not a positive number or fraction like '2/3'"
            ) from err
    if value <= 0:
        raise ValueError(f"rho must be positive, got {text!r}")
    return value


def rho_label(rho) -> str:
    """Path label of ρ (the ``{rho}`` wildcard): 1/2 -> '1_2', 2 -> '2'."""
    return rho_text(rho).replace("/", "_")


def rho_text(rho) -> str:
    """ρ as config.yaml, metrics.json and the tables write it: '1/2', '2'."""
    return str(parse_rho(rho))


def rho_value(rho) -> float:
    """ρ as the float the costs use (Eq. 4)."""
    return float(parse_rho(rho))


def c_label(c: float) -> str:
    """Canonical text of c used in paths (6 significant digits)."""
    if not c > 0 or not math.isfinite(c):
        raise ValueError(f"reliability cost multiplier c must be positive and finite, got {c!r}")
    return f"{c:.6g}"


@dataclass(frozen=True)
class NetworkSpec:
    """One trained network: noise setting, ρ (its text, e.g. "2/3"), c and seed."""

    noise: str
    rho: str
    c: float
    seed: int

    def describe(self) -> str:
        return f"noise={self.noise} rho={self.rho} c={self.c:.6g} seed={self.seed}"

    @property
    def rho_value(self) -> float:
        return rho_value(self.rho)

    def wildcards(self) -> dict[str, str]:
        """The Snakemake wildcards of this network's directories."""
        return {
            "noise": self.noise,
            "rho": rho_label(self.rho),
            "c": c_label(self.c),
            "seed": str(self.seed),
        }

    @classmethod
    def from_wildcards(cls, wildcards: Mapping) -> NetworkSpec:
        """The network of a job's wildcards (or of a dict with the same keys)."""
        return cls(
            noise=str(wildcards["noise"]),
            rho=rho_text(wildcards["rho"]),
            c=float(wildcards["c"]),
            seed=int(wildcards["seed"]),
        )


# One directory level per wildcard: .../{noise}/rho{rho}/c{c}/seed{seed}/..., in any order.
_PATH_PARTS = {
    "rho": re.compile(r"rho(.+)"),
    "c": re.compile(r"c([0-9].*)"),
    "seed": re.compile(r"seed([0-9]+)"),
}


def network_of_path(path: str | Path) -> dict[str, str]:
    """The wildcards (rho, c, seed, and noise where present) that a result path names.

    Reads the directory names ``rho{rho}``, ``c{c}``, ``seed{seed}`` and a noise setting;
    a wildcard the path does not name is absent from the result.
    """
    found = {}
    for part in Path(path).parts:
        if part in NOISE_SETTINGS:
            found["noise"] = part
        for name, pattern in _PATH_PARTS.items():
            match = pattern.fullmatch(part)
            if match and name not in found:
                found[name] = match.group(1)
    return found


# ---------------------------------------------------------------- atomic writes


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp)`` on a temporary path beside ``path``, then move it into place.

    ``write`` creates a file or a directory at ``tmp``. Only a complete artefact is
    renamed to ``path`` (a rename within one directory is atomic); if ``write`` raises,
    the temporary is removed and ``path`` is left as it was. A directory replaces an
    existing directory of that name.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    _remove(tmp)  # left over from a killed job
    try:
        write(tmp)
        if tmp.is_dir() and path.is_dir():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        _remove(tmp)
        raise
    return path


def write_json(obj, path: str | Path) -> Path:
    """``obj`` as indented JSON with sorted keys (metrics.json, summary.json)."""
    text = json.dumps(obj, indent=2, sort_keys=True)
    return atomic_write(path, lambda tmp: tmp.write_text(text))


def read_json(path: str | Path) -> Record:
    """A JSON object written by :func:`write_json`; errors name the file."""
    path = Path(path)
    try:
        contents = json.loads(path.read_text())
    except FileNotFoundError as err:
        raise ArtefactError(f"{path}: file not found") from err
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ArtefactError(f"{path}: not valid JSON ({err}); delete it and run again") from err
    if not isinstance(contents, dict):
        raise ArtefactError(f"{path}: expected a JSON object, found {type(contents).__name__}")
    return Record(contents, path)


write_metrics = write_json
read_metrics = read_json


def write_npz(path: str | Path, arrays: Mapping, compressed: bool = True) -> Path:
    """Arrays as an .npz file (``np.savez_compressed``, or ``np.savez`` if not compressed)."""
    import numpy as np

    save = np.savez_compressed if compressed else np.savez

    def write(tmp: Path) -> None:
        # A file object, not a name: numpy appends ".npz" to a name without it.
        with open(tmp, "wb") as f:
            save(f, **{k: np.asarray(v) for k, v in arrays.items()})

    return atomic_write(path, write)


def read_npz(path: str | Path) -> Record:
    """Every array of an .npz file, loaded; errors name the file (and the key)."""
    import zipfile

    import numpy as np

    path = Path(path)
    try:
        with np.load(path) as loaded:
            contents = {k: loaded[k] for k in loaded.files}
    except FileNotFoundError as err:
        raise ArtefactError(f"{path}: file not found") from err
    except (zipfile.BadZipFile, ValueError, OSError, EOFError) as err:
        raise ArtefactError(
            f"{path}: not a readable .npz file ({err}); delete it and run again"
        ) from err
    return Record(contents, path)


def save_torch(obj, path: str | Path) -> Path:
    """``torch.save`` through the atomic write (params, posteriors, checkpoints)."""
    import torch

    return atomic_write(path, lambda tmp: torch.save(obj, tmp))


def checkpoint_file(identity: Mapping) -> str:
    """Name of the resume checkpoint of a job with these settings: ``checkpoint-<hash>.pt``.

    ``identity`` (JSON-able: the job's ``training`` settings and its networks) is hashed
    into the name, so a job whose settings changed since it was killed never resumes
    the old run's checkpoint; the engine itself checks only the networks and optimiser
    options. Use :func:`remove_other_checkpoints` to delete the stale ones.
    """
    text = json.dumps(identity, sort_keys=True, default=str)
    digest = hashlib.sha256(text.encode()).hexdigest()[:16]
    return f"{Path(CHECKPOINT_FILE).stem}-{digest}.pt"


def remove_other_checkpoints(directory: str | Path, keep: str) -> list[Path]:
    """Delete every checkpoint in ``directory`` but ``keep``; the paths deleted."""
    stale = [p for p in Path(directory).glob(f"{Path(CHECKPOINT_FILE).stem}*.pt") if p.name != keep]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


# ---------------------------------------------------------------- params.pt

# The keys of params.pt / posterior.pt. Layer l (from 0): weight (out, in), bias (out,).
PARAMS_KEYS = ("layer_sizes", "noise", "mu_weight", "mu_bias", "sigma_weight", "sigma_bias")
# "variant" came later: a file without it was trained in the "methods" variant.
DEFAULT_VARIANT = "methods"


def load_params(path: str | Path) -> Record:
    """A params.pt / posterior.pt of :func:`save_params`, its keys checked."""
    import pickle

    import torch

    path = Path(path)
    try:
        params = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise ArtefactError(f"{path}: file not found") from err
    except (RuntimeError, pickle.UnpicklingError, EOFError, OSError) as err:
        raise ArtefactError(f"{path}: not a readable parameter file ({err})") from err
    if not isinstance(params, dict):
        raise ArtefactError(f"{path}: expected a dict of parameters, found {type(params)}")
    record = Record(params, path)
    for key in PARAMS_KEYS:
        record[key]  # noqa: B018  (raises, naming the file and the key)
    return record


def params_variant(params: Mapping) -> str:
    return params.get("variant", DEFAULT_VARIANT)


def weight_sigma(params: Mapping, layer: int) -> np.ndarray:
    """σ of the weights of ``layer`` (1 = input to first hidden layer), (out, in)."""
    return params["sigma_weight"][layer - 1].double().numpy()


def weight_mu(params: Mapping, layer: int) -> np.ndarray:
    """μ of the weights of ``layer``, (out, in)."""
    return params["mu_weight"][layer - 1].double().numpy()


def all_weight_sigmas(params: Mapping) -> np.ndarray:
    """σ of every weight of the network, layer after layer, flat."""
    import numpy as np

    return np.concatenate([s.double().numpy().ravel() for s in params["sigma_weight"]])


# ---------------------------------------------------------------- .npz keys

# How the gradient behind a Fisher estimate was taken (curvature.GRADIENT_MODES).
GRADIENT_MODES = ("minibatch", "per_datapoint")
_STATISTICS_KEY = re.compile(
    r"(?P<quantity>[a-z_]+?)(?:_(?P<gradient>" + "|".join(GRADIENT_MODES) + r"))?"
    r"_layer(?P<layer>[0-9]+)"
)


def statistics_key(quantity: str, layer: int, gradient: str | None = None) -> str:
    """Key of a per-synapse array of statistics.npz: ``{quantity}[_{gradient}]_layer{l}``.

    E.g. ``hessian_minibatch_layer2``, ``learning_rate_abs_per_datapoint_layer1``,
    ``input_rate_layer3``, ``sigma_squared_layer2``; layers count from 1.
    """
    if gradient is not None and gradient not in GRADIENT_MODES:
        raise ValueError(f"gradient must be one of {GRADIENT_MODES}, got {gradient!r}")
    middle = "" if gradient is None else f"_{gradient}"
    return f"{quantity}{middle}_layer{int(layer)}"


def parse_statistics_key(key: str) -> tuple[str, str | None, int] | None:
    """(quantity, gradient or None, layer) of a per-layer key; None for other keys."""
    match = _STATISTICS_KEY.fullmatch(key)
    if match is None:
        return None
    return match["quantity"], match["gradient"], int(match["layer"])


def statistics_layers(arrays: Mapping) -> list[int]:
    """The layers (from 1) a statistics.npz holds σ² of."""
    layers = []
    for key in arrays:
        parsed = parse_statistics_key(key)
        if parsed is not None and parsed[0] == "sigma_squared":
            layers.append(parsed[2])
    return sorted(layers)


_NETWORK_KEY = re.compile(r"net(?P<k>[0-9]+)_(?P<name>.+)")


def network_key(k: int, name: str) -> str:
    """Key of network ``k``'s array ``name`` in a figure's .npz: ``net{k}_{name}``."""
    return f"net{int(k)}_{name}"


def parse_network_key(key: str) -> tuple[int, str] | None:
    """(k, name) of a ``net{k}_{name}`` key; None for a key of the whole figure."""
    match = _NETWORK_KEY.fullmatch(key)
    return None if match is None else (int(match["k"]), match["name"])


def networks_in(arrays: Mapping) -> list[int]:
    """The networks ``k`` a figure's arrays hold, in order."""
    return sorted({parsed[0] for key in arrays if (parsed := parse_network_key(key))})
