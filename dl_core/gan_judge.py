"""Judge generated digits with a trained MNIST classifier (the shipped CNN).

Three numbers, all from the classifier's softmax p(y|x) on each generated image x:

* ``confident``: the share of samples whose top class has p >= 0.9 ("it clearly is a digit");
* ``hist``: the share of samples predicted as each class (a GAN that collapsed onto a few digits
  shows it here); ``min_class`` is the smallest share;
* ``inception_score``: exp(E_x[KL(p(y|x) || p(y))]), Salimans et al., "Improved Techniques for
  Training GANs" (2016), with the MNIST classifier in place of the Inception network. It is 1 for
  useless samples and 10 at best: every sample certain, the 10 classes equally often.
"""
from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core.data import normalize

CONFIDENCE = 0.9  # a sample counts as "clearly a digit" when its top class has at least this probability


class Score(NamedTuple):
    confident: float  # share of samples with max p(y|x) >= CONFIDENCE
    hist: list[float]  # (10,) share of samples predicted as each digit
    min_class: float  # the smallest entry of hist
    inception_score: float  # exp(mean KL(p(y|x) || p(y))), between 1 and 10
    n: int  # number of samples judged

    def as_dict(self) -> dict:
        return {"confident": round(self.confident, 4), "hist": [round(h, 4) for h in self.hist],
                "min_class": round(self.min_class, 4), "inception_score": round(self.inception_score, 3),
                "n": self.n}


@torch.no_grad()
def probabilities(classifier: nn.Module, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """uint8 images (N, 28, 28) -> p(y|x) (N, 10), normalised exactly as the classifier was trained."""
    classifier.eval()
    device = next(classifier.parameters()).device
    out = []
    for i in range(0, images.shape[0], batch_size):
        x = normalize(images[i:i + batch_size]).to(device)  # (b, 1, 28, 28)
        out.append(F.softmax(classifier(x), dim=1).cpu())
    return torch.cat(out)


def score_probs(p: torch.Tensor) -> Score:
    """The three numbers from p(y|x) (N, 10)."""
    top, pred = p.max(dim=1)  # (N,), (N,)
    hist = torch.bincount(pred, minlength=10).float() / p.shape[0]  # (10,)
    p_y = p.mean(dim=0, keepdim=True)  # (1, 10): the marginal class distribution
    kl = (p * (torch.log(p.clamp_min(1e-12)) - torch.log(p_y.clamp_min(1e-12)))).sum(dim=1)  # (N,)
    return Score(confident=float((top >= CONFIDENCE).float().mean()), hist=hist.tolist(),
                 min_class=float(hist.min()), inception_score=float(torch.exp(kl.mean())), n=int(p.shape[0]))


def judge(classifier: nn.Module, images: torch.Tensor) -> Score:
    """Score uint8 images (N, 28, 28) with a classifier (e.g. ``dl_core.cnn.load("assets/cnn_default.pt", dev)``)."""
    return score_probs(probabilities(classifier, images))


def meets(score: Score, confident: float = 0.8, min_class: float = 0.05) -> bool:
    """The shipped generator's promise: >= 80% confident samples and every class >= 5%."""
    return score.confident >= confident and score.min_class >= min_class
