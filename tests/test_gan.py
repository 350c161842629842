"""The 2-D GAN (dl_core.gan2d), the digit DCGAN (dl_core.dcgan), the judge and the shipped generator."""
from __future__ import annotations

import hashlib
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from dl_core import cnn, dcgan, gan2d, gan2d_view, gan_judge
from dl_core.cards import read_card
from dl_core.recipes import gan as recipe

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
CPU = torch.device("cpu")


pytestmark = pytest.mark.usefixtures("one_thread")  # tiny models: see conftest.one_thread


# --- 2-D data and noise ------------------------------------------------------------------------
@pytest.mark.parametrize("preset", [p for p in gan2d.PRESETS if p != "drawn"])
def test_presets_are_seeded_2d_and_inside_the_view(preset):
    a = gan2d.sample_real(preset, 2000, torch.Generator().manual_seed(3))
    b = gan2d.sample_real(preset, 2000, torch.Generator().manual_seed(3))
    assert a.shape == (2000, 2) and torch.equal(a, b)
    assert a.abs().max() < gan2d.LIM


def test_ring_is_eight_blobs_at_radius_08():
    x = gan2d.sample_real("ring", 4000, torch.Generator().manual_seed(0))
    assert x.norm(dim=1).mean() == pytest.approx(0.8, abs=0.02)
    angles = torch.atan2(x[:, 1], x[:, 0]) / (2 * math.pi / 8)
    off = (angles - angles.round()).abs()  # in units of the 45 degrees between blobs
    assert off.max() < 0.45 and off.mean() < 0.1  # every point sits near one of the 8 directions
    assert len(torch.unique(angles.round() % 8)) == 8


def test_drawn_points_become_small_blobs():
    pts = torch.tensor([[0.5, 0.5], [-0.5, -0.2]])
    x = gan2d.sample_real("drawn", 1000, torch.Generator().manual_seed(0), pts)
    dist = torch.cdist(x, pts).min(dim=1).values
    assert dist.max() < 6 * gan2d.DRAWN_STD
    with pytest.raises(ValueError):
        gan2d.sample_real("drawn", 10, torch.Generator(), torch.zeros(0, 2))


def test_noise_kinds():
    gen = torch.Generator().manual_seed(0)
    u = gan2d.sample_noise("uniform", 2, 5000, gen)
    g = gan2d.sample_noise("gaussian", 1, 5000, gen)
    assert u.shape == (5000, 2) and u.min() >= -1 and u.max() <= 1
    assert g.shape == (5000, 1) and g.std() == pytest.approx(1.0, abs=0.05)


# --- one step: the sign (and size) of each player's update on a toy case ----------------------
def toy_lab() -> gan2d.Lab:
    """Linear D and G (no hidden layers); real data at (1, 0); G outputs (-1, 0) for every z."""
    lab = gan2d.Lab(gan2d.GAN2DConfig(preset="drawn", g_layers=0, d_layers=0), points=torch.tensor([[1.0, 0.0]]))
    with torch.no_grad():
        for p in list(lab.d.parameters()) + list(lab.g.parameters()):
            p.zero_()
        lab.g[0].bias.copy_(torch.tensor([-1.0, 0.0]))
    return lab


def params(net) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in net.parameters()]).clone()


LR = 0.01


@pytest.mark.parametrize("loss", gan2d.LOSSES)
def test_step_d_only_moves_d_towards_calling_the_real_side_real(loss):
    lab = toy_lab()
    g_before = params(lab.g)
    r = gan2d.train_step(lab, gan2d.Hyper(loss=loss, optimizer="sgd", lr_d=LR, lr_g=LR, batch_size=512), "D")
    w, b = lab.d[0].weight.detach()[0], float(lab.d[0].bias.detach())
    # minimax / non-saturating: dL/dw = -(1 - D(x)) x_real + D(G(z)) x_fake = -0.5 (1, 0) + 0.5 (-1, 0)
    # least squares:            dL/dw = (a_real - 1) x_real + a_fake x_fake = -(1, 0);  dL/db = -1
    assert float(w[0]) == pytest.approx(LR, rel=0.02)  # SGD's first step: -lr * dL/dw
    assert abs(float(w[1])) < 0.05 * LR
    assert b == pytest.approx(LR if loss == "leastsquares" else 0.0, abs=1e-7)
    assert torch.equal(params(lab.g), g_before), "a D-only step must not move G"
    assert r.d_real == pytest.approx(0.5 if loss != "leastsquares" else 0.0) and r.step == 1


