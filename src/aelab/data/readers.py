"""Readers for the formats image data sets come in, on NumPy and Pillow only.

* IDX files, gzip-compressed or raw (MNIST, Fashion-MNIST, KMNIST, EMNIST): :func:`read_idx`.
* Image folders ``split/class/*.{jpg,png}``, as directories or zip archives: :func:`read_image_folder`.
* The CIFAR-10/100 "python version" archives (a tar.gz of pickled batches): :func:`read_cifar_python`.
* ``.npy`` / ``.npz`` arrays: :func:`read_npy`, :func:`read_npz`.

Images come back as ``uint8`` arrays of shape (N, H, W) (grayscale) or (N, H, W, C), labels as
``int64`` (N,). Every malformed input raises :class:`DataFormatError` naming the file and what
was expected.
"""

from __future__ import annotations

import gzip
import io
import os
import pickle
import re
import tarfile
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from aelab.errors import ConfigError

__all__ = [
    "DataFormatError",
    "LabelledImages",
    "read_idx",
    "read_image_folder",
    "list_image_folder",
    "read_cifar_python",
    "read_npy",
    "read_npz",
    "IMAGE_EXTENSIONS",
]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp")


class DataFormatError(ConfigError):
    """A data file is malformed: wrong magic number, truncated, corrupted or unexpected content."""


class LabelledImages(NamedTuple):
    """Decoded images, their integer labels and the class names (label ``i`` is ``classes[i]``)."""

    images: np.ndarray
    labels: np.ndarray
    classes: list[str]


# --------------------------------------------------------------------------------------------
# IDX

# IDX type codes (http://yann.lecun.com/exdb/mnist/, "THE IDX FILE FORMAT"); data are big-endian.
_IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}


def _read_maybe_gzip(path: Path) -> bytes:
    """The bytes of ``path``, gunzipped when it starts with the gzip magic (whatever its name)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except IsADirectoryError:
        raise DataFormatError(f"{path}: is a folder, expected a file") from None
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: corrupted or truncated gzip stream ({exc})") from None


def read_idx(path: str | Path) -> np.ndarray:
    """Read an IDX file (raw or gzip-compressed) into a read-only array in native byte order.

    Checks the magic number (two zero bytes, a known type code, the number of dimensions),
    that no dimension is zero-length beyond the first, and that the file length equals
    header + product of dimensions x item size exactly.

    Args:
        path: an ``*-idx?-ubyte`` file, optionally ``.gz``.
    """
    path = Path(path)
    data = _read_maybe_gzip(path)
    if len(data) < 4:
        raise DataFormatError(f"{path}: {len(data)} bytes, too short for an IDX header (4 bytes of magic number)")
    zero0, zero1, code, ndim = data[0], data[1], data[2], data[3]
    if zero0 != 0 or zero1 != 0 or code not in _IDX_TYPES or ndim == 0:
        raise DataFormatError(
            f"{path}: not an IDX file: magic number {data[:4].hex(' ')}, expected 00 00 <type code "
            f"{'|'.join(f'{c:02x}' for c in _IDX_TYPES)}> <number of dimensions >= 1>"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataFormatError(f"{path}: truncated IDX header: {len(data)} bytes, expected {header} "
                              f"for {ndim} dimensions")
    dims = tuple(int(d) for d in np.frombuffer(data, dtype=">u4", count=ndim, offset=4))
    dtype = _IDX_TYPES[code]
    expected = header + int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DataFormatError(
            f"{path}: {what}: {len(data)} bytes, expected {expected} for shape {dims} of {dtype.str.lstrip('<>|')} "
            "(header + data)"
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    if not dtype.isnative and dtype.itemsize > 1:
        array = array.astype(dtype.newbyteorder("="))
        array.flags.writeable = False
    return array


# --------------------------------------------------------------------------------------------
# Image folders and zip archives of them


def _natural_key(name: str) -> list:
    """Sort key treating digit runs as numbers: ``2.jpg`` < ``10.jpg``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _is_image(name: str, extensions: Sequence[str]) -> bool:
    return name.lower().endswith(tuple(extensions))


