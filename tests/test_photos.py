"""Uploads made the way phones make them: dark ink on paper under uneven light, sensor noise, JPEG,
and pixels stored sideways with an EXIF Orientation tag. The 40 "photos" are generated here at test
time from font digits and MNIST test digits (nothing is committed); the shipped default CNN must read
at least 36 of them after dl_core.digits.read_upload + prepare."""
from __future__ import annotations

import io
import re
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageOps
from streamlit.testing.v1 import AppTest

from dl_core import cnn
from dl_core.digits import looks_like_digit, prepare, read_upload, render_digit

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
ORIENTATION = 0x0112  # the EXIF tag a phone writes instead of rotating the pixels
# what a phone stores for each tag: the upright picture turned so that exif_transpose turns it back
STORED = {1: None, 3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


def photograph(ink: np.ndarray, rng: np.random.Generator, orientation: int, quality: int = 85) -> bytes:
    """(h, w) white-on-black ink in [0, 1] -> JPEG bytes of dark pen ink on lit paper, as a phone saves it."""
    height, width = (480, 360) if rng.random() < 0.5 else (360, 480)
    side = int(min(height, width) * rng.uniform(0.45, 0.8))  # how large the digit is in the frame
    digit = Image.fromarray((np.clip(ink, 0, 1) * 255).astype(np.uint8)).resize((side, side), Image.Resampling.BICUBIC)
    page = np.zeros((height, width), np.float32)
    top, left = int(rng.integers(0, height - side + 1)), int(rng.integers(0, width - side + 1))
    page[top:top + side, left:left + side] = np.asarray(digit, np.float32) / 255.0  # (H, W) ink coverage
    yy, xx = np.mgrid[:height, :width] / max(height, width)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = np.cos(angle) * xx + np.sin(angle) * yy
    ramp = (ramp - ramp.min()) / (ramp.max() - ramp.min())
    light = rng.uniform(0.45, 0.65) + rng.uniform(0.3, 0.45) * ramp  # a lamp on one side, shadow on the other
    paper = rng.uniform(0.82, 0.97) * np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.86, 0.98)], np.float32)
    pen = np.array([0.1, 0.1, rng.uniform(0.1, 0.4)], np.float32) * rng.uniform(0.5, 1.5)  # black or blue
    rgb = paper * (1 - page[..., None]) + pen * page[..., None]  # (H, W, 3)
    rgb = rgb * light[..., None] + rng.normal(0, rng.uniform(0.01, 0.03), rgb.shape)
    img = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8)).filter(ImageFilter.GaussianBlur(0.8))
    exif = Image.Exif()
    if STORED[orientation] is not None:
        img = img.transpose(STORED[orientation])
    exif[ORIENTATION] = orientation
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    return buf.getvalue()


def photo_set(mnist_test, n_font: int = 20, n_mnist: int = 20, seed: int = 0) -> list[tuple[int, np.ndarray, bytes]]:
    """(label, clean ink, JPEG bytes): font digits and MNIST test digits (two of each), tags 1/3/6/8."""
    rng = np.random.default_rng(seed)
    inks = [(d % 10, render_digit(d % 10, rotation=float(rng.uniform(-8, 8)), stroke=int(rng.integers(2, 7))))
            for d in range(n_font)]
    labels = mnist_test.labels.numpy()
    for d in range(n_mnist):
        index = int(rng.choice(np.flatnonzero(labels == d % 10)))
        inks.append((d % 10, mnist_test.images[index].numpy().astype(np.float32) / 255.0))
    orientations = [3, 6, 8, 1]  # three of every four are stored sideways or upside down
    return [(label, ink, photograph(ink, rng, orientations[i % 4])) for i, (label, ink) in enumerate(inks)]


@pytest.fixture(scope="module")
def photos(mnist_test):
    return photo_set(mnist_test)


@pytest.fixture(scope="module")
def default_cnn():
    return cnn.load(ASSETS / "cnn_default.pt", torch.device("cpu"))


@pytest.fixture(scope="module")
def prepared(photos):
    """Each photo as the page sees it: decoded, cleaned, MNIST-prepared (None if nothing is left)."""
    return [prepare(read_upload(raw)) for _, _, raw in photos]


def read(model, preps: list) -> list[int]:
    """The net's answers for a list of prepared inputs, in one batch; -1 where nothing was left."""
    with torch.no_grad():
        preds = model(torch.cat([p.x for p in preps if p is not None])).argmax(1).tolist() if any(preps) else []
    return [-1 if p is None else preds.pop(0) for p in preps]


