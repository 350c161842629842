"""Convolutional networks for MNIST digits, and everything the CNN page shows about them.

* ``Net`` (alias ``CourseCNN``): the course notebook's net, the classic PyTorch MNIST example (two 5x5 convs 1->10->20, max-pool + ReLU,
  fc 320->50->10, 21,840 parameters), after LeCun et al., "Gradient-based learning applied to
  document recognition" (1998).
* ``DefaultCNN``: a stronger VGG-style net (Simonyan & Zisserman, 2014) with batch norm
  (Ioffe & Szegedy, 2015): two blocks of two 3x3 convs.

``trace`` runs a model stage by stage and returns every intermediate, ``saliency`` is the
gradient of the predicted logit with respect to the input (Simonyan et al., 2013).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from dl_core import checkpoints
from dl_core.checkpoints import count_params, save  # noqa: F401  (re-exported: unet.save, unet.count_params, ...)


@dataclass(frozen=True)
class CNNConfig:
    arch: str = "default"  # "course" (the notebook's net) or "default" (the stronger net)
    dropout: float = 0.5  # dropout probability before the last linear layer (course: also Dropout2d)


class Net(nn.Module):
    """The course notebook's ``class Net(nn.Module)``: conv(1->10, 5x5) -> pool -> relu -> conv(10->20, 5x5) -> ..."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv2d(1, 10, kernel_size=5)
        self.conv2 = nn.Conv2d(10, 20, kernel_size=5)
        self.conv2_drop = nn.Dropout2d(cfg.dropout)
        self.fc1 = nn.Linear(320, 50)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc2 = nn.Linear(50, 10)

    def forward(self, x):  # x: (B, 1, 28, 28), normalised
        x = self.conv1(x)  # (B, 10, 24, 24)
        x = F.max_pool2d(x, 2)  # (B, 10, 12, 12)
        x = F.relu(x)
        x = self.conv2(x)  # (B, 20, 8, 8)
        x = self.conv2_drop(x)  # zeroes whole channels in training only
        x = F.max_pool2d(x, 2)  # (B, 20, 4, 4)
        x = F.relu(x)
        x = x.flatten(1)  # (B, 320)
        x = self.fc1(x)  # (B, 50)
        x = F.relu(x)
        x = self.drop(x)
        x = self.fc2(x)  # (B, 10) logits
        return x

    def stages(self):
        """(name, kind, callable) in forward order; ``trace`` runs them one by one."""
        return [
            ("conv1", "conv", self.conv1), ("pool1", "pool", lambda t: F.max_pool2d(t, 2)),
            ("relu1", "relu", F.relu), ("conv2", "conv", self.conv2),
            ("dropout2d", "dropout", self.conv2_drop), ("pool2", "pool", lambda t: F.max_pool2d(t, 2)),
            ("relu2", "relu", F.relu), ("flatten", "flatten", lambda t: t.flatten(1)),
            ("fc1", "linear", self.fc1), ("relu3", "relu", F.relu), ("dropout", "dropout", self.drop),
            ("fc2", "linear", self.fc2),
        ]


class DefaultCNN(nn.Module):
    """Two VGG blocks: [3x3 conv -> BN -> ReLU] x2 -> max-pool, then fc 64*7*7 -> 128 -> 10."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.cfg = cfg
        self.conv1 = nn.Conv2d(1, 32, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(32)
        self.conv2 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(32)
        self.conv3 = nn.Conv2d(32, 64, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(64)
        self.conv4 = nn.Conv2d(64, 64, 3, padding=1, bias=False)
        self.bn4 = nn.BatchNorm2d(64)
        self.fc1 = nn.Linear(64 * 7 * 7, 128)
        self.drop = nn.Dropout(cfg.dropout)
        self.fc2 = nn.Linear(128, 10)

    def forward(self, x):  # x: (B, 1, 28, 28), normalised
        x = F.relu(self.bn1(self.conv1(x)))  # (B, 32, 28, 28)
        x = F.relu(self.bn2(self.conv2(x)))  # (B, 32, 28, 28)
        x = F.max_pool2d(x, 2)  # (B, 32, 14, 14)
        x = F.relu(self.bn3(self.conv3(x)))  # (B, 64, 14, 14)
        x = F.relu(self.bn4(self.conv4(x)))  # (B, 64, 14, 14)
        x = F.max_pool2d(x, 2)  # (B, 64, 7, 7)
        x = x.flatten(1)  # (B, 3136)
        x = F.relu(self.fc1(x))  # (B, 128)
        x = self.drop(x)
        x = self.fc2(x)  # (B, 10) logits
        return x

    def stages(self):
        pool = lambda t: F.max_pool2d(t, 2)  # noqa: E731
        return [
            ("conv1", "conv", self.conv1), ("bn1", "batchnorm", self.bn1), ("relu1", "relu", F.relu),
            ("conv2", "conv", self.conv2), ("bn2", "batchnorm", self.bn2), ("relu2", "relu", F.relu),
            ("pool1", "pool", pool),
            ("conv3", "conv", self.conv3), ("bn3", "batchnorm", self.bn3), ("relu3", "relu", F.relu),
            ("conv4", "conv", self.conv4), ("bn4", "batchnorm", self.bn4), ("relu4", "relu", F.relu),
            ("pool2", "pool", pool), ("flatten", "flatten", lambda t: t.flatten(1)),
            ("fc1", "linear", self.fc1), ("relu5", "relu", F.relu), ("dropout", "dropout", self.drop),
            ("fc2", "linear", self.fc2),
        ]


CourseCNN = Net  # the name this project used before the notebook's
ARCHS = {"course": Net, "default": DefaultCNN}


def build(cfg: CNNConfig) -> nn.Module:
    return ARCHS[cfg.arch](cfg)


def load(path, device: torch.device) -> nn.Module:
    return checkpoints.load(path, lambda cfg: build(CNNConfig(**cfg)), device)


class Stage(NamedTuple):
    name: str  # e.g. "conv1"
    kind: str  # conv, batchnorm, relu, pool, dropout, flatten, linear
    out: torch.Tensor  # this stage's output, (B, C, H, W) or (B, F)
    params: int  # parameters owned by this stage


def trace(model: nn.Module, x: torch.Tensor) -> list[Stage]:
    """Run ``model`` stage by stage on ``x`` (B, 1, 28, 28); the last stage's output are the logits."""
    out = []
    for name, kind, fn in model.stages():
        x = fn(x)
        params = sum(p.numel() for p in fn.parameters()) if isinstance(fn, nn.Module) else 0
        out.append(Stage(name, kind, x, params))
    return out


