"""MNIST: read the four official IDX files (gzip or raw) and, when they are missing, download them.

IDX format (LeCun et al., "Gradient-based learning applied to document recognition", 1998):
a big-endian header ``0x00 0x00 <dtype> <ndim>``, then ``ndim`` uint32 sizes, then the data.
The downloader verifies each file's md5 and never leaves a partial or corrupt file behind.
"""
from __future__ import annotations

import gzip
import hashlib
import http.client
import os
import struct
import urllib.error
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np
import torch

MEAN, STD = 0.1307, 0.3081  # the classic MNIST normalisation

# name -> md5 of the official gzip file
FILES = {
    "train-images-idx3-ubyte": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


class MnistMissing(FileNotFoundError):
    """The MNIST files are not in the folder and could not be downloaded."""


class Split(NamedTuple):
    images: torch.Tensor  # (N, 28, 28) uint8
    labels: torch.Tensor  # (N,) int64


def default_dir() -> Path:
    return Path(os.environ.get("MNIST_DIR", "data/mnist"))


def parse_idx(raw: bytes) -> np.ndarray:
    """Decode one IDX file's bytes (already decompressed) into a numpy array."""
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _DTYPES:
        raise ValueError("not an IDX file (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"IDX file truncated: {len(raw)} bytes, the header alone needs {header}")
    shape = struct.unpack(f">{ndim}I", raw[4:header])
    dtype = np.dtype(_DTYPES[raw[2]])
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != expected:
        raise ValueError(f"IDX file truncated: {len(raw) - header} data bytes, expected {expected}")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape)


def find_file(folder: Path, name: str) -> Path | None:
    """The gzip or raw variant of ``name`` in ``folder``, gzip first."""
    for candidate in (folder / f"{name}.gz", folder / name):
        if candidate.is_file():
            return candidate
    return None


def read_idx(path: Path) -> np.ndarray:
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":
        raw = gzip.decompress(raw)
    return parse_idx(raw)


def missing_files(folder: Path) -> list[str]:
    return [name for name in FILES if find_file(folder, name) is None]


def download(
    folder: Path,
    base_urls: tuple[str, ...] = MIRRORS,
    progress: Callable[[str, int, int], None] | None = None,
    timeout: float = 30.0,
) -> None:
    """Fetch every missing file into ``folder``, checking md5; raise MnistMissing when impossible.

    ``progress(name, bytes_done, bytes_total)`` is called while downloading (total 0 if unknown).
    """
    folder.mkdir(parents=True, exist_ok=True)
    for name in missing_files(folder):
        errors = []
        for base in base_urls:
            try:
                _fetch_one(base + name + ".gz", folder / f"{name}.gz", FILES[name], progress, timeout)
                break
            except (OSError, ValueError, http.client.HTTPException) as err:  # URLError is an OSError
                errors.append(f"{base}: {err}")
        else:
            raise MnistMissing(
                f"Could not download {name}.gz ({'; '.join(errors)}). "
                f"Put the four MNIST files (IDX, .gz) into {folder.resolve()} or set MNIST_DIR."
            )


def _fetch_one(url, dest: Path, md5: str, progress, timeout) -> None:
    part = dest.with_name(dest.name + ".part")
    digest = hashlib.md5()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp, open(part, "wb") as out:
            total = int(resp.headers.get("Content-Length") or 0)
            done = 0
            while chunk := resp.read(1 << 16):
                out.write(chunk)
                digest.update(chunk)
                done += len(chunk)
                if progress:
                    progress(dest.name, done, total)
        if total and done != total:
            raise ValueError(f"partial download: {done} of {total} bytes")
        if digest.hexdigest() != md5:
            raise ValueError(f"md5 mismatch for {dest.name}: got {digest.hexdigest()}, expected {md5}")
        os.replace(part, dest)
    finally:
        part.unlink(missing_ok=True)


def load_split(train: bool, folder: Path | None = None, allow_download: bool = False,
               progress: Callable[[str, int, int], None] | None = None) -> Split:
    """Load the 60k training or 10k test split as uint8 images and int64 labels."""
    folder = default_dir() if folder is None else Path(folder)
    if missing_files(folder):
        if not allow_download:
            raise MnistMissing(f"MNIST files missing in {folder.resolve()}: {', '.join(missing_files(folder))}")
        download(folder, progress=progress)
    prefix = "train" if train else "t10k"
    images = read_idx(find_file(folder, f"{prefix}-images-idx3-ubyte"))
    labels = read_idx(find_file(folder, f"{prefix}-labels-idx1-ubyte"))
    if images.shape[0] != labels.shape[0] or images.shape[1:] != (28, 28):
        raise ValueError(f"unexpected MNIST shapes {images.shape} / {labels.shape}")
    return Split(torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64)))


def checksum(folder: Path | None = None) -> str:
    """sha256 over the four decompressed files: the same data gives the same value however it was gzipped."""
    folder = default_dir() if folder is None else Path(folder)
    if missing_files(folder):
        raise MnistMissing(f"MNIST files missing in {folder.resolve()}: {', '.join(missing_files(folder))}")
    h = hashlib.sha256()
    for name in FILES:
        path = find_file(folder, name)
        raw = path.read_bytes()
        h.update(gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw)
    return h.hexdigest()


def normalize(images_uint8: torch.Tensor) -> torch.Tensor:
    """(N, 28, 28) uint8 -> (N, 1, 28, 28) float, normalised like the course notebook."""
    x = images_uint8.float().div(255.0).unsqueeze(1)  # (N, 1, 28, 28)
    return (x - MEAN) / STD
