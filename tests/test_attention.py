"""dl_core.attention against PyTorch's own attention, under no mask, the causal mask and a padding mask."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core import attention as A

pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread

MASKS = ["none", "causal", "padding", "causal+padding"]



def qkv(b=2, h=3, t=7, d=8, seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(b, h, t, d, generator=g) for _ in range(3)]


def make_mask(kind: str, b: int, t: int, lengths=(7, 4)) -> torch.Tensor | None:
    causal = A.causal_mask(t) if "causal" in kind else None
    pad = A.padding_mask(torch.tensor(lengths[:b]), t) if "padding" in kind else None
    return A.combine(causal, pad)


@pytest.mark.parametrize("kind", MASKS)
def test_scaled_dot_product_matches_torch(kind):
    q, k, v = qkv()
    mask = make_mask(kind, 2, 7)
    steps = A.scaled_dot_product_attention(q, k, v, mask)
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=mask)
    torch.testing.assert_close(steps.out, ref, atol=1e-5, rtol=1e-5)
    out, weights = A.attention(q, k, v, mask)
    assert torch.equal(out, steps.out) and torch.equal(weights, steps.weights)


@pytest.mark.parametrize("kind", MASKS)
def test_intermediates_are_what_they_say(kind):
    q, k, v = qkv()
    mask = make_mask(kind, 2, 7)
    s = A.scaled_dot_product_attention(q, k, v, mask)
    torch.testing.assert_close(s.scores, torch.einsum("bhqd,bhkd->bhqk", q, k), atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(s.scaled, s.scores / math.sqrt(8))
    torch.testing.assert_close(s.weights.sum(-1), torch.ones(2, 3, 7))
    blocked = torch.zeros(2, 3, 7, 7, dtype=torch.bool) if mask is None else ~mask.expand(2, 3, 7, 7)
    assert torch.isneginf(s.masked[blocked]).all()
    assert torch.equal(s.masked[~blocked], s.scaled[~blocked])
    assert (s.weights[blocked] == 0).all()
    if kind == "causal":
        assert blocked[0, 0].sum() == 7 * 6 // 2  # the whole upper triangle


def test_padding_mask_shapes_and_values():
    m = A.padding_mask(torch.tensor([3, 1]), 4)
    assert m.shape == (2, 1, 1, 4)
    assert m[:, 0, 0].tolist() == [[True, True, True, False], [True, False, False, False]]
    ids = torch.tensor([[5, 6, 0, 0]])
    assert A.key_padding_mask(ids, 0)[0, 0, 0].tolist() == [True, True, False, False]
    assert A.combine(None, None) is None


def test_sinusoidal_encoding_formula():
    pe = A.sinusoidal_encoding(50, 16)
    for pos, i in [(0, 0), (3, 0), (7, 2), (49, 7)]:
        angle = pos / 10000 ** (2 * i / 16)
        assert pe[pos, 2 * i].item() == pytest.approx(math.sin(angle), abs=1e-5)
        assert pe[pos, 2 * i + 1].item() == pytest.approx(math.cos(angle), abs=1e-5)
    assert A.sinusoidal_encoding(5, 7).shape == (5, 7)  # odd widths work too


# ---------------------------------------------------------------- multi-head vs nn.MultiheadAttention
def copy_from_torch(ref: nn.MultiheadAttention, n_heads: int) -> A.MultiHeadAttention:
    d = ref.embed_dim
    dk = d // n_heads
    mine = A.MultiHeadAttention(d, n_heads)
    with torch.no_grad():
        for i, (w, b) in enumerate([(mine.w_q, mine.b_q), (mine.w_k, mine.b_k), (mine.w_v, mine.b_v)]):
            W = ref.in_proj_weight[i * d:(i + 1) * d]  # (D_out, D_in): x @ W.T
            B = ref.in_proj_bias[i * d:(i + 1) * d]
            for h in range(n_heads):
                w[h] = W[h * dk:(h + 1) * dk].T
                b[h, 0] = B[h * dk:(h + 1) * dk]
        mine.w_o.weight.copy_(ref.out_proj.weight)
        mine.w_o.bias.copy_(ref.out_proj.bias)
    return mine


@pytest.mark.parametrize("kind", MASKS)
@pytest.mark.parametrize("cross", [False, True], ids=["self", "cross"])
def test_multi_head_matches_nn_multihead_attention(kind, cross):
    torch.manual_seed(0)
    d, h, b, t = 16, 4, 2, 7
    ref = nn.MultiheadAttention(d, h, batch_first=True).eval()
    with torch.no_grad():  # non-zero biases so that their copying is tested too
        ref.in_proj_bias.normal_()
        ref.out_proj.bias.normal_()
    mine = copy_from_torch(ref, h)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(b, t, d, generator=g)
    kv = torch.randn(b, t, d, generator=g) if cross else x
    lengths = torch.tensor([7, 4])
    ours = mine(x, kv, make_mask(kind, b, t))
    # nn.MultiheadAttention's bool masks mean the opposite: True = blocked
    attn_mask = ~A.causal_mask(t) if "causal" in kind else None
    kpm = ~A.padding_mask(lengths, t)[:, 0, 0] if "padding" in kind else None
    out, w = ref(x, kv, kv, attn_mask=attn_mask, key_padding_mask=kpm, need_weights=True, average_attn_weights=False)
    torch.testing.assert_close(ours.out, out, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.weights, w, atol=1e-6, rtol=1e-5)
    assert ours.q.shape == (b, h, t, d // h) and ours.concat.shape == (b, t, d)


def test_each_head_uses_only_its_own_projection():
    torch.manual_seed(0)
    mha = A.MultiHeadAttention(12, 3)
    x = torch.randn(1, 5, 12)
    base = mha(x, x)
    with torch.no_grad():
        mha.w_q[2].mul_(-3.0)  # change head 2's W^Q only
    changed = mha(x, x)
    assert torch.equal(changed.weights[:, :2], base.weights[:, :2])
    assert not torch.allclose(changed.weights[:, 2], base.weights[:, 2])


def test_generator_makes_initialisation_reproducible():
    a = A.MultiHeadAttention(8, 2, generator=torch.Generator().manual_seed(3))
    b = A.MultiHeadAttention(8, 2, generator=torch.Generator().manual_seed(3))
    c = A.MultiHeadAttention(8, 2, generator=torch.Generator().manual_seed(4))
    assert torch.equal(a.w_q, b.w_q) and torch.equal(a.w_o.weight, b.w_o.weight)
    assert not torch.equal(a.w_q, c.w_q)
    with pytest.raises(ValueError):
        A.MultiHeadAttention(10, 3)


# ---------------------------------------------------------------- the two properties the page shows
@pytest.mark.parametrize("j", [1, 3, 6])
def test_causal_invariance_changing_token_j_never_changes_earlier_outputs(j):
    torch.manual_seed(0)
    mha = A.MultiHeadAttention(16, 4)
    x = torch.randn(1, 8, 16)
    x2 = x.clone()
    x2[0, j] = torch.randn(16) * 5
    mask = A.causal_mask(8)
    a, b = mha(x, x, mask), mha(x2, x2, mask)
    assert torch.equal(a.out[:, :j], b.out[:, :j]), "bit-for-bit equal before j"
    assert not torch.allclose(a.out[:, j], b.out[:, j])
    free_a, free_b = mha(x, x), mha(x2, x2)  # without the mask every position changes
    assert not torch.allclose(free_a.out[:, 0], free_b.out[:, 0])


def test_padded_keys_are_ignored():
    torch.manual_seed(0)
    mha = A.MultiHeadAttention(16, 2)
    real = torch.randn(1, 4, 16)
    padded = torch.cat([real, torch.randn(1, 3, 16)], dim=1)  # 3 junk <pad> vectors after 4 real tokens
    other = torch.cat([real, 100 * torch.randn(1, 3, 16)], dim=1)
    mask = A.padding_mask(torch.tensor([4]), 7)
    alone = mha(real, real)
    p, o = mha(padded, padded, mask), mha(other, other, mask)
    torch.testing.assert_close(p.out[:, :4], alone.out, atol=1e-6, rtol=1e-5)
    assert torch.equal(p.out[:, :4], o.out[:, :4]), "what sits in the padded slots does not matter"
    assert (p.weights[..., 4:] == 0).all()
    unmasked = mha(padded, padded)
    assert not torch.allclose(unmasked.out[:, :4], alone.out, atol=1e-3), "without the mask, padding leaks in"
