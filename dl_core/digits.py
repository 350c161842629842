"""Turn a drawing, an upload or a font-rendered digit into an MNIST-style 28x28 input.

MNIST's own recipe (LeCun et al.): the digit is size-normalised to fit a 20x20 box keeping its
aspect ratio, then placed in a 28x28 image so that its centre of mass sits at the centre. Skipping
this is why drawn digits get misread by naive demos. Every stage is returned so the page can show it.

Uploads are photos: turned upright by their EXIF tag, the unevenly lit paper subtracted (tile
percentiles, Otsu's threshold), and every decoding failure turned into a BadImage message for the
user. looks_like_digit() says when the ink is nothing like a handwritten digit (a dot, a blob, a dash,
a scribble), because the network gives a confident-looking answer for anything.
"""
from __future__ import annotations

import io
import struct
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps

from dl_core.data import MEAN, STD

INK_THRESHOLD = 0.1  # ink below this (0..1) counts as background
MIN_INK_PIXELS = 4  # fewer inked pixels than this is treated as an empty canvas
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096
MAX_PNG_CHUNKS, MAX_PNG_PACKED = 10_000, 8  # each zTXt/iTXt/iCCP may inflate to 1 MB before Pillow stops
WORK_PX = 512  # uploads are decoded and cleaned at most this large
BACKGROUND_TILES = 6  # the paper's lighting is estimated on this many tiles along the longer side
MIN_CONTRAST = 0.12  # the typical stroke must stand out from the paper by this much (0..1)
# looks_like_digit(): the ranges that (nearly) every MNIST test digit falls in, with some room
MIN_SIZE = 0.1  # the ink's longer side, as a fraction of the input's longer side (a canvas dot is 0.07)
MIN_COVERAGE, MAX_COVERAGE = 0.02, 0.4  # fraction of the 28x28 input that is ink; MNIST: 0.024 .. 0.33
MAX_THICKNESS = 5  # 3x3 erosions until the 28x28 ink is gone; MNIST's pen strokes: 1 .. 4 (a few 5)
MAX_PIECES = 4  # separate marks of 2+ pixels in 28x28; MNIST: 1 (98%) .. 4
MIN_ASPECT = 0.45  # height / width of the ink; MNIST: 0.6 .. 10


class BadImage(ValueError):
    """An upload that is not a usable image; the message is meant for the user."""


class Prepared(NamedTuple):
    ink: np.ndarray  # (H, W) float in [0, 1], white ink on black, as received
    cropped: np.ndarray  # (h, w) the bounding box of the ink
    fitted: np.ndarray  # (<=20, <=20) scaled so the longer side is 20 px
    centred: np.ndarray  # (28, 28) centre of mass at the centre, values in [0, 1]
    x: torch.Tensor  # (1, 1, 28, 28) normalised with MNIST's mean and std


def to_ink(image: np.ndarray) -> np.ndarray:
    """RGBA / RGB / gray uint8 -> (H, W) float ink in [0, 1] (bright = ink); alpha counts as coverage."""
    a = np.asarray(image, dtype=np.float32)
    if a.ndim == 2:
        return a / 255.0
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise BadImage(f"expected a gray, RGB or RGBA image, got an array of shape {a.shape}")
    gray = a[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)  # (H, W)
    if a.shape[2] == 4:
        gray = gray * (a[..., 3] / 255.0)
    return gray / 255.0


def centre_of_mass(img: np.ndarray) -> tuple[float, float]:
    """(row, col) of the intensity-weighted centre."""
    total = img.sum()
    rows, cols = np.indices(img.shape)
    return float((rows * img).sum() / total), float((cols * img).sum() / total)


