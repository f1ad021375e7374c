"""The named data sets: their files, sha256 checksums, public addresses, licences and shapes.

A data set comes in one or more *forms* (distribution formats), each a set of files in one
folder of the data directory. CIFAR-10, for instance, is registered as the official "python
version" archive and as a zip of JPEG files (``train/<class>/NNNN.jpg``); loading uses the
first form whose files are present, in the order listed. A file may have several accepted
checksums: the official distribution file and known byte-different copies with the same
content (e.g. re-compressed gzip files).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from aelab.errors import ConfigError

__all__ = ["FileSpec", "Form", "DatasetSpec", "REGISTRY", "get_spec", "dataset_names"]


@dataclass(frozen=True)
class FileSpec:
    """One file of a form.

    Attributes:
        name: the file name inside the form's folder.
        sha256: accepted sha256 digests (hex), the official one first.
        size: size in bytes of the official file, for progress bars (None when unknown).
        urls: public addresses, tried in order.
    """

    name: str
    sha256: tuple[str, ...]
    size: int | None = None
    urls: tuple[str, ...] = ()


@dataclass(frozen=True)
class Form:
    """One distribution format of a data set: its files, the folder they live in, the reader.

    Attributes:
        name: short name (``idx``, ``python``, ``jpeg-zip``).
        folder: sub-folder of the data directory holding the files.
        reader: ``idx`` (images + labels IDX file per split), ``image-folder`` (a zip or
            folder with ``split/class/*``) or ``cifar-python``.
        files: the files.
        splits: for ``idx``, split -> (images file, labels file); else split -> (file,).
        note: what this form is, where it comes from.
    """

    name: str
    folder: str
    reader: str
    files: tuple[FileSpec, ...]
    splits: dict[str, tuple[str, ...]]
    note: str = ""

    def file(self, name: str) -> FileSpec:
        return next(f for f in self.files if f.name == name)

    def files_for(self, split: str | None) -> tuple[FileSpec, ...]:
        """The files needed to read ``split`` (all files when None)."""
        if split is None:
            return self.files
        return tuple(self.file(n) for n in self.splits[split])

    @property
    def downloadable(self) -> bool:
        return all(f.urls for f in self.files)


@dataclass(frozen=True)
class DatasetSpec:
    """A named data set.

    Attributes:
        name: the name used by ``load_dataset`` and ``aelab data``.
        description: a few words.
        forms: distribution formats in order of preference for loading.
        classes: class names, label ``i`` is ``classes[i]``.
        shapes: split -> shape of the decoded uint8 image array.
        licence, homepage, citation: provenance.
    """

    name: str
    description: str
    forms: tuple[Form, ...]
    classes: tuple[str, ...]
    shapes: dict[str, tuple[int, ...]]
    licence: str
    homepage: str
    citation: str
    notes: tuple[str, ...] = field(default=())

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.shapes)

    def form(self, name: str) -> Form:
        for form in self.forms:
            if form.name == name:
                return form
        raise ConfigError(f"--form: {self.name} has no form {name!r} (known: {', '.join(f.name for f in self.forms)})")

    def folder(self, root: Path, form: Form) -> Path:
        return Path(root) / form.folder


def _idx_form(folder: str, note: str, base_urls: tuple[str, ...],
              digests: dict[str, tuple[str, ...]], sizes: dict[str, int]) -> Form:
    files = tuple(
        FileSpec(name, digests[name], sizes.get(name), tuple(base + name for base in base_urls))
        for name in digests
    )
    return Form(
        name="idx",
        folder=folder,
        reader="idx",
        files=files,
        splits={
            "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
            "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
        },
        note=note,
    )


MNIST = DatasetSpec(
    name="mnist",
    description="handwritten digits",
    forms=(
        _idx_form(
            "mnist",
            "the four IDX gz files of the original distribution",
            ("https://ossci-datasets.s3.amazonaws.com/mnist/",
             "https://storage.googleapis.com/cvdf-datasets/mnist/"),
            {
                # official file; then a byte-different gzip of the identical IDX content
                "train-images-idx3-ubyte.gz": ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
                                               "62b6597f85f963ed88969d865802f5bf62a5b124020ea38f9d7e6233dbba0121"),
                "train-labels-idx1-ubyte.gz": ("3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",),
                "t10k-images-idx3-ubyte.gz": ("8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",),
                "t10k-labels-idx1-ubyte.gz": ("f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",),
            },
            {"train-images-idx3-ubyte.gz": 9912422, "train-labels-idx1-ubyte.gz": 28881,
             "t10k-images-idx3-ubyte.gz": 1648877, "t10k-labels-idx1-ubyte.gz": 4542},
        ),
    ),
    classes=tuple(str(d) for d in range(10)),
    shapes={"train": (60000, 28, 28), "test": (10000, 28, 28)},
    licence="CC BY-SA 3.0 (as distributed by Y. LeCun and C. Cortes)",
    homepage="http://yann.lecun.com/exdb/mnist/",
    citation="Y. LeCun, L. Bottou, Y. Bengio, P. Haffner, Gradient-based learning applied to document "
             "recognition, Proc. IEEE 86 (1998)",
)

FASHION_MNIST = DatasetSpec(
    name="fashion-mnist",
    description="Zalando clothing articles",
    forms=(
        _idx_form(
            "fashion-mnist",
            "the four IDX gz files of the upstream release",
            ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
             "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/"),
            {
                # upstream files; then gzip re-compressed copies (Debian's dataset-fashion-mnist)
                "train-images-idx3-ubyte.gz": ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
                                               "b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7"),
                "train-labels-idx1-ubyte.gz": ("a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
                                               "0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056"),
                "t10k-images-idx3-ubyte.gz": ("346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
                                              "cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa"),
                "t10k-labels-idx1-ubyte.gz": ("67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
                                              "8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05"),
            },
            {"train-images-idx3-ubyte.gz": 26421880, "train-labels-idx1-ubyte.gz": 29515,
             "t10k-images-idx3-ubyte.gz": 4422102, "t10k-labels-idx1-ubyte.gz": 5148},
        ),
    ),
    classes=("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
             "Ankle boot"),
    shapes={"train": (60000, 28, 28), "test": (10000, 28, 28)},
    licence="MIT",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    citation="H. Xiao, K. Rasul, R. Vollgraf, Fashion-MNIST: a novel image dataset for benchmarking machine "
             "learning algorithms, arXiv:1708.07747 (2017)",
)

_CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
_CIFAR_CITATION = "A. Krizhevsky, Learning multiple layers of features from tiny images, tech. report, " \
                  "University of Toronto (2009)"

CIFAR10 = DatasetSpec(
    name="cifar10",
    description="natural images, 10 classes",
    forms=(
        Form(
            name="python",
            folder="cifar10",
            reader="cifar-python",
            files=(FileSpec("cifar-10-python.tar.gz",
                            ("6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",),
                            170498071, ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)),),
            splits={"train": ("cifar-10-python.tar.gz",), "test": ("cifar-10-python.tar.gz",)},
            note="the official python version (pickled batches); exact pixel values",
        ),
        Form(
            name="jpeg-zip",
            folder="cifar10-jpeg",
            reader="image-folder",
            files=(FileSpec("cifar10-jpeg.zip",
                            ("db3a65617f58b54e7f184877a7be990110bfb73b72101dbca81df5adc8d8e146",), 65314233),),
            splits={"train": ("cifar10-jpeg.zip",), "test": ("cifar10-jpeg.zip",)},
            note="a zip of 60,000 JPEG files train|test/<class>/NNNN.jpg (JPEG quality about 75: pixel values "
                 "close to, not equal to, the official ones); no canonical address, fetch it with --source",
        ),
    ),
    classes=_CIFAR10_CLASSES,
    shapes={"train": (50000, 32, 32, 3), "test": (10000, 32, 32, 3)},
    licence="no licence stated; free for research use with citation",
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    citation=_CIFAR_CITATION,
)

CIFAR100 = DatasetSpec(
    name="cifar100",
    description="natural images, 100 classes",
    forms=(
        Form(
            name="python",
            folder="cifar100",
            reader="cifar-python",
            files=(FileSpec("cifar-100-python.tar.gz",
                            ("85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",),
                            169001437, ("https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",)),),
            splits={"train": ("cifar-100-python.tar.gz",), "test": ("cifar-100-python.tar.gz",)},
            note="the official python version (pickled batches)",
        ),
    ),
    classes=(),  # read from the archive's meta file
    shapes={"train": (50000, 32, 32, 3), "test": (10000, 32, 32, 3)},
    licence="no licence stated; free for research use with citation",
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    citation=_CIFAR_CITATION,
)

REGISTRY: dict[str, DatasetSpec] = {spec.name: spec for spec in (MNIST, FASHION_MNIST, CIFAR10, CIFAR100)}

_ALIASES = {"fashion_mnist": "fashion-mnist", "fmnist": "fashion-mnist", "cifar-10": "cifar10",
            "cifar-100": "cifar100"}


def dataset_names() -> list[str]:
    """The registered data set names."""
    return list(REGISTRY)


def get_spec(name: str) -> DatasetSpec:
    """The registered data set ``name`` (a few common spellings accepted); ConfigError otherwise."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return REGISTRY[key]
    except KeyError:
        raise ConfigError(f"unknown data set {name!r} (known: {', '.join(REGISTRY)}; `aelab data list` "
                          "shows them)") from None
