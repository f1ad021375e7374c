"""load_dataset: the real data sets (shapes, label counts, pixel statistics, checksums), the cache, errors."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from aelab.data import load_dataset, registry
from aelab.data.checksums import ChecksumError, sha256_file
from aelab.data.readers import DataFormatError
from aelab.errors import ConfigError

# ---------------------------------------------------------------------------------------------- real data


def _readme_digests(shared: Path) -> dict[str, str]:
    """sha256 per file as listed in the shared folder's README."""
    text = (shared / "README.md").read_text()
    return {path: digest for digest, path in re.findall(r"^([0-9a-f]{64})\s+(\S+)$", text, flags=re.M)}


@pytest.mark.data
def test_registry_checksums_match_the_real_files(shared_data):
    listed = _readme_digests(shared_data)
    assert len(listed) == 9
    checked = 0
    for spec in registry.REGISTRY.values():
        for form in spec.forms:
            for f in form.files:
                path = shared_data / form.folder / f.name
                if path.is_file():
                    digest = sha256_file(path)
                    assert digest in f.sha256, path
                    assert listed[f"{form.folder}/{f.name}"] == digest
                    checked += 1
    assert checked == 9  # every shared file is a registered one


@pytest.mark.data
@pytest.mark.parametrize("name, mean, std", [("mnist", 0.1307, 0.3081), ("fashion-mnist", 0.2860, 0.3530)])
def test_mnist_like_shapes_counts_and_pixel_statistics(shared_data, name, mean, std):
    train = load_dataset(name, "train", data_dir=shared_data)
    test = load_dataset(name, "test", data_dir=shared_data)
    assert train.images.shape == (60000, 28, 28) and test.images.shape == (10000, 28, 28)
    assert train.images.dtype == np.uint8 and train.labels.dtype == np.int64
    assert train.classes == list(registry.get_spec(name).classes)
    # mean and std of all pixels scaled to [0, 1], exactly, from the histogram of pixel values
    values = np.arange(256) / 255.0
    hist = np.bincount(np.asarray(train.images).ravel(), minlength=256) / train.images.size
    m = hist @ values
    s = np.sqrt(hist @ (values - m) ** 2)
    assert abs(m - mean) < 5e-4 and abs(s - std) < 5e-4  # the values quoted in the literature
    counts = np.bincount(train.labels, minlength=10)
    if name == "mnist":
        # the published class sizes of MNIST train and test
        assert counts.tolist() == [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
        assert np.bincount(test.labels).tolist() == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
    else:
        assert counts.tolist() == [6000] * 10 and np.bincount(test.labels).tolist() == [1000] * 10
    again = load_dataset(name, "train", data_dir=shared_data)
    assert isinstance(again.images, np.memmap)  # the second load maps the cache
    np.testing.assert_array_equal(again.images[::997], train.images[::997])


@pytest.mark.data
def test_cifar10_jpeg_zip(cifar, shared_data, session_cache):
    train, test = cifar["train"], cifar["test"]
    assert train.images.shape == (50000, 32, 32, 3) and test.images.shape == (10000, 32, 32, 3)
    assert train.classes == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert np.bincount(train.labels).tolist() == [5000] * 10
    assert np.bincount(test.labels).tolist() == [1000] * 10
    # per-channel means of the official CIFAR-10 train set; JPEG at quality ~75 shifts them by < 1e-3
    means = train.images.reshape(-1, 3).mean(axis=0, dtype=np.float64) / 255.0
    np.testing.assert_allclose(means, [0.4914, 0.4822, 0.4465], atol=1.5e-3)
    again = load_dataset("cifar10", "test", data_dir=shared_data, cache_dir=session_cache)
    assert isinstance(again.images, np.memmap)
    np.testing.assert_array_equal(again.images[:50], test.images[:50])


# ---------------------------------------------------------------------------------------------- errors


def test_missing_data_set_names_the_fetch_command(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_dataset("mnist")
    assert "`aelab data fetch mnist`" in str(err.value)
    assert "train-images-idx3-ubyte.gz" in str(err.value)
    with pytest.raises(ConfigError, match=f"`aelab data fetch cifar10 --data-dir {tmp_path}`"):
        load_dataset("cifar10", "test", data_dir=tmp_path)


def test_unknown_name_and_split():
    with pytest.raises(ConfigError, match=r"unknown data set 'imagenet' \(known: mnist, fashion-mnist, cifar10"):
        load_dataset("imagenet")
    with pytest.raises(ConfigError, match="split: 'valid' is not a split of mnist"):
        load_dataset("mnist", "valid")
    assert registry.get_spec("Fashion_MNIST").name == "fashion-mnist"


def test_data_dir_argument_environment_and_default(toy, tmp_path, monkeypatch):
    toy.write(tmp_path / "env" / "toy")
    monkeypatch.setenv("AELAB_DATA", str(tmp_path / "env"))
    assert len(load_dataset("toy", "test")) == 20
    with pytest.raises(ConfigError, match="not found"):
        load_dataset("toy", "test", data_dir=tmp_path / "elsewhere")
    monkeypatch.delenv("AELAB_DATA")
    from aelab.data import paths

    assert paths.data_dir() == paths.default_data_dir() and "aelab" in str(paths.default_data_dir())


# ---------------------------------------------------------------------------------------------- cache


def test_toy_load_and_cache(toy, tmp_path):
    toy.write(tmp_path / "data" / "toy")
    cache = tmp_path / "cache"
    first = load_dataset("toy", "train", data_dir=tmp_path / "data", cache_dir=cache)
    np.testing.assert_array_equal(first.images, toy.images["train"])
    np.testing.assert_array_equal(first.labels, toy.labels["train"])
    assert first.classes == ["a", "b", "c"] and len(first) == 60 and first.image_shape == (5, 4)
    assert not first.images.flags.writeable and not first.labels.flags.writeable
    folders = list((cache / "datasets").iterdir())
    assert len(folders) == 1 and sorted(p.name for p in folders[0].iterdir()) == ["images.npy", "labels.npy",
                                                                                     "meta.json"]
    second = load_dataset("toy", "train", data_dir=tmp_path / "data", cache_dir=cache)
    assert isinstance(second.images, np.memmap)
    np.testing.assert_array_equal(second.images, toy.images["train"])
    plain = load_dataset("toy", "train", data_dir=tmp_path / "data", cache=False, cache_dir=tmp_path / "c2")
    assert not isinstance(plain.images, np.memmap) and not (tmp_path / "c2" / "datasets").exists()


def test_damaged_cache_is_rebuilt(toy, tmp_path):
    toy.write(tmp_path / "data" / "toy")
    cache = tmp_path / "cache"
    load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=cache)
    (folder,) = (cache / "datasets").iterdir()
    (folder / "images.npy").write_bytes((folder / "images.npy").read_bytes()[:100])
    again = load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=cache)
    np.testing.assert_array_equal(again.images, toy.images["test"])


