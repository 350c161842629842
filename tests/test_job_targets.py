"""The generator functions worker processes run (dl_core.jobs): what they yield, and a trained CNN that
comes back as a state dict rebuilds into the very same model."""
from __future__ import annotations

import numpy as np
import torch

from dl_core import jobs


def test_cnn_training_hands_back_weights_that_rebuild_the_model(mnist_dir, mnist_test, one_thread):
    from dl_core.cnn_train import BatchEvent, EpochEvent, evaluate
    from ui.cnn_training import trained_model

    cfg = dict(epochs=1, batch_size=64, lr=0.002, optimizer="adam", momentum=0.0, seed=3, max_train=1024)
    events = list(jobs.cnn_training("course", cfg, str(mnist_dir), "cpu", report_every=4))
    batches = [e for e in events if isinstance(e, BatchEvent)]
    (epoch,) = [e for e in events if isinstance(e, EpochEvent)]
    (weights,) = [e for e in events if isinstance(e, jobs.Weights)]
    assert len(batches) == 16 // 4 and batches[-1].batch == 16  # 1024 / 64 batches, a report every 4
    assert weights.epoch == 1 and weights.config["arch"] == "course"
    assert all(isinstance(v, np.ndarray) for v in weights.state.values())  # plain arrays, no pickled module
    model = trained_model(weights)
    loss, correct = evaluate(model, mnist_test, torch.device("cpu"))
    assert correct == epoch.correct and abs(loss - epoch.test_loss) < 1e-4
    assert correct > 0.3 * len(mnist_test.labels)  # 16 steps on 1,024 images: far above chance (10%)


def test_rnn_race_yields_the_race_events(one_thread):
    from dl_core.rnn_train import RaceEvent, RaceTick

    events = list(jobs.rnn_race(distance=3, steps=20, eval_every=10))
    races = [e for e in events if isinstance(e, RaceEvent)]
    assert {e.cell for e in races} == {"rnn", "gru", "lstm"} and {e.step for e in races} == {10, 20}
    assert any(isinstance(e, RaceTick) for e in events)


def test_diffusion_sampling_frames_end_clean(one_thread):
    events = list(jobs.diffusion_sampling("pixel", digit=3, n=3, seed=0, guidance=2.0, method="ddim", steps=10))
    frames, done = events[:-1], events[-1]
    assert isinstance(done, jobs.SamplingDone) and done.seconds > 0
    assert [f.t for f in frames][0] == 1000 and frames[-1].t == 0 and len(frames) == 11
    assert frames[-1].grids.shape == (3, 28, 3 * 29 - 1) and frames[-1].grids.dtype == np.uint8
    assert frames[0].grids[0].std() > frames[-1].grids[0].std() * 0.5  # x_T is noise everywhere
    assert jobs.tile(np.ones((5, 2, 2)), 2).shape == (3 * 3 - 1, 2 * 3 - 1)
