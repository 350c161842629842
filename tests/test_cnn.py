"""dl_core.cnn and dl_core.cnn_train: architectures, tracing, the hand-written convolution, saliency,
checkpoints, the shipped weights and a short training run."""
from __future__ import annotations

import json
import pickle
import re
from dataclasses import asdict
from pathlib import Path

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from dl_core import cnn, data
from dl_core.cnn import CNNConfig
from dl_core.cnn_train import BatchEvent, EpochEvent, TrainConfig, augment, evaluate, train_steps

ASSETS = Path(__file__).resolve().parent.parent / "assets"
CPU = torch.device("cpu")
ARCHS = ["course", "default"]


def make_model(arch: str, seed: int = 0, dropout: float = 0.5) -> nn.Module:
    torch.manual_seed(seed)
    model = cnn.build(CNNConfig(arch=arch, dropout=dropout))
    # non-trivial batch-norm statistics, so eval mode really differs from the identity
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
    return model.eval()


def batch(n: int = 4, seed: int = 1) -> torch.Tensor:
    return torch.randn(n, 1, 28, 28, generator=torch.Generator().manual_seed(seed))


# ---------------------------------------------------------------- architecture
def test_course_cnn_layers():
    model = cnn.build(CNNConfig(arch="course"))
    assert isinstance(model, cnn.CourseCNN)
    assert cnn.count_params(model) == 21_840
    assert tuple(model.conv1.weight.shape) == (10, 1, 5, 5)
    assert tuple(model.conv2.weight.shape) == (20, 10, 5, 5)
    assert (model.fc1.in_features, model.fc1.out_features) == (320, 50)
    assert (model.fc2.in_features, model.fc2.out_features) == (50, 10)
    assert [name for name, _ in cnn.conv_layers(model)] == ["conv1", "conv2"]


def test_count_params_matches_manual_count():
    for arch in ARCHS:
        model = cnn.build(CNNConfig(arch=arch))
        assert cnn.count_params(model) == sum(p.numel() for p in model.state_dict().values()
                                              if p.dtype.is_floating_point) - sum(
            b.numel() for name, b in model.named_buffers() if b.dtype.is_floating_point)


def test_default_cnn_is_the_default():
    assert CNNConfig().arch == "default"
    assert isinstance(cnn.build(CNNConfig()), cnn.DefaultCNN)


# ---------------------------------------------------------------- trace
@pytest.mark.parametrize("arch", ARCHS)
def test_trace_matches_forward(arch):
    model = make_model(arch)
    x = batch()
    with torch.no_grad():
        stages = cnn.trace(model, x)
        logits = model(x)
    assert logits.shape == (4, 10)
    torch.testing.assert_close(stages[-1].out, logits)
    assert [s.name for s in stages] == [name for name, _, _ in model.stages()]
    assert sum(s.params for s in stages) == cnn.count_params(model)
    assert all(isinstance(s, cnn.Stage) and s.out.shape[0] == 4 for s in stages)


def test_trace_course_shapes():
    model = make_model("course")
    b = 3
    shapes = {s.name: tuple(s.out.shape) for s in cnn.trace(model, batch(b))}
    assert shapes["conv1"] == (b, 10, 24, 24)
    assert shapes["pool1"] == (b, 10, 12, 12)
    assert shapes["conv2"] == (b, 20, 8, 8)
    assert shapes["pool2"] == (b, 20, 4, 4)
    assert shapes["flatten"] == (b, 320)
    assert shapes["fc1"] == (b, 50)
    assert shapes["fc2"] == (b, 10)


def test_trace_course_stage_values():
    """Each stage is what its name says, checked against torch.nn.functional directly."""
    model = make_model("course")
    x = batch(2)
    by_name = {s.name: s for s in cnn.trace(model, x)}
    torch.testing.assert_close(by_name["conv1"].out, F.conv2d(x, model.conv1.weight, model.conv1.bias))
    torch.testing.assert_close(by_name["pool1"].out, F.max_pool2d(by_name["conv1"].out, 2))
    assert bool((by_name["relu1"].out >= 0).all())
    assert by_name["conv1"].params == 10 * 25 + 10 and by_name["fc1"].params == 320 * 50 + 50
    assert by_name["relu1"].params == by_name["pool1"].params == 0
    assert by_name["conv1"].kind == "conv" and by_name["fc2"].kind == "linear"


# ---------------------------------------------------------------- dropout and eval mode
@pytest.mark.parametrize("arch", ARCHS)
def test_eval_mode_is_deterministic(arch):
    model = make_model(arch)
    x = batch()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