def test_changed_source_file_is_verified_again(toy, tmp_path):
    folder = toy.write(tmp_path / "data" / "toy")
    cache = tmp_path / "cache"
    load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=cache)
    bad = folder / "t10k-labels-idx1-ubyte.gz"
    bad.write_bytes(b"\x1f\x8b" + bytes(30))
    with pytest.raises(ChecksumError) as err:
        load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=cache)
    message = str(err.value)
    assert str(bad) in message and toy.spec().forms[0].file(bad.name).sha256[0] in message
    assert "aelab data fetch toy" in message and "--force" in message


def test_malformed_file_leaves_no_cache(toy, tmp_path, monkeypatch):
    """A registered file that does not decode: one error naming it, nothing written to the cache."""
    folder = toy.write(tmp_path / "data" / "toy")
    name = "t10k-images-idx3-ubyte.gz"
    import gzip

    from data_helpers import idx_bytes, sha

    broken = gzip.compress(idx_bytes(toy.images["test"])[:-7])
    (folder / name).write_bytes(broken)
    spec = toy.spec()
    files = tuple(f if f.name != name else registry.FileSpec(name, (sha(broken),)) for f in spec.forms[0].files)
    from dataclasses import replace

    monkeypatch.setitem(registry.REGISTRY, "toy", replace(spec, forms=(replace(spec.forms[0], files=files),)))
    cache = tmp_path / "cache"
    with pytest.raises(DataFormatError, match=f"{name}: truncated"):
        load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=cache)
    assert list((cache / "datasets").iterdir()) == []


def test_shape_mismatch_with_registry(toy, tmp_path, monkeypatch):
    from dataclasses import replace

    toy.write(tmp_path / "toy")
    monkeypatch.setitem(registry.REGISTRY, "toy", replace(toy.spec(), shapes={"train": (60, 4, 5), "test": (20, 5, 4)}))
    with pytest.raises(DataFormatError, match=r"decoded toy train images of shape \(60, 5, 4\), expected \(60, 4, 5\)"):
        load_dataset("toy", "train", data_dir=tmp_path)


def test_cifar_python_form_through_the_registry(tmp_path, rng, monkeypatch):
    """A CIFAR-10 "python version" archive in the registry's cifar10 folder loads like the official one."""
    from dataclasses import replace

    from data_helpers import sha, write_cifar_archive

    archive = tmp_path / "data" / "cifar10" / "cifar-10-python.tar.gz"
    archive.parent.mkdir(parents=True)
    truth = write_cifar_archive(archive, rng)
    spec = registry.get_spec("cifar10")
    form = spec.form("python")
    files = (registry.FileSpec(archive.name, (sha(archive.read_bytes()),)),)
    monkeypatch.setitem(registry.REGISTRY, "cifar10", replace(
        spec, forms=(replace(form, files=files),), classes=tuple("abcdefghij"),
        shapes={"train": (35, 32, 32, 3), "test": (7, 32, 32, 3)}))
    data = load_dataset("cifar10", "test", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    np.testing.assert_array_equal(data.images, truth["test"][0])
    np.testing.assert_array_equal(data.labels, truth["test"][1])
    assert data.classes == list("abcdefghij")


def test_interrupted_decode_leaves_nothing_in_the_cache(toy, tmp_path, monkeypatch):
    import aelab.data.datasets as datasets

    toy.write(tmp_path / "data" / "toy")

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(datasets, "_decode", interrupted)
    with pytest.raises(KeyboardInterrupt):
        load_dataset("toy", "test", data_dir=tmp_path / "data", cache_dir=tmp_path / "cache")
    assert list((tmp_path / "cache" / "datasets").iterdir()) == []
