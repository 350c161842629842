"""The day's agenda and its "try this" tasks, with answers the app computes instead of storing.

"Day 2: Introduction to PyTorch, RL & Transformers" goes: tensors -> autograd -> nn.Module -> the MNIST
notebook -> CNN -> RNN -> LSTM -> GAN -> encoder-decoder -> diffusion and latent diffusion ->
transformers -> RL. Every task's right answer comes from PyTorch or a shipped model card at check time
(``Task.answer``), so a retrained model or a changed default can never leave a stale answer behind.
"""
from __future__ import annotations

import json
import math
import re
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

import torch
import torch.nn as nn

ASSETS = Path(__file__).resolve().parent.parent / "assets"
MAX_ANSWER_CHARS = 40  # an answer is a number, a shape or a word: longer input is refused unread


class Task(NamedTuple):
    key: str  # unique, used for widget keys
    prompt: str  # what to do (markdown written by us, never user text)
    where: str  # the page (path under pages/) where the answer can be found
    kind: str  # "number" (compared within tol), "shape" (a tuple of ints), "choice" (one of options)
    answer: Callable[[], object]  # computes the right answer when asked
    options: tuple = ()  # the choices for kind == "choice"
    tol: float = 0.0  # relative tolerance for kind == "number"
    explain: str = ""  # shown after a right answer


class Verdict(NamedTuple):
    ok: bool
    message: str


class Section(NamedTuple):
    key: str
    title: str
    page: str  # pages/<file>.py
    minutes: int  # time box
    teaches: str  # one sentence on what the page teaches
    tasks: tuple[Task, ...]


def _card(name: str) -> dict:
    return json.loads((ASSETS / f"{name}.json").read_text())


# ---------------------------------------------------------------- answers computed by PyTorch --------
def _permute_shape() -> tuple:
    return tuple(torch.zeros(2, 3, 4).permute(2, 0, 1).shape)


def _broadcast_shape() -> tuple:
    return tuple(torch.broadcast_shapes((3, 1), (1, 4)))


def _grad_at_two() -> float:
    x = torch.tensor(2.0, requires_grad=True)
    y = 3 * x ** 2  # dy/dx = 6x
    y.backward()
    return float(x.grad)


def _grad_twice() -> float:
    x = torch.tensor(1.0, requires_grad=True)
    for _ in range(2):  # two backward() calls without zero_grad(): gradients add up
        (5 * x).backward()
    return float(x.grad)


def _linear_params() -> int:
    return sum(p.numel() for p in nn.Linear(320, 50).parameters())


def _course_cnn_params() -> int:
    from dl_core import cnn
    return cnn.count_params(cnn.build(cnn.CNNConfig(arch="course")))


def _batches_per_epoch() -> int:
    return math.ceil(60_000 / 64)


def _conv1_shape() -> tuple:
    from dl_core import cnn
    model = cnn.build(cnn.CNNConfig(arch="course"))
    return tuple(model.conv1(torch.zeros(1, 1, 28, 28)).shape[1:])


def _rnn_first_failure() -> int:
    """The shortest tested distance at which the shipped plain RNN is right on at most 60% of sequences."""
    acc = _card("rnn_remember_rnn")["accuracy_by_distance"]
    return min(int(d) for d, a in acc.items() if a <= 0.6)


def _seq2seq_drop() -> int:
    """The shortest input length at which the plain (no attention) seq2seq gets fewer than half right."""
    acc = _card("seq2seq_plain")["exact_match_by_length"]
    return min(int(n) for n, a in acc.items() if a < 0.5)


def _alpha_bar_half() -> int:
    """The first step t where the linear schedule's alpha-bar falls below 0.5 (index t = step t)."""
    from dl_core import diffusion
    sched = diffusion.make_schedule("linear", 1000)  # alpha_bar: (T + 1,), alpha_bar[0] = 1 (clean)
    return int((sched.alpha_bar < 0.5).nonzero()[0])


@lru_cache(maxsize=1)
def _first_output_source() -> int:
    """For input 31415926: the input position (1-based) that the first written digit attends to most,
    in the last cross-attention layer, averaged over heads."""
    from dl_core import transformer as tf
    from dl_core.seq_tasks import TASK
    model = tf.load(ASSETS / "transformer.pt", torch.device("cpu"))
    src = TASK.encode_source("31415926")
    out = tf.greedy_batch(model, src[None], TASK.max_len + 2)[0].tolist()
    tgt_in = torch.tensor([TASK.vocab.encode(TASK.vocab.decode(out), bos=True)])
    with torch.no_grad():
        cross = model(src[None], tgt_in).cross_attn  # (L, 1, H, T, S)
    return int(cross[-1, 0, :, 0].mean(0).argmax()) + 1