def _zip_members(archive: zipfile.ZipFile) -> list[str]:
    return [info.filename for info in archive.infolist() if not info.is_dir()]


def _zip_locations(archive: zipfile.ZipFile, members: Sequence[str]) -> np.ndarray:
    """(header offset, compressed size, method, crc32) of each member, for :func:`_read_zip_member`."""
    infos = {info.filename: info for info in archive.infolist()}
    locs = np.empty((len(members), 4), dtype=np.int64)
    for i, name in enumerate(members):
        info = infos[name]
        locs[i] = (info.header_offset, info.compress_size, info.compress_type, info.CRC)
        if info.flag_bits & 0x1:
            raise DataFormatError(f"{archive.filename}:{name}: encrypted zip members are not supported")
    return locs


def _read_zip_member(buf, loc: np.ndarray, where: str) -> bytes:
    """The bytes of one zip member from the raw archive ``buf`` (no central-directory parsing).

    Stored and deflated members are read directly from their local header and checked
    against the CRC-32 of the central directory (PKWARE APPNOTE 4.3.7).
    """
    offset, size, method, crc = (int(v) for v in loc)
    if buf[offset:offset + 4] != b"PK\x03\x04":
        raise DataFormatError(f"{where}: bad zip local header")
    name_len, extra_len = int.from_bytes(buf[offset + 26:offset + 28], "little"), \
        int.from_bytes(buf[offset + 28:offset + 30], "little")
    start = offset + 30 + name_len + extra_len
    raw = bytes(buf[start:start + size])
    if len(raw) != size:
        raise DataFormatError(f"{where}: truncated zip member ({len(raw)} of {size} bytes)")
    if method == zipfile.ZIP_STORED:
        data = raw
    elif method == zipfile.ZIP_DEFLATED:
        try:
            data = zlib.decompress(raw, -15)
        except zlib.error as exc:
            raise DataFormatError(f"{where}: corrupted zip member ({exc})") from None
    else:
        raise DataFormatError(f"{where}: zip compression method {method} is not supported (use stored or deflated)")
    if zlib.crc32(data) != crc:
        raise DataFormatError(f"{where}: CRC-32 mismatch, the archive is corrupted")
    return data


def _dir_members(root: Path) -> list[str]:
    out = []
    for dirpath, _dirnames, filenames in os.walk(root):
        rel = Path(dirpath).relative_to(root)
        out.extend((rel / f).as_posix() for f in filenames)
    return out


def _index(source: Path, split: str | None, classes: Sequence[str] | None,
           extensions: Sequence[str]) -> tuple[list[str], np.ndarray, list[str], np.ndarray | None]:
    """Members, labels and classes of an image folder; zip locations of the members (or None)."""
    archive = None
    if source.is_dir():
        members = _dir_members(source)
    elif source.is_file():
        try:
            archive = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError) as exc:
            raise DataFormatError(f"{source}: not a readable zip archive ({exc})") from None
        members = _zip_members(archive)
    else:
        raise DataFormatError(f"{source}: not found")
    try:
        prefix = f"{split}/" if split else ""
        if split and not any(m.startswith(prefix) for m in members):
            tops = {m.split("/", 1)[0] for m in members if "/" in m}
            top = next(iter(tops)) if len(tops) == 1 else None
            if top is not None and any(m.startswith(f"{top}/{prefix}") for m in members):
                prefix = f"{top}/{prefix}"
            else:
                raise DataFormatError(f"{source}: no folder {split!r} (found: {', '.join(sorted(tops)) or 'nothing'})")

        by_class: dict[str, list[str]] = {}
        for member in members:
            if not member.startswith(prefix) or not _is_image(member, extensions):
                continue
            parts = member[len(prefix):].split("/")
            if len(parts) != 2:
                raise DataFormatError(f"{source}: {member}: expected {prefix}<class>/<image>, found another depth")
            by_class.setdefault(parts[0], []).append(member)
        if not by_class:
            raise DataFormatError(f"{source}: no images under {prefix or 'the top level'} ({', '.join(extensions)})")

        if classes is None:
            classes = sorted(by_class)
        else:
            classes = list(classes)
            unknown = sorted(set(by_class) - set(classes))
            if unknown:
                raise DataFormatError(f"{source}: unexpected class folder(s) {unknown} under {prefix!r}; "
                                      f"expected {classes}")
        paths: list[str] = []
        labels: list[np.ndarray] = []
        for index, name in enumerate(classes):
            files = sorted(by_class.get(name, []), key=_natural_key)
            paths.extend(files)
            labels.append(np.full(len(files), index, dtype=np.int64))
        locs = _zip_locations(archive, paths) if archive is not None else None
    finally:
        if archive is not None:
            archive.close()
    return paths, np.concatenate(labels), list(classes), locs


