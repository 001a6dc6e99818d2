"""The course's datasets: where each one comes from and how to find it offline.

Lesson 2 onwards reads names.txt, Lesson 7 tinyshakespeare.txt and Lesson 8 taylorswift.txt.
A dataset is looked for, in order, in the repository's `data/` folder, then in the folder
named by the environment variable DATA_MIRROR, then downloaded from its canonical address
into `data/`. Every file is checked against its SHA-256 before use.
"""
import functools
import hashlib
import os
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

MIRROR_VAR = "DATA_MIRROR"


@dataclass(frozen=True)
class Dataset:
    filename: str
    url: str
    size: int
    sha256: str


DATASETS = {
    "names": Dataset(
        "names.txt",
        "https://raw.githubusercontent.com/karpathy/makemore/master/names.txt",
        228145,
        "0a30b5557f192f32ab962680889aac5f6fda0f4cecf40a6d0b5694f58ea8cc4d",
    ),
    "tinyshakespeare": Dataset(
        "tinyshakespeare.txt",
        "https://raw.githubusercontent.com/karpathy/char-rnn/master/data/tinyshakespeare/input.txt",
        1115394,
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
    ),
    "taylorswift": Dataset(
        "taylorswift.txt",
        "https://raw.githubusercontent.com/karpathy/minbpe/master/tests/taylorswift.txt",
        185768,
        "c2e39cb822d4ae0caac22152cefc306d466e31217a9c5524e493ad2b76792f57",
    ),
}


class DatasetError(RuntimeError):
    """A dataset that cannot be found, or a file that is not the dataset it claims to be."""


def data_dir():
    """The repository's data/ folder in a checkout; a user cache folder when lib is installed."""
    checkout = Path(__file__).resolve().parent.parent
    if (checkout / "pyproject.toml").is_file():
        return checkout / "data"
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "scalars-to-gpt"


def _sha256(file):
    digest = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify(file, dataset):
    actual = _sha256(file)
    if actual != dataset.sha256:
        raise DatasetError(
            f"{file} is not the expected {dataset.filename}: its SHA-256 is {actual}, "
            f"expected {dataset.sha256} ({file.stat().st_size} bytes, expected {dataset.size}). "
            f"The file is damaged or a different version. Move it away and run again to fetch "
            f"a fresh copy, or replace it with the file from {dataset.url}."
        )
    return file


def _download(dataset, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    # Download beside the target and rename only after the hash matches, so an interrupted
    # or wrong download never leaves a file that looks like the dataset.
    fd, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{dataset.filename}.")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(dataset.url, timeout=30) as response:
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
        _verify(Path(partial), dataset)
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return target


@functools.cache
def path(name):
    """The verified local path of dataset `name` ('names', 'tinyshakespeare', 'taylorswift')."""
    if name not in DATASETS:
        raise ValueError(f"unknown dataset {name!r}; the datasets are {', '.join(DATASETS)}")
    dataset = DATASETS[name]
    local = data_dir() / dataset.filename
    if local.is_file():
        return _verify(local, dataset)
    mirror = os.environ.get(MIRROR_VAR)
    if mirror:
        mirrored = Path(mirror).expanduser() / dataset.filename
        if mirrored.is_file():
            return _verify(mirrored, dataset)
    try:
        return _download(dataset, local)
    except OSError as err:  # URLError is an OSError: offline, DNS failure, HTTP error
        where = f"{local.parent}/" + (f" nor in {MIRROR_VAR}={mirror}" if mirror else f" and {MIRROR_VAR} is not set")
        raise DatasetError(
            f"{dataset.filename} is not in {where}, and downloading it from {dataset.url} "
            f"failed ({err}). Without internet, copy the file into {local.parent}/ or set "
            f"{MIRROR_VAR} to a folder that holds it."
        ) from err


def read_text(name):
    """The dataset's contents as text (UTF-8)."""
    return path(name).read_text(encoding="utf-8")