def conv_layers(model: nn.Module) -> list[tuple[str, nn.Conv2d]]:
    return [(name, m) for name, m in model.named_children() if isinstance(m, nn.Conv2d)]


def saliency(model: nn.Module, x: torch.Tensor, target: int | None = None) -> tuple[torch.Tensor, int]:
    """|d logit_target / d x| for one input (1, 1, 28, 28); target defaults to the predicted class."""
    x = x.detach().clone().requires_grad_(True)
    logits = model(x)  # (1, 10)
    if target is None:
        target = int(logits.argmax(1))
    (grad,) = torch.autograd.grad(logits[0, target], x)
    return grad.abs()[0, 0], target  # (28, 28)


class Analysis(NamedTuple):
    probs: torch.Tensor  # (10,) softmax probabilities
    stages: list[Stage]  # every intermediate for the one input
    saliency: torch.Tensor  # (28, 28)
    pred: int


def analyse(model: nn.Module, x: torch.Tensor) -> Analysis:
    """Everything the page draws for one normalised input (1, 1, 28, 28), in one call."""
    with torch.no_grad():
        stages = trace(model, x)
    probs = F.softmax(stages[-1].out[0], dim=0)
    sal, pred = saliency(model, x, int(probs.argmax()))
    return Analysis(probs, stages, sal, pred)


# --- the kernel playground: a convolution written out, checked against F.conv2d -------------
KERNELS = {
    "identity": [[0, 0, 0], [0, 1, 0], [0, 0, 0]],
    "edge (Laplacian)": [[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]],
    "vertical edge (Sobel x)": [[-1, 0, 1], [-2, 0, 2], [-1, 0, 1]],
    "horizontal edge (Sobel y)": [[-1, -2, -1], [0, 0, 0], [1, 2, 1]],
    "blur (box)": [[1 / 9] * 3] * 3,
    "sharpen": [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
}


def output_size(w: int, f: int, p: int, s: int) -> int:
    """(W - F + 2P) / S + 1, rounded down as PyTorch does."""
    return (w - f + 2 * p) // s + 1


class Window(NamedTuple):
    row: int  # output row
    col: int  # output column
    top: int  # the window's top row in the *padded* input
    left: int  # the window's left column in the padded input
    patch: torch.Tensor  # (F, F) the input values under the kernel (zeros where it hangs over the padding)
    products: torch.Tensor  # (F, F) patch * kernel, element by element
    total: float  # their sum: the output pixel (row, col)


def conv_window(image: torch.Tensor, kernel: torch.Tensor, stride: int, padding: int, index: int) -> Window:
    """The ``index``-th position (row-major) of the kernel sliding over ``image`` (H, W): what it multiplies."""
    f = kernel.shape[0]
    w_out = output_size(image.shape[1], f, padding, stride)
    row, col = divmod(index, w_out)
    x = F.pad(image, (padding, padding, padding, padding))  # (H+2P, W+2P)
    top, left = row * stride, col * stride
    patch = x[top:top + f, left:left + f]  # (F, F)
    products = patch * kernel  # (F, F)
    return Window(row, col, top, left, patch, products, float(products.sum()))


def conv2d_by_hand(image: torch.Tensor, kernel: torch.Tensor, stride: int = 1, padding: int = 0) -> torch.Tensor:
    """Cross-correlate a 2-D image (H, W) with a kernel (F, F): every output is a dot product of a patch."""
    x = F.pad(image, (padding, padding, padding, padding))  # (H+2P, W+2P)
    f = kernel.shape[0]
    h_out = output_size(image.shape[0], f, padding, stride)
    w_out = output_size(image.shape[1], f, padding, stride)
    if h_out < 1 or w_out < 1:
        raise ValueError(f"kernel {f}x{f} does not fit the padded {x.shape[0]}x{x.shape[1]} image")
    out = torch.empty(h_out, w_out, dtype=image.dtype)
    for r in range(h_out):
        for c in range(w_out):
            patch = x[r * stride:r * stride + f, c * stride:c * stride + f]  # (F, F)
            out[r, c] = (patch * kernel).sum()
    return out
