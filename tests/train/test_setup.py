"""The run setup every engine starts from: splits, normalisation, the init batch, the batch order."""

from __future__ import annotations

import pytest
import torch

from initlab.callbacks import Callback, TrainContext
from initlab.config import RunConfig
from initlab.errors import ConfigError
from initlab.probes import run_probes
from initlab.train import load_splits, prepare_run, train


def digits(**overrides: object) -> RunConfig:
    base = {"dataset": "digits", "model": "mlp", "model_params": {"depth": 3, "width": 16}, "batch_size": 64}
    return RunConfig(**(base | overrides))


def test_normalize_standardizes_every_split_with_the_train_splits_statistics() -> None:
    splits = load_splits(digits(normalize=True, seed=3))
    assert splits.stats is not None
    x = splits.train.x
    assert float(x.mean()) == pytest.approx(0.0, abs=1e-5) and float(x.std()) == pytest.approx(1.0, abs=1e-3)
    assert torch.equal(x, splits.inputs(splits.full.x[splits.train_idx]))
    mean, std = splits.stats
    assert torch.equal(splits.test.x, (splits.raw_test.x - mean) / std)
    assert torch.equal(splits.val.x, (splits.full.x[splits.val_idx] - mean) / std)
    plain = load_splits(digits(seed=3))
    assert plain.stats is None and torch.equal(plain.train.x, plain.full.x[plain.train_idx])


class Snapshot(Callback):
    """The model's parameters after optimizer step ``step``."""

    def __init__(self, step: int):
        self.step = step
        self.params: list[torch.Tensor] = []

    def on_step_end(self, ctx: TrainContext) -> None:
        if ctx.step == self.step:
            self.params = [p.detach().clone() for p in ctx.model.parameters()]


def test_the_probe_session_on_the_setup_takes_the_runs_first_steps() -> None:
    """What ``inspect --steps 30`` looks at is the run itself: same init (LSUV on the run's batch),
    normalized data, batches across an epoch boundary, optimizer and warm-up schedule, bit for bit."""
    config = digits(init="lsuv", normalize=True, epochs=2, warmup_steps=5, train_size=1000, seed=1)
    snapshot = Snapshot(step=29)  # 16 steps per epoch: into the second epoch
    train(config, callbacks=[snapshot])
    setup = prepare_run(config)
    model, train_set, _, _ = setup.place()
    optimizer, scheduler = setup.optimizer(model.parameters())
    with setup.dropout_stream():
        run_probes(model, [], setup.first_batches(train_set, 30), optimizer=optimizer, scheduler=scheduler)
    assert len(snapshot.params) == len(list(model.parameters()))
    for ran, inspected in zip(snapshot.params, model.parameters(), strict=True):
        assert torch.equal(ran, inspected)


def test_bad_names_are_refused_before_anything_is_loaded() -> None:
    with pytest.raises(ConfigError, match="unknown scheme 'lsvu'"):
        prepare_run(digits(init="lsvu"))


def test_what_a_scheme_leaves_is_the_runs_own_whatever_ran_before() -> None:
    """``xavier-uniform`` redraws the decoder's Linear layers, not its token and position embeddings:
    those are drawn when the model is built, from the run's seed, not from torch's global generator
    (which a sweep worker has advanced by every run before). Two runs of one config after different
    global draws are bitwise equal; the global generator is left as it was."""
    config = RunConfig(
        dataset="shakespeare-char",
        dataset_params={"context": 16, "eval_windows": 8},
        model="transformer",
        model_params={"kind": "decoder", "depth": 1, "width": 16, "heads": 2},
        init="xavier-uniform",
        batch_size=4,
        epochs=1,
        max_steps=3,
        device="cpu",
    )
    states = []
    for global_seed in (1, 2):
        torch.manual_seed(global_seed)
        model = prepare_run(config).model
        states.append({k: v.clone() for k, v in model.state_dict().items()})
        assert torch.equal(torch.random.get_rng_state(), torch.manual_seed(global_seed).get_state())
    assert states[0].keys() == states[1].keys()
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])  # embeddings included
    other = prepare_run(config.model_copy(update={"seed": 1})).model.state_dict()
    assert not torch.equal(other["embed.weight"], states[0]["embed.weight"])  # and they follow the seed