def list_image_folder(
    source: str | Path,
    split: str | None = None,
    *,
    classes: Sequence[str] | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
) -> tuple[list[str], np.ndarray, list[str]]:
    """The image members of ``[split/]class/file`` in a folder or zip, in a stable order.

    Classes are sorted by name (or taken from ``classes``); files within a class in natural
    order (``2.jpg`` before ``10.jpg``). A zip whose content sits under one top-level folder
    is accepted too.

    Returns:
        (member paths relative to the source, labels, class names).
    """
    members, labels, names, _ = _index(Path(source), split, classes, extensions)
    return members, labels, names


_MODES = {"L": 1, "RGB": 3}

#: Fewer images than this per process are decoded in the calling process (starting one costs ~0.1 s).
IMAGES_PER_WORKER = 2000

#: Decode plain 8-bit JPEGs through Pillow's C decoder directly (skipping Pillow's header parsing
#: in Python, which costs more than decoding a 32x32 image); anything unusual takes Image.open.
FAST_JPEG = True
_SOF_MARKERS = (0xC0, 0xC1, 0xC2)  # baseline, extended and progressive Huffman frames


def _jpeg_header(data: bytes) -> tuple[int, int, int] | None:
    """(width, height, components) of an 8-bit baseline/progressive JPEG, walking its segments
    up to the frame header (ITU-T T.81, B.2); None for any other kind of file."""
    if data[:2] != b"\xff\xd8":
        return None
    pos, end = 2, len(data)
    while pos + 4 <= end:
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = (data[pos + 2] << 8) | data[pos + 3]
        if marker in _SOF_MARKERS:
            if pos + 10 > end or data[pos + 4] != 8:
                return None
            height = (data[pos + 5] << 8) | data[pos + 6]
            width = (data[pos + 7] << 8) | data[pos + 8]
            return width, height, data[pos + 9]
        if marker == 0xDA or length < 2:  # a scan before any frame header: leave it to Pillow
            return None
        pos += 2 + length
    return None


def _decode_jpeg_fast(data: bytes, expect: tuple[int, int, str] | None, canvases: dict) -> np.ndarray | None:
    """Pixels of a plain JPEG that matches ``expect``, decoded as Image.open would; None when
    the file is anything else or does not decode cleanly (Image.open then reports why).

    ``canvases`` holds the caller's reusable Pillow image per (width, height, mode).
    """
    header = _jpeg_header(data)
    if header is None or expect is None:
        return None
    width, height, components = header
    mode = {1: "L", 3: "RGB"}.get(components)
    if mode is None or (width, height, mode) != expect:
        return None
    from PIL import Image

    try:
        image = canvases.get(expect)
        if image is None:
            image = canvases[expect] = Image.new(mode, (width, height))
        decoder = Image.core.jpeg_decoder(mode, mode, "")  # the tile arguments JpegImagePlugin uses
        decoder.setimage(image.im, (0, 0, width, height))
        status, error = decoder.decode(data)
        decoder.cleanup()
    except Exception:  # noqa: BLE001 - another Pillow version: use the public path
        return None
    if status != -1 or error < 0:  # truncated or corrupted
        return None
    return np.asarray(image)


