"""Real-model attention benchmarks (optional extra): loading, one CPU forward pass over 64 tokens for each
model (output_attentions, q/k hooks), and the page's reruns.

    python -m benchmarks.bench_real_attention [--quick]
"""
from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dl_core import real_attention as ra  # noqa: E402

TEXT_64 = ("Attention lets every token look back at the words before it and decide which of them matter most "
           "for the next word. A real language model does this in every layer and every head, thousands of "
           "times for one short sentence, and all of it runs on the CPU here in a few milliseconds per layer.")
TARGET_MS = 300


def _ms(times: list[float]) -> str:
    return f"{np.percentile(times, 50) * 1e3:.0f} / {np.percentile(times, 95) * 1e3:.0f} ms"


def _timed(fn) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _ids(lm: ra.RealLM) -> torch.Tensor:
    ids = lm.tokenizer(TEXT_64 * 2, return_tensors="pt").input_ids[:, :ra.MAX_TOKENS]  # (1, 64)
    assert ids.shape[1] == ra.MAX_TOKENS
    return ids


def model_rows(n: int) -> list[tuple[str, str, str]]:
    rows = []
    t_dec = _timed(ra.load_decoder)  # from the safetensors cache when it exists
    t_enc = _timed(ra.load_encoder)
    rows += [("SmolLM2-135M load (safetensors cache; the first start converts the GGUF)", f"{t_dec * 1e3:.0f} ms", ""),
             ("MiniLM-L6 load (wheel's safetensors)", f"{t_enc * 1e3:.0f} ms", "")]
    for lm in (ra.load_decoder(), ra.load_encoder()):
        ids = _ids(lm)
        ra.forward(lm, ids)
        times = [_timed(lambda: ra.forward(lm, ids)) for _ in range(n)]
        rows.append((f"{lm.name}: forward over 64 tokens, attentions + q/k, 1 thread p50/p95", _ms(times),
                     f"<= {TARGET_MS} ms"))
    return rows


def page_rows(n: int) -> list[tuple[str, str, str]]:
    from streamlit.testing.v1 import AppTest

    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").setLevel(logging.ERROR)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=300)
    at.switch_page("pages/real_attention.py")
    cold = _timed(at.run)
    at.text_area(key="ra_text").set_value(TEXT_64)
    miss = _timed(at.run)
    if at.exception or at.error:
        raise RuntimeError(f"page failed: {[e.value for e in at.exception]} {[e.value for e in at.error]}")
    same = [_timed(at.run) for _ in range(n)]
    heads = [_timed(lambda h=h: at.number_input(key="ra_head_decoder").set_value(h).run())
             for h in [2, 3, 4, 5, 6, 7, 8, 9] * (n // 8 + 1)][:n]
    at.session_state["ra_tab"] = "Causal vs bidirectional"
    at.run()
    cmp = [_timed(at.run) for _ in range(n)]
    at.session_state["ra_tab"] = "Next token"
    at.run()
    temps = [_timed(lambda t=t: at.slider(key="ra_temp").set_value(t).run()) for t in [0.5, 0.8, 1.2, 1.5] * n][:n]
    return [("Real attention page, cold run incl. model loads (AppTest)", f"{cold * 1e3:.0f} ms", ""),
            ("Real attention page, new 64-token text (forward + 270 thumbnails)", f"{miss * 1e3:.0f} ms", ""),
            ("Real attention page rerun, 64 tokens, same text p50/p95", _ms(same), f"<= {TARGET_MS} ms"),
            ("Real attention page rerun, 64 tokens, switch head p50/p95", _ms(heads), f"<= {TARGET_MS} ms"),
            ("Real attention page rerun, causal vs bidirectional tab p50/p95", _ms(cmp), f"<= {TARGET_MS} ms"),
            ("Real attention page rerun, next token tab, change temperature p50/p95", _ms(temps),
             f"<= {TARGET_MS} ms")]


def rows(quick: bool) -> list[tuple[str, str, str]]:
    torch.set_num_threads(1)
    n = 6 if quick else 20
    return model_rows(n) + page_rows(n)


if __name__ == "__main__":
    if ra.missing_extra():
        sys.exit(f"the optional extra is not installed: {ra.INSTALL}")
    for r in rows("--quick" in sys.argv):
        sys.stdout.write(" | ".join(r) + "\n")
