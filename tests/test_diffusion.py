"""dl_core.diffusion / unet / latent: schedule identities, the sampler formulas, CFG, cross-attention,
and the shipped models against their cards (judged by the shipped CNN; no MNIST needed)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from dl_core import cnn, data, latent, unet
from dl_core import diffusion as D

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_schedule_identities(kind):
    s = D.make_schedule(kind, 1000)
    assert s.betas.shape == (1001,) and float(s.betas[0]) == 0.0 and float(s.alpha_bar[0]) == 1.0
    assert torch.all(s.alpha_bar[1:] < s.alpha_bar[:-1]), "alpha-bar must decrease strictly"
    assert 0 < float(s.alpha_bar[-1]) < 1e-3  # (almost) pure noise at T
    assert torch.allclose(s.alphas, 1 - s.betas)
    assert torch.allclose(s.alpha_bar, torch.cumprod(s.alphas.double(), 0).float(), rtol=1e-5)
    assert torch.allclose(s.snr[1:], s.alpha_bar[1:] / (1 - s.alpha_bar[1:]), rtol=2e-3)
    assert torch.all(s.snr[2:] < s.snr[1:-1])


def test_linear_matches_ddpm_paper_and_cosine_formula():
    lin = D.make_schedule("linear")
    assert float(lin.betas[1]) == pytest.approx(1e-4) and float(lin.betas[1000]) == pytest.approx(0.02)
    cos = D.make_schedule("cosine")
    f = lambda t: torch.cos(torch.tensor((t / 1000 + 0.008) / 1.008 * torch.pi / 2, dtype=torch.float64)) ** 2
    assert float(cos.alpha_bar[500]) == pytest.approx(float(f(500) / f(0)), rel=1e-4)


def test_q_sample_closed_form_mean_and_variance_on_a_batch():
    s = D.make_schedule("linear")
    x0 = torch.linspace(-1, 1, 16).view(1, 1, 4, 4).repeat(20000, 1, 1, 1)  # (N, 1, 4, 4)
    t = 300
    noise = torch.randn(x0.shape, generator=torch.Generator().manual_seed(0))
    xt = D.q_sample(x0, torch.full((len(x0),), t), noise, s)
    ab = float(s.alpha_bar[t])
    assert torch.allclose(xt.mean(0), ab ** 0.5 * x0[0], atol=0.03)
    assert torch.allclose(xt.var(0), torch.full_like(x0[0], 1 - ab), rtol=0.05)


def test_t0_returns_x0_when_noise_is_zero_and_predict_x0_inverts():
    s = D.make_schedule("cosine")
    x0 = torch.rand(3, 1, 28, 28) * 2 - 1
    assert torch.equal(D.q_sample(x0, 0, torch.zeros_like(x0), s), x0)
    noise = torch.randn_like(x0)
    t = torch.tensor([1, 500, 999])
    assert torch.allclose(D.predict_x0(D.q_sample(x0, t, noise, s), t, noise, s), x0, atol=1e-3)


def toy_eps(x, t, y):
    """A fixed, class-dependent 'eps-model' for testing the samplers."""
    return 0.3 * x + 0.001 * t.float().view(-1, 1, 1, 1) + 0.05 * (y.float().view(-1, 1, 1, 1) - 5)


def test_one_ddpm_step_equals_algorithm_2():
    s = D.make_schedule("linear", 50)
    g = torch.Generator().manual_seed(3)
    y = torch.tensor([2, 7])
    steps = D.ddpm_sample(toy_eps, y, s, (2, 1, 4, 4), guidance=1.0, generator=g)
    first, second = next(steps), next(steps)
    # redo by hand with the same random stream: x_T, then z
    g2 = torch.Generator().manual_seed(3)
    xT = torch.randn((2, 1, 4, 4), generator=g2)
    z = torch.randn((2, 1, 4, 4), generator=g2)
    t = 50
    a, b, ab = float(s.alphas[t]), float(s.betas[t]), float(s.alpha_bar[t])
    eps = toy_eps(xT, torch.full((2,), t), y)
    expected = 1 / a ** 0.5 * (xT - b / (1 - ab) ** 0.5 * eps) + b ** 0.5 * z
    assert torch.equal(first.x_t, xT) and first.t == 50 and second.t == 49
    assert torch.allclose(first.eps, eps)
    assert torch.allclose(second.x_t, expected, atol=1e-6)


def test_sampler_yields_every_step_and_ends_at_t0():
    s = D.make_schedule("linear", 20)
    y = torch.tensor([1])
    ddpm = list(D.ddpm_sample(toy_eps, y, s, (1, 1, 2, 2), 1.0, generator=torch.Generator().manual_seed(0)))
    assert [st.t for st in ddpm] == list(range(20, -1, -1))
    ddim = list(D.ddim_sample(toy_eps, y, s, (1, 1, 2, 2), steps=5, guidance=1.0))
    assert [st.t for st in ddim] == D.ddim_timesteps(20, 5) + [0]
    assert D.ddim_timesteps(1000, 50)[0] == 1000 and len(D.ddim_timesteps(1000, 50)) == 50


def test_ddim_eta0_is_deterministic_for_a_seed():
    s = D.make_schedule("cosine", 100)
    y = torch.tensor([0, 3, 9])
    run = lambda seed: D.final(D.ddim_sample(toy_eps, y, s, (3, 1, 5, 5), 10, 2.0, eta=0.0,
                                             generator=torch.Generator().manual_seed(seed)))
    assert torch.equal(run(4), run(4))
    assert not torch.allclose(run(4), run(5))
    # eta = 0: after the start noise no randomness is drawn (the generator state is untouched)
    g = torch.Generator().manual_seed(4)
    D.final(D.ddim_sample(toy_eps, y, s, (3, 1, 5, 5), 10, 2.0, eta=0.0, generator=g))
    g_ref = torch.Generator().manual_seed(4)
    torch.randn((3, 1, 5, 5), generator=g_ref)
    assert torch.equal(torch.randn(3, generator=g), torch.randn(3, generator=g_ref))


def test_classifier_free_guidance_formula():
    x, t, y = torch.randn(2, 1, 3, 3), torch.tensor([10, 10]), torch.tensor([1, 8])
    null = torch.full_like(y, D.NULL_CLASS)
    w = 3.0
    expected = toy_eps(x, t, null) + w * (toy_eps(x, t, y) - toy_eps(x, t, null))
    assert torch.allclose(D.guided_eps(toy_eps, x, t, y, w), expected)
    assert torch.allclose(D.guided_eps(toy_eps, x, t, y, 1.0), toy_eps(x, t, y))


def test_cross_attention_matches_pytorch_reference():
    torch.manual_seed(0)
    d, heads = 16, 4
    wq, wk, wv = (torch.nn.Linear(d, d) for _ in range(3))
    q_in, ctx = torch.randn(2, 49, d), torch.randn(2, 4, d)
    out, weights = latent.cross_attention(q_in, ctx, wq, wk, wv, heads)
    q = wq(q_in).view(2, 49, heads, 4).transpose(1, 2)
    k = wk(ctx).view(2, 4, heads, 4).transpose(1, 2)
    v = wv(ctx).view(2, 4, heads, 4).transpose(1, 2)
    ref = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, 49, d)
    assert torch.allclose(out, ref, atol=1e-5)
    assert weights.shape == (2, heads, 49, 4) and torch.allclose(weights.sum(-1), torch.ones(2, heads, 49))


def test_model_shapes_and_time_embedding():
    emb = unet.timestep_embedding(torch.tensor([0, 5]), 8)
    assert emb.shape == (2, 8) and torch.allclose(emb[0], torch.tensor([0.0] * 4 + [1.0] * 4))
    assert float(emb[1, 0]) == pytest.approx(float(torch.sin(torch.tensor(5.0))))
    m = unet.UNet(unet.UNetConfig(channels=(16, 32, 64), emb_dim=64))
    x, t, y = torch.randn(2, 1, 28, 28), torch.tensor([1, 999]), torch.tensor([3, D.NULL_CLASS])
    assert m(x, t, y).shape == (2, 1, 28, 28)
    ld = latent.LatentDenoiser(latent.LatentConfig())
    eps, maps = ld.forward_with_attention(torch.randn(2, 4, 7, 7), t, y)
    assert eps.shape == (2, 4, 7, 7) and len(maps) == ld.cfg.blocks and maps[0].shape == (2, 4, 49, 4)


def _card(name):
    return json.loads((ASSETS / f"{name}.json").read_text())


@pytest.mark.parametrize("name", ["diffusion_unet", "diffusion_latent"])
def test_shipped_models_meet_their_cards(name):
    """Re-judge a small sample (4 per class, DDIM 50, the card's guidance) with the shipped CNN."""
    from dl_core.recipes.diffusion import judge_accuracy, sampler_for
    card = _card(name)
    assert (ASSETS / f"{name}.pt").stat().st_size < 3_000_000
    dev = torch.device("cpu")
    score = judge_accuracy(sampler_for(name, dev, 50, card["default_guidance"]), dev, n=40, batch=40, seed=7)
    # 40 samples: allow ~2.5 binomial standard deviations below the card's 1,000-sample score
    sd = (card["judge_accuracy"] * (1 - card["judge_accuracy"]) / 40) ** 0.5
    assert score["judge_accuracy"] >= card["judge_accuracy"] - 2.5 * sd - 0.05, (score, card["judge_accuracy"])
    assert score["judge_accuracy"] > 0.3  # far above chance (10%) either way


@pytest.mark.parametrize("name", ["diffusion_unet", "diffusion_latent"])
def test_shipped_models_meet_the_quality_target(name):
    """The issue's promise, as recorded by ``judge-generators`` (>= 30 per class, DDIM 50, default w);
    the test above and tests/test_gen_metrics.py check that the shipped weights still reproduce the card."""
    card = _card(name)
    assert card["judge_samples"] >= 300 and card["judge_sampler"].startswith("DDIM 50 steps")
    assert card["judge_accuracy"] == card["evaluation"]["accuracy_cnn"]
    assert f"guidance {card['default_guidance']}" in card["judge_sampler"]
    assert card["judge_accuracy"] >= 0.97, card["evaluation"]


def test_autoencoder_reconstructs_a_font_digit():
    from dl_core import digits
    ae = latent.load_ae(ASSETS / "diffusion_ae.pt", torch.device("cpu"))
    x = torch.from_numpy(digits.prepare(digits.render_digit(3, stroke=4)).centred).view(1, 1, 28, 28) * 2 - 1
    with torch.no_grad():
        z = ae.encode_scaled(x)
        rec = ae.decode_scaled(z)
    assert z.shape == (1, *latent.LATENT_SHAPE)
    assert F.mse_loss(rec, x) < _card("diffusion_ae")["test_mse_in_minus1_1"] * 4 + 0.05
    judge = cnn.load(ASSETS / "cnn_default.pt", torch.device("cpu"))
    assert int(judge(data.normalize(((rec[:, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8))).argmax()) == 3


def test_latent_normalisation_round_trips_and_the_clamp_is_per_channel():
    """The denoiser's per-channel scale (measured by the recipe) inverts exactly; x0-hat is clamped to
    the normalised training range channel by channel, not to the pixels' [-1, 1]."""
    cfg = latent.LatentConfig(z_mean=(1.0, -2.0, 0.5, 0.0), z_std=(2.0, 0.5, 1.0, 4.0),
                              z_lo=(-1.0, -2.0, -3.0, -4.0), z_hi=(1.0, 2.0, 3.0, 4.0))
    m = latent.LatentDenoiser(cfg)
    z = torch.randn(3, 4, 7, 7) * 3
    zn = m.normalize(z)
    assert torch.allclose(zn[:, 1], (z[:, 1] + 2.0) / 0.5) and torch.allclose(m.denormalize(zn), z, atol=1e-5)
    clipped = D.clamp_x0(torch.full((1, 4, 1, 1), 10.0), m.x0_range(z))
    assert clipped.flatten().tolist() == [1.0, 2.0, 3.0, 4.0]
    assert D.clamp_x0(torch.tensor([-5.0, 0.5, 5.0]), True).tolist() == [-1.0, 0.5, 1.0]
    assert D.clamp_x0(torch.tensor([-5.0, 5.0]), False).tolist() == [-5.0, 5.0]


def test_latent_stats_measure_unit_variance_channels():
    ae = latent.AutoEncoder(latent.AEConfig())
    x = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    stats = latent.latent_stats(ae, x, batch=16)
    m = latent.LatentDenoiser(latent.LatentConfig(**stats))
    with torch.no_grad():
        zn = m.normalize(ae.encode(x))
    assert torch.allclose(zn.mean(dim=(0, 2, 3)), torch.zeros(4), atol=1e-3)
    assert torch.allclose(zn.std(dim=(0, 2, 3)), torch.ones(4), atol=1e-3)
    assert torch.allclose(zn.amin(dim=(0, 2, 3)), torch.tensor(stats["z_lo"]), atol=1e-3)
