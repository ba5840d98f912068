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

from ..artefacts import atomic_write

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


# The authors' published simulation results behind Figures 2, 3 and 5 (CC BY 4.0), from
# the same repository and commit as the Figure 6 CSVs, under their original paths
# (efficient_synapses.data.published reads them). sha256 of every file.
PUBLISHED_URL = (
    f"https://raw.githubusercontent.com/JamesMalkin/EfficientBayes/{EXPERIMENTAL_COMMIT}/{{path}}"
)
PUBLISHED_FILES = {
    "data-fig2and3/accs_arr.npy": (
        "3ee3c5d6ad11c19aa2c64716c88f70a034ebe5c19016640e5ef00a38078e8382"
    ),
    "data-fig2and3/loss_arr.npy": (
        "f2083497ce30f828d75b292d43e67d9227450d8ef2dfc653dcabe464f5b96da2"
    ),
    "data-fig2and3/rel_arr.npy": (
        "c3ab22d4e7e71ec60f342edf0b5962d2d13cfa7a6e24c60b93f2902fbf7f7542"
    ),
    "data-fig2and3/sig_arr.npy": (
        "b204f56fc6a66add454bd31390a8cdaa0c6b30a4ca33981369c9c7dcdf1e7d24"
    ),
    "data-fig5/hessian_list_0.npy": (
        "27a853240fa8640295320f9bbdb2cfbb82fd594e4b1d612c2065d1fa6245cd86"
    ),
    "data-fig5/hessian_list_1.npy": (
        "8a6765b5796d512d0420ffd3df5c4cc6e61d8dd09323cbc9ae6f0a4b9a2b6503"
    ),
    "data-fig5/hessian_list_2.npy": (
        "d80800e68acb2acd8f6b065fc77d33fd3e5e0b192cc3c743b626b8cdc46742f3"
    ),
    "data-fig5/hessian_list_3.npy": (
        "0c8420699ece09a95912576b7a1f705db642950c7804296b2738a15afde71185"
    ),
    "data-fig5/hessian_list_4.npy": (
        "b2e1c4c4fee360c39880f3dd899d69b4edc4f41bf4bf059bda5bb42e7ba904ff"
    ),
    "data-fig5/hessian_list_5.npy": (
        "1c53b0e13694d0c8986d8000385db65ff7e1953f8cff56e62a33a3de93401aaa"
    ),
    "data-fig5/hessian_list_6.npy": (
        "b62450d55e2a54015d5d0d115ed81ecdc72a60f3df99aadb72df134b4c44e9b5"
    ),
    "data-fig5/hessian_list_7.npy": (
        "a186eabae8bdc43666b48b044fc557cedab136b406ce70d5e10f66726c91c2b8"
    ),
    "data-fig5/hessian_list_8.npy": (
        "ce0c03512fd99e938ca46b1536af5d620db76e9c177042e2d5a4639f9c6c4646"
    ),
    "data-fig5/hessian_list_9.npy": (
        "cf2a0a4fca54cca3c7413015af27fe4eec3d1dd908f68e3b7f6c2954be275fcf"
    ),
    "data-fig5/hessian_list_10.npy": (
        "18e4f97367dfa846131ba456533fee071e4b0ef2fc66e101902c42ebb2184f51"
    ),
    "data-fig5/hessian_list_11.npy": (
        "5f26171ea49d8e01ec2ffc4e822cdee390660cdd120232791694b8ce5076642b"
    ),
    "data-fig5/lr_list_0.npy": ("3830a4c5ecd460a95835e5ab50cb4ea057ace2bb93b5b43ee78ba55ef695e6f5"),
    "data-fig5/lr_list_1.npy": ("055e7b91df6fa9f1cc6ec354fb505844199ed93d4b9284b399cc610a226aad57"),
    "data-fig5/lr_list_2.npy": ("0678632cfc536f6d654a426f89ac073b62cf5cfae503485991035be3cc6d6fb0"),
    "data-fig5/lr_list_3.npy": ("c7dc3a9efe6e8622179410393db6910af30881f1c3058bd3e37daa1dfbd8de94"),
    "data-fig5/lr_list_4.npy": ("62fd8fe38c816421e36633097c544a1eac1ddcb32582e085ee768eca989a8a9c"),
    "data-fig5/lr_list_5.npy": ("899bc05d42f8ddd9517bf46718efa405acbe7c139a9afe0ac1c284bf473990ba"),
    "data-fig5/lr_list_6.npy": ("7621e379ae32bcb6fd95a982a843922716cb0a2dc4c8476a03b465c274de43b0"),
    "data-fig5/lr_list_7.npy": ("9a0d28463df3e4a5c81547598da6169a756a17487d9601baccb6b67394705505"),
    "data-fig5/lr_list_8.npy": ("20db2d5a3883867f7dc52e569a45cb9379dc5df71e3ff34d669087fb0f329932"),
    "data-fig5/lr_list_9.npy": ("0e844269dc549eacf135efe9e2e4c07e9eee4daa39e0b5381128d238be48a567"),
    "data-fig5/lr_list_10.npy": (
        "0756af00a6de7e1b9bf5ec71f7da07b7b2aaaf11eca27dcd1f6b8a71a162b74d"
    ),
    "data-fig5/lr_list_11.npy": (
        "55f9fa6e068f70ab5120704c4bf71645d20b6b736f9ad50b9c4d516136ff7fb3"
    ),
    "data-fig5/var_list_0.npy": (
        "445f56465f3412b3cb3a69f41217b3ed6b7caa486c21c81cc2663cc5b61ae579"
    ),
    "data-fig5/var_list_1.npy": (
        "d38877c012297c14429934443124fbdddf03b2efd0037261b4cb50c669d3b9c8"
    ),
    "data-fig5/var_list_2.npy": (
        "a2654b6517bf3d48fdc3e66b546568811f7db3a5215e385b75dafc02331e72c1"
    ),
    "data-fig5/var_list_3.npy": (
        "24d239aabb21ef70b3c7dd26f1c7089f59e81e30b1dd8003add02e90539078ed"
    ),
    "data-fig5/var_list_4.npy": (
        "25c4edf535a49cacf731eb11ed4354472f342d1160d3afce56e45e912b8b21d4"
    ),
    "data-fig5/var_list_5.npy": (
        "f7856965abf1935c2b9020435ef316c057eb54a02cc662d944f11cb2dea69645"
    ),
    "data-fig5/var_list_6.npy": (
        "d40f0d61adcf50d438ecfd8272b87025b7e66ca30a80e95a3b42d9a110667aa9"
    ),
    "data-fig5/var_list_7.npy": (
        "9be74b45dda291998e1ee57fcf4c41a838378ac191935c8b455764221627d596"
    ),
    "data-fig5/var_list_8.npy": (
        "6b9fc59d9625e894730cfca9e0836bef1c118e737c60afdcc96fbc8c8beac468"
    ),
    "data-fig5/var_list_9.npy": (
        "0239d38d8bfb664d8bd37b434d5b7681aad6f56c02bee9d6b2647650fafb8a10"
    ),
    "data-fig5/var_list_10.npy": (
        "f320afeb552ba9864e07b03c475e4097599499203e40f677cc352c89a19d0963"
    ),
    "data-fig5/var_list_11.npy": (
        "cab55b405e084593d086d14c330f60b5a430e6b7afe1e55e4553c5b2617afdec"
    ),
    "data-fig5/x_0.npy": ("29e8ca4ddb32ac21c0c5235f9ce3f536799452598ac82df73df1d2df02bbf9dd"),
    "data-fig5/x_1.npy": ("5a88efe2b102f0d1f6b071a2ee6b73b66256f954b45b5b4e507bba8a5bcb7235"),
    "data-fig5/x_2.npy": ("88c0b05f01bb0667dd401877cf6061ecdad443ccd944f8b51d17e3fa06ba8f76"),
    "data-fig5/x_3.npy": ("29e8ca4ddb32ac21c0c5235f9ce3f536799452598ac82df73df1d2df02bbf9dd"),
    "data-fig5/x_4.npy": ("5b7cc4b75836b6f4e4f77e4dd25d407520b739b98a304128602881f80a6acf64"),
    "data-fig5/x_5.npy": ("37b90e97c36565cb4ab9bf75751e060638992f41a83722a1b9084344bb267614"),
    "data-fig5/x_6.npy": ("29e8ca4ddb32ac21c0c5235f9ce3f536799452598ac82df73df1d2df02bbf9dd"),
    "data-fig5/x_7.npy": ("214fdc672f1ef0d60264c646357d040846efde28c562b79dd49c1e767299ac96"),
    "data-fig5/x_8.npy": ("7a46801c49c7889bcc5cf265ab313f7badae058371e7052b4dce52af494aac88"),
    "data-fig5/x_9.npy": ("29e8ca4ddb32ac21c0c5235f9ce3f536799452598ac82df73df1d2df02bbf9dd"),
    "data-fig5/x_10.npy": ("2f69bf3b0b639e48676d628d32ed22e37590b2728cd598e9f48f263194adf308"),
    "data-fig5/x_11.npy": ("0c00fecc740e4ddf56a98324fbfc93d9754b92031ea8b9694d5b02fd4e622adf"),
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


def _copy_or_download(
    src: Path | None, url: str, target: Path, sha256: str, label: str, log
) -> None:
    """Copy ``src`` (the local mirror's copy) to ``target`` if it exists, else download
    ``url``; then verify the sha256. Errors name ``label``: a file in neither place, or
    a checksum mismatch (with both checksums)."""
    if src is not None and src.is_file():
        shutil.copyfile(src, target)
        where = str(src)
    else:
        _log(log, f"{src} not found; downloading {url}")
        try:
            with urllib.request.urlopen(url, timeout=60) as response, open(target, "wb") as f:
                shutil.copyfileobj(response, f)
        except OSError as err:
            raise FileNotFoundError(
                f"{label}: not in the mirror ({src}) and not downloadable from {url} ({err})"
            ) from err
        where = url
    verify_checksum(target, sha256, "sha256", label=label)
    _log(log, f"sha256 ok: {label} ({where})")


def fetch_experimental(key: str, mirror: str | Path | None, out_path: str | Path, log=None) -> Path:
    """Copy one Figure 6 CSV from the mirror (or its pinned URL) and verify its sha256."""
    spec = EXPERIMENTAL_FILES[key]
    out_path = Path(out_path)

    def fetch_into(tmp: Path) -> None:
        label = f"experimental file {spec.local_name}"
        src = Path(mirror) / spec.local_name if mirror is not None else None
        url = EXPERIMENTAL_URL.format(name=spec.original_name)
        _copy_or_download(src, url, tmp, spec.sha256, label, log)

    atomic_write(out_path, fetch_into)
    return out_path


def fetch_published(
    mirror: str | Path | None, out_dir: str | Path, log=None, files: dict | None = None
) -> Path:
    """Copy every published array (``PUBLISHED_FILES``) from the mirror, or download it from
    its pinned URL, into ``out_dir`` under its original path, each verified by sha256.

    A missing or corrupt file stops it with an error naming the file (and, for a mismatch,
    both checksums); nothing is left behind (``artefacts.atomic_write``).
    """
    files = PUBLISHED_FILES if files is None else files
    out_dir = Path(out_dir)

    def fetch_into(tmp: Path) -> None:
        for path, sha256 in files.items():
            target = tmp / path
            target.parent.mkdir(parents=True, exist_ok=True)
            src = Path(mirror) / path if mirror is not None else None
            url = PUBLISHED_URL.format(path=path)
            _copy_or_download(src, url, target, sha256, f"published file {path}", log)

    atomic_write(out_dir, fetch_into)
    return out_dir


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
