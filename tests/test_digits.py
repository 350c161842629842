"""dl_core.digits: turning drawings and uploads into MNIST-style 28x28 inputs."""
from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from dl_core import cnn, data, digits
from dl_core.digits import BadImage, centre_of_mass, looks_like_digit, prepare, read_upload, render_digit, to_ink

TARGET = 14.0  # where prepare() puts the centre of mass, in (row, col) pixel indices


def encode(array: np.ndarray, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(array).save(buf, fmt, **kw)
    return buf.getvalue()


def ink_bbox(img: np.ndarray, threshold: float = 0.0) -> tuple[int, int]:
    rows, cols = np.where(img > threshold)
    return rows.max() - rows.min() + 1, cols.max() - cols.min() + 1


# ---------------------------------------------------------------- prepare
def test_prepare_empty():
    assert prepare(np.zeros((280, 280), np.float32)) is None


def test_prepare_speck():
    ink = np.zeros((280, 280), np.float32)
    ink[100, 100] = ink[100, 101] = 1.0
    assert prepare(ink) is None


def test_prepare_faint_ink_is_empty():
    assert prepare(np.full((280, 280), digits.INK_THRESHOLD * 0.9, np.float32)) is None


def test_prepare_minimum_ink():
    ink = np.zeros((280, 280), np.float32)
    ink[50:52, 60:62] = 1.0  # exactly MIN_INK_PIXELS
    assert digits.MIN_INK_PIXELS == 4
    assert prepare(ink) is not None


def corner_blob() -> np.ndarray:
    ink = np.zeros((280, 280), np.float32)
    yy, xx = np.mgrid[:280, :280]
    ink[((yy - 40) / 30.0) ** 2 + ((xx - 230) / 18.0) ** 2 <= 1.0] = 1.0  # an ellipse in the top-right corner
    return ink


def corner_rectangle() -> np.ndarray:
    ink = np.zeros((280, 280), np.float32)
    ink[200:270, 10:45] = 0.8
    return ink


def wide_bar() -> np.ndarray:
    ink = np.zeros((280, 280), np.float32)
    ink[250:262, 20:180] = 1.0
    return ink


CASES = {**{f"digit{d}": (lambda d=d: render_digit(d)) for d in range(10)},
         "rotated7": lambda: render_digit(7, rotation=20, stroke=4),
         "blob": corner_blob, "rectangle": corner_rectangle, "bar": wide_bar}


@pytest.mark.parametrize("case", CASES)
def test_prepare_centres_and_scales(case):
    ink = CASES[case]()
    p = prepare(ink)
    assert p is not None
    assert p.centred.shape == (28, 28) and p.centred.dtype == np.float32
    assert 0.0 <= p.centred.min() and p.centred.max() <= 1.0
    cy, cx = centre_of_mass(p.centred)
    assert abs(cy - TARGET) <= 1.0 and abs(cx - TARGET) <= 1.0, (cy, cx)
    assert max(ink_bbox(p.centred)) in (19, 20, 21)
    assert max(p.fitted.shape) == 20
    # the crop is exactly the bounding box of the ink above the threshold
    h, w = ink_bbox(ink, digits.INK_THRESHOLD)
    assert p.cropped.shape == (h, w)
    np.testing.assert_array_equal(p.ink, ink)
    assert p.x.shape == (1, 1, 28, 28) and p.x.dtype == torch.float32
    torch.testing.assert_close(p.x[0, 0], torch.from_numpy((p.centred - data.MEAN) / data.STD))
    torch.testing.assert_close(p.x[0, 0], (torch.from_numpy(p.centred) - 0.1307) / 0.3081)


def test_prepare_is_translation_invariant():
    ink = render_digit(5, size=200)
    big = np.zeros((400, 400), np.float32)
    big[10:210, 150:350] = ink
    np.testing.assert_allclose(prepare(big).centred, prepare(ink).centred, atol=1e-6)


def test_prepare_matches_mnist_centring(mnist_test):
    """prepare()'s target is where MNIST itself keeps the centre of mass."""
    coms = np.array([centre_of_mass(img) for img in mnist_test.images[:2000].float().numpy()])
    mean = coms.mean(0)
    assert abs(mean[0] - TARGET) < 0.25 and abs(mean[1] - TARGET) < 0.25, mean
    mnist_box = [max(ink_bbox(img)) for img in mnist_test.images[:500].numpy()]
    assert np.median(mnist_box) == 20  # and MNIST digits also fill a 20-pixel box


def test_rendered_digits_are_recognised():
    """End to end: the shipped course net reads font-rendered digits after prepare()."""
    model = cnn.load(Path(__file__).resolve().parent.parent / "assets" / "cnn_course.pt", torch.device("cpu"))
    with torch.no_grad():
        preds = [int(model(prepare(render_digit(d)).x).argmax()) for d in range(10)]
    assert sum(p == d for d, p in enumerate(preds)) >= 8, preds


def test_render_digit():
    ink = render_digit(4, size=100)
    assert ink.shape == (100, 100) and ink.dtype == np.float32
    assert ink.min() == 0.0 and ink.max() == 1.0
    assert not np.array_equal(render_digit(1), render_digit(7))
    with pytest.raises(ValueError):
        render_digit(10)


# ---------------------------------------------------------------- to_ink
def test_to_ink_rgba_stroke():
    rgba = np.zeros((30, 40, 4), np.uint8)
    rgba[..., 3] = 255
    rgba[10:20, 5:35, :3] = 255
    ink = to_ink(rgba)
    assert ink.shape == (30, 40) and ink.dtype == np.float32
    expected = np.zeros((30, 40), np.float32)
    expected[10:20, 5:35] = 1.0
    np.testing.assert_allclose(ink, expected, atol=1e-5)


def test_to_ink_alpha_is_coverage():
    rgba = np.full((4, 4, 4), 255, np.uint8)
    rgba[..., 3] = [[0, 51, 128, 255]] * 4
    np.testing.assert_allclose(to_ink(rgba)[0], [0.0, 0.2, 128 / 255, 1.0], atol=1e-5)


def test_to_ink_rgb():
    rgb = np.zeros((2, 3, 3), np.uint8)
    rgb[0, 0] = (255, 0, 0)
    rgb[0, 1] = (0, 255, 0)
    rgb[0, 2] = (0, 0, 255)
    rgb[1] = (200, 100, 50)
    expected = np.array([[0.299, 0.587, 0.114], [(0.299 * 200 + 0.587 * 100 + 0.114 * 50) / 255] * 3])
    np.testing.assert_allclose(to_ink(rgb), expected, atol=1e-5)


def test_to_ink_gray():
    gray = np.array([[0, 51, 255]], np.uint8)
    np.testing.assert_allclose(to_ink(gray), [[0.0, 0.2, 1.0]], atol=1e-6)


@pytest.mark.parametrize("shape", [(5,), (5, 5, 2), (5, 5, 5), (5, 5, 1), (2, 5, 5, 3)])
def test_to_ink_bad_shape(shape):
    with pytest.raises(BadImage, match="shape"):
        to_ink(np.zeros(shape, np.uint8))


def test_bad_image_is_value_error():
    assert issubclass(BadImage, ValueError)


# ---------------------------------------------------------------- read_upload: good images
def paper(digit: int = 3, size: int = 280) -> np.ndarray:
    """A dark digit on white paper, uint8."""
    return (255 - render_digit(digit, size=size) * 255).astype(np.uint8)


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_read_upload_dark_on_white(fmt):
    ink = render_digit(3)
    got = read_upload(encode(paper(3), fmt))
    assert got.shape == (280, 280)
    assert 0.0 <= got.min() and got.max() <= 1.0
    assert got[ink > 0.9].mean() > 0.9  # the strokes are bright now
    assert got[ink == 0].mean() < 0.05  # the paper is dark
    p = prepare(got)
    assert p is not None
    np.testing.assert_allclose(p.centred, prepare(ink).centred, atol=0.05)


def test_read_upload_rgb_png():
    rgb = np.repeat(paper(8)[..., None], 3, axis=2)
    got = read_upload(encode(rgb))
    assert prepare(got) is not None
    assert got[render_digit(8) > 0.9].mean() > 0.9


def test_read_upload_white_on_black_not_inverted():
    ink = render_digit(2)
    got = read_upload(encode((ink * 255).astype(np.uint8)))
    np.testing.assert_allclose(got, ink, atol=1 / 255 + 1e-6)


def test_read_upload_shrinks_large_images():
    got = read_upload(encode(paper(6, size=1200)))
    assert max(got.shape) <= 512
    assert prepare(got) is not None


def test_read_upload_largest_allowed_size():
    """4096x4096 passes the size check (and then this one is rejected as blank, not as too large)."""
    raw = encode(np.full((4096, 4096), 255, np.uint8))
    assert len(raw) <= digits.MAX_UPLOAD_BYTES
    with pytest.raises(BadImage, match="blank"):
        read_upload(raw)


# ---------------------------------------------------------------- read_upload: rejected uploads
def png_chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG claiming the given size: IHDR, a few bytes of IDAT, IEND. Far too little pixel data."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(64)))
            + png_chunk(b"IEND", b""))


