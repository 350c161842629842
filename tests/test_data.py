"""dl_core.data: the IDX reader, the real MNIST files and the checksum-verifying downloader."""
from __future__ import annotations

import functools
import gzip
import hashlib
import http.server
import re
import shutil
import socket
import socketserver
import struct
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from dl_core import data

IDX_CODES = {np.dtype(np.uint8): 0x08, np.dtype(np.int8): 0x09, np.dtype(">i2"): 0x0B, np.dtype(">i4"): 0x0C,
             np.dtype(">f4"): 0x0D, np.dtype(">f8"): 0x0E}


def idx_bytes(arr: np.ndarray) -> bytes:
    """Encode an array as an IDX file, independently of dl_core."""
    arr = np.ascontiguousarray(arr)
    head = bytes([0, 0, IDX_CODES[arr.dtype], arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.tobytes()


# ---------------------------------------------------------------- parse_idx on synthetic bytes
def test_parse_idx_round_trip_uint8_3d():
    rng = np.random.default_rng(0)
    arr = rng.integers(0, 256, size=(4, 6, 5), dtype=np.uint8)
    raw = idx_bytes(arr)
    assert raw[:4] == b"\x00\x00\x08\x03"
    out = data.parse_idx(raw)
    assert out.dtype == np.uint8 and out.shape == (4, 6, 5)
    np.testing.assert_array_equal(out, arr)


def test_parse_idx_round_trip_uint8_1d():
    arr = np.array([7, 2, 1, 0, 4, 255], dtype=np.uint8)
    out = data.parse_idx(idx_bytes(arr))
    assert out.shape == (6,)
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("dtype", [np.int8, ">i2", ">i4", ">f4", ">f8"])
def test_parse_idx_round_trip_other_dtypes(dtype):
    arr = (np.arange(-6, 6).reshape(3, 4) * 3).astype(dtype)
    out = data.parse_idx(idx_bytes(arr))
    assert out.dtype == np.dtype(dtype) and out.shape == (3, 4)
    np.testing.assert_array_equal(out, arr)


def test_parse_idx_empty_dimension():
    out = data.parse_idx(idx_bytes(np.zeros((0, 28, 28), np.uint8)))
    assert out.shape == (0, 28, 28)


@pytest.mark.parametrize("cut", [1, 100, 28 * 28])
def test_parse_idx_truncated_data(cut):
    raw = idx_bytes(np.ones((3, 28, 28), np.uint8))
    with pytest.raises(ValueError, match="truncated"):
        data.parse_idx(raw[:-cut])


@pytest.mark.parametrize("length", [4, 5, 8, 11, 15])
def test_parse_idx_truncated_header(length):
    raw = idx_bytes(np.ones((3, 28, 28), np.uint8))  # 16-byte header
    with pytest.raises(ValueError):
        data.parse_idx(raw[:length])


def test_parse_idx_trailing_bytes():
    with pytest.raises(ValueError):
        data.parse_idx(idx_bytes(np.ones((2, 2), np.uint8)) + b"\x00")


@pytest.mark.parametrize("magic", [b"\x01\x00\x08\x01", b"\x00\x01\x08\x01", b"\x00\x00\x07\x01",
                                   b"\x1f\x8b\x08\x00", b"PK\x03\x04"])
def test_parse_idx_bad_magic(magic):
    raw = magic + struct.pack(">I", 3) + b"\x01\x02\x03"
    with pytest.raises(ValueError, match="magic"):
        data.parse_idx(raw)


@pytest.mark.parametrize("raw", [b"", b"\x00", b"\x00\x00\x08"])
def test_parse_idx_too_short(raw):
    with pytest.raises(ValueError):
        data.parse_idx(raw)


def test_read_idx_gzip_and_raw_agree(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a").write_bytes(idx_bytes(arr))
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(arr)))
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a"), arr)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "a.gz"), arr)
    assert data.find_file(tmp_path, "a") == tmp_path / "a.gz"  # gzip preferred
    (tmp_path / "a.gz").unlink()
    assert data.find_file(tmp_path, "a") == tmp_path / "a"
    assert data.find_file(tmp_path, "b") is None


def test_normalize():
    images = torch.tensor([[[0, 255], [51, 128]]], dtype=torch.uint8)  # (1, 2, 2)
    x = data.normalize(images)
    assert x.shape == (1, 1, 2, 2) and x.dtype == torch.float32
    expected = (images.float() / 255 - 0.1307) / 0.3081
    torch.testing.assert_close(x[:, 0], expected)


# ---------------------------------------------------------------- the real MNIST files
def test_real_shapes_and_dtypes(mnist_train, mnist_test):
    assert tuple(mnist_train.images.shape) == (60000, 28, 28)
    assert tuple(mnist_test.images.shape) == (10000, 28, 28)
    for split in (mnist_train, mnist_test):
        assert split.images.dtype == torch.uint8
        assert split.labels.dtype == torch.int64
        assert split.labels.shape == split.images.shape[:1]
        assert int(split.labels.min()) == 0 and int(split.labels.max()) == 9
        assert int(split.images.max()) == 255 and int(split.images.min()) == 0


def test_real_first_test_labels(mnist_test):
    assert mnist_test.labels[:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]


def test_real_class_counts(mnist_test, mnist_train):
    counts = torch.bincount(mnist_test.labels, minlength=10)
    assert counts.shape == (10,)
    assert int(counts.sum()) == 10000
    assert bool((counts > 800).all())  # every digit is well represented
    assert int(torch.bincount(mnist_train.labels, minlength=10).sum()) == 60000


def test_real_missing_files_none(mnist_dir):
    assert data.missing_files(mnist_dir) == []


def test_raw_copy_reads_identically(mnist_dir, tmp_path):
    gz = data.find_file(mnist_dir, "t10k-labels-idx1-ubyte")
    raw = tmp_path / "t10k-labels-idx1-ubyte"
    raw.write_bytes(gzip.decompress(gz.read_bytes()))
    assert data.find_file(tmp_path, "t10k-labels-idx1-ubyte") == raw
    a, b = data.read_idx(gz), data.read_idx(raw)
    assert a.shape == (10000,) and a.dtype == np.uint8
    np.testing.assert_array_equal(a, b)


def test_checksum_real_stable(mnist_dir):
    first = data.checksum(mnist_dir)
    assert re.fullmatch(r"[0-9a-f]{64}", first)
    assert data.checksum(mnist_dir) == first


def test_checksum_real_independent_of_compression(mnist_dir, tmp_path):
    """The small label file decompressed, the other three linked (not copied): same checksum."""
    for name in data.FILES:
        if name == "t10k-labels-idx1-ubyte":
            (tmp_path / name).write_bytes(gzip.decompress(data.find_file(mnist_dir, name).read_bytes()))
        else:
            (tmp_path / f"{name}.gz").symlink_to(data.find_file(mnist_dir, name).resolve())
    assert data.checksum(tmp_path) == data.checksum(mnist_dir)


# ---------------------------------------------------------------- fake MNIST for the downloader
def make_fake_mnist(folder: Path, n_train: int = 5, n_test: int = 3, seed: int = 0) -> dict[str, np.ndarray]:
    """Four small, valid IDX .gz files; returns name -> array."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train-images-idx3-ubyte": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train-labels-idx1-ubyte": rng.integers(0, 10, n_train, dtype=np.uint8),
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "t10k-labels-idx1-ubyte": rng.integers(0, 10, n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    for name, arr in arrays.items():
        (folder / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(arr), mtime=0))
    return arrays


def md5_of(path: Path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class Server:
    """An HTTP server on 127.0.0.1 (free port) in a background thread."""

    def __init__(self, handler):
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """Fake MNIST on a local server; data.FILES patched to the fake files' md5s."""
    src = tmp_path / "served"
    arrays = make_fake_mnist(src)
    monkeypatch.setattr(data, "FILES", {name: md5_of(src / f"{name}.gz") for name in arrays})
    server = Server(functools.partial(QuietHandler, directory=str(src)))
    yield server.url, arrays, src
    server.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def leftovers(folder: Path, name: str) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(name)) if folder.exists() else []