@pytest.mark.parametrize("loss, expected", [("minimax", 1 / (1 + math.e)),  # lr * sigmoid(-1): weak
                                            ("nonsaturating", 1 / (1 + math.exp(-1))),  # lr * sigmoid(1)
                                            ("leastsquares", 2.0)])  # lr * (1 - a_fake) = 2 lr
def test_step_g_only_moves_fakes_towards_the_real_data(loss, expected):
    lab = toy_lab()
    with torch.no_grad():
        lab.d[0].weight.copy_(torch.tensor([[1.0, 0.0]]))  # D: logit = x, "right is real"; fakes at logit -1
    frm, arrow = gan2d_view.g_arrows(lab, loss, n=5)  # the arrows: -dL_G/dx per fake point, before the step
    assert torch.allclose(frm, torch.tensor([[-1.0, 0.0]]).expand(5, 2))
    assert torch.allclose(arrow, torch.tensor([[expected, 0.0]]).expand(5, 2), atol=1e-6)
    d_before = params(lab.d)
    gan2d.train_step(lab, gan2d.Hyper(loss=loss, optimizer="sgd", lr_d=LR, lr_g=LR), "G")
    c = lab.g[0].bias.detach()
    assert float(c[0]) == pytest.approx(-1 + LR * expected, rel=1e-5)  # moved right, by the loss's gradient
    assert float(c[1]) == pytest.approx(0.0, abs=1e-9)
    assert torch.equal(params(lab.d), d_before), "a G-only step must not move D"


def test_both_step_takes_d_steps_then_one_g_step():
    lab = toy_lab()
    h = gan2d.Hyper(optimizer="sgd", lr_d=LR, lr_g=LR, d_steps=3)
    g0 = params(lab.g)
    gan2d.train_step(lab, h)
    momentum = 1 + 1.9 + 2.71  # three SGD updates of ~lr * grad with momentum 0.9: 1, 1 + 0.9, 1 + 0.9 * 1.9
    assert float(lab.d[0].weight.detach()[0, 0]) == pytest.approx(momentum * LR, rel=0.05)
    assert not torch.equal(params(lab.g), g0) and lab.steps == 1


def test_changing_hyper_parameters_keeps_the_weights():
    lab = gan2d.Lab(gan2d.GAN2DConfig())
    gan2d.train_step(lab, gan2d.Hyper())
    w = params(lab.g)
    lab.sync(gan2d.Hyper(optimizer="sgd", lr_g=0.03))
    assert torch.equal(params(lab.g), w) and lab.opt_g.param_groups[0]["lr"] == 0.03


# --- the view ------------------------------------------------------------------------------------
def test_view_shapes_and_ranges():
    for dim in (1, 2):
        lab = gan2d.Lab(gan2d.GAN2DConfig(noise_dim=dim, noise="uniform"))
        v = gan2d_view.view(lab, "nonsaturating", n_show=100, grid=20, arrows=30)
        assert v.real.shape == v.fake.shape == (100, 2)
        assert v.d_grid.shape == (20, 20) and 0 <= float(v.d_grid.min()) and float(v.d_grid.max()) <= 1
        assert v.manifold.shape == ((15, 15, 2) if dim == 2 else (1, 60, 2))
        assert v.arrow_from.shape == v.arrow_grad.shape == (30, 2)


def test_divergence_is_zero_for_equal_and_ln2_for_disjoint_sets():
    gen = torch.Generator().manual_seed(0)
    a = gan2d.sample_real("ring", 3000, gen)
    assert gan2d_view.divergence(a, a).js == pytest.approx(0.0, abs=1e-6)
    same = gan2d_view.divergence(a, gan2d.sample_real("ring", 3000, gen))
    far = gan2d_view.divergence(a, gan2d.sample_real("line", 3000, gen) * 0.3 + 1.2)
    assert same.js < 0.02 and same.kl < 0.1
    assert far.js > 0.6 and far.js <= math.log(2) + 1e-6 and far.kl > 5


RING_STEPS, RING_JS = 1500, 0.08  # the stated threshold: JS below 0.08 nats within 1,500 steps


def test_ring_gan_gets_its_divergence_below_the_threshold():
    lab = gan2d.Lab(gan2d.GAN2DConfig(preset="ring"))
    start = gan2d_view.view(lab, "nonsaturating").divergence.js
    for _ in gan2d.train(lab, gan2d.Hyper(), RING_STEPS):
        pass
    end = gan2d_view.view(lab, "nonsaturating").divergence.js
    assert start > 0.3, "G starts far from the ring"
    assert end < RING_JS, f"JS {end:.3f} after {RING_STEPS} steps"