def _decode_members(source: str, members: Sequence[str], locs: np.ndarray | None,
                    expect: tuple[int, int, str] | None, first: str | None,
                    out: np.ndarray | None = None) -> np.ndarray:
    """Decode ``members`` of a folder (``locs`` None) or zip into ``out`` (allocated if None).

    Every image must match ``expect`` = (width, height, mode); None takes it from the first.
    """
    import mmap

    from PIL import Image, UnidentifiedImageError

    src = Path(source)
    canvases: dict = {}
    fh = buf = None
    if locs is not None:
        fh = open(src, "rb")  # noqa: SIM115 - closed in finally
        buf = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        for i, member in enumerate(members):
            where = f"{src}:{member}" if locs is not None else str(src / member)
            try:
                data = _read_zip_member(buf, locs[i], where) if locs is not None else (src / member).read_bytes()
                pixels = _decode_jpeg_fast(data, expect, canvases) if FAST_JPEG else None
                if pixels is not None:
                    if out is None:
                        out = np.empty((len(members), *pixels.shape), dtype=np.uint8)
                    out[i] = pixels
                    continue
                with Image.open(io.BytesIO(data)) as image:
                    size, mode = image.size, image.mode
                    if expect is None:
                        if mode not in _MODES:
                            raise DataFormatError(f"{where}: image mode {mode}, expected L (grayscale) or RGB")
                        expect, first = (size[0], size[1], mode), member
                    if (size[0], size[1], mode) != expect:
                        raise DataFormatError(
                            f"{where}: image is {size[0]}x{size[1]} {mode}, expected {expect[0]}x{expect[1]} "
                            f"{expect[2]} (as {first})"
                        )
                    pixels = np.asarray(image)
            except DataFormatError:
                raise
            except (OSError, UnidentifiedImageError, ValueError, EOFError, SyntaxError) as exc:
                raise DataFormatError(f"{where}: cannot decode image ({exc})") from None
            if out is None:
                out = np.empty((len(members), *pixels.shape), dtype=np.uint8)
            out[i] = pixels
    finally:
        if buf is not None:
            buf.close()
        if fh is not None:
            fh.close()
    assert out is not None
    return out


