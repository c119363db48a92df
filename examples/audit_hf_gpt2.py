"""Audit a Hugging Face GPT-2: what init each parameter has, and whether it is GPT-2's own.

    python examples/audit_hf_gpt2.py        # needs `pip install transformers`; no weights are downloaded

The model is built from a small config. Marks tell initlab where GPT-2's residual branches are (the
attention and the MLP of each block, whose last layer is ``c_proj``) and that ``c_attn`` packs q, k, v.
The audit then checks every parameter against the ``gpt2`` scheme (N(0, 0.02²), ``c_proj``
N(0, 0.02²/(2·n_layer))), and ``assert_init`` catches a model whose ``c_proj`` scaling was skipped,
the bug of transformers issue 47458.
"""

from __future__ import annotations

import torch
from transformers import GPT2Config, GPT2LMHeadModel

import initlab
from initlab.auditing import Audit
from initlab.models import mark_branches, mark_roles


def gpt2(layers: int = 2, width: int = 64) -> GPT2LMHeadModel:
    """A small GPT-2 with Hugging Face's own init, marked for initlab."""
    config = GPT2Config(
        n_layer=layers, n_embd=width, n_head=4, vocab_size=128, n_positions=32, bos_token_id=0, eos_token_id=0
    )
    model = GPT2LMHeadModel(config)
    mark_branches(model, "transformer.h.*.attn", last="c_proj", stack="decoder")
    mark_branches(model, "transformer.h.*.mlp", last="c_proj", stack="decoder")
    mark_roles(model, {"transformer.h.*.attn.c_attn": "qkv", "transformer.wte": "embedding"})
    return model


def main(layers: int = 2) -> tuple[Audit, str]:
    """Audit a fresh GPT-2, then one whose c_proj scaling is skipped; return the audit and the error."""
    torch.manual_seed(0)
    model = gpt2(layers)
    result = initlab.audit(model, "gpt2", inputs=torch.randint(128, (4, 16)))
    print(f"{'parameter':<36} {'role':<12} {'std':>7} {'expected':>8} {'ratio':>6}  ok")
    for row in result.rows:
        if row.name.endswith("weight") and not row.constant:
            std, expected = f"{row.std:7.4f}", f"{row.expected_std:8.4f}"
            print(f"{row.name:<36} {row.role:<12} {std} {expected} {row.ratio:6.2f}  {row.ok}")
    for finding in result.findings:
        print(f"{finding.kind}: {finding.message}")

    with torch.no_grad():  # transformers issue 47458: c_proj drawn at 0.02 like every other weight
        for block in model.transformer.h:
            block.attn.c_proj.weight.normal_(0.0, 0.02)
            block.mlp.c_proj.weight.normal_(0.0, 0.02)
    try:
        initlab.assert_init(model, "gpt2")
    except AssertionError as error:
        print(f"assert_init caught it: {error}")
        return result, str(error)
    return result, ""


if __name__ == "__main__":
    main()