def test_download_good_files(fake, tmp_path):
    url, arrays, src = fake
    dest = tmp_path / "dest" / "mnist"  # created by download
    calls = []
    data.download(dest, base_urls=(url,), progress=lambda *a: calls.append(a), timeout=5)
    assert sorted(p.name for p in dest.iterdir()) == sorted(f"{n}.gz" for n in arrays)
    for name in arrays:
        assert (dest / f"{name}.gz").read_bytes() == (src / f"{name}.gz").read_bytes()
        mine = [c for c in calls if c[0] == f"{name}.gz"]
        size = (src / f"{name}.gz").stat().st_size
        assert mine, f"no progress for {name}"
        assert mine[-1][1] == mine[-1][2] == size  # done == total at the end
        assert all(0 < done <= total for _, done, total in mine)
    test = data.load_split(False, dest)
    np.testing.assert_array_equal(test.images.numpy(), arrays["t10k-images-idx3-ubyte"])
    assert test.labels.tolist() == arrays["t10k-labels-idx1-ubyte"].tolist()
    assert test.labels.dtype == torch.int64
    train = data.load_split(True, dest)
    np.testing.assert_array_equal(train.images.numpy(), arrays["train-images-idx3-ubyte"])


def test_download_skips_present_files(fake, tmp_path):
    url, arrays, src = fake
    dest = tmp_path / "dest"
    dest.mkdir()
    shutil.copy(src / "train-images-idx3-ubyte.gz", dest)
    calls = []
    data.download(dest, base_urls=(url,), progress=lambda *a: calls.append(a[0]), timeout=5)
    assert "train-images-idx3-ubyte.gz" not in calls
    assert set(calls) == {f"{n}.gz" for n in arrays if n != "train-images-idx3-ubyte"}
    assert data.missing_files(dest) == []