def png_with_chunk(kind: bytes, body: bytes) -> bytes:
    """A valid small PNG with one extra ancillary chunk right after IHDR."""
    raw = encode(paper(3, size=64))
    return raw[:33] + png_chunk(kind, body) + raw[33:]  # 8-byte signature + 25-byte IHDR chunk


INFLATES = zlib.compress(bytes(20_000_000), 9)  # 20 kB that inflate to 20 MB, past Pillow's text limit


def animated_png() -> bytes:
    frames = [Image.fromarray(paper(d, size=64)) for d in (1, 2)]
    buf = io.BytesIO()
    frames[0].save(buf, "PNG", save_all=True, append_images=frames[1:])
    return buf.getvalue()


def gif_bytes() -> bytes:
    return encode(paper(1, size=64), "GIF")


BAD = {
    "empty": (lambda: b"", "empty"),
    "random": (lambda: np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not a readable"),
    "text": (lambda: b"hello, this is not an image\n" * 10, "not a readable"),
    "gif": (gif_bytes, "Only PNG and JPEG"),
    "bmp": (lambda: encode(paper(1, size=64), "BMP"), "Only PNG and JPEG"),
    "blank_white": (lambda: encode(np.full((100, 100), 255, np.uint8)), "blank"),
    "blank_black": (lambda: encode(np.zeros((100, 100), np.uint8)), "blank"),
    "blank_gray_rgb": (lambda: encode(np.full((50, 60, 3), 128, np.uint8)), "blank"),
    "too_many_bytes": (lambda: b"\x89PNG\r\n\x1a\n" + bytes(digits.MAX_UPLOAD_BYTES), "MB"),
    "too_many_pixels": (lambda: encode(np.full((5000, 5000), 255, np.uint8)), "4096x4096"),
    "huge_header": (lambda: png_header_only(50_000, 50_000), None),  # PIL's decompression-bomb guard
    "wide_header": (lambda: png_header_only(4097, 4096), "4097x4096"),
    "small_header": (lambda: png_header_only(100, 100), "not a readable"),  # opens, but the data is missing
    "truncated_png": (lambda: encode(paper(3))[:400], "not a readable"),
    "truncated_jpeg": (lambda: encode(paper(3), "JPEG")[:300], "not a readable"),
    "ztxt_bomb": (lambda: png_with_chunk(b"zTXt", b"key\x00\x00" + INFLATES), "chunk that unpacks to too much"),
    "itxt_bomb": (lambda: png_with_chunk(b"iTXt", b"key\x00\x01\x00\x00\x00" + INFLATES), "chunk that unpacks"),
    "iccp_bomb": (lambda: png_with_chunk(b"iCCP", b"icc\x00\x00" + INFLATES), "colour-profile chunk"),
    "animated_png": (animated_png, "animated"),
    "bad_ihdr": (lambda: png_header_only(40, 40)[:24] + b"\x05" + png_header_only(40, 40)[25:], "not a readable"),
}


@pytest.mark.parametrize("case", BAD)
def test_read_upload_rejects(case):
    make, message = BAD[case]
    raw = make()
    with pytest.raises(BadImage) as err:
        read_upload(raw)
    assert type(err.value) is BadImage
    assert str(err.value).strip()
    if message:
        assert message in str(err.value)


def test_over_size_limit_really_is_over():
    assert len(BAD["too_many_bytes"][0]()) > digits.MAX_UPLOAD_BYTES
    assert len(BAD["too_many_pixels"][0]()) < digits.MAX_UPLOAD_BYTES  # rejected for its pixels, not bytes


def test_read_upload_corrupted_bytes_only_badimage():
    """Randomly damaged PNGs and JPEGs either decode or raise BadImage, never anything else."""
    rng = np.random.default_rng(1)
    for fmt in ("PNG", "JPEG"):
        good = bytearray(encode(paper(5, size=64), fmt))
        for _ in range(40):
            raw = bytearray(good)
            for pos in rng.integers(0, len(raw), size=4):
                raw[pos] = int(rng.integers(0, 256))
            try:
                out = read_upload(bytes(raw))
            except BadImage:
                continue
            assert out.ndim == 2 and 0.0 <= out.min() and out.max() <= 1.0


def png_with_many_chunks(n: int, kind: bytes, body: bytes) -> bytes:
    raw = encode(paper(3, size=64))
    return raw[:33] + png_chunk(kind, body) * n + raw[33:]


def test_many_png_text_chunks_are_refused_without_inflating():
    """80 chunks that each inflate to just under Pillow's 1 MB limit: 80 MB of work, refused from the headers."""
    almost = zlib.compress(bytes(1_000_000), 9)
    with pytest.raises(BadImage, match="more than 8 compressed"):
        read_upload(png_with_many_chunks(80, b"zTXt", b"key\x00\x00" + almost))
    assert prepare(read_upload(png_with_many_chunks(8, b"zTXt", b"key\x00\x00" + zlib.compress(b"ok")))) is not None
    with pytest.raises(BadImage, match="more than 8 compressed"):
        read_upload(png_with_many_chunks(digits.MAX_PNG_CHUNKS, b"tEXt", b"k\x00v"))  # too many chunks to scan


def test_png_chunk_bombs_are_small_files():
    """The bombs are tiny on disk: the message must come from the inflated size, not the file size."""
    assert len(INFLATES) < 50_000
    raw = png_with_chunk(b"zTXt", b"key\x00\x00" + zlib.compress(b"a short comment"))
    assert prepare(read_upload(raw)) is not None  # a harmless zTXt chunk is fine


@pytest.mark.parametrize("color_type", range(8))
@pytest.mark.parametrize("bit_depth", [1, 2, 3, 4, 8, 16])
def test_read_upload_any_png_header_only_badimage(color_type, bit_depth):
    """Every colour type / bit depth combination, valid or not, decodes or gives BadImage."""
    ihdr = struct.pack(">IIBBBBB", 40, 40, bit_depth, color_type, 0, 0, 0)
    raw = (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + png_chunk(b"IDAT", zlib.compress(bytes(41 * 8 * 40)))
           + png_chunk(b"IEND", b""))
    try:
        out = read_upload(raw)
    except BadImage as err:
        assert type(err) is BadImage and str(err).strip()
        return
    assert out.ndim == 2 and 0.0 <= out.min() and out.max() <= 1.0


# ---------------------------------------------------------------- read_upload: photos
ORIENTATION = 0x0112
STORED = {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270}


@pytest.mark.parametrize("tag", [3, 6, 8])
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_read_upload_applies_exif_orientation(tag, fmt):
    """A phone stores the pixels turned and says so in EXIF; the upload is read upright."""
    upright = np.zeros((200, 300), np.uint8) + 255
    upright[20:180, 60:240] = paper(7, size=180)[10:170]  # a 7, on a landscape page
    stored = Image.fromarray(upright).transpose(STORED[tag])
    exif = Image.Exif()
    exif[ORIENTATION] = tag
    buf = io.BytesIO()
    stored.save(buf, fmt, exif=exif.tobytes(), **({"quality": 95} if fmt == "JPEG" else {}))
    got = read_upload(buf.getvalue())
    want = read_upload(encode(upright, fmt, **({"quality": 95} if fmt == "JPEG" else {})))
    assert got.shape == (200, 300)
    if fmt == "PNG":
        np.testing.assert_array_equal(got, want)
    else:
        assert np.abs(prepare(got).centred - prepare(want).centred).mean() < 0.02
    assert np.abs(prepare(got).centred - prepare(read_upload(encode(np.asarray(stored)))).centred).mean() > 0.1


def lit(ink: np.ndarray, paper_level: float, ink_level: float, light: tuple[float, float], seed: int = 0) -> np.ndarray:
    """Ink on a page lit unevenly: brightness ramps from light[0] (top left) to light[1] (bottom right)."""
    h, w = ink.shape
    ramp = np.add.outer(np.linspace(0, 1, h), np.linspace(0, 1, w)) / 2
    page = (paper_level * (1 - ink) + ink_level * ink) * (light[0] + (light[1] - light[0]) * ramp)
    page += np.random.default_rng(seed).normal(0, 0.015, page.shape)
    return (np.clip(page, 0, 1) * 255).astype(np.uint8)


@pytest.fixture(scope="module")
def default_cnn():
    return cnn.load(Path(__file__).resolve().parent.parent / "assets" / "cnn_default.pt", torch.device("cpu"))


@pytest.mark.parametrize("kind", ["dark_on_paper", "chalk_on_board"])
def test_read_upload_removes_uneven_light(kind, default_cnn):
    """The reported case: a dark 4 on paper, lit from one side, was read as an 8 "100% confident"
    because the shadowed paper counted as ink. Light chalk on a dark board must work as well."""
    ink = np.zeros((360, 360), np.float32)
    ink[40:320, 40:320] = render_digit(4, size=280, stroke=3)
    levels = (0.9, 0.12) if kind == "dark_on_paper" else (0.15, 0.85)
    raw = encode(lit(ink, *levels, light=(0.4, 1.0)), "JPEG", quality=85)
    got = read_upload(raw)
    assert got[ink == 0].mean() < 0.01 and (got[ink == 0] > digits.INK_THRESHOLD).mean() < 0.002  # paper is gone
    assert got[ink > 0.9].mean() > 0.9  # strokes are ink
    p = prepare(got)
    assert abs(p.cropped.shape[0] - ink_bbox(ink, 0.5)[0]) <= 4  # the crop is the digit, not the shadow
    assert np.abs(p.centred - prepare(ink).centred).mean() < 0.03
    with torch.no_grad():
        assert int(default_cnn(p.x).argmax()) == 4


def test_read_upload_blank_page_under_uneven_light():
    with pytest.raises(BadImage, match="blank"):
        read_upload(encode(lit(np.zeros((300, 400), np.float32), 0.9, 0.1, light=(0.3, 1.0)), "JPEG"))


def test_read_upload_16_bit_png():
    """Pillow's convert("L") clips 16-bit gray at 255; the upload is scaled instead."""
    page = paper(5).astype(np.uint16) * 257  # (280, 280) 0..65535
    got = read_upload(encode(page))
    np.testing.assert_allclose(got, read_upload(encode(paper(5))), atol=0.01)


def test_read_upload_mpo_is_accepted():
    """Phones save JPEGs with a second (depth or preview) picture; Pillow calls them MPO."""
    frames = [Image.fromarray(paper(2)).convert("RGB"), Image.fromarray(paper(9)).convert("RGB")]
    buf = io.BytesIO()
    frames[0].save(buf, "MPO", save_all=True, append_images=frames[1:])
    with Image.open(io.BytesIO(buf.getvalue())) as im:
        assert im.format == "MPO"
    got = read_upload(buf.getvalue())
    assert np.abs(prepare(got).centred - prepare(render_digit(2)).centred).mean() < 0.02  # the first picture


def test_otsu_splits_two_clusters():
    rng = np.random.default_rng(0)
    values = np.concatenate([rng.normal(0.1, 0.02, 900), rng.normal(0.7, 0.05, 100)])
    assert 0.25 < digits.otsu(values) < 0.55  # in the gap between the two, near its middle


# ---------------------------------------------------------------- looks_like_digit
def canvas(draw) -> np.ndarray:
    """A 280x280 drawing made with the canvas's 20 px pen: (280, 280) ink in [0, 1]."""
    im = Image.new("L", (280, 280), 0)
    draw(ImageDraw.Draw(im))
    return np.asarray(im, np.float32) / 255.0


def scribble(d: ImageDraw.ImageDraw) -> None:
    d.line([tuple(p) for p in np.random.default_rng(60).integers(20, 260, (60, 2))], fill=255, width=20, joint="curve")


def sprinkle(d: ImageDraw.ImageDraw) -> None:
    for x in (30, 130, 230):  # nine pen-tip specks on a 3x3 grid
        for y in (30, 130, 230):
            d.ellipse((x, y, x + 12, y + 12), fill=255)


UNLIKE = {  # drawing, the reason looks_like_digit() must give
    "dot": (lambda d: d.ellipse((130, 130, 150, 150), fill=255), "tiny mark"),  # one click of the pen
    "blob": (lambda d: d.ellipse((60, 80, 200, 190), fill=255), "solid blob"),
    "square": (lambda d: d.rectangle((50, 50, 230, 230), fill=255), "fills most of the box"),
    "scribble": (scribble, "fills most of the box"),
    "dash": (lambda d: d.line((60, 140, 220, 140), fill=255, width=20), "wider than tall"),
    "sprinkle": (sprinkle, "very little ink"),
}


@pytest.mark.parametrize("case", UNLIKE)
def test_unlike_digit_inputs_get_a_reason(case):
    draw, reason = UNLIKE[case]
    look = looks_like_digit(prepare(canvas(draw)))
    assert not look.ok and reason in look.reason, look


def test_unlike_measures():
    dot = looks_like_digit(prepare(canvas(UNLIKE["dot"][0])))
    assert dot.size == pytest.approx(21 / 280, abs=0.01) and dot.thickness > digits.MAX_THICKNESS
    dash = looks_like_digit(prepare(canvas(UNLIKE["dash"][0])))
    assert dash.aspect == pytest.approx(20 / 161, abs=0.02) and dash.pieces == 1 and dash.thickness == 1
    specks = looks_like_digit(prepare(canvas(sprinkle)))
    assert specks.pieces > digits.MAX_PIECES and f"{specks.pieces} separate marks" in specks.reason  # 9, some faint
    square = looks_like_digit(prepare(canvas(UNLIKE["square"][0])))
    assert square.coverage == pytest.approx(20 * 20 / 784, abs=0.02) and square.thickness == 10


def test_component_sizes():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = True  # diagonal neighbours: one piece
    mask[4:6, 2:5] = True
    mask[0, 7] = True
    assert digits._component_sizes(mask) == [2, 1, 6]
    assert digits._component_sizes(np.zeros((3, 3), bool)) == []


@pytest.mark.parametrize("case", ["circle", "slash", "bar"])
def test_digit_like_strokes_pass(case):
    draw = {"circle": lambda d: d.ellipse((60, 40, 220, 240), outline=255, width=20),  # a 0
            "slash": lambda d: d.line((80, 240, 200, 40), fill=255, width=20),  # a slanted 1
            "bar": lambda d: d.line((140, 40, 140, 240), fill=255, width=20)}[case]  # an upright 1
    assert looks_like_digit(prepare(canvas(draw))).ok


def test_font_digits_look_like_digits():
    for d in range(10):
        for stroke in (0, 6, 12):
            for rotation in (-30, 0, 30):
                look = looks_like_digit(prepare(render_digit(d, stroke=stroke, rotation=rotation)))
                assert look.ok, (d, stroke, rotation, look)


def test_mnist_digits_look_like_digits(mnist_test):
    """The criteria are MNIST's own ranges: (almost) no real handwritten digit is flagged."""
    flagged = [i for i, img in enumerate(mnist_test.images[:3000].numpy())
               if not looks_like_digit(prepare(img.astype(np.float32) / 255.0)).ok]
    assert len(flagged) <= 3, flagged
