"""lib.data: the dataset registry, the lookup order and the checks on what is found."""
import hashlib
import urllib.request

import pytest

from lib import data

from conftest import MIRROR

needs_mirror = pytest.mark.skipif(not (MIRROR / "SHA256SUMS").is_file(),
                                  reason=f"no data mirror at {MIRROR} (set DATA_MIRROR)")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """An empty data/ folder, no mirror, no network: every test sets up what it needs."""
    monkeypatch.setattr(data, "data_dir", lambda: tmp_path / "data")
    monkeypatch.delenv(data.MIRROR_VAR, raising=False)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("network is unreachable")

    monkeypatch.setattr(urllib.request, "urlopen", offline)
    data.path.cache_clear()
    yield tmp_path
    data.path.cache_clear()


def write_mirror(folder, name, content):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / data.DATASETS[name].filename).write_bytes(content)
    return folder


@needs_mirror
def test_registry_matches_the_shared_checksums():
    sums = dict(line.split()[::-1] for line in (MIRROR / "SHA256SUMS").read_text().splitlines() if line.strip())
    assert {d.filename: d.sha256 for d in data.DATASETS.values()} == sums
    for d in data.DATASETS.values():
        assert d.url.startswith("https://") and d.size > 0


@needs_mirror
def test_mirror_files_are_found_and_verified(isolated, monkeypatch):
    monkeypatch.setenv(data.MIRROR_VAR, str(MIRROR))
    for name, d in data.DATASETS.items():
        found = data.path(name)
        assert found == MIRROR / d.filename
        assert found.stat().st_size == d.size
    assert data.read_text("names").splitlines()[0] == "emma"


@needs_mirror
def test_data_folder_comes_before_the_mirror(isolated, monkeypatch):
    local = isolated / "data" / "names.txt"
    local.parent.mkdir()
    local.write_bytes((MIRROR / "names.txt").read_bytes())
    monkeypatch.setenv(data.MIRROR_VAR, str(isolated / "nowhere"))
    assert data.path("names") == local


def test_offline_and_missing_says_what_to_do(isolated, monkeypatch):
    monkeypatch.setenv(data.MIRROR_VAR, str(isolated / "empty-mirror"))
    with pytest.raises(data.DatasetError) as err:
        data.path("tinyshakespeare")
    message = str(err.value)
    assert "tinyshakespeare.txt" in message and "network is unreachable" in message
    assert "DATA_MIRROR" in message and "copy the file into" in message


def test_corrupt_file_is_rejected_and_kept(isolated, monkeypatch):
    mirror = write_mirror(isolated / "mirror", "names", b"emma\nolivia\n")
    monkeypatch.setenv(data.MIRROR_VAR, str(mirror))
    with pytest.raises(data.DatasetError, match="not the expected names.txt.*SHA-256") as err:
        data.path("names")
    assert "Move it away" in str(err.value)
    assert (mirror / "names.txt").read_bytes() == b"emma\nolivia\n"  # nothing deleted


def test_download_is_verified_before_it_lands(isolated, monkeypatch):
    good = b"hello"
    monkeypatch.setitem(data.DATASETS, "tiny", data.Dataset("tiny.txt", "https://example.invalid/tiny.txt",
                                                            len(good), hashlib.sha256(good).hexdigest()))

    class Response:
        def __init__(self, payload):
            self.chunks = [payload, b""]

        def read(self, n):
            return self.chunks.pop(0)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(b"tampered"))
    with pytest.raises(data.DatasetError, match="SHA-256"):
        data.path("tiny")
    assert list((isolated / "data").iterdir()) == []  # the bad download left nothing behind

    data.path.cache_clear()
    monkeypatch.setattr(urllib.request, "urlopen", lambda url, timeout: Response(good))
    assert data.path("tiny").read_bytes() == good


def test_unknown_dataset_lists_the_known_ones():
    with pytest.raises(ValueError, match="names, tinyshakespeare, taylorswift"):
        data.path("mnist")
