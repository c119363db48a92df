"""Language-model runs on shakespeare-char: bpc, steps and evaluation points, reproducibility,
learning below the unigram entropy, divergence, and the image-only options refused."""

from __future__ import annotations

import math
from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.errors import ConfigError
from initlab.models import build_model
from initlab.tasks import LanguageModel
from initlab.train import prepare_run, train
from initlab.train.batched import train_batched
from initlab.train.optim import lr_factor, total_steps
from initlab.train.seeding import generator
from initlab.train.setup import init_batch

TINY = {"kind": "decoder", "depth": 1, "width": 32, "heads": 2}


@pytest.fixture(autouse=True)
def one_thread() -> Iterator[None]:
    """Tiny models run ~8× faster on one thread of a loaded 2-core machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def lm_config(**changes: object) -> RunConfig:
    fields = {
        "dataset": "shakespeare-char", "dataset_params": {"context": 32, "eval_windows": 64},
        "model": "transformer", "model_params": TINY, "batch_size": 32, "lr": 1e-2, "device": "cpu",
    }  # fmt: skip
    return RunConfig(**(fields | changes))


def test_bpc_is_the_mean_token_cross_entropy_over_ln2() -> None:
    data = load_dataset("shakespeare-char", "val", context=16, eval_windows=10)
    torch.manual_seed(0)
    model = build_model("transformer", input_shape=(16,), num_classes=84, **TINY)
    metrics = LanguageModel(lm_config()).evaluate(model, data, batch_size=4)
    nll = []  # every position of every fixed window, scored one window at a time
    with torch.no_grad():
        for start in data.eval_starts.tolist():
            window = data.tokens[start : start + 17]
            logits = model(window[None, :-1])[0]
            nll.append(-F.log_softmax(logits.double(), -1).gather(1, window[1:, None]).squeeze(1))
    loss = float(torch.cat(nll).mean())
    assert metrics["loss"] == pytest.approx(loss, rel=1e-5)
    assert metrics["bpc"] == metrics["loss"] / math.log(2)


def test_an_epoch_draws_its_windows_from_the_shuffle_generator() -> None:
    data = load_dataset("shakespeare-char", "val", context=32)
    task = LanguageModel(lm_config())
    batches = task.batches(data, 100, torch.Generator().manual_seed(5))
    assert len(batches) == task.steps_per_epoch(len(data), 100) == -(-(len(data.tokens) // 32) // 100)
    x, y = batches[1]
    again = torch.Generator().manual_seed(5)
    starts = torch.randint(0, data.max_start + 1, (len(data),), generator=again)[100:200]
    assert torch.equal(x, torch.stack([data.tokens[s : s + 32] for s in starts.tolist()]))
    assert torch.equal(y[:, :-1], x[:, 1:])  # targets are the inputs shifted by one


def test_a_tiny_lm_run_is_bitwise_reproducible_and_evaluates_every_n_steps() -> None:
    config = lm_config(max_steps=12, eval_every=5, log_every=4)
    first, second = train(config), train(config)
    assert first.status == "finished"
    assert [h["step"] for h in first.history] == [0, 5, 10, 12]
    assert [h["epoch"] for h in first.history] == [0, 1, 1, 1]
    untimed = [
        [{k: v for k, v in h.items() if "second" not in k} for h in r.history] for r in (first, second)
    ]
    assert untimed[0] == untimed[1]
    for a, b in zip(first.model.state_dict().values(), second.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    last = first.summary
    assert {"train_loss", "train_tokens_per_second", "val_loss", "val_bpc", "test_loss", "test_bpc"} <= set(
        last
    )
    assert last["train_tokens_per_second"] > 0 and "test_accuracy" not in last
    assert last["test_bpc"] == last["test_loss"] / math.log(2)


def test_new_step_fields_leave_existing_run_keys_as_they_were() -> None:
    # keys of these configs on main before max_steps and eval_every existed
    assert RunConfig().key() == "e3c2f2f3dfa2871e"
    assert RunConfig(dataset="digits", model="mlp", epochs=3).key() == "c7195aefd9477272"
    assert len({RunConfig().key(), RunConfig(max_steps=5).key(), RunConfig(eval_every=5).key()}) == 3


def test_a_tiny_decoder_learns_well_below_the_unigram_entropy() -> None:
    result = train(lm_config(max_steps=200, eval_every=100))
    tokens = load_dataset("shakespeare-char", "train", context=32).tokens
    p = torch.bincount(tokens, minlength=84).double() / len(tokens)
    unigram_bits = float(-(p[p > 0] * p[p > 0].log2()).sum())  # 4.80 bits: a model of letter frequencies
    start, middle, end = (h["val_bpc"] for h in result.history)
    print(f"unigram {unigram_bits:.3f} bits; val bpc {start:.3f} -> {middle:.3f} -> {end:.3f}")
    assert start > math.log2(84) - 0.5  # at init: about uniform over the vocabulary
    assert end < middle < unigram_bits - 0.6


def test_a_non_finite_loss_ends_the_run_as_diverged() -> None:
    huge = lm_config(
        init="normal", init_params={"std": 1e20}, model_params=TINY | {"norm": "none"}, max_steps=5
    )
    result = train(huge)
    assert result.status == "diverged" and result.diverged_step == 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"val_size": 100}, r"val_size=100 does not apply to dataset 'shakespeare-char' \(its validation"),
        ({"train_size": 100}, r"train_size=100 does not apply"),
        ({"normalize": True}, r"normalize=True does not apply .*token ids"),
        ({"augment": "crop-flip"}, r"augment='crop-flip' does not apply"),
    ],
)
def test_image_options_are_refused_for_a_corpus(change: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        prepare_run(lm_config(**change))


def test_the_batched_engine_refuses_a_language_model() -> None:
    with pytest.raises(ConfigError, match=r"trains classifiers only; this run's task is 'language-model'"):
        train_batched([lm_config(max_steps=1)])


def test_a_data_dependent_init_takes_windows_of_the_training_split() -> None:
    config = lm_config(init="lsuv", batch_size=8)
    setup = prepare_run(config)
    batch = init_batch(setup.config, setup.splits)
    assert batch is not None and batch.dtype == torch.int64 and batch.shape == (8, 32)
    starts = torch.randint(
        0, setup.splits.train.max_start + 1, (8,), generator=generator(config.seed, "init-data")
    )
    for row, start in zip(batch, starts.tolist(), strict=True):  # slices of the training stream
        assert torch.equal(row, setup.splits.train.tokens[start : start + 32])


def test_max_steps_ends_the_run_and_its_cosine_schedule() -> None:
    config = RunConfig(schedule="cosine", epochs=10, max_steps=8)
    assert total_steps(config, steps_per_epoch=5) == 8 and total_steps(RunConfig(epochs=2), 5) == 10
    assert total_steps(RunConfig(epochs=1, max_steps=8), 5) == 5  # epochs come first here
    factors = [lr_factor(config, step, 5) for step in range(9)]
    assert (
        factors[0] == 1.0 and factors[4] == pytest.approx(0.5) and factors[8] == pytest.approx(0.0, abs=1e-12)
    )