def test_train_mode_dropout_is_random():
    model = make_model("course").train()
    x = batch()
    torch.manual_seed(5)
    with torch.no_grad():
        a, b = model(x), model(x)
    assert not torch.allclose(a, b)


def test_no_dropout_train_mode_is_deterministic():
    model = make_model("course", dropout=0.0).train()
    x = batch()
    with torch.no_grad():
        torch.testing.assert_close(model(x), model(x), rtol=0, atol=0)


# ---------------------------------------------------------------- conv2d by hand
HAND_KERNELS = [torch.tensor(k, dtype=torch.float32) for k in cnn.KERNELS.values()] + [
    torch.randn(5, 5, generator=torch.Generator().manual_seed(3)),
    torch.randn(1, 1, generator=torch.Generator().manual_seed(4)),
    torch.randn(2, 2, generator=torch.Generator().manual_seed(5)),
]


@pytest.mark.parametrize("k", range(len(HAND_KERNELS)))
def test_conv2d_by_hand_matches_torch(k):
    kernel = HAND_KERNELS[k]
    image = torch.rand(28, 28, generator=torch.Generator().manual_seed(k))
    for stride in (1, 2, 3):
        for padding in (0, 1, 2):
            got = cnn.conv2d_by_hand(image, kernel, stride=stride, padding=padding)
            ref = F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]
            n = cnn.output_size(28, kernel.shape[0], padding, stride)
            assert got.shape == ref.shape == (n, n), (stride, padding)
            torch.testing.assert_close(got, ref)


@pytest.mark.parametrize("w,f,p,s", [(28, 3, 0, 1), (28, 5, 2, 1), (28, 3, 1, 2), (7, 3, 0, 3), (10, 4, 1, 3)])
def test_output_size_formula(w, f, p, s):
    out = F.conv2d(torch.zeros(1, 1, w, w), torch.zeros(1, 1, f, f), stride=s, padding=p)
    assert cnn.output_size(w, f, p, s) == out.shape[-1]


@pytest.mark.parametrize("f,p", [(29, 0), (31, 1), (40, 2)])
def test_conv2d_by_hand_kernel_too_big(f, p):
    with pytest.raises(ValueError):
        cnn.conv2d_by_hand(torch.rand(28, 28), torch.ones(f, f), padding=p)


def test_conv2d_by_hand_kernel_just_fits():
    image = torch.rand(28, 28)
    out = cnn.conv2d_by_hand(image, torch.ones(30, 30), padding=1)
    assert out.shape == (1, 1)
    torch.testing.assert_close(out[0, 0], image.sum())


# ---------------------------------------------------------------- saliency
@pytest.mark.parametrize("arch", ARCHS)
def test_saliency_matches_jacobian(arch):
    model = make_model(arch)
    x = batch(1)
    jac = torch.autograd.functional.jacobian(lambda inp: model(inp)[0], x)  # (10, 1, 1, 28, 28)
    for target in (0, 3, 9):
        sal, t = cnn.saliency(model, x, target)
        assert t == target
        assert sal.shape == (28, 28)
        assert bool((sal >= 0).all())
        torch.testing.assert_close(sal, jac[target, 0, 0].abs())
    assert all(p.grad is None for p in model.parameters())  # no gradients left on the weights
    assert not x.requires_grad


def test_saliency_matches_autograd_and_default_target():
    model = make_model("course")
    x = batch(1, seed=7)
    with torch.no_grad():
        pred = int(model(x).argmax(1))
    sal, target = cnn.saliency(model, x)
    assert target == pred
    x2 = x.clone().requires_grad_(True)
    (grad,) = torch.autograd.grad(model(x2)[0, pred], x2)
    torch.testing.assert_close(sal, grad.abs()[0, 0])
    assert float(sal.sum()) > 0


# ---------------------------------------------------------------- save / load
@pytest.mark.parametrize("arch", ARCHS)
def test_save_load_round_trip(arch, tmp_path):
    model = make_model(arch, seed=3, dropout=0.25)
    path = tmp_path / "m.pt"
    cnn.save(model, path)
    loaded = cnn.load(path, CPU)
    assert type(loaded) is type(model)
    assert loaded.cfg == CNNConfig(arch=arch, dropout=0.25)
    assert not loaded.training
    x = batch()
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), model(x), rtol=0, atol=0)
    for (k1, v1), (k2, v2) in zip(model.state_dict().items(), loaded.state_dict().items()):
        assert k1 == k2 and torch.equal(v1, v2)


