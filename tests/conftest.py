"""Shared fixtures: paths to the project and to the local data mirror."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT_ROOT / "workflow"))

# The mirror of raw data beside the checkout (see README); EFFICIENT_SYNAPSES_MIRROR overrides.
MIRROR = Path(os.environ.get("EFFICIENT_SYNAPSES_MIRROR", PROJECT_ROOT.parent / "shared" / "data"))


@pytest.fixture(scope="session")
def project_root() -> Path:
    return PROJECT_ROOT


@pytest.fixture(scope="session")
def mirror() -> Path:
    if not (MIRROR / "mnist").is_dir():
        pytest.skip(f"data mirror not found at {MIRROR} (set EFFICIENT_SYNAPSES_MIRROR)")
    return MIRROR


@pytest.fixture(scope="session")
def mnist_raw(mirror, tmp_path_factory) -> Path:
    """Verified MNIST raw files, decompressed once per test session."""
    from efficient_synapses.data.raw import fetch_mnist

    return fetch_mnist(mirror / "mnist", tmp_path_factory.mktemp("mnist") / "mnist")
