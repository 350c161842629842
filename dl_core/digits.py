"""Turn a drawing, an upload or a font-rendered digit into an MNIST-style 28x28 input.

MNIST's own recipe (LeCun et al.): the digit is size-normalised to fit a 20x20 box keeping its
aspect ratio, then placed in a 28x28 image so that its centre of mass sits at the centre. Skipping
this is why drawn digits get misread by naive demos. Every stage is returned so the page can show it.
"""
from __future__ import annotations

import io
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont, UnidentifiedImageError

from dl_core.data import MEAN, STD

INK_THRESHOLD = 0.1  # ink below this (0..1) counts as background
MIN_INK_PIXELS = 4  # fewer inked pixels than this is treated as an empty canvas
MAX_UPLOAD_BYTES = 5 * 1024 * 1024
MAX_UPLOAD_PIXELS = 4096 * 4096


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
    """Decode an uploaded PNG/JPEG into white-on-black ink; raises BadImage with a user-facing reason."""
    if not raw:
        raise BadImage("The file is empty.")
    if len(raw) > MAX_UPLOAD_BYTES:
        raise BadImage(f"The file is {len(raw) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
    try:
        with Image.open(io.BytesIO(raw)) as im:
            if im.format not in ("PNG", "JPEG"):
                raise BadImage(f"Only PNG and JPEG images are accepted (this is {im.format or 'unknown'}).")
            if im.width * im.height > MAX_UPLOAD_PIXELS:
                raise BadImage(f"The image is {im.width}x{im.height} pixels; the limit is 4096x4096.")
            im.draft("L", (512, 512))  # JPEG: decode at reduced size
            im.thumbnail((512, 512))
            alpha = np.asarray(im.convert("RGBA"), dtype=np.float32)[..., 3] / 255.0
            if alpha.min() < 0.5:  # strokes on a transparent background: the alpha channel is the ink
                return _stretch(alpha)
            gray = np.asarray(im.convert("L"), dtype=np.float32) / 255.0
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as err:
        raise BadImage(f"This is not a readable PNG or JPEG image ({type(err).__name__}).") from None
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    if border.mean() > 0.5:  # dark ink on white paper: flip to MNIST's white on black
        gray = 1.0 - gray
    return _stretch(gray)


def _stretch(ink: np.ndarray) -> np.ndarray:
    """Background to 0, the brightest ink to 1; a blank image is refused."""
    lo, hi = float(np.percentile(ink, 5)), float(ink.max())
    if hi - lo < 0.15:
        raise BadImage("The image is blank: no digit stands out from the background.")
    return np.clip((ink - lo) / (hi - lo), 0.0, 1.0)