class NotAWeight:
    pass


def test_load_uses_weights_only(tmp_path, monkeypatch):
    model = make_model("course")
    path = tmp_path / "evil.pt"
    torch.save({"config": asdict(model.cfg), "state_dict": model.state_dict(), "extra": NotAWeight()}, path)
    with pytest.raises(pickle.UnpicklingError):
        cnn.load(path, CPU)
    seen = {}
    real_load = torch.load

    def spy(*args, **kwargs):
        seen.update(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    cnn.save(model, tmp_path / "ok.pt")
    cnn.load(tmp_path / "ok.pt", CPU)
    assert seen.get("weights_only") is True


# ---------------------------------------------------------------- analyse
@pytest.mark.parametrize("arch", ARCHS)
def test_analyse(arch):
    model = make_model(arch, seed=2)
    x = batch(1, seed=9)
    a = cnn.analyse(model, x)
    with torch.no_grad():
        logits = model(x)[0]
    assert a.probs.shape == (10,)
    torch.testing.assert_close(a.probs.sum(), torch.tensor(1.0))
    torch.testing.assert_close(a.probs, F.softmax(logits, 0))
    assert a.pred == int(a.probs.argmax()) == int(logits.argmax())
    torch.testing.assert_close(a.saliency, cnn.saliency(model, x, a.pred)[0])
    assert [s.name for s in a.stages] == [s.name for s in cnn.trace(model, x)]


# ---------------------------------------------------------------- the shipped weights
MIN_ACCURACY = {"default": 0.994, "course": 0.984}


@pytest.fixture(scope="module")
def shipped_results(mnist_test):
    """arch -> (test loss, accuracy) of assets/cnn_<arch>.pt on the real test set; evaluated once."""
    out = {}
    for arch in ARCHS:
        model = cnn.load(ASSETS / f"cnn_{arch}.pt", CPU)
        assert model.cfg.arch == arch
        loss, correct = evaluate(model, mnist_test, CPU)
        out[arch] = (loss, correct / len(mnist_test.labels))
    return out


def card(arch: str) -> dict:
    return json.loads((ASSETS / f"cnn_{arch}.json").read_text())


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_accuracy(arch, shipped_results):
    _, acc = shipped_results[arch]
    assert acc >= MIN_ACCURACY[arch], f"cnn_{arch}.pt: test accuracy {acc:.4f}"


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_card_matches_weights(arch, shipped_results):
    loss, acc = shipped_results[arch]
    c = card(arch)
    assert abs(c["test_accuracy"] - acc) <= 0.0005, f"card says {c['test_accuracy']}, weights give {acc:.4f}"
    assert abs(c.get("test_loss", float("nan")) - loss) <= 0.0005, f"card loss {c.get('test_loss')}, got {loss:.5f}"


@pytest.mark.parametrize("arch", ARCHS)
def test_shipped_card_describes_model(arch, mnist_dir):
    c = card(arch)
    model = cnn.load(ASSETS / f"cnn_{arch}.pt", CPU)
    assert c["parameters"] == cnn.count_params(model)
    assert c.get("config") == asdict(model.cfg)
    assert c.get("data", {}).get("sha256_of_decompressed_files") == data.checksum(mnist_dir)


# ---------------------------------------------------------------- training
SMOKE = TrainConfig(epochs=1, max_train=2000, batch_size=64, optimizer="adam", lr=0.002)
LINE = re.compile(r"Test set: Average loss: \d+\.\d{4}, Accuracy: \d+/1000 \(\d+\.\d{2}%\)")


@pytest.fixture(scope="module")
def small_test(mnist_test):
    return data.Split(mnist_test.images[:1000], mnist_test.labels[:1000])


def run_smoke(train, test):
    events = list(train_steps(CNNConfig(arch="course"), SMOKE, train, test, CPU, report_every=20))
    return events[0], events[1:]


@pytest.fixture(scope="module")
def smoke_run(mnist_train, small_test):
    return run_smoke(mnist_train, small_test)


def test_train_steps_smoke(smoke_run, small_test):
    model, events = smoke_run
    assert isinstance(model, cnn.CourseCNN)
    batches = [e for e in events if isinstance(e, BatchEvent)]
    epochs = [e for e in events if isinstance(e, EpochEvent)]
    assert len(epochs) == 1 and events[-1] is epochs[0]
    assert len(batches) == len(events) - 1
    assert [(b.epoch, b.batch, b.batches) for b in batches] == [(1, 20, 32), (1, 32, 32)]  # ceil(2000/64) = 32
    assert all(b.loss > 0 and 0 <= b.acc <= 1 and b.samples_per_s > 0 for b in batches)
    ev = epochs[0]
    assert ev.epoch == 1 and ev.total == 1000
    assert LINE.fullmatch(ev.line()), ev.line()
    assert ev.accuracy > 0.5
    assert f"{ev.correct}/1000 ({100 * ev.accuracy:.2f}%)" in ev.line()
    assert not model.training
    loss, correct = evaluate(model, small_test, CPU)  # the event reports the final model
    assert correct == ev.correct
    assert abs(loss - ev.test_loss) < 1e-5


def test_train_steps_is_seeded(smoke_run, mnist_train, small_test):
    m1, e1 = smoke_run
    m2, e2 = run_smoke(mnist_train, small_test)
    for (k, a), b in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert torch.equal(a, b), k
    assert e1[-1].correct == e2[-1].correct


def test_train_steps_stop_early(mnist_train, small_test):
    steps = train_steps(CNNConfig(arch="course"), SMOKE, mnist_train, small_test, CPU, report_every=5)
    model = next(steps)
    start = {k: v.clone() for k, v in model.state_dict().items()}
    first = next(steps)
    assert isinstance(first, BatchEvent) and first.batch == 5
    after = {k: v.clone() for k, v in model.state_dict().items()}
    assert any(not torch.equal(start[k], after[k]) for k in start)  # it did train
    steps.close()
    with pytest.raises(StopIteration):
        next(steps)
    assert all(torch.equal(after[k], v) for k, v in model.state_dict().items())  # and then stopped


def test_epoch_event_line_format():
    ev = EpochEvent(epoch=3, test_loss=0.0441, correct=9863, total=10000, seconds=1.0)
    assert ev.line() == "Test set: Average loss: 0.0441, Accuracy: 9863/10000 (98.63%)"
    assert ev.accuracy == 0.9863


# ---------------------------------------------------------------- augmentation
def blob_batch(n: int = 6) -> torch.Tensor:
    images = torch.zeros(n, 28, 28, dtype=torch.uint8)
    images[:, 12:16, 11:17] = 255
    return data.normalize(images)


def test_augment_shape_and_background():
    x = blob_batch()
    bg = float(x.amin())
    out = augment(x, torch.Generator().manual_seed(0))
    assert out.shape == x.shape and out.dtype == x.dtype
    # the blob can move at most ~6 px (rotation, 1.1x zoom, 2 px shift): the frame stays background
    frame = torch.ones(28, 28, dtype=torch.bool)
    frame[6:22, 6:22] = False
    torch.testing.assert_close(out[:, 0][:, frame], torch.full_like(out[:, 0][:, frame], bg))
    assert float(out.amin()) >= bg - 1e-5
    assert not torch.allclose(out, x)  # it does warp
    assert not torch.allclose(out[0], out[1])  # a different warp per image


def test_augment_blank_stays_blank():
    x = data.normalize(torch.zeros(3, 28, 28, dtype=torch.uint8))
    out = augment(x, torch.Generator().manual_seed(0))
    torch.testing.assert_close(out, x)


def test_augment_seeded(mnist_test):
    x = data.normalize(mnist_test.images[:16])
    a = augment(x, torch.Generator().manual_seed(42))
    b = augment(x, torch.Generator().manual_seed(42))
    c = augment(x, torch.Generator().manual_seed(43))
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert not torch.allclose(a, c)
    torch.testing.assert_close(a.amin(), x.amin())


@pytest.mark.parametrize("stride,padding", [(1, 0), (2, 1), (3, 2)])
def test_conv_window_products_sum_to_the_output_pixel(stride, padding):
    gen = torch.Generator().manual_seed(0)
    image, kernel = torch.rand(28, 28, generator=gen), torch.randn(3, 3, generator=gen)
    ref = F.conv2d(image[None, None], kernel[None, None], stride=stride, padding=padding)[0, 0]
    n = ref.shape[0]
    for index in range(n * n):
        w = cnn.conv_window(image, kernel, stride, padding, index)
        assert (w.row, w.col) == divmod(index, n)
        assert torch.allclose(w.products, w.patch * kernel)
        assert w.total == pytest.approx(float(ref[w.row, w.col]), abs=1e-5)
