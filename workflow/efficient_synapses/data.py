"""Raw inputs: MNIST and the experimental CSVs of Figure 6.

Every file is taken first from a local mirror directory, then from its public
source, and is verified against a pinned checksum before anything downstream
sees it. Files are written beside their destination and moved into place only
once every checksum matches (``artefacts.atomic_write``), so a failed verification
leaves no partial output.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .artefacts import atomic_write

if TYPE_CHECKING:
    import torch

# md5 of the *decompressed* idx files (the mirror recompressed one .gz file, so
# the .gz md5 is not a stable identity; the raw bytes are).
MNIST_RAW_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# Pixel statistics of the MNIST training set, used by the paper's code to
# normalise inputs (transforms.Normalize((0.1307,), (0.3081,))).
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

EXPERIMENTAL_COMMIT = "6a0b408f10455a92acb8d649b7760bb560b3c741"
EXPERIMENTAL_URL = (
    "https://raw.githubusercontent.com/JamesMalkin/EfficientBayes/"
    f"{EXPERIMENTAL_COMMIT}/data-fig6/{{name}}"
)


@dataclass(frozen=True)
class ExperimentalFile:
    local_name: str
    original_name: str
    sha256: str


EXPERIMENTAL_FILES = {
    "sjostrom2001_ltp": ExperimentalFile(
        "sjostrom2001_ltp_schug.csv",
        "Sjostrom2001_LTP_schug.csv",
        "ae3da9dc8b01421e82fe4674bf6c9a9c8f5aa557783c3620e085e38a216a94b2",
    ),
    "sjostrom2001_ltd": ExperimentalFile(
        "sjostrom2001_ltd_schug.csv",
        "Sjostrom2001_LTD_schug.csv",
        "3da733da7fe92ccf8c3532e0c73ae0d968a3c5870b8615dc7af24db5ac721483",
    ),
    "ko2013": ExperimentalFile(
        "ko2013.csv",
        "ko2013",
        "321ffbe87ee6d0558a19837f7e5c867dfa6b797c312897924121d8107cc95277",
    ),
}


class ChecksumError(RuntimeError):
    """A downloaded or mirrored file does not match its pinned checksum."""


def file_digest(path: Path, algorithm: str) -> str:
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def verify_checksum(path: Path, expected: str, algorithm: str, label: str | None = None) -> None:
    """Raise ChecksumError naming the file and both checksums on mismatch."""
    actual = file_digest(path, algorithm)
    if actual != expected:
        raise ChecksumError(
            f"{algorithm} mismatch for {label or path}: expected {expected}, got {actual}. "
            "The file is corrupt or not the published version; delete it and download again."
        )


def _log(log, message: str) -> None:
    if log is not None:
        print(message, file=log, flush=True)


def _decompress_mirror_mnist(mirror: Path, raw_dir: Path, log) -> bool:
    """Decompress the four mirrored .gz files into raw_dir; False if any is missing."""
    sources = {name: mirror / f"{name}.gz" for name in MNIST_RAW_MD5}
    missing = [str(p) for p in sources.values() if not p.is_file()]
    if missing:
        _log(log, f"MNIST mirror {mirror} incomplete (missing {', '.join(missing)})")
        return False
    for name, src in sources.items():
        _log(log, f"decompressing {src}")
        try:
            with gzip.open(src, "rb") as fin, open(raw_dir / name, "wb") as fout:
                shutil.copyfileobj(fin, fout)
        except (OSError, EOFError) as err:
            raise ChecksumError(f"cannot decompress MNIST file {src}: {err}") from err
    return True


def fetch_mnist(mirror: str | Path | None, out_dir: str | Path, log=None) -> Path:
    """Place the verified MNIST raw files in ``out_dir/MNIST/raw`` (torchvision layout).

    The local mirror (the four ``.gz`` files torchvision downloads) is tried first;
    if it is absent, ``torchvision.datasets.MNIST(download=True)`` fetches from
    torchvision's own mirrors. Either way the md5 of each decompressed file is
    checked against MNIST_RAW_MD5.
    """
    out_dir = Path(out_dir)

    def fetch_into(tmp: Path) -> None:
        raw_dir = tmp / "MNIST" / "raw"
        raw_dir.mkdir(parents=True)
        if mirror is None or not _decompress_mirror_mnist(Path(mirror), raw_dir, log):
            import torchvision

            _log(log, "downloading MNIST with torchvision from its public mirrors")
            for train in (True, False):
                torchvision.datasets.MNIST(tmp, train=train, download=True)
        for name, md5 in MNIST_RAW_MD5.items():
            verify_checksum(raw_dir / name, md5, "md5", label=f"MNIST file {name}")
            _log(log, f"md5 ok: {name} {md5}")
        for leftover in raw_dir.glob("*.gz"):
            leftover.unlink()

    atomic_write(out_dir, fetch_into)
    return out_dir / "MNIST" / "raw"


def fetch_experimental(key: str, mirror: str | Path | None, out_path: str | Path, log=None) -> Path:
    """Copy one Figure 6 CSV from the mirror (or its pinned URL) and verify its sha256."""
    spec = EXPERIMENTAL_FILES[key]
    out_path = Path(out_path)

    def fetch_into(tmp: Path) -> None:
        src = Path(mirror) / spec.local_name if mirror is not None else None
        if src is not None and src.is_file():
            _log(log, f"copying {src}")
            shutil.copyfile(src, tmp)
        else:
            url = EXPERIMENTAL_URL.format(name=spec.original_name)
            _log(log, f"{src} not found; downloading {url}")
            with urllib.request.urlopen(url, timeout=60) as response, open(tmp, "wb") as f:
                shutil.copyfileobj(response, f)
        verify_checksum(tmp, spec.sha256, "sha256", label=f"experimental file {spec.local_name}")
        _log(log, f"sha256 ok: {spec.local_name} {spec.sha256}")

    atomic_write(out_path, fetch_into)
    return out_path


def read_idx(path: Path) -> torch.Tensor:
    """Read an idx file (the MNIST container format) into a uint8 tensor, by torch alone.

    No numpy, so that the GPU check runs on a machine with PyTorch only.
    """
    import math

    import torch

    data = Path(path).read_bytes()
    if len(data) < 4 or data[:3] != b"\x00\x00\x08":
        raise ValueError(f"{path} is not an unsigned-byte idx file")
    ndim = data[3]
    shape = [int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim)]
    values = torch.frombuffer(bytearray(data[4 + 4 * ndim :]), dtype=torch.uint8)
    if values.numel() != math.prod(shape):
        raise ValueError(f"{path}: header says shape {shape}, found {values.numel()} values")
    return values.reshape(shape)


@dataclass
class Dataset:
    """Inputs as one normalised float tensor (N, 784) and integer labels (N,)."""

    inputs: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return self.labels.shape[0]

    def to(self, device, dtype=None) -> Dataset:
        return Dataset(self.inputs.to(device=device, dtype=dtype), self.labels.to(device))


def load_mnist(raw_dir: str | Path, train: bool, subset: int | None = None, dtype=None) -> Dataset:
    """Load MNIST from verified raw files as a normalised (x - 0.1307) / 0.3081 tensor.

    ``subset`` keeps the first ``subset`` examples (a fixed, documented subset for
    reduced presets; MNIST's order is already shuffled across classes).
    """
    import torch

    dtype = torch.float32 if dtype is None else dtype
    raw_dir = Path(raw_dir)
    prefix = "train" if train else "t10k"
    images = read_idx(raw_dir / f"{prefix}-images-idx3-ubyte")
    labels = read_idx(raw_dir / f"{prefix}-labels-idx1-ubyte").long()
    if subset is not None:
        images, labels = images[:subset], labels[:subset]
    x = images.reshape(images.shape[0], -1).to(dtype) / 255.0
    x = (x - MNIST_MEAN) / MNIST_STD
    return Dataset(x, labels)