def prepare(ink: np.ndarray) -> Prepared | None:
    """MNIST-style preprocessing of white-on-black ink; None when there is (almost) nothing drawn."""
    ink = np.clip(np.asarray(ink, dtype=np.float32), 0.0, 1.0)
    mask = ink > INK_THRESHOLD
    if mask.sum() < MIN_INK_PIXELS:
        return None
    rows, cols = np.where(mask)
    cropped = ink[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = cropped.shape
    scale = 20.0 / max(h, w)
    new_h, new_w = max(1, round(h * scale)), max(1, round(w * scale))
    pil = Image.fromarray((cropped * 255).astype(np.uint8))
    fitted = np.asarray(pil.resize((new_w, new_h), Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
    fitted = np.clip(fitted, 0.0, 1.0)
    # paste so that the centre of mass lands on (14, 14); sub-pixel rest is below 0.5 px
    cy, cx = centre_of_mass(fitted)
    top, left = int(round(14.0 - cy)), int(round(14.0 - cx))
    top, left = min(max(top, 0), 28 - new_h), min(max(left, 0), 28 - new_w)
    centred = np.zeros((28, 28), dtype=np.float32)
    centred[top:top + new_h, left:left + new_w] = fitted
    x = torch.from_numpy((centred - MEAN) / STD).view(1, 1, 28, 28)
    return Prepared(ink, cropped, fitted, centred, x)


class Likeness(NamedTuple):
    ok: bool  # False when any measure below is outside what handwritten digits show
    reason: str  # why the input does not look like a digit; "" when ok
    size: float  # the ink's longer side / the input's longer side
    coverage: float  # fraction of the centred 28x28 that is ink (> 0.5)
    thickness: int  # 3x3 erosions until that ink is gone: about half the widest stroke, in pixels
    pieces: int  # separate (8-connected) marks of at least 2 pixels above 0.2
    aspect: float  # height / width of the ink's bounding box


def looks_like_digit(prep: Prepared) -> Likeness:
    """Simple measures of the prepared ink against the ranges of MNIST's digits: a dot, a blob, a dash,
    a scribble filling the box or scattered marks get a reason. The CNN answers anyway (a softmax always
    sums to 1), so a confident answer for such input means nothing."""
    mask = prep.centred > 0.5  # (28, 28)
    size = max(prep.cropped.shape) / max(prep.ink.shape)
    aspect = prep.cropped.shape[0] / prep.cropped.shape[1]
    thickness, eroded = 0, mask
    while eroded.any():
        padded = np.pad(eroded, 1)
        eroded = np.logical_and.reduce([padded[i:i + 28, j:j + 28] for i in range(3) for j in range(3)])
        thickness += 1
    pieces = sum(n >= 2 for n in _component_sizes(prep.centred > 0.2))
    coverage = float(mask.mean())
    reasons = [text for bad, text in [
        (size < MIN_SIZE, "the ink is a tiny mark in a large empty picture"),
        (coverage < MIN_COVERAGE, "there is very little ink: faint or scattered specks"),
        (thickness > MAX_THICKNESS, "it is a solid blob or a filled area, not pen strokes"),
        (coverage > MAX_COVERAGE, "the ink fills most of the box"),
        (pieces > MAX_PIECES, f"it is {pieces} separate marks"),
        (aspect < MIN_ASPECT, "it is much wider than tall, like a dash"),
    ] if bad]
    return Likeness(not reasons, "; ".join(reasons), size, coverage, thickness, pieces, aspect)


def _component_sizes(mask: np.ndarray) -> list[int]:
    """Pixel counts of the 8-connected components of a small boolean image, in scan order of their
    first pixel. Each pixel takes the smallest index among its neighbours until nothing changes."""
    h, w = mask.shape
    none = h * w
    labels = np.where(mask, np.arange(none).reshape(h, w), none)
    padded = np.full((h + 2, w + 2), none)
    while True:
        padded[1:-1, 1:-1] = labels
        spread = np.where(mask, np.minimum.reduce([padded[i:i + h, j:j + w] for i in range(3) for j in range(3)]), none)
        if np.array_equal(spread, labels):
            return np.unique(labels[mask], return_counts=True)[1].tolist()
        labels = spread


def render_digit(digit: int, size: int = 280, rotation: float = 0.0, stroke: int = 0) -> np.ndarray:
    """A digit drawn with Pillow's bundled scalable font: (size, size) float ink in [0, 1]."""
    if not 0 <= int(digit) <= 9:
        raise ValueError("digit must be 0..9")
    img = Image.new("L", (size, size), 0)
    font = ImageFont.load_default(size=int(size * 0.7))
    draw = ImageDraw.Draw(img)
    draw.text((size / 2, size / 2), str(int(digit)), fill=255, font=font, anchor="mm",
              stroke_width=stroke, stroke_fill=255)
    if rotation:
        img = img.rotate(rotation, resample=Image.Resampling.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255.0


def read_upload(raw: bytes) -> np.ndarray:
    """Decode an uploaded PNG/JPEG into white-on-black ink; raises BadImage with a user-facing reason.

    Turned upright as its EXIF Orientation tag says (phones store pixels sideways), shrunk to at most
    WORK_PX, then the paper (or board) is removed under uneven light by remove_background(). A PNG
    whose transparency holds the strokes gives its alpha channel as the ink.
    """
    gray, alpha = _decode(raw)
    if alpha is not None:
        return _stretch(alpha)
    return remove_background(gray)


def _decode(raw: bytes) -> tuple[np.ndarray, np.ndarray | None]:
    """(gray, alpha or None), each (H, W) float in [0, 1], upright, at most WORK_PX on a side."""
    if not raw:
        raise BadImage("The file is empty.")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise BadImage(f"The file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    if raw.startswith(b"\x89PNG") and _png_packed_chunks(raw) > MAX_PNG_PACKED:
        raise BadImage(f"The PNG carries more than {MAX_PNG_PACKED} compressed text or colour-profile chunks "
                       f"(or more than {MAX_PNG_CHUNKS:,} chunks).")
    try:
        with Image.open(io.BytesIO(raw)) as im:  # reads the header only
            if im.format not in ("PNG", "JPEG", "MPO"):  # MPO: a phone's JPEG with a depth/preview image
                raise BadImage(f"Only PNG and JPEG images are accepted (this is {im.format or 'unknown'}).")
            if im.format == "PNG" and getattr(im, "is_animated", False):
                raise BadImage("This is an animated PNG: upload a single still picture.")
            if im.width * im.height > MAX_UPLOAD_PIXELS:
                raise BadImage(f"The image is {im.width}x{im.height} pixels; the limit is 4096x4096.")
            im.draft("L", (WORK_PX, WORK_PX))  # JPEG: decode at reduced size, in gray
            upright = ImageOps.exif_transpose(im)  # decodes; a copy turned as the Orientation tag says
        upright.thumbnail((WORK_PX, WORK_PX))
        if upright.mode.startswith("I"):  # 16-bit PNG: Pillow's convert("L") would clip, scale instead
            return np.clip(np.asarray(upright, dtype=np.float32) / 65535.0, 0.0, 1.0), None
        if upright.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in upright.info:
            alpha = np.asarray(upright.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
            if alpha.min() < 0.5:  # strokes on a transparent background: the alpha channel is the ink
                return np.asarray(upright.convert("L"), dtype=np.float32) / 255.0, alpha
        return np.asarray(upright.convert("L"), dtype=np.float32) / 255.0, None
    except BadImage:
        raise
    except Image.DecompressionBombError:
        raise BadImage("The image is too large to decode (the limit is 4096x4096 pixels).") from None
    except ValueError as err:
        if "too large" in str(err).lower():  # a zTXt / iTXt / iCCP chunk that inflates past Pillow's limit
            raise BadImage("The PNG carries a text or colour-profile chunk that unpacks to too much data.") from None
        raise BadImage("This is not a readable PNG or JPEG image (ValueError).") from None
    except Exception as err:  # Pillow's decoders raise many types on damaged bytes (OSError, SyntaxError, ...)
        raise BadImage(f"This is not a readable PNG or JPEG image ({type(err).__name__}).") from None


def _png_packed_chunks(raw: bytes) -> int:
    """How many zTXt / iTXt / iCCP chunks a PNG has, from its chunk headers alone (nothing inflated)."""
    found, pos = 0, 8
    for _ in range(MAX_PNG_CHUNKS):
        if pos + 8 > len(raw):
            return found
        length, kind = struct.unpack(">I4s", raw[pos:pos + 8])
        found, pos = found + (kind in (b"zTXt", b"iTXt", b"iCCP")), pos + 12 + length
        if kind == b"IEND":
            return found
    return MAX_PNG_PACKED + 1  # a PNG of more than MAX_PNG_CHUNKS chunks is refused the same way


def remove_background(gray: np.ndarray) -> np.ndarray:
    """(H, W) gray in [0, 1], dark ink on paper or light chalk on a board, lit unevenly -> ink in [0, 1].

    The ink is the rarer extreme of the gray levels. The paper's brightness is estimated on a grid of
    BACKGROUND_TILES tiles along the longer side: first each tile's 75th percentile (25th for light
    ink; the paper even where a thick stroke covers half a tile), then the median of the pixels that
    are not near that first guess of ink; it is interpolated bilinearly and subtracted. Otsu's
    threshold (Otsu 1979) on what is left splits strokes from paper grain: grain maps to 0 and the
    typical stroke to 1, as in MNIST.
    """
    gray = np.asarray(gray, dtype=np.float32)
    lo, mid, hi = np.percentile(gray, [0.5, 50, 99.5])
    sign = -1.0 if mid - lo > hi - mid else 1.0  # the ink is the rarer extreme; dark ink on paper: -1
    first = sign * (gray - _background(gray, np.zeros(gray.shape, bool), 50 - 25 * sign))  # paper side
    rough = first > max(otsu(first), MIN_CONTRAST / 2)  # clear ink only: on a blank page, nothing
    near_ink = np.asarray(Image.fromarray(rough.astype(np.uint8) * 255).filter(ImageFilter.MaxFilter(5))) > 0
    ink = sign * (gray - _background(gray, near_ink, 50))  # (H, W) how far each pixel stands out from the paper
    t = otsu(ink)
    high = float(np.median(ink[ink > t])) if (ink > t).any() else 0.0
    if high < MIN_CONTRAST:
        raise BadImage("The image is blank: no digit stands out from the background.")
    paper = ink[ink <= t]
    noise = 1.4826 * float(np.median(np.abs(paper - np.median(paper))))  # robust standard deviation
    low = min(3.0 * noise, 0.5 * t)
    out = np.clip((ink - low) / (high - low), 0.0, 1.0)
    # isolated specks of grain (fewer than 3 inked pixels in their 3x3) would stretch prepare()'s crop
    inked = np.pad(out > 0, 1)
    h, w = out.shape
    neighbours = sum(inked[i:i + h, j:j + w].astype(np.int8) for i in range(3) for j in range(3))
    return np.where(neighbours >= 3, out, 0.0).astype(np.float32)


def _background(gray: np.ndarray, exclude: np.ndarray, q: float) -> np.ndarray:
    """(H, W) smooth paper brightness: per-tile q-th percentile of the pixels not excluded, bilinear between."""
    h, w = gray.shape
    step = max(1, -(-max(h, w) // BACKGROUND_TILES))
    rows, cols = -(-h // step), -(-w // step)
    grid = np.full((rows, cols), np.nan, np.float32)
    for i in range(rows):
        for j in range(cols):
            cell = np.s_[i * step:(i + 1) * step, j * step:(j + 1) * step]
            keep = ~exclude[cell]
            if keep.sum() >= keep.size // 8:
                grid[i, j] = np.percentile(gray[cell][keep], q)
    grid = np.where(np.isnan(grid), np.nanmedian(grid) if not np.isnan(grid).all() else np.median(gray), grid)
    return np.asarray(Image.fromarray(grid).resize((w, h), Image.Resampling.BILINEAR), dtype=np.float32)


def otsu(values: np.ndarray, bins: int = 128) -> float:
    """Otsu's threshold: the cut that maximises the between-class variance of the histogram."""
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    w0 = np.cumsum(hist)[:-1].astype(np.float64)  # pixels at or below each candidate cut
    w1 = hist.sum() - w0
    m0 = np.cumsum(hist * centres)[:-1]
    mu0, mu1 = m0 / np.maximum(w0, 1), (float((hist * centres).sum()) - m0) / np.maximum(w1, 1)
    between = w0 * w1 * (mu0 - mu1) ** 2
    best = np.flatnonzero(between >= between.max() * (1 - 1e-9))  # every cut in an empty gap is as good
    return float(edges[1:-1][best[len(best) // 2]])


def _stretch(ink: np.ndarray) -> np.ndarray:
    """Background to 0, the brightest ink to 1; a blank image is refused."""
    lo, hi = float(np.percentile(ink, 5)), float(ink.max())
    if hi - lo < 0.15:
        raise BadImage("The image is blank: no digit stands out from the background.")
    return np.clip((ink - lo) / (hi - lo), 0.0, 1.0)