def _causal_pairs() -> int:
    from dl_core.attention import causal_mask
    return int(causal_mask(5).sum())  # True where a query may look at a key


def _discount() -> float:
    return 0.9 ** 3


# ---------------------------------------------------------------- the day ---------------------------
AGENDA: tuple[Section, ...] = (
    Section("tensors", "Tensors", "pages/basics.py", 20,
            "Shapes, dtypes, views, broadcasting: the data structure everything else is made of.", (
                Task("permute", "`torch.zeros(2, 3, 4).permute(2, 0, 1)`: what is its shape?", "pages/basics.py",
                     "shape", _permute_shape, explain="permute reorders the dimensions: new dim i is old dim perm[i]."),
                Task("broadcast", "A `(3, 1)` tensor plus a `(1, 4)` tensor: what is the result's shape?",
                     "pages/basics.py", "shape", _broadcast_shape,
                     explain="Dimensions of size 1 are stretched to match: (3, 1) + (1, 4) -> (3, 4)."),
            )),
    Section("autograd", "Autograd", "pages/basics.py", 25,
            "The graph PyTorch records as you compute, and how backward() walks it.", (
                Task("grad", "`y = 3 * x**2` at `x = 2`: what is `x.grad` after `y.backward()`?", "pages/basics.py",
                     "number", _grad_at_two, tol=1e-6, explain="dy/dx = 6x = 12."),
                Task("accumulate", "`y = 5 * x`; call `y.backward()` twice without `zero_grad()`. What is `x.grad`?",
                     "pages/basics.py", "number", _grad_twice, tol=1e-6,
                     explain="Gradients accumulate: 5 + 5 = 10. That is why training loops call zero_grad()."),
            )),
    Section("module", "nn.Module, losses, optimizers", "pages/basics.py", 30,
            "Layers as modules with parameters; a loss; an optimizer step; a small net trained live.", (
                Task("linear", "How many parameters does `nn.Linear(320, 50)` have?", "pages/basics.py", "number",
                     _linear_params, explain="320 x 50 weights + 50 biases = 16,050."),
                Task("cnn_params", "How many parameters does the course's CNN (`Net`) have?", "pages/cnn.py", "number",
                     _course_cnn_params, explain="See the Architecture tab of the CNN page."),
            )),
    Section("notebook", "The MNIST notebook", "pages/cnn.py", 30,
            "The course notebook's training loop, run live: SGD 0.01, momentum 0.5, batch 64.", (
                Task("batches", "With batch size 64, how many batches make one epoch of the 60,000 training images?",
                     "pages/cnn.py", "number", _batches_per_epoch,
                     explain="ceil(60000 / 64) = 938: the last batch is smaller (32 images)."),
            )),
    Section("cnn", "CNN: see your digit", "pages/cnn.py", 35,
            "Filters, feature maps after every conv / pool / ReLU, saliency, and why a softmax is not certainty.", (
                Task("conv1", "The course CNN's conv1 has 10 filters of 5x5 and no padding. What shape does it output "
                     "for one 28x28 digit (channels, height, width)?", "pages/cnn.py", "shape", _conv1_shape,
                     explain="28 - 5 + 1 = 24: (10, 24, 24)."),
                Task("wrong", "Find a digit the CNN gets wrong: draw it on the CNN page, then say which digit you meant.",
                     "pages/cnn.py", "number", lambda: None, explain="Ambiguous strokes, thin or off-centre digits, "
                     "and digits drawn unlike MNIST's handwriting fool it."),
            )),
    Section("rnn", "RNN and LSTM", "pages/rnn.py", 45,
            "A hidden state carried through time, why it forgets, and the gates that let an LSTM remember.", (
                Task("rnn_fail", "Remember-the-first-symbol: from which distance on (of 1, 5, 10, 20, ...) is the shipped "
                     "plain RNN right on at most 60% of sequences?", "pages/rnn.py", "number", _rnn_first_failure,
                     explain="See the table at the bottom of 'Why gates?'; the LSTM stays near 100%."),
                Task("gate", "Which LSTM gate stays near 1 while the key is being remembered?", "pages/rnn.py",
                     "choice", lambda: "forget", options=("input", "forget", "output"),
                     explain="c_t = f * c_(t-1) + i * g: with f near 1 the cell keeps its content."),
            )),
    Section("gan", "GAN", "pages/gan.py", 40,
            "A generator and a discriminator trained against each other, in 2-D and on digits.", (
                Task("gan_d", "What does the discriminator output for one sample?", "pages/gan.py", "choice",
                     lambda: "a probability that it is real",
                     options=("a digit class", "a probability that it is real", "a noise vector"),
                     explain="D(x) is one logit; its sigmoid is D's belief that x came from the data."),
            )),
    Section("seq2seq", "Encoder-decoder and autoencoder", "pages/seq2seq.py", 35,
            "Squeeze an input into a context vector and unfold it; the bottleneck that attention removes; an "
            "autoencoder's latent space (needed for latent diffusion).", (
                Task("bottleneck", "Without attention: from which input length on does the shipped seq2seq reverse fewer "
                     "than half of the inputs exactly?", "pages/seq2seq.py", "number", _seq2seq_drop,
                     explain="One fixed-size context vector cannot hold ever longer inputs: see 'The bottleneck, measured'."),
            )),
    Section("diffusion", "Diffusion and latent diffusion", "pages/diffusion.py", 45,
            "Noise a digit step by step, then let a U-Net undo it; the same in an autoencoder's latent space.", (
                Task("alpha", "Linear schedule, T = 1000: at which step t does alpha-bar first fall below 0.5?",
                     "pages/diffusion.py", "number", _alpha_bar_half,
                     explain="alpha-bar_t is the share of the original signal's variance still left at step t."),
            )),
    Section("transformer", "Transformers", "pages/transformer.py", 50,
            "Q, K, V, scaling, masks and softmax on a tiny trained transformer; multi-head attention.", (
                Task("cross", "Input `31415926`: the first digit the transformer writes attends most to which input "
                     "position (1 = first)? Use the cross-attention of the last layer.", "pages/transformer.py",
                     "number", _first_output_source,
                     explain="It reverses the input, so it looks at the last input digit first."),
            )),
    Section("real", "Real language models", "pages/real_attention.py", 20,
            "What a real decoder (SmolLM2) and encoder (MiniLM) attend to; causal versus bidirectional.", (
                Task("causal", "A causal mask over 5 tokens: how many (query, key) pairs may attend?",
                     "pages/real_attention.py", "number", _causal_pairs,
                     explain="Token i sees tokens 1..i: 1 + 2 + 3 + 4 + 5 = 15; a bidirectional encoder allows all 25."),
            )),
    Section("rl", "Reinforcement learning", "pages/rl.py", 45,
            "An agent, rewards, values and policies: GridWorld, DQN on CartPole and TD3 on Pendulum.", (
                Task("discount", "gamma = 0.9: how much is a reward of 1 worth today if it arrives 3 steps from now?",
                     "pages/rl.py", "number", _discount, tol=1e-3, explain="gamma^3 = 0.729."),
            )),
)


