"""Load a named data set as NumPy arrays, decoding once and memory-mapping afterwards.

The first load of a split checks the sha256 of its files against the registry, decodes them
with :mod:`aelab.data.readers` and writes ``images.npy`` (uint8) and ``labels.npy`` (int64)
to a cache folder keyed by the source files' paths, sizes and modification times; later
loads memory-map these files. The cache folder is written under a temporary name and
renamed when complete, so an interrupted decode leaves nothing half-written.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from aelab.data.checksums import ChecksumError, check_file, mismatch_message, sha256_file
from aelab.data import paths
from aelab.data.readers import DataFormatError, read_cifar_python, read_idx, read_image_folder
from aelab.data.registry import DatasetSpec, Form, get_spec
from aelab.errors import ConfigError

__all__ = ["Dataset", "load_dataset", "find_form", "fetch_hint", "source_key", "drop_cached", "CACHE_FORMAT"]

#: Bumped whenever decoding changes, so old caches are not reused.
CACHE_FORMAT = 1


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a data set: read-only uint8 images, int64 labels, class names.

    Attributes:
        name: registered name (``mnist``, ``fashion-mnist``, ``cifar10``, ...).
        split: ``train`` or ``test``.
        images: uint8, (N, H, W) for grayscale or (N, H, W, C); read-only (often a memory map).
        labels: int64 (N,), label ``i`` means ``classes[i]``.
        classes: class names.
    """

    name: str
    split: str
    images: np.ndarray
    labels: np.ndarray
    classes: list[str]

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.images.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    def __repr__(self) -> str:
        images = f"{self.images.dtype}{list(self.images.shape)}"
        return (f"Dataset(name={self.name!r}, split={self.split!r}, images={images}, "
                f"classes={len(self.classes)})")


def find_form(spec: DatasetSpec, root: Path, split: str | None = None) -> Form | None:
    """The first form of ``spec`` whose files (for ``split``) are all present under ``root``."""
    for form in spec.forms:
        folder = spec.folder(root, form)
        if all((folder / f.name).is_file() for f in form.files_for(split)):
            return form
    return None


def fetch_hint(name: str, data_dir_arg: str | Path | None) -> str:
    """The command that gets data set ``name`` into the data directory the user chose."""
    if data_dir_arg is not None:
        return f"aelab data fetch {name} --data-dir {data_dir_arg}"
    return f"aelab data fetch {name}"


def _source_key(spec: DatasetSpec, form: Form, split: str, paths: list[Path]) -> str:
    stats = []
    for path in paths:
        st = path.stat()
        stats.append([str(path.resolve()), st.st_size, st.st_mtime_ns])
    blob = json.dumps([CACHE_FORMAT, spec.name, form.name, split, stats])
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _read_cached(folder: Path) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """The cached arrays (memory-mapped), or None when the folder is absent or damaged."""
    if not folder.is_dir():
        return None
    try:
        meta = json.loads((folder / "meta.json").read_text())
        images = np.load(folder / "images.npy", mmap_mode="r", allow_pickle=False)
        labels = np.load(folder / "labels.npy", mmap_mode="r", allow_pickle=False)
        if images.dtype != np.uint8 or labels.dtype != np.int64 or len(images) != len(labels) \
                or list(images.shape) != meta["shape"]:
            raise ValueError("inconsistent cache")
        return images, labels, list(meta["classes"])
    except (OSError, ValueError, KeyError, json.JSONDecodeError):
        shutil.rmtree(folder, ignore_errors=True)  # rebuilt by the caller
        return None


def _write_cached(folder: Path, decode) -> tuple[np.ndarray, np.ndarray, list[str]] | None:
    """Decode into a temporary folder next to ``folder`` and rename it into place when complete.

    ``decode(out)`` returns (images, labels, classes) and may write the images to ``out``
    itself. Returns the cached arrays, memory-mapped, or None when the cache is not writable
    (the caller then decodes in memory).
    """
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", suffix=".tmp", dir=folder.parent))
    except OSError:
        return None
    try:
        images, labels, classes = decode(tmp / "images.npy")
        if not (tmp / "images.npy").exists():
            np.save(tmp / "images.npy", np.ascontiguousarray(images))
        np.save(tmp / "labels.npy", np.ascontiguousarray(labels, dtype=np.int64))
        meta = {"shape": list(images.shape), "classes": classes, "format": CACHE_FORMAT}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        del images
        try:
            os.rename(tmp, folder)
        except OSError:  # another process finished first: keep theirs
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return _read_cached(folder)