# --- the DCGAN -----------------------------------------------------------------------------------
def test_dcgan_shapes_seeds_and_interpolation():
    cfg = dcgan.DCGANConfig()
    g, d = dcgan.Generator(cfg).eval(), dcgan.Discriminator(cfg)
    x = dcgan.sample(g, 5, 42, CPU)
    assert x.shape == (5, 1, 28, 28) and x.abs().max() <= 1
    assert d(x).shape == (5,)
    assert torch.equal(x, dcgan.sample(g, 5, 42, CPU)) and not torch.equal(x, dcgan.sample(g, 5, 43, CPU))
    walk = dcgan.interpolate(g, 42, 7, 6, CPU)
    assert torch.allclose(walk[0], dcgan.sample(g, 1, 42, CPU)[0], atol=1e-5)
    assert torch.allclose(walk[-1], dcgan.sample(g, 1, 7, CPU)[0], atol=1e-5)
    px = dcgan.to_pixels(x)
    assert px.dtype == torch.uint8 and torch.allclose(dcgan.from_pixels(px), x, atol=1 / 127)


def test_dcgan_hidden_fc_layers_and_half_precision_weights(tmp_path):
    cfg = dcgan.DCGANConfig(g_fc=48, d_fc=24)
    torch.manual_seed(0)
    g, d = dcgan.Generator(cfg), dcgan.Discriminator(cfg)
    assert g.hidden.weight.shape == (48, cfg.z_dim) and g.fc.weight.shape == (2 * cfg.g_ch * 49, 48)
    assert d.hidden.weight.shape == (24, 2 * cfg.d_ch * 49) and d.fc.weight.shape == (1, 24)
    for _ in range(2):  # a few training-mode batches, so that the batch-norm statistics are not trivial
        g(torch.randn(16, cfg.z_dim))
    x = dcgan.sample(g, 4, 3, CPU)
    assert x.shape == (4, 1, 28, 28) and d(x).shape == (4,)
    dcgan.round_to_half(g)
    dcgan.save(g, tmp_path / "g.pt", half=True)
    stored = torch.load(tmp_path / "g.pt", weights_only=True)["state_dict"]
    assert stored["fc.weight"].dtype == torch.float16 and stored["bn0.num_batches_tracked"].dtype == torch.int64
    back = dcgan.load(tmp_path / "g.pt", CPU)
    assert back.cfg == cfg and torch.equal(dcgan.sample(back, 4, 3, CPU), dcgan.sample(g, 4, 3, CPU))