def start_times(start_minutes: int = 9 * 60, break_after: str = "cnn", lunch: int = 60) -> list[str]:
    """'09:00'-style start of each section, with a lunch break after ``break_after``."""
    out, t = [], start_minutes
    for s in AGENDA:
        out.append(f"{t // 60:02d}:{t % 60:02d}")
        t += s.minutes + (lunch if s.key == break_after else 0)
    return out


def _numbers(text: str) -> list[float]:
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


def check(task: Task, given: str, context: dict | None = None) -> Verdict:
    """Compare a typed answer with the computed one. ``context`` carries what another page recorded
    (e.g. the CNN's last prediction) for tasks that are about what the participant did."""
    given = (given or "").strip()
    if not given:
        return Verdict(False, "Type an answer first.")
    if len(given) > MAX_ANSWER_CHARS:
        return Verdict(False, f"An answer here is at most {MAX_ANSWER_CHARS} characters.")
    if task.key == "wrong":
        return _check_wrong(given, context or {})
    right = task.answer()
    if task.kind == "choice":
        ok = given.lower() == str(right).lower()
        return Verdict(ok, task.explain if ok else "Not quite: look again on the page.")
    nums = _numbers(given)
    if task.kind == "shape":
        ok = tuple(int(v) for v in nums) == tuple(right) and all(v == int(v) for v in nums)
        return Verdict(ok, task.explain if ok else "Not quite: write the shape as numbers, e.g. `2, 3`.")
    if len(nums) != 1:
        return Verdict(False, "Write one number.")
    ok = math.isclose(nums[0], float(right), rel_tol=task.tol, abs_tol=task.tol)
    return Verdict(ok, task.explain if ok else "Not quite: look again on the page.")


def _check_wrong(given: str, context: dict) -> Verdict:
    nums = _numbers(given)
    if len(nums) != 1 or nums[0] not in range(10):
        return Verdict(False, "Write the digit (0-9) you meant.")
    pred = context.get("cnn_last_pred")
    if pred is None:
        return Verdict(False, "Draw a digit on the CNN page first.")
    if int(nums[0]) == int(pred):
        return Verdict(False, f"The CNN read your last drawing as {pred}: that is right. Try a harder one.")
    return Verdict(True, f"The CNN read your {int(nums[0])} as a {pred}. " + next(
        t.explain for s in AGENDA for t in s.tasks if t.key == "wrong"))
