"""The denoise task: its batches, its fixed evaluation, its samples, and its refusals."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch

from initlab.config import RunConfig
from initlab.data import load_dataset
from initlab.errors import ConfigError
from initlab.models import build_model
from initlab.schemes import apply_init
from initlab.tasks import Denoise, task_for


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def config(seed: int = 0, **task_params: object) -> RunConfig:
    return RunConfig(
        dataset="digits", model="unet", seed=seed, task_params={"sample_count": 0, **task_params}
    )


def unet(seed: int = 0) -> torch.nn.Module:
    model = build_model("unet", input_shape=(1, 8, 8), model_channels=8)
    return apply_init(model, "pytorch-default", torch.Generator().manual_seed(seed))


def test_the_unet_names_the_task_and_batches_hold_noisy_images() -> None:
    data = load_dataset("digits", "train")
    task = task_for(config(), unet(), data)
    assert isinstance(task, Denoise)
    batches = task.batches(data, 500, torch.Generator().manual_seed(0))
    assert [len(eps) for _, eps in batches] == [500, 500, 437]
    (xt, t), eps = batches[0]
    assert t.dtype == torch.long and t.min() >= 0 and t.max() < 1000
    # x_t − √(1−ᾱ_t)·ε is √ᾱ_t·x_0 with x_0 in [−1, 1]
    abar = task.diffusion.alphas_cumprod[t].float().view(-1, 1, 1, 1)
    x0 = (xt - (1 - abar).sqrt() * eps) / abar.sqrt()
    assert x0.min() >= -1 - 1e-3 and x0.max() <= 1 + 1e-3
    assert (x0.amin((1, 2, 3)) < -0.99).float().mean() > 0.9  # the background of a digit: −1
    assert (eps.mean().abs() < 4 / 32_000**0.5) and abs(eps.std().item() - 1) < 0.02  # N(0, 1), 32k draws


def test_the_evaluation_is_the_same_for_every_run_seed() -> None:
    data = load_dataset("digits", "test")
    model = unet()
    first = Denoise(config(seed=0, eval_size=100)).evaluate(model, data, 64)
    other = Denoise(config(seed=7, eval_size=100)).evaluate(model, data, 64)
    assert first == other and set(first) == {"loss"}
    assert 0.2 < first["loss"] < 10  # an untrained net: its output is not the noise
    assert Denoise(config(eval_size=50)).evaluate(model, data, 64) != first  # fewer images, another mean
    # a run's training noise follows its seed
    train = load_dataset("digits", "train")
    a = Denoise(config(seed=0)).batches(train, 64, torch.Generator().manual_seed(0))[0]
    b = Denoise(config(seed=1)).batches(train, 64, torch.Generator().manual_seed(0))[0]
    assert not torch.equal(a[1], b[1])


def test_samples_are_reproducible_images() -> None:
    task, model = Denoise(config(sampling_steps=5)), unet()
    first = task.sample(model, (1, 8, 8), 6)
    assert first.shape == (6, 1, 8, 8) and first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, Denoise(config(seed=3, sampling_steps=5)).sample(model, (1, 8, 8), 6))
    assert torch.equal(first[:4], task.sample(model, (1, 8, 8), 4))  # the same noise, whatever the count


def test_bad_task_params_and_settings_are_refused() -> None:
    with pytest.raises(
        ConfigError, match=r"unknown parameter 'steps' for task 'denoise'; allowed: diffusion_steps"
    ):
        Denoise(RunConfig(task_params={"steps": 10}))
    with pytest.raises(ConfigError, match="augment='crop-flip'"):
        Denoise(RunConfig(augment="crop-flip"))


def test_task_params_stay_out_of_the_key_while_empty() -> None:
    # the keys these configs had before task_params existed (computed with the code before it)
    assert RunConfig().key() == "e3c2f2f3dfa2871e"
    assert RunConfig(dataset="digits", model="unet", task_params={}).key() == "cc831785d4f8b938"
    assert RunConfig().key() != RunConfig(task_params={"eval_size": 10}).key()