def test_download_falls_back_to_next_mirror(fake, tmp_path):
    url, arrays, _ = fake
    dead = f"http://127.0.0.1:{free_port()}/"
    dest = tmp_path / "dest"
    data.download(dest, base_urls=(dead, url), timeout=5)
    assert data.missing_files(dest) == []


def test_download_wrong_checksum(fake, tmp_path, monkeypatch):
    url, arrays, _ = fake
    bad = "t10k-images-idx3-ubyte"
    monkeypatch.setitem(data.FILES, bad, "0" * 32)
    dest = tmp_path / "dest"
    with pytest.raises(data.MnistMissing, match="md5 mismatch") as err:
        data.download(dest, base_urls=(url,), timeout=5)
    assert bad in str(err.value)
    assert leftovers(dest, bad) == []  # neither the file nor a .part
    assert not list(dest.glob("*.part"))


def test_download_server_down(fake, tmp_path):
    dest = tmp_path / "dest"
    with pytest.raises(data.MnistMissing) as err:
        data.download(dest, base_urls=(f"http://127.0.0.1:{free_port()}/",), timeout=5)
    assert str(dest.resolve()) in str(err.value)
    assert list(dest.iterdir()) == []


class ShortHandler(http.server.BaseHTTPRequestHandler):
    """Announces the real size but sends only half the bytes, then hangs up."""
    folder: Path

    def do_GET(self):
        body = (self.folder / self.path.lstrip("/")).read_bytes()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body[: len(body) // 2])
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_download_short_read(fake, tmp_path):
    _, arrays, src = fake
    handler = type("H", (ShortHandler,), {"folder": src})
    server = Server(handler)
    dest = tmp_path / "dest"
    try:
        with pytest.raises(data.MnistMissing, match="partial download"):
            data.download(dest, base_urls=(server.url,), timeout=5)
    finally:
        server.close()
    assert list(dest.iterdir()) == []


class GarbageHandler(socketserver.StreamRequestHandler):
    """Answers any request with something that is not HTTP."""

    def handle(self):
        self.rfile.readline()
        self.wfile.write(b"SSH-2.0-OpenSSH\r\n\r\n")


def test_download_not_http(fake, tmp_path):
    srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), GarbageHandler)
    srv.daemon_threads = True
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    t.start()
    dest = tmp_path / "dest"
    try:
        with pytest.raises(data.MnistMissing):
            data.download(dest, base_urls=(f"http://127.0.0.1:{srv.server_address[1]}/",), timeout=5)
    finally:
        srv.shutdown()
        srv.server_close()
    assert list(dest.iterdir()) == []


def test_load_split_no_download(tmp_path):
    with pytest.raises(data.MnistMissing) as err:
        data.load_split(False, tmp_path, allow_download=False)
    for name in data.FILES:
        assert name in str(err.value)
    assert list(tmp_path.iterdir()) == []


def test_load_split_downloads_when_allowed(fake, tmp_path, monkeypatch):
    url, arrays, _ = fake
    # download's base_urls default was bound at definition time: patch the function, not MIRRORS
    monkeypatch.setattr(data, "download", functools.partial(data.download, base_urls=(url,), timeout=5))
    dest = tmp_path / "dest"
    seen = []
    split = data.load_split(False, dest, allow_download=True, progress=lambda *a: seen.append(a[0]))
    np.testing.assert_array_equal(split.images.numpy(), arrays["t10k-images-idx3-ubyte"])
    assert data.missing_files(dest) == []
    assert len(set(seen)) == 4


def test_load_split_shape_mismatch(tmp_path, monkeypatch):
    make_fake_mnist(tmp_path)
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(4, np.uint8))))
    with pytest.raises(ValueError, match="unexpected MNIST shapes"):
        data.load_split(False, tmp_path)


def test_checksum_fake_independent_of_compression(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    arrays = make_fake_mnist(a)
    b.mkdir()
    for i, (name, arr) in enumerate(arrays.items()):
        if i % 2:
            (b / name).write_bytes(idx_bytes(arr))
        else:
            (b / f"{name}.gz").write_bytes(gzip.compress(idx_bytes(arr), compresslevel=1, mtime=123))
    assert (a / "train-images-idx3-ubyte.gz").read_bytes() != (b / "train-images-idx3-ubyte.gz").read_bytes()
    assert data.checksum(a) == data.checksum(b)
    c = tmp_path / "c"
    make_fake_mnist(c, seed=1)
    assert data.checksum(c) != data.checksum(a)
