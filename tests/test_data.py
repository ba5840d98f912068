"""Raw-data rules: checksums verified, corrupt files refused, nothing partial left behind."""

from __future__ import annotations

import gzip
import shutil

import pytest

from efficient_synapses.data import raw as data


def test_mnist_from_mirror_is_verified_and_loads(mnist_raw):
    assert sorted(p.name for p in mnist_raw.iterdir()) == sorted(data.MNIST_RAW_MD5)
    train = data.load_mnist(mnist_raw, train=True, subset=100)
    test = data.load_mnist(mnist_raw, train=False)
    assert train.inputs.shape == (100, 784) and len(test) == 10000
    # Normalised as in the paper's code: background pixels at -0.1307/0.3081.
    assert train.inputs.min().item() == pytest.approx(-0.1307 / 0.3081, rel=1e-5)
    assert set(test.labels.unique().tolist()) == set(range(10))


def _mirror_copy(mirror, tmp_path):
    copy = tmp_path / "mirror"
    shutil.copytree(mirror / "mnist", copy)
    return copy


def test_corrupt_mnist_file_gives_checksum_error_and_no_output(mirror, tmp_path):
    copy = _mirror_copy(mirror, tmp_path)
    name = "t10k-labels-idx1-ubyte"
    with gzip.open(copy / f"{name}.gz", "rb") as f:
        raw = bytearray(f.read())
    raw[100] ^= 0xFF
    with gzip.open(copy / f"{name}.gz", "wb") as f:
        f.write(bytes(raw))
    out = tmp_path / "out" / "mnist"
    with pytest.raises(data.ChecksumError) as err:
        data.fetch_mnist(copy, out)
    message = str(err.value)
    assert name in message and data.MNIST_RAW_MD5[name] in message
    assert not out.exists()
    assert list((tmp_path / "out").iterdir()) == []


def test_truncated_gzip_is_reported_by_name(mirror, tmp_path):
    copy = _mirror_copy(mirror, tmp_path)
    target = copy / "train-labels-idx1-ubyte.gz"
    target.write_bytes(target.read_bytes()[:200])
    out = tmp_path / "out" / "mnist"
    with pytest.raises(data.ChecksumError, match="train-labels-idx1-ubyte"):
        data.fetch_mnist(copy, out)
    assert not out.exists()


def test_experimental_files_verified(mirror, tmp_path):
    for key, spec in data.EXPERIMENTAL_FILES.items():
        out = data.fetch_experimental(key, mirror / "experimental", tmp_path / f"{key}.csv")
        assert out.read_bytes() == (mirror / "experimental" / spec.local_name).read_bytes()


def test_corrupt_experimental_file_gives_checksum_error_and_no_output(mirror, tmp_path):
    copy = tmp_path / "experimental"
    shutil.copytree(mirror / "experimental", copy)
    (copy / "ko2013.csv").write_bytes((copy / "ko2013.csv").read_bytes().replace(b"1", b"2", 1))
    out = tmp_path / "out" / "ko2013.csv"
    with pytest.raises(data.ChecksumError) as err:
        data.fetch_experimental("ko2013", copy, out)
    assert "ko2013.csv" in str(err.value)
    assert data.EXPERIMENTAL_FILES["ko2013"].sha256 in str(err.value)
    assert not out.exists() and list(out.parent.iterdir()) == []


def test_missing_experimental_file_falls_back_to_url(tmp_path, monkeypatch):
    """Without a mirror copy the pinned URL is used; here it points to a local file."""
    source = tmp_path / "public"
    source.mkdir()
    (source / "ko2013").write_bytes(b"not the published data\n")
    monkeypatch.setattr(data, "EXPERIMENTAL_URL", source.as_uri() + "/{name}")
    out = tmp_path / "out" / "ko2013.csv"
    with pytest.raises(data.ChecksumError):
        data.fetch_experimental("ko2013", tmp_path / "empty-mirror", out)
    assert not out.exists()


def test_idx_reader_rejects_wrong_size(tmp_path):
    bad = tmp_path / "bad-idx"
    bad.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(ValueError, match="shape"):
        data.read_idx(bad)


def test_missing_mnist_file_falls_back_to_torchvision_and_leaves_nothing(
    mirror, tmp_path, monkeypatch
):
    """A mirror without one file: torchvision's own mirrors are tried (here: an empty
    local directory, so no network is touched), the download fails, no output remains."""
    import torchvision

    copy = _mirror_copy(mirror, tmp_path)
    (copy / "t10k-images-idx3-ubyte.gz").unlink()
    empty = tmp_path / "empty-public-mirror"
    empty.mkdir()
    monkeypatch.setattr(torchvision.datasets.MNIST, "mirrors", [empty.as_uri() + "/"])
    out = tmp_path / "out" / "mnist"
    with pytest.raises(RuntimeError):
        data.fetch_mnist(copy, out)
    assert not out.exists()
    assert list((tmp_path / "out").iterdir()) == []