def _decode(spec: DatasetSpec, form: Form, folder: Path, split: str, workers: int | None,
            out: Path | None = None) -> tuple[np.ndarray, np.ndarray, list[str]]:
    names = form.splits[split]
    if form.reader == "idx":
        images_path, labels_path = folder / names[0], folder / names[1]
        images, labels = read_idx(images_path), read_idx(labels_path)
        if images.ndim != 3 or images.dtype != np.uint8:
            raise DataFormatError(f"{images_path}: {images.dtype} {images.shape}, expected uint8 images (N, H, W)")
        if labels.ndim != 1 or len(labels) != len(images):
            raise DataFormatError(f"{labels_path}: shape {labels.shape}, expected ({len(images)},) labels "
                                  f"to match {images_path.name}")
        labels = labels.astype(np.int64)
        classes = list(spec.classes)
    elif form.reader == "image-folder":
        images, labels, classes = read_image_folder(folder / names[0], split, classes=spec.classes or None,
                                                    workers=workers, out=out)
    elif form.reader == "cifar-python":
        images, labels, classes = read_cifar_python(folder / names[0], split)
    else:  # pragma: no cover - registry error
        raise AssertionError(form.reader)
    where = folder / names[0]
    expected = spec.shapes[split]
    if tuple(images.shape) != tuple(expected):
        raise DataFormatError(f"{where}: decoded {spec.name} {split} images of shape {tuple(images.shape)}, "
                              f"expected {tuple(expected)}")
    if spec.classes and list(classes) != list(spec.classes):
        raise DataFormatError(f"{where}: classes {classes}, expected {list(spec.classes)}")
    if len(labels) and (labels.min() < 0 or labels.max() >= len(classes)):
        raise DataFormatError(f"{where}: labels outside 0..{len(classes) - 1}")
    return images, labels, list(classes)


def _locate(name: str, split: str, data_dir: str | Path | None) -> tuple[DatasetSpec, Form, Path, list[Path]]:
    """The spec, the form present in the data directory, its folder and the files of ``split``."""
    spec = get_spec(name)
    if split not in spec.splits:
        raise ConfigError(f"split: {split!r} is not a split of {spec.name} (expected {' or '.join(spec.splits)})")
    root = paths.data_dir(data_dir)
    form = find_form(spec, root, split)
    if form is None:
        expected = "; ".join(
            f"{spec.folder(root, f)}/{{{','.join(x.name for x in f.files_for(split))}}}" for f in spec.forms)
        raise ConfigError(
            f"data set {spec.name} not found in {root} (looked for {expected}); get it with "
            f"`{fetch_hint(spec.name, data_dir)}` (add --source FOLDER-OR-URL for a mirror), or point "
            f"{paths.DATA_ENV} at a folder that holds it"
        )
    folder = spec.folder(root, form)
    return spec, form, folder, [folder / f.name for f in form.files_for(split)]


def drop_cached(name: str, splits, *, cache_dir: str | Path | None = None) -> list[Path]:
    """Remove the decoded arrays and spectra cached for ``splits`` of data set ``name``, whatever
    their source key (after a failed verification: they may come from other bytes than those
    now on disk). Returns what was removed."""
    root = paths.cache_dir(cache_dir)
    removed = []
    for split in splits:
        for entry in [*(root / "datasets").glob(f"{name}-{split}-*"), *(root / "spectra").glob(f"{name}-{split}-*")]:
            if entry.is_dir():
                shutil.rmtree(entry, ignore_errors=True)
            else:
                entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed


def source_key(name: str, split: str = "train", *, data_dir: str | Path | None = None) -> str:
    """A key identifying the source files of a split (paths, sizes, modification times)."""
    spec, form, _folder, sources = _locate(name, split, data_dir)
    return _source_key(spec, form, split, sources)


def load_dataset(
    name: str,
    split: str = "train",
    *,
    data_dir: str | Path | None = None,
    cache: bool = True,
    cache_dir: str | Path | None = None,
    verify: bool = True,
    workers: int | None = None,
) -> Dataset:
    """Load one split of a registered data set as uint8 images and int64 labels.

    Args:
        name: ``mnist``, ``fashion-mnist``, ``cifar10``, ``cifar100`` (``aelab data list``).
        split: ``train`` or ``test``.
        data_dir: the data directory; default ``$AELAB_DATA``, else a per-user cache folder.
        cache: keep decoded arrays as ``.npy`` files and memory-map them on later loads.
        cache_dir: where decoded arrays go; default ``$AELAB_CACHE``, else a per-user folder.
        verify: check the sha256 of the source files before decoding them.
        workers: processes for decoding image archives (default: usable cores, at most 8).

    Raises:
        ConfigError: unknown name or split, or the data set is not in the data directory (the
            message gives the ``aelab data fetch`` command); DataFormatError / ChecksumError
            (both ConfigErrors) for damaged files.
    """
    spec, form, folder, sources = _locate(name, split, data_dir)
    target = None
    if cache:
        key = _source_key(spec, form, split, sources)
        target = paths.cache_dir(cache_dir) / "datasets" / f"{spec.name}-{split}-{key}"
        cached = _read_cached(target)
        if cached is not None:
            return Dataset(spec.name, split, cached[0], cached[1], cached[2])
    if verify:
        for spec_file, path in zip(form.files_for(split), sources):
            if check_file(path, spec_file.sha256, cache=cache_dir) != "ok":
                raise ChecksumError(mismatch_message(path, spec_file.sha256, sha256_file(path))
                                    + f"; fetch it again with `{fetch_hint(spec.name, data_dir)} --force`")
    if target is not None:
        cached = _write_cached(target, lambda out: _decode(spec, form, folder, split, workers, out))
        if cached is not None:
            return Dataset(spec.name, split, cached[0], cached[1], cached[2])
    images, labels, classes = _decode(spec, form, folder, split, workers)
    images = np.asarray(images)
    labels = np.asarray(labels, dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return Dataset(spec.name, split, images, labels, classes)
