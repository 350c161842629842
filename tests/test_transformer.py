"""The generated task, the encoder-decoder transformer, decoding, and the shipped model against its card."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from dl_core import transformer as tf
from dl_core.cards import read_card
from dl_core.recipes.transformer import TrainConfig, evaluate, train_steps
from dl_core.seq_tasks import BOS, EOS, PAD, TASK, ReverseDigits, exact_match

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


# ---------------------------------------------------------------- the task
def test_vocab_round_trip_and_ids():
    v = TASK.vocab
    assert len(v) == 13 and v.itos[:3] == ("<pad>", "<bos>", "<eos>")
    ids = v.encode("3141", bos=True, eos=True)
    assert ids == [BOS, 6, 4, 7, 4, EOS]
    assert v.decode(ids + [PAD, PAD]) == "3141"
    assert v.decode([6, EOS, 7]) == "3", "decoding stops at <eos>"
    with pytest.raises(KeyError):
        v.encode("12a")


def test_sampling_is_deterministic_and_respects_the_split():
    a = TASK.sample(300, torch.Generator().manual_seed(1), split="train")
    b = TASK.sample(300, torch.Generator().manual_seed(1), split="train")
    assert a == b
    test = TASK.sample(300, torch.Generator().manual_seed(1), split="test")
    assert not any(TASK.is_held_out(s) for s, _ in a)
    assert all(TASK.is_held_out(s) for s, _ in test)
    assert all(t == s[::-1] for s, t in a + test)
    lengths = {len(s) for s, _ in a}
    assert min(lengths) == TASK.min_len and max(lengths) == TASK.max_len
    fixed = TASK.sample(20, torch.Generator().manual_seed(2), split="test", length=9)
    assert {len(s) for s, _ in fixed} == {9}
    assert 0.05 < sum(TASK.is_held_out(s) for s, _ in TASK.sample(2000, torch.Generator(), "any")) / 2000 < 0.15
    with pytest.raises(ValueError):
        TASK.sample(1, torch.Generator(), split="valid")


def test_batch_layout():
    batch = TASK.batch([("123", "321"), ("45", "54")])
    assert batch.src.tolist() == [[4, 5, 6, EOS], [7, 8, EOS, PAD]]
    assert batch.tgt_in.tolist() == [[BOS, 6, 5, 4], [BOS, 8, 7, PAD]]
    assert batch.tgt_out.tolist() == [[6, 5, 4, EOS], [8, 7, EOS, PAD]]
    assert batch.src_lengths.tolist() == [4, 3]


@pytest.mark.parametrize("text, word", [("", "empty"), ("12a4", "'a'"), ("١٢٣", "not"), ("12 3", "' '"),
                                        ("9" * 17, "17 digits"), ("🙂", "not")])
def test_problem_messages(text, word):
    msg = TASK.problem(text)
    assert msg and word in msg
    assert TASK.problem("31415") is None
    assert ReverseDigits(max_len=20).problem("9" * 17) is None


def test_exact_match():
    assert exact_match(["12", "3", "45"], ["12", "4", "45"]) == pytest.approx(2 / 3)
    with pytest.raises(ValueError):
        exact_match([], [])


# ---------------------------------------------------------------- the model
@pytest.fixture(scope="module")
def small():
    torch.manual_seed(0)
    return tf.Seq2SeqTransformer(tf.TransformerConfig(d_model=16, n_heads=2, n_layers=2, d_ff=32)).eval()


def test_forward_returns_every_attention_map(small):
    batch = TASK.batch([("12345", "54321"), ("678", "876")])
    with torch.no_grad():
        out = small(batch.src, batch.tgt_in)
    assert out.logits.shape == (2, 6, 13)
    assert out.enc_attn.shape == (2, 2, 2, 6, 6)
    assert out.self_attn.shape == (2, 2, 2, 6, 6)
    assert out.cross_attn.shape == (2, 2, 2, 6, 6)
    for w in out:
        if w.dim() == 5:
            torch.testing.assert_close(w.sum(-1), torch.ones(w.shape[:-1]))
    assert (out.cross_attn[:, 1, :, :, 4:] == 0).all(), "the short source's <pad> keys get no attention"
    assert (out.self_attn.triu(1) == 0).all(), "the decoder never looks ahead"


def test_decoder_is_causal_bit_for_bit(small):
    src = TASK.encode_source("9081726")[None]
    tgt = torch.tensor([[BOS, 6, 2, 7, 1, 8]])
    tgt2 = tgt.clone()
    tgt2[0, 4] = 12
    with torch.no_grad():
        a, b = small(src, tgt), small(src, tgt2)
    assert torch.equal(a.logits[:, :4], b.logits[:, :4])
    assert not torch.allclose(a.logits[:, 4], b.logits[:, 4])


def test_padding_in_a_batch_does_not_change_results(small):
    alone = TASK.batch([("123", "321")])
    both = TASK.batch([("123", "321"), ("1234567", "7654321")])
    with torch.no_grad():
        a = small(alone.src, alone.tgt_in).logits
        b = small(both.src, both.tgt_in).logits
    torch.testing.assert_close(b[0, :4], a[0], atol=1e-5, rtol=1e-5)


def test_greedy_steps_agree_with_batched_greedy_and_temperature(small):
    src = TASK.encode_source("5550123")
    steps = list(tf.greedy_steps(small, src, 10))
    batch = tf.greedy_batch(small, src[None], 10)[0].tolist()
    assert [s.token for s in steps] == batch[:len(steps)]
    for s in steps:
        assert s.probs.sum().item() == pytest.approx(1.0, abs=1e-5)
        torch.testing.assert_close(s.cross.sum(-1), torch.ones(2, 2))
        assert s.self_attn.shape == (2, 2, s.index + 1)
    cold = list(tf.greedy_steps(small, src, 10, temperature=0.2))
    hot = list(tf.greedy_steps(small, src, 10, temperature=5.0))
    assert [s.token for s in cold] == [s.token for s in hot] == [s.token for s in steps], "argmax ignores T"
    assert cold[0].probs.max() > steps[0].probs.max() > hot[0].probs.max()
    s1 = [s.token for s in tf.greedy_steps(small, src, 10, 3.0, True, torch.Generator().manual_seed(5))]
    s2 = [s.token for s in tf.greedy_steps(small, src, 10, 3.0, True, torch.Generator().manual_seed(5))]
    assert s1 == s2
    with pytest.raises(ValueError):
        next(tf.greedy_steps(small, src, 10, temperature=0))


def test_training_lowers_the_loss():
    torch.manual_seed(0)
    model = tf.Seq2SeqTransformer(tf.TransformerConfig(d_model=32, n_heads=2, n_layers=1, d_ff=64))
    cfg = TrainConfig(steps=80, batch_size=32, warmup=5, lr=5e-3)
    losses = [ev.loss for ev in train_steps(model, cfg, TASK, CPU)]
    first, last = sum(losses[:5]) / 5, sum(losses[-5:]) / 5
    # below log(10), the loss of guessing digits uniformly: it already reads the input
    assert last < first - 0.3 and last < math.log(10) - 0.1, (first, last)
    assert not model.training


def test_save_load_round_trip(small, tmp_path):
    tf.save(small, tmp_path / "m.pt")
    again = tf.load(tmp_path / "m.pt", CPU)
    assert again.cfg == small.cfg
    for (n, p), (_, q) in zip(small.state_dict().items(), again.state_dict().items()):
        assert torch.equal(p, q), n


# ---------------------------------------------------------------- the shipped model
@pytest.fixture(scope="module")
def shipped():
    return tf.load(ASSETS / "transformer.pt", CPU)


def test_shipped_model_meets_its_card_on_fresh_held_out_inputs(shipped):
    card = read_card("transformer")
    assert card["exact_match"] >= 0.99
    assert card["config"]["d_model"] <= 64 and card["parameters"] == tf.count_params(shipped)
    fresh = TASK.sample(1000, torch.Generator().manual_seed(424242), split="test")
    em = evaluate(shipped, fresh, TASK, CPU)
    assert em >= 0.99, em
    assert em >= card["exact_match"] - 0.01
    assert (ASSETS / "transformer.pt").stat().st_size < 2_000_000


def test_shipped_model_needs_its_positions(shipped):
    fresh = TASK.sample(200, torch.Generator().manual_seed(99), split="test")
    assert evaluate(shipped, fresh, TASK, CPU, use_positions=False) < 0.5


def test_shipped_cross_attention_is_the_anti_diagonal(shipped):
    src = TASK.encode_source("20261125")
    tgt = torch.tensor([TASK.vocab.encode("52116202", bos=True)])
    with torch.no_grad():
        cross = shipped(src[None], tgt).cross_attn[:, 0].mean(1)  # (L, T, S) mean over heads
    best = cross.max(0).values.argmax(-1)[:8]  # the most-attended input of each output digit, best layer
    assert best.tolist() == list(range(7, -1, -1))