def test_dcgan_train_step_d_then_g():
    torch.manual_seed(0)
    cfg = dcgan.DCGANConfig()
    g, d = dcgan.Generator(cfg), dcgan.Discriminator(cfg)
    opt_g = torch.optim.Adam(g.parameters(), 1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(d.parameters(), 1e-3, betas=(0.5, 0.999))
    real, z = torch.rand(32, 1, 28, 28) * 2 - 1, torch.randn(32, cfg.z_dim)
    with torch.no_grad():
        fake_before = g(z)
    losses = dcgan.train_step(g, d, opt_g, opt_d, real, z)
    bce = torch.nn.functional.binary_cross_entropy_with_logits
    with torch.no_grad():  # the same batch, the same fakes: D's loss went down after its update ...
        d_after = bce(d(real), torch.ones(32)) + bce(d(fake_before), torch.zeros(32))
        fooled_before = torch.sigmoid(d(fake_before)).mean()
        fooled_after = torch.sigmoid(d(g(z))).mean()  # ... and G's update made D call its fakes more real
    assert float(d_after) < losses.d_loss
    assert float(fooled_after) > float(fooled_before)


def test_dcgan_train_generator_yields_snapshots():
    images = torch.randint(0, 256, (200, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fixed = dcgan.noise(64, 32, 0, CPU)
    it = dcgan.train(dcgan.DCGANConfig(), dcgan.TrainConfig(steps=4, snapshot_every=2, batch_size=16), images, CPU, fixed)
    g = next(it)
    events = list(it)
    assert isinstance(g, dcgan.Generator)
    assert [e.step for e in events if e.samples is not None] == [0, 2, 4]
    assert events[0].samples.shape == (64, 28, 28) and events[0].samples.dtype == torch.uint8
    assert all(e.losses is not None for e in events[1:])


# --- the judge -------------------------------------------------------------------------------------
def test_judge_numbers_on_hand_made_probabilities():
    ten = gan_judge.score_probs(torch.eye(10).repeat(3, 1))
    assert ten.confident == 1 and ten.inception_score == pytest.approx(10, rel=1e-4)
    assert ten.hist == pytest.approx([0.1] * 10) and ten.min_class == pytest.approx(0.1)
    two = gan_judge.score_probs(torch.eye(10)[[0, 1, 0, 1]])
    assert two.inception_score == pytest.approx(2, rel=1e-4) and two.min_class == 0
    unsure = gan_judge.score_probs(torch.full((4, 10), 0.1))
    assert unsure.confident == 0 and unsure.inception_score == pytest.approx(1, rel=1e-4)
    assert not gan_judge.meets(two) and gan_judge.meets(ten)


def test_judge_scores_real_test_digits_high(mnist_test):
    judge = cnn.load(ASSETS / "cnn_course.pt", CPU)
    s = gan_judge.judge(judge, mnist_test.images[:1000])
    assert s.confident > 0.9 and s.min_class > 0.07 and s.inception_score > 8.5


# --- the shipped generator meets its card ------------------------------------------------------
def shipped_score() -> tuple[dict, gan_judge.Score, bool]:
    """The card, the score of the card's 1,000-sample batch recomputed now, and whether the judge is unchanged."""
    card = read_card(recipe.NAME)
    judge_path = ROOT / card["judge"]["weights"]
    judge = cnn.load(judge_path, CPU)
    g = dcgan.load(ASSETS / f"{recipe.NAME}.pt", CPU)
    same_judge = hashlib.sha256(judge_path.read_bytes()).hexdigest() == card["judge"]["sha256"]
    return card, gan_judge.judge(judge, recipe.final_batch(g, CPU)), same_judge


def test_shipped_generator_scores_what_its_card_says():
    card, score, same_judge = shipped_score()
    assert score.n == card["score"]["n"] == 1000
    assert card["target"] == {"confident": 0.8, "min_class": 0.05}
    assert card["score"]["meets_target"] == gan_judge.meets(score)
    if same_judge:
        assert score.confident == pytest.approx(card["score"]["confident"], abs=0.01)
        assert score.min_class == pytest.approx(card["score"]["min_class"], abs=0.005)
        assert score.inception_score == pytest.approx(card["score"]["inception_score"], abs=0.05)
    assert score.confident > 0.6 and score.inception_score > 6, "clearly digits, clearly more than one kind"


def test_shipped_generator_meets_the_target():
    _, score, _ = shipped_score()
    assert gan_judge.meets(score), score


def test_shipped_snapshots_are_the_fixed_samples():
    with np.load(ASSETS / recipe.SNAPSHOTS_FILE) as f:
        steps, images = f["steps"], f["images"]
    card = read_card(recipe.NAME)
    assert steps[0] == 0 and steps[-1] == card["steps"] and (np.diff(steps) > 0).all()
    assert images.shape == (len(steps), 64, 28, 28) and images.dtype == np.uint8
    g = dcgan.load(ASSETS / f"{recipe.NAME}.pt", CPU)
    last = dcgan.to_pixels(dcgan.sample(g, 64, recipe.FIXED_SEED, CPU)).numpy()
    assert np.abs(last.astype(int) - images[-1]).max() <= 1  # the last snapshot is the shipped G
    assert [s["step"] for s in card["snapshot_scores"]] == steps.tolist()
    first, final = card["snapshot_scores"][0], card["snapshot_scores"][-1]
    assert first["inception_score"] < 2 < 5 < final["inception_score"], "noise at step 0, varied digits at the end"


def test_gan_assets_are_small():
    files = sorted(ASSETS.glob("gan_*"))
    assert {f.name for f in files} >= {"gan_generator.pt", "gan_generator.json", "gan_snapshots.npz"}
    assert sum(f.stat().st_size for f in files) < 5_000_000  # the generator is stored as float16
    assert (ASSETS / recipe.SNAPSHOTS_FILE).stat().st_size < 500_000


def test_recipe_is_registered():
    from dl_core.train import parser

    args = parser().parse_args(["gan", "--steps", "10", "--judge", "course"])
    assert args.run is recipe.run and args.steps == 10
    assert replace(recipe.RECIPE, steps=args.steps).steps == 10
