"""Readers: IDX, image folders and zips, CIFAR python archives, npy/npz; every bad input has one clear error."""

from __future__ import annotations

import gzip
import io
import pickle
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
from data_helpers import idx_bytes, write_cifar_archive
from PIL import Image

from aelab.data.readers import (
    DataFormatError,
    list_image_folder,
    read_cifar_python,
    read_idx,
    read_image_folder,
    read_npy,
    read_npz,
)
from aelab.errors import ConfigError

# ---------------------------------------------------------------------------------------------- IDX


@pytest.mark.parametrize("dtype", [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip_every_type(tmp_path, rng, dtype, compress):
    array = (rng.standard_normal((3, 4, 5)) * 50).astype(dtype)
    data = idx_bytes(array)
    path = tmp_path / ("x.idx.gz" if compress else "x.idx")
    path.write_bytes(gzip.compress(data) if compress else data)
    out = read_idx(path)
    assert out.shape == (3, 4, 5)
    assert out.dtype == np.dtype(dtype)  # native byte order
    np.testing.assert_array_equal(out, array)
    assert not out.flags.writeable


def test_idx_gzip_detected_by_content_not_name(tmp_path):
    array = np.arange(6, dtype=np.uint8)
    path = tmp_path / "labels-idx1-ubyte"  # no .gz suffix, gzip content
    path.write_bytes(gzip.compress(idx_bytes(array)))
    np.testing.assert_array_equal(read_idx(path), array)


@pytest.mark.parametrize("header, fragment", [
    (b"\x08\x03\x00\x00", "not an IDX file: magic number 08 03 00 00"),     # swapped / little-endian magic
    (b"\x00\x00\x07\x01", "not an IDX file: magic number 00 00 07 01"),     # unknown type code
    (b"\x00\x00\x08\x00", "not an IDX file"),                               # zero dimensions
    (b"\x00\x01\x08\x01", "not an IDX file"),                               # non-zero leading byte
])
def test_idx_bad_magic_names_file_and_expectation(tmp_path, header, fragment):
    path = tmp_path / "bad.idx"
    path.write_bytes(header + b"\x00\x00\x00\x02" + b"ab")
    with pytest.raises(DataFormatError) as err:
        read_idx(path)
    assert fragment in str(err.value) and str(path) in str(err.value)
    assert "expected 00 00" in str(err.value)


def test_idx_truncated_and_trailing_bytes(tmp_path):
    data = idx_bytes(np.zeros((10, 2, 2), np.uint8))
    short, long = tmp_path / "short.idx", tmp_path / "long.idx"
    short.write_bytes(data[:-1])
    long.write_bytes(data + b"\x00")
    with pytest.raises(DataFormatError, match=r"truncated: 55 bytes, expected 56 for shape \(10, 2, 2\)"):
        read_idx(short)
    with pytest.raises(DataFormatError, match="trailing bytes: 57 bytes, expected 56"):
        read_idx(long)
    header_only = tmp_path / "header.idx"
    header_only.write_bytes(data[:9])
    with pytest.raises(DataFormatError, match="truncated IDX header"):
        read_idx(header_only)


def test_idx_corrupted_and_truncated_gzip(tmp_path):
    packed = gzip.compress(idx_bytes(np.arange(1000, dtype=np.int32)))
    truncated = tmp_path / "t.gz"
    truncated.write_bytes(packed[: len(packed) // 2])
    with pytest.raises(DataFormatError, match="corrupted or truncated gzip stream"):
        read_idx(truncated)
    flipped = bytearray(packed)
    flipped[len(flipped) // 2] ^= 0xFF
    corrupted = tmp_path / "c.gz"
    corrupted.write_bytes(bytes(flipped))
    with pytest.raises(DataFormatError, match=str(corrupted)):
        read_idx(corrupted)
    with pytest.raises(DataFormatError, match="file not found"):
        read_idx(tmp_path / "absent.gz")


def test_bad_input_errors_are_config_errors():
    assert issubclass(DataFormatError, ConfigError)  # exit code 2 on the command line


# ---------------------------------------------------------------------------------------------- image folders


def _png(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="PNG")
    return buf.getvalue()


def _make_images(rng, classes=("cat", "ant", "bee"), per_class=4, shape=(6, 5, 3)):
    """{relative path: pixels} for split folders train/ and test/, PNG (lossless) files."""
    files = {}
    for split in ("train", "test"):
        for c in classes:
            for i in range(per_class):
                files[f"{split}/{c}/{i * 5}.png"] = rng.integers(0, 256, shape, dtype=np.uint8)
    return files


def _write_folder(root: Path, files: dict[str, np.ndarray]) -> Path:
    for rel, pixels in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(_png(pixels))
    return root


def _write_zip(path: Path, files: dict[str, np.ndarray], prefix: str = "",
               compression: int = zipfile.ZIP_STORED) -> Path:
    with zipfile.ZipFile(path, "w", compression=compression) as z:
        for rel, pixels in files.items():
            z.writestr(prefix + rel, _png(pixels))
    return path


def _expected(files, split, classes):
    rows = []
    for label, c in enumerate(classes):
        names = sorted((k for k in files if k.startswith(f"{split}/{c}/")), key=lambda k: int(Path(k).stem))
        rows += [(files[k], label) for k in names]
    return np.stack([r[0] for r in rows]), np.array([r[1] for r in rows])


@pytest.mark.parametrize("kind", ["folder", "zip", "zip-deflated", "zip-prefixed"])
def test_image_folder_order_labels_and_pixels(tmp_path, rng, kind):
    files = _make_images(rng)
    if kind == "folder":
        source = _write_folder(tmp_path / "imgs", files)
    elif kind == "zip":
        source = _write_zip(tmp_path / "imgs.zip", files)
    elif kind == "zip-deflated":
        source = _write_zip(tmp_path / "imgs.zip", files, compression=zipfile.ZIP_DEFLATED)
    else:
        source = _write_zip(tmp_path / "imgs.zip", files, prefix="export/")
    out = read_image_folder(source, "train", workers=1)
    assert out.classes == ["ant", "bee", "cat"]  # sorted by name
    images, labels = _expected(files, "train", out.classes)  # natural order: 0, 5, 10, 15
    np.testing.assert_array_equal(out.images, images)
    np.testing.assert_array_equal(out.labels, labels)
    assert out.labels.dtype == np.int64 and out.images.dtype == np.uint8
    members, labels2, _ = list_image_folder(source, "test")
    assert members[:2] == [m for m in members if "/ant/" in m][:2] and members[1].endswith("/5.png")
    np.testing.assert_array_equal(labels2, labels)


def test_image_folder_grayscale_and_no_split(tmp_path, rng):
    files = {f"{c}/{i}.png": rng.integers(0, 256, (4, 3), dtype=np.uint8) for c in "xy" for i in range(3)}
    out = read_image_folder(_write_folder(tmp_path / "g", files))
    assert out.images.shape == (6, 4, 3)
    np.testing.assert_array_equal(out.images[3], files["y/0.png"])


def test_image_folder_parallel_workers_match_serial(tmp_path, rng, monkeypatch):
    from aelab.data import readers

    monkeypatch.setattr(readers, "IMAGES_PER_WORKER", 100)
    files = {f"train/c{c}/{i}.png": rng.integers(0, 256, (3, 3, 3), dtype=np.uint8)
             for c in range(2) for i in range(150)}
    source = _write_zip(tmp_path / "many.zip", files)
    ran = []
    real = readers._decode_in_workers
    monkeypatch.setattr(readers, "_decode_in_workers", lambda *args: ran.append(real(*args)) or ran[-1])
    serial = read_image_folder(source, "train", workers=1)
    parallel = read_image_folder(source, "train", workers=2)  # two worker processes
    np.testing.assert_array_equal(serial.images, parallel.images)
    into = read_image_folder(source, "train", workers=2, out=tmp_path / "x.npy")
    assert ran == [True, True]  # the workers did the decoding
    assert isinstance(into.images, np.memmap)
    np.testing.assert_array_equal(np.load(tmp_path / "x.npy"), serial.images)


def test_image_folder_parallel_reports_the_bad_image(tmp_path, rng, monkeypatch):
    from aelab.data import readers

    monkeypatch.setattr(readers, "IMAGES_PER_WORKER", 100)
    files = {f"train/c/{i}.png": rng.integers(0, 256, (3, 3, 3), dtype=np.uint8) for i in range(300)}
    files["train/c/250.png"] = rng.integers(0, 256, (3, 4, 3), dtype=np.uint8)
    source = _write_zip(tmp_path / "odd.zip", files)
    with pytest.raises(DataFormatError, match=r"train/c/250\.png: image is 4x3 RGB, expected 3x3 RGB"):
        read_image_folder(source, "train", workers=2)


def test_image_of_another_size_or_mode(tmp_path, rng):
    files = _make_images(rng)
    files["train/bee/5.png"] = rng.integers(0, 256, (7, 5, 3), dtype=np.uint8)
    with pytest.raises(DataFormatError, match=r"train/bee/5\.png: image is 5x7 RGB, expected 5x6 RGB \(as train/ant/0"):
        read_image_folder(_write_zip(tmp_path / "a.zip", files), "train")
    files = _make_images(rng)
    files["train/cat/10.png"] = rng.integers(0, 256, (6, 5), dtype=np.uint8)
    with pytest.raises(DataFormatError, match=r"cat/10\.png: image is 5x6 L, expected 5x6 RGB"):
        read_image_folder(_write_folder(tmp_path / "b", files), "train")


def test_unsupported_mode_and_corrupted_image(tmp_path, rng):
    root = tmp_path / "p"
    (root / "a").mkdir(parents=True)
    Image.new("P", (3, 3)).save(root / "a" / "0.png")
    with pytest.raises(DataFormatError, match="image mode P, expected L"):
        read_image_folder(root)
    files = _make_images(rng)
    source = _write_folder(tmp_path / "c", files)
    bad = source / "train" / "cat" / "5.png"
    bad.write_bytes(bad.read_bytes()[:40])
    with pytest.raises(DataFormatError, match=r"cat/5\.png: cannot decode image"):
        read_image_folder(source, "train")


def test_image_folder_layout_errors(tmp_path, rng):
    files = _make_images(rng)
    source = _write_zip(tmp_path / "a.zip", files)
    with pytest.raises(DataFormatError, match=r"no folder 'valid' \(found: test, train\)"):
        read_image_folder(source, "valid")
    with pytest.raises(DataFormatError, match=r"unexpected class folder\(s\) \['bee'\]"):
        read_image_folder(source, "train", classes=["ant", "cat"])
    files["train/deep/x/1.png"] = files["train/ant/0.png"]
    with pytest.raises(DataFormatError, match="found another depth"):
        read_image_folder(_write_zip(tmp_path / "b.zip", files), "train")
    (tmp_path / "notzip.zip").write_bytes(b"hello")
    with pytest.raises(DataFormatError, match="not a readable zip archive"):
        read_image_folder(tmp_path / "notzip.zip")
    with pytest.raises(DataFormatError, match="no images"):
        (tmp_path / "empty" / "c").mkdir(parents=True)
        read_image_folder(tmp_path / "empty")


def test_fixed_class_list_keeps_label_numbers_for_missing_classes(tmp_path, rng):
    files = {k: v for k, v in _make_images(rng).items() if "/bee/" not in k}
    out = read_image_folder(_write_folder(tmp_path / "f", files), "test", classes=["ant", "bee", "cat"])
    assert sorted(set(out.labels.tolist())) == [0, 2]


def test_zip_member_crc_checked(tmp_path, rng):
    files = _make_images(rng, per_class=1)
    source = _write_zip(tmp_path / "a.zip", files)
    data = bytearray(source.read_bytes())
    member = _png(files["train/ant/0.png"])
    at = bytes(data).index(member) + len(member) - 20  # inside the stored PNG, past its header
    data[at] ^= 0x01
    source.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match=r"ant/0\.png: CRC-32 mismatch"):
        read_image_folder(source, "train")


# ---------------------------------------------------------------------------------------------- CIFAR python


def test_cifar10_python_archive(tmp_path, rng):
    path = tmp_path / "cifar-10-python.tar.gz"
    truth = write_cifar_archive(path, rng)
    for split in ("train", "test"):
        out = read_cifar_python(path, split)
        np.testing.assert_array_equal(out.images, truth[split][0])
        np.testing.assert_array_equal(out.labels, truth[split][1])
        assert out.classes == list("abcdefghij")
    assert read_cifar_python(path, "train").images.shape == (35, 32, 32, 3)


def test_cifar100_python_archive_fine_and_coarse(tmp_path, rng):
    path = tmp_path / "cifar-100-python.tar.gz"
    truth = write_cifar_archive(path, rng, variant="cifar100")
    fine = read_cifar_python(path, "test")
    np.testing.assert_array_equal(fine.labels, truth["test"][1])
    assert len(fine.classes) == 100
    coarse = read_cifar_python(path, "test", label="coarse")
    np.testing.assert_array_equal(coarse.labels, truth["test"][1] // 5)
    assert coarse.classes[0] == "c0" and len(coarse.classes) == 20


class _Evil:
    def __reduce__(self):
        return (print, ("code ran",))


def test_cifar_archive_refuses_code_in_pickles(tmp_path, capsys):
    path = tmp_path / "evil.tar.gz"
    with tarfile.open(path, "w:gz") as tar:
        for name, obj in [("cifar-10-batches-py/batches.meta", {b"label_names": [b"a"]}),
                          ("cifar-10-batches-py/data_batch_1", {}),
                          ("cifar-10-batches-py/test_batch", _Evil())]:
            data = pickle.dumps(obj, protocol=2)
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    refused = r"test_batch: not a CIFAR batch .*refusing to load (__builtin__|builtins)\.print"
    with pytest.raises(DataFormatError, match=refused):
        read_cifar_python(path, "test")
    assert "code ran" not in capsys.readouterr().out


def test_cifar_archive_errors(tmp_path, rng):
    path = tmp_path / "c.tar.gz"
    write_cifar_archive(path, rng)
    data = path.read_bytes()
    truncated = tmp_path / "truncated.tar.gz"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataFormatError, match="truncated|corrupted"):
        read_cifar_python(truncated, "train")
    other = tmp_path / "other.tar.gz"
    with tarfile.open(other, "w:gz") as tar:
        info = tarfile.TarInfo("readme.txt")
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(DataFormatError, match="not a CIFAR python archive"):
        read_cifar_python(other)
    (tmp_path / "text.tar.gz").write_text("nope")
    with pytest.raises(DataFormatError, match="not a readable tar archive"):
        read_cifar_python(tmp_path / "text.tar.gz")
    with pytest.raises(ConfigError, match="split: 'valid'"):
        read_cifar_python(path, "valid")


# ---------------------------------------------------------------------------------------------- npy / npz


def test_npy_and_npz(tmp_path, rng):
    x = rng.integers(0, 256, (5, 3, 3), dtype=np.uint8)
    np.save(tmp_path / "x.npy", x)
    mm = read_npy(tmp_path / "x.npy")
    assert isinstance(mm, np.memmap) and not mm.flags.writeable
    np.testing.assert_array_equal(mm, x)
    np.testing.assert_array_equal(read_npy(tmp_path / "x.npy", mmap=False), x)
    np.savez(tmp_path / "d.npz", images=x, labels=np.arange(5))
    d = read_npz(tmp_path / "d.npz")
    assert set(d) == {"images", "labels"}
    np.testing.assert_array_equal(d["images"], x)


def test_npy_npz_bad_input(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object))
    with pytest.raises(DataFormatError, match="not a readable .npy file"):
        read_npy(tmp_path / "obj.npy", mmap=False)
    np.save(tmp_path / "x.npy", np.zeros(1000))
    data = (tmp_path / "x.npy").read_bytes()
    (tmp_path / "short.npy").write_bytes(data[:500])
    with pytest.raises(DataFormatError, match="short.npy"):
        read_npy(tmp_path / "short.npy")
    (tmp_path / "bad.npz").write_bytes(b"PK garbage")
    with pytest.raises(DataFormatError, match="not a readable .npz file"):
        read_npz(tmp_path / "bad.npz")
    with pytest.raises(DataFormatError, match="file not found"):
        read_npz(tmp_path / "absent.npz")


# ---------------------------------------------------------------------------------------------- JPEG fast path


def _jpeg(array: np.ndarray, **options) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, format="JPEG", **options)
    return buf.getvalue()


@pytest.mark.parametrize("options", [
    {"quality": 75},
    {"quality": 95, "subsampling": 0},
    {"quality": 50, "progressive": True},
    {"quality": 80, "exif": Image.Exif().tobytes() or b"Exif\x00\x00", "icc_profile": b"\x00" * 300},
    {"quality": 75, "restart_marker_blocks": 1},
])
@pytest.mark.parametrize("gray", [False, True])
def test_fast_jpeg_path_equals_pillow(tmp_path, rng, monkeypatch, options, gray):
    from aelab.data import readers

    shape = (9, 13) if gray else (9, 13, 3)
    files = {f"c/{i}.jpg": rng.integers(0, 256, shape, dtype=np.uint8) for i in range(6)}
    root = tmp_path / "j"
    for rel, pixels in files.items():
        (root / "c").mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(_jpeg(pixels, **options))
    header = readers._jpeg_header((root / "c/0.jpg").read_bytes())
    assert header == (13, 9, 1 if gray else 3)
    fast = read_image_folder(root, workers=1).images
    monkeypatch.setattr(readers, "FAST_JPEG", False)
    slow = read_image_folder(root, workers=1).images
    np.testing.assert_array_equal(fast, slow)
    assert fast.shape == (6, *shape)


def test_fast_jpeg_path_leaves_bad_files_to_pillow(tmp_path, rng):
    root = tmp_path / "j"
    (root / "c").mkdir(parents=True)
    good = _jpeg(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8))
    (root / "c" / "0.jpg").write_bytes(good)
    (root / "c" / "1.jpg").write_bytes(good[: len(good) // 2])
    truncated = r"1\.jpg: cannot decode image \((image file is truncated|Truncated File Read)"
    with pytest.raises(DataFormatError, match=truncated):
        read_image_folder(root)
    (root / "c" / "1.jpg").write_bytes(_jpeg(rng.integers(0, 256, (8, 9, 3), dtype=np.uint8)))
    with pytest.raises(DataFormatError, match=r"1\.jpg: image is 9x8 RGB, expected 8x8 RGB"):
        read_image_folder(root)
    (root / "c" / "1.jpg").write_bytes(_jpeg(rng.integers(0, 256, (8, 8), dtype=np.uint8)))
    with pytest.raises(DataFormatError, match=r"1\.jpg: image is 8x8 L, expected 8x8 RGB"):
        read_image_folder(root)


@pytest.mark.data
def test_fast_jpeg_path_on_real_cifar_files(shared_data, monkeypatch):
    from aelab.data import readers

    source = shared_data / "cifar10-jpeg" / "cifar10-jpeg.zip"
    members, _, _, locs = readers._index(source, "test", None, readers.IMAGE_EXTENSIONS)
    picks = slice(0, None, 50)  # 200 files across all classes
    fast = readers._decode_members(str(source), members[picks], locs[picks], (32, 32, "RGB"), members[0])
    monkeypatch.setattr(readers, "FAST_JPEG", False)
    slow = readers._decode_members(str(source), members[picks], locs[picks], (32, 32, "RGB"), members[0])
    np.testing.assert_array_equal(fast, slow)


@pytest.mark.slow
@pytest.mark.data
def test_every_cifar_jpeg_decodes_as_pillow_does(shared_data, monkeypatch):
    """All 60,000 files: the parallel fast path against one process through Image.open."""
    from aelab.data import readers

    source = shared_data / "cifar10-jpeg" / "cifar10-jpeg.zip"
    for split in ("train", "test"):
        fast = read_image_folder(source, split, workers=2)
        with monkeypatch.context() as m:
            m.setattr(readers, "FAST_JPEG", False)
            slow = read_image_folder(source, split, workers=1)
        np.testing.assert_array_equal(fast.images, slow.images)
        np.testing.assert_array_equal(fast.labels, slow.labels)