def default_workers() -> int:
    """Processes for parallel decoding: the cores this process may use, at most 8."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def _decode_in_workers(source: Path, members: list[str], locs: np.ndarray | None, expect: tuple[int, int, str],
                       out_path: Path, workers: int) -> bool:
    """Decode contiguous slices of ``members`` in worker interpreters straight into ``out_path``.

    Workers are fresh ``python -m aelab.data._decode_worker`` processes (never a re-import of
    the caller's main module), each writing its rows of the ``.npy`` file in place. Returns
    False when the workers cannot run at all (the caller then decodes in-process); a
    malformed image raises its DataFormatError.
    """
    import json
    import subprocess
    import sys

    import aelab

    env = dict(os.environ)  # the workers import this very copy of aelab
    package_root = str(Path(aelab.__file__).resolve().parents[1])
    env["PYTHONPATH"] = os.pathsep.join(p for p in (package_root, env.get("PYTHONPATH", "")) if p)
    bounds = np.linspace(0, len(members), workers + 1).astype(int)
    procs = []
    try:
        for a, b in zip(bounds[:-1], bounds[1:]):
            job = {"source": str(source), "members": members[a:b], "start": int(a),
                   "locs": None if locs is None else locs[a:b].tolist(), "expect": list(expect),
                   "first": members[0], "out": str(out_path)}
            proc = subprocess.Popen([sys.executable, "-m", "aelab.data._decode_worker"], stdin=subprocess.PIPE,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
            procs.append(proc)
            proc.stdin.write(json.dumps(job).encode())
            proc.stdin.close()
        failures = []
        for proc in procs:
            err = proc.stderr.read().decode(errors="replace").strip()
            proc.wait()
            if proc.returncode != 0:
                failures.append((proc.returncode, err))
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            if proc.stderr is not None:
                proc.stderr.close()
    for code, err in failures:
        if code == 2:  # a DataFormatError in the worker: its message is the last line
            raise DataFormatError(err.splitlines()[-1] if err else f"{source}: decoding failed")
    return not failures


def read_image_folder(
    source: str | Path,
    split: str | None = None,
    *,
    classes: Sequence[str] | None = None,
    workers: int | None = None,
    extensions: Sequence[str] = IMAGE_EXTENSIONS,
    out: str | Path | None = None,
) -> LabelledImages:
    """Read ``[split/]class/*.{jpg,png,...}`` from a folder or a zip archive of one.

    Classes are sorted by folder name (label = index) unless ``classes`` fixes the list; files
    in natural order within each class, so the order is stable across machines. Every image
    must have the size and mode (L or RGB) of the first one. With more than about 2,000
    images per process, decoding runs in ``workers`` separate processes that write into one
    ``.npy`` file.

    Args:
        source: a folder or a ``.zip`` file (stored or deflated members).
        split: sub-folder holding the class folders (``train``, ``test``), or None.
        classes: the class names in label order; folders outside it are an error.
        workers: decoding processes (default: the usable cores, at most 8); 1 decodes here.
        extensions: file name endings that count as images (case-insensitive).
        out: write the images to this ``.npy`` file and return it memory-mapped.
    """
    source = Path(source)
    members, labels, names, locs = _index(source, split, classes, extensions)
    first = _decode_members(str(source), members[:1], None if locs is None else locs[:1], None, None)
    shape = first.shape[1:]
    expect = (shape[1], shape[0], "L" if len(shape) == 2 else "RGB")
    workers = default_workers() if workers is None else max(1, int(workers))
    workers = min(workers, max(1, len(members) // IMAGES_PER_WORKER))

    tmp_dir = None
    if out is None and workers > 1:
        import tempfile

        tmp_dir = tempfile.TemporaryDirectory(prefix="aelab-decode-")
        target = Path(tmp_dir.name) / "images.npy"
    else:
        target = None if out is None else Path(out)
    try:
        if target is None:
            images = _decode_members(str(source), members, locs, expect, members[0])
        else:
            array = np.lib.format.open_memmap(target, mode="w+", dtype=np.uint8, shape=(len(members), *shape))
            del array  # header and size on disk; workers fill the rows
            done = workers > 1 and _decode_in_workers(source, members, locs, expect, target, workers)
            if not done:
                array = np.load(target, mmap_mode="r+")
                _decode_members(str(source), members, locs, expect, members[0], out=array)
                array.flush()
                del array
            images = np.load(target, mmap_mode="r")
            if tmp_dir is not None:
                images = np.array(images)
    finally:
        if tmp_dir is not None:
            tmp_dir.cleanup()
    return LabelledImages(images, labels, names)


# --------------------------------------------------------------------------------------------
# CIFAR python version


class _ArrayUnpickler(pickle.Unpickler):
    """Unpickles dicts, lists, numbers, strings, bytes and NumPy arrays only: no code runs on load."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),  # how Python 3 writes bytes in protocol-2 pickles
    }

    def find_class(self, module: str, name: str):
        if (module, name) in self._ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only arrays, lists and dicts are allowed)")


def _unpickle(data: bytes, where: str) -> dict:
    try:
        obj = _ArrayUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any failure of an untrusted pickle is a format error
        raise DataFormatError(f"{where}: not a CIFAR batch ({type(exc).__name__}: {exc})") from None
    if not isinstance(obj, dict):
        raise DataFormatError(f"{where}: not a CIFAR batch (a {type(obj).__name__}, expected a dict)")
    return {(k.decode("latin1") if isinstance(k, bytes) else k): v for k, v in obj.items()}


def _names(values, where: str) -> list[str]:
    try:
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]
    except (TypeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"{where}: bad class names ({exc})") from None


_CIFAR_LAYOUTS = {
    # variant: (train members, test members, meta member, names key per label kind)
    "cifar10": (["data_batch_1", "data_batch_2", "data_batch_3", "data_batch_4", "data_batch_5"],
                ["test_batch"], "batches.meta", {"labels": "label_names"}),
    "cifar100": (["train"], ["test"], "meta", {"fine_labels": "fine_label_names",
                                               "coarse_labels": "coarse_label_names"}),
}


def read_cifar_python(path: str | Path, split: str = "train", *, label: str = "fine") -> LabelledImages:
    """Read the CIFAR-10 or CIFAR-100 "python version" archive without extracting it.

    Krizhevsky (2009): each batch is a pickled dict with ``data`` (N x 3072 uint8; 1024 red,
    then green, then blue values of a 32x32 image in row-major order) and ``labels``
    (CIFAR-100: ``fine_labels``, ``coarse_labels``). Pickles are read with an unpickler that
    only builds arrays, lists and dicts.

    Args:
        path: ``cifar-10-python.tar.gz`` or ``cifar-100-python.tar.gz`` (any tar compression).
        split: ``train`` or ``test``.
        label: CIFAR-100 only: ``fine`` (100 classes) or ``coarse`` (20 super-classes).
    """
    path = Path(path)
    if split not in ("train", "test"):
        raise ConfigError(f"split: {split!r} is not a CIFAR split (expected train or test)")
    if label not in ("fine", "coarse"):
        raise ConfigError(f"label: {label!r}, expected fine or coarse")
    try:
        tar = tarfile.open(path, "r:*")
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a readable tar archive ({exc})") from None
    try:
        with tar:
            try:
                members = {Path(m.name).name: m for m in tar.getmembers() if m.isfile()}
            except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                raise DataFormatError(f"{path}: corrupted or truncated archive ({exc})") from None
            variant = next((v for v, (train, _t, meta, _k) in _CIFAR_LAYOUTS.items()
                            if meta in members and train[0] in members), None)
            if variant is None:
                raise DataFormatError(
                    f"{path}: not a CIFAR python archive (expected data_batch_1..5, test_batch and batches.meta, "
                    "or train, test and meta)"
                )
            train, test, meta_name, keys = _CIFAR_LAYOUTS[variant]
            label_key = "labels" if variant == "cifar10" else f"{label}_labels"
            wanted = train if split == "train" else test
            missing = [m for m in wanted if m not in members]
            if missing:
                raise DataFormatError(f"{path}: missing batch file(s) {missing}")

            def load(name: str) -> dict:
                where = f"{path}:{members[name].name}"
                try:
                    data = tar.extractfile(members[name]).read()
                except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
                    raise DataFormatError(f"{where}: corrupted or truncated archive ({exc})") from None
                return _unpickle(data, where)

            meta = load(meta_name)
            if keys[label_key] not in meta:
                raise DataFormatError(f"{path}:{meta_name}: no {keys[label_key]!r} entry")
            classes = _names(meta[keys[label_key]], f"{path}:{meta_name}")
            images, labels = [], []
            for name in wanted:
                batch = load(name)
                where = f"{path}:{members[name].name}"
                if "data" not in batch or label_key not in batch:
                    raise DataFormatError(f"{where}: expected entries 'data' and {label_key!r}, found {sorted(batch)}")
                data = np.asarray(batch["data"])
                y = np.asarray(batch[label_key], dtype=np.int64)
                if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072 or len(y) != len(data):
                    raise DataFormatError(
                        f"{where}: data is {data.dtype} {data.shape} with {len(y)} labels, expected uint8 (N, 3072) "
                        "with N labels"
                    )
                if len(y) and (y.min() < 0 or y.max() >= len(classes)):
                    raise DataFormatError(f"{where}: labels outside 0..{len(classes) - 1}")
                images.append(data.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1))
                labels.append(y)
    except tarfile.TarError as exc:
        raise DataFormatError(f"{path}: corrupted archive ({exc})") from None
    return LabelledImages(np.ascontiguousarray(np.concatenate(images)), np.concatenate(labels), classes)


# --------------------------------------------------------------------------------------------
# NumPy files


def read_npy(path: str | Path, *, mmap: bool = True) -> np.ndarray:
    """Read a ``.npy`` file, memory-mapped read-only by default; pickled objects are refused."""
    path = Path(path)
    try:
        return np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (ValueError, OSError, EOFError) as exc:
        raise DataFormatError(f"{path}: not a readable .npy file ({exc})") from None


def read_npz(path: str | Path) -> dict[str, np.ndarray]:
    """Read every array of a ``.npz`` file into a dict; pickled objects are refused."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except FileNotFoundError:
        raise DataFormatError(f"{path}: file not found") from None
    except (ValueError, OSError, EOFError, zipfile.BadZipFile, zlib.error) as exc:
        raise DataFormatError(f"{path}: not a readable .npz file ({exc})") from None
