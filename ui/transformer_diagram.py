"""The course's encoder-decoder transformer diagram (Vaswani et al. 2017, figure 1) as Graphviz DOT,
with the blocks a view is about highlighted."""
from __future__ import annotations

import streamlit as st
from ui import present

# node id -> label; the order inside each stack is bottom to top, as in the paper's figure
ENCODER = {"enc_mha": "Multi-Head\nAttention", "enc_norm1": "Add & Norm", "enc_ff": "Feed\nForward",
           "enc_norm2": "Add & Norm"}
DECODER = {"dec_mmha": "Masked\nMulti-Head\nAttention", "dec_norm1": "Add & Norm",
           "dec_cross": "Multi-Head\nAttention\n(cross)", "dec_norm2": "Add & Norm", "dec_ff": "Feed\nForward",
           "dec_norm3": "Add & Norm"}
OUTSIDE = {"src": "Inputs\n(digits + <eos>)", "src_emb": "Input\nEmbedding", "src_pe": "⊕ Positional\nEncoding",
           "tgt": "Outputs\n(shifted right)", "tgt_emb": "Output\nEmbedding", "tgt_pe": "⊕ Positional\nEncoding",
           "linear": "Linear", "softmax": "Softmax", "probs": "Output\nProbabilities"}

BLOCKS = {  # what the page can highlight -> the nodes that light up
    "Encoder self-attention": ["enc_mha"],
    "Decoder masked self-attention": ["dec_mmha"],
    "Cross-attention": ["dec_cross"],
    "Positional encoding": ["src_pe", "tgt_pe"],
    "Embeddings": ["src_emb", "tgt_emb"],
    "Feed forward": ["enc_ff", "dec_ff"],
    "Add & Norm": ["enc_norm1", "enc_norm2", "dec_norm1", "dec_norm2", "dec_norm3"],
    "Linear + softmax (next-token probabilities)": ["linear", "softmax", "probs"],
}
ABOUT = {
    "Encoder self-attention": "Every input token attends to every input token (only <pad> keys masked).",
    "Decoder masked self-attention": "Each output position attends to itself and earlier outputs: the causal mask.",
    "Cross-attention": "Queries from the decoder, keys and values from the encoder's output: where to read from.",
    "Positional encoding": "Sinusoids added to the token vectors: the only place where order enters.",
    "Embeddings": "A learned vector per token (one table for inputs and outputs here), scaled by √d_model.",
    "Feed forward": "The same two-layer MLP applied to each position separately.",
    "Add & Norm": "Residual connection (dashed) plus LayerNorm after every sub-layer.",
    "Linear + softmax (next-token probabilities)": "The decoder's last vector -> a score per token -> probabilities.",
}
FILL = {"mha": "#fbe3c2", "norm": "#f6f6c9", "ff": "#cde8f6", "emb": "#f5d0d0", "other": "#ffffff"}


def _fill(node: str) -> str:
    if "mha" in node or "cross" in node:
        return FILL["mha"]
    if "norm" in node:
        return FILL["norm"]
    if "ff" in node:
        return FILL["ff"]
    if "emb" in node:
        return FILL["emb"]
    return FILL["other"]


def dot(highlight: list[str], n_layers: int = 2) -> str:
    """The diagram; nodes in ``highlight`` get a thick red border and a red label."""
    lit = set(highlight)

    def node(nid: str, label: str, shape: str = "box") -> str:
        style = 'color="#d62828", penwidth=3.5, fontcolor="#d62828"' if nid in lit else 'color="#555555"'
        return f'{nid} [label="{label}", shape={shape}, style="rounded,filled", fillcolor="{_fill(nid)}", {style}];'

    lines = ["digraph T {", "rankdir=BT; nodesep=0.25; ranksep=0.22;",
             'node [fontname="Helvetica", fontsize=10, width=1.3, height=0.35, margin="0.06,0.03"];',
             'edge [color="#666666", arrowsize=0.6];']
    for nid, label in OUTSIDE.items():
        lines.append(node(nid, label, "plaintext" if nid in ("src", "tgt", "probs") else "box"))
    lines.append(f'subgraph cluster_enc {{ label="Encoder  ×{n_layers}"; labelloc=b; style="rounded"; color="#999999";')
    lines += [node(n, label) for n, label in ENCODER.items()]
    lines.append("}")
    lines.append(f'subgraph cluster_dec {{ label="Decoder  ×{n_layers}"; labelloc=b; style="rounded"; color="#999999";')
    lines += [node(n, label) for n, label in DECODER.items()]
    lines.append("}")
    chain = ["src", "src_emb", "src_pe", *ENCODER]
    lines.append(" -> ".join(chain) + ";")
    chain = ["tgt", "tgt_emb", "tgt_pe", *DECODER, "linear", "softmax", "probs"]
    lines.append(" -> ".join(chain) + ";")
    for a, b in (("src_pe", "enc_norm1"), ("enc_norm1", "enc_norm2"), ("tgt_pe", "dec_norm1"),
                 ("dec_norm1", "dec_norm2"), ("dec_norm2", "dec_norm3")):  # the residual connections
        lines.append(f'{a} -> {b} [style=dashed, color="#999999", constraint=false];')
    lines.append('enc_norm2 -> dec_cross [label=" K, V", fontsize=9, color="#d62828" style=bold];'
                 if "dec_cross" in lit else 'enc_norm2 -> dec_cross [label=" K, V", fontsize=9];')
    lines.append("}")
    return "\n".join(lines)


def show(block: str, n_layers: int = 2, caption: str | None = None) -> None:
    """Draw the diagram with ``block`` (a key of BLOCKS) highlighted."""
    present.graphviz(dot(BLOCKS[block], n_layers))
    st.caption(caption or f"Highlighted: **{block}**. {ABOUT[block]}")
