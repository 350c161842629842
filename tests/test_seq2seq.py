"""Encoder-decoder: the shipped GRU seq2seq models and the MNIST autoencoder behave as their cards say."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from dl_core import autoencoder as ae
from dl_core import digits
from dl_core import seq2seq as s2s
from dl_core.cards import read_card
from dl_core.recipes.seq2seq import VARIANTS, TrainConfig, evaluate, train_steps
from dl_core.seq_tasks import EOS, TASK

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CPU = torch.device("cpu")
AE_MAX_MSE = 0.06  # stated bound on the held-out pixel MSE (pixels in [0, 1]) of the 2-D-bottleneck autoencoder


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


@pytest.fixture(scope="module", params=sorted(VARIANTS))
def variant(request):
    return request.param


@pytest.fixture(scope="module")
def models():
    return {v: s2s.load(ASSETS / f"seq2seq_{v}.pt", CPU) for v in VARIANTS}


def test_shipped_models_meet_their_cards_on_fresh_held_out_inputs(models, variant):
    card = read_card(f"seq2seq_{variant}")
    pairs = TASK.sample(600, torch.Generator().manual_seed(777), split="test")  # not the card's eval seed
    assert all(TASK.is_held_out(s) for s, _ in pairs)
    acc = evaluate(models[variant], pairs, CPU)
    assert acc >= card["exact_match"] - 0.04, (acc, card["exact_match"])
    if variant == "attention":
        assert card["exact_match"] >= 0.99 and acc >= 0.98


def test_attention_beats_the_bottleneck_on_long_inputs(models):
    pairs = TASK.sample(200, torch.Generator().manual_seed(5), split="test", length=16)
    assert evaluate(models["attention"], pairs, CPU) > evaluate(models["plain"], pairs, CPU) + 0.2


def test_attention_weights_sum_to_one_and_ignore_padding(models):
    model = models["attention"]
    steps = list(s2s.decode_steps(model, TASK.encode_source("90817263"), 20))
    for st in steps:
        assert st.attn.shape == (9,)
        assert float(st.attn.sum()) == pytest.approx(1.0, abs=1e-5)
    batch = TASK.batch([("123", "321"), ("9876543210", "0123456789")])
    with torch.no_grad():
        enc = model.encode(batch.src)
        _, w = model.attend(model.init_state(enc), enc)  # (2, S)
    torch.testing.assert_close(w.sum(1), torch.ones(2))
    assert float(w[0, 4:].abs().sum()) == 0.0  # "123" + <eos> is 4 tokens; padding gets no weight


def test_padding_does_not_change_the_encoding(models, variant):
    model = models[variant]
    batch = TASK.batch([("4071", "1704"), ("1234567890123", "3210987654321")])
    with torch.no_grad():
        padded = model.encode(batch.src)
        alone = model.encode(TASK.encode_source("4071")[None])
    torch.testing.assert_close(padded.states[0, :5], alone.states[0])
    torch.testing.assert_close(padded.context[0], alone.context[0])


def test_teacher_forcing_matches_step_by_step_decoding(models, variant):
    model = models[variant]
    src = TASK.encode_source("5550123")
    steps = list(s2s.decode_steps(model, src, 20))
    tgt_in = torch.tensor([[1] + [s.token for s in steps[:-1]]])
    with torch.no_grad():
        logits = model(src[None], tgt_in)[0]  # (T, V)
    torch.testing.assert_close(torch.softmax(logits, 1), torch.stack([s.probs for s in steps]))


@pytest.mark.parametrize("text", ["31415", "9081726354", "1234567890123456", "000"])
def test_beam_width_one_equals_greedy(models, variant, text):
    model = models[variant]
    src = TASK.encode_source(text)
    greedy = [s.token for s in s2s.decode_steps(model, src, TASK.max_len + 2)]
    beam = s2s.beam_search(model, src, 1, TASK.max_len + 2)
    assert beam.finals[0][0] == greedy
    assert len(beam.finals) == 1


def test_beam_tree_is_consistent(models):
    res = s2s.beam_search(models["plain"], TASK.encode_source("8675309"), 4, TASK.max_len + 2, show=1)
    for node in res.nodes[1:]:
        parent = res.nodes[node.parent]
        assert parent.kept and parent.step == node.step - 1
        assert node.score == pytest.approx(parent.score + node.logp, abs=1e-4)
    scores = [score for _, score, _ in res.finals]
    assert scores == sorted(scores, reverse=True) and 1 <= len(scores) <= 4
    assert all(toks[-1] == EOS or len(toks) == TASK.max_len + 2 for toks, _, _ in res.finals)


def test_forcing_a_token_changes_only_the_steps_after_it(models, variant):
    model = models[variant]
    src = TASK.encode_source("271828")
    base = list(s2s.decode_steps(model, src, 20))
    at = 2
    other = 3 if base[at].token != 3 else 4
    forced = list(s2s.decode_steps(model, src, 20, force={at: other}))
    for a, b in zip(base[:at], forced[:at]):
        assert a.token == b.token and not b.forced
        torch.testing.assert_close(a.probs, b.probs)
    torch.testing.assert_close(base[at].probs, forced[at].probs)  # the model's own view of that step
    assert forced[at].token == other and forced[at].forced
    assert [s.token for s in forced] != [s.token for s in base]


def test_training_is_seeded():
    cfg = TrainConfig(steps=2, batch_size=8, seed=3)
    runs = []
    for _ in range(2):
        model = s2s.build(VARIANTS["plain"], cfg.seed)
        losses = [ev.loss for ev in train_steps(model, cfg, TASK, CPU)]
        runs.append((losses, model.state_dict()))
    assert runs[0][0] == runs[1][0]
    for k, v in runs[0][1].items():
        torch.testing.assert_close(v, runs[1][1][k])
    fresh = s2s.build(VARIANTS["plain"], cfg.seed).state_dict()
    assert not torch.equal(runs[0][1]["out.weight"], fresh["out.weight"])  # the steps did update it


@pytest.mark.parametrize("text", ["", "12a", "１２３", "1" * 17, "12 34"])
def test_bad_input_gets_a_clear_message(text):
    msg = TASK.problem(text)
    assert msg and ("digit" in msg or "empty" in msg)


@pytest.fixture(scope="module")
def autoencoder():
    return ae.load(ASSETS / "autoencoder.pt", CPU)


def test_autoencoder_reconstructs_held_out_digits(autoencoder, mnist_test):
    card = read_card("autoencoder")
    held_out = mnist_test.images[5000:7000]
    err = ae.reconstruction_error(autoencoder, held_out, CPU)
    assert err < AE_MAX_MSE and card["test_mse"] < AE_MAX_MSE
    assert err == pytest.approx(card["test_mse"], abs=0.01)
    all_black = float((held_out.float() / 255).pow(2).mean())  # the error of drawing nothing at all
    assert err < 0.6 * all_black


def test_latent_asset_matches_the_model(autoencoder, mnist_test):
    with np.load(ASSETS / "autoencoder_latents.npz") as f:
        z, labels = f["z"].astype(np.float32), f["labels"]
    assert z.shape == (2000, 2) and (labels == mnist_test.labels[:2000].numpy()).all()
    np.testing.assert_allclose(ae.encode_images(autoencoder, mnist_test.images[:2000], CPU), z, rtol=0.01, atol=0.05)
    centroids = np.stack([z[labels == d].mean(0) for d in range(10)])
    assert len({tuple(np.round(c, 1)) for c in centroids}) == 10  # the classes land in different places


def test_autoencoder_trace_shapes_and_interpolation_endpoints(autoencoder):
    a = torch.from_numpy(digits.prepare(digits.render_digit(3)).centred)
    b = torch.from_numpy(digits.prepare(digits.render_digit(8)).centred)
    with torch.no_grad():
        tr = autoencoder.trace(ae.to_input(torch.stack([a, b])))
    assert tr.f1.shape == (2, 16, 14, 14) and tr.f2.shape == (2, 32, 7, 7) and tr.z.shape == (2, 2)
    assert tr.out.shape == (2, 1, 28, 28) and 0 <= float(tr.out.min()) and float(tr.out.max()) <= 1
    z, imgs = ae.interpolate(autoencoder, a, b, 5)
    np.testing.assert_allclose(z[0], tr.z[0].numpy(), atol=1e-5)
    np.testing.assert_allclose(z[-1], tr.z[1].numpy(), atol=1e-5)
    np.testing.assert_allclose(imgs[0], tr.out[0, 0].numpy(), atol=1e-5)
    assert imgs.shape == (5, 28, 28)