def test_photo_generator_writes_what_a_phone_writes(photos):
    assert len(photos) == 40 and sorted({label for label, _, _ in photos}) == list(range(10))
    tags = []
    for _, _, raw in photos:
        with Image.open(io.BytesIO(raw)) as im:
            assert im.format == "JPEG"
            tags.append(im.getexif()[ORIENTATION])
            upright = ImageOps.exif_transpose(im)
            # tags 6 and 8 store the picture turned by 90 degrees: width and height swap back
            assert (upright.size == im.size) == (tags[-1] in (1, 3))
    assert tags.count(1) == 10 and sum(t in (3, 6, 8) for t in tags) == 30


def test_stored_rotation_is_undone_by_exif_transpose():
    upright = Image.fromarray(np.arange(12, dtype=np.uint8).reshape(3, 4))
    for tag, turn in STORED.items():
        stored = upright if turn is None else upright.transpose(turn)
        exif = Image.Exif()
        exif[ORIENTATION] = tag
        buf = io.BytesIO()
        stored.save(buf, "PNG", exif=exif.tobytes())
        with Image.open(io.BytesIO(buf.getvalue())) as im:
            np.testing.assert_array_equal(np.asarray(ImageOps.exif_transpose(im)), np.asarray(upright))


def test_default_cnn_reads_phone_photos(photos, prepared, default_cnn, one_thread):
    preds = read(default_cnn, prepared)
    labels = [label for label, _, _ in photos]
    correct = sum(p == t for p, t in zip(preds, labels))
    assert correct >= 36, f"{correct}/40 photos read correctly: {list(zip(labels, preds))}"
    # the photo costs (almost) nothing: the net reads it as it reads the clean ink it was made from
    clean = read(default_cnn, [prepare(ink) for _, ink, _ in photos])
    assert sum(p == c for p, c in zip(preds, clean)) >= 38, list(zip(labels, clean, preds))
    assert sum(c == t for c, t in zip(clean, labels)) - correct <= 2


def test_phone_photos_look_like_digits(photos, prepared):
    """No warning for real digits: every cleaned photo is within MNIST's ranges."""
    looks = [looks_like_digit(prep) for prep in prepared]
    assert all(look.ok for look in looks), [(label, look.reason) for (label, _, _), look in zip(photos, looks)]


# ---------------------------------------------------------------- the CNN page, uploads
def cnn_page(raw: bytes | None = None, name: str = "photo.jpg") -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.switch_page("pages/cnn.py")
    at.run()
    at.radio(key="cnn_model").set_value("default").run()
    at.button_group(key="cnn_source").set_value("Upload").run()
    if raw is not None:
        at.file_uploader(key="cnn_upload").set_value((name, raw, "image/jpeg" if name.endswith("jpg") else "image/png"))
        at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def prediction(at: AppTest) -> tuple[str, float] | None:
    metrics = [m for m in at.metric if m.label == "Prediction"]
    return (metrics[0].value, float(re.match(r"([\d.]+)%", metrics[0].delta).group(1))) if metrics else None


def unlike_warnings(at: AppTest) -> list[str]:
    return [w.value for w in at.warning if "does not look like a digit" in w.value]


def test_page_reads_an_uploaded_phone_photo(photos):
    label, _, raw = photos[24]  # an MNIST 4, stored upside down with EXIF tag 3
    at = cnn_page(raw)
    assert prediction(at)[0] == str(label) == "4"
    assert not unlike_warnings(at)


def test_page_warns_when_an_upload_is_unlike_a_digit():
    page = Image.new("L", (400, 300), 235)
    ImageDraw.Draw(page).ellipse((150, 90, 260, 200), fill=30)  # a dark blot on paper
    buf = io.BytesIO()
    page.save(buf, "PNG")
    at = cnn_page(buf.getvalue(), "blot.png")
    assert prediction(at) is not None  # the network still answers, and the page says what that is worth
    (warning,) = unlike_warnings(at)
    assert "solid blob" in warning and "not certainty" in warning


def test_page_shows_a_message_for_a_png_bomb():
    raw = encode_png_with_ztxt(zlib.compress(bytes(20_000_000), 9))
    at = cnn_page(raw, "bomb.png")
    assert prediction(at) is None
    assert any("That upload cannot be used" in i.value and "too much data" in i.value for i in at.info)


def test_page_font_digit_has_no_warning():
    at = cnn_page()
    at.button_group(key="cnn_source").set_value("Font digit").run()
    assert prediction(at)[0] == "7" and not unlike_warnings(at)


def encode_png_with_ztxt(compressed: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (32, 32), 255).save(buf, "PNG")
    body = b"Comment\x00\x00" + compressed
    chunk = struct.pack(">I", len(body)) + b"zTXt" + body + struct.pack(">I", zlib.crc32(b"zTXt" + body))
    return buf.getvalue()[:33] + chunk + buf.getvalue()[33:]
