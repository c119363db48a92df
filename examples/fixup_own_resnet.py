"""Fixup on your own ResNet, and what the symmetry probe sees in its zeroed layers.

    python examples/fixup_own_resnet.py

``MyResNet`` is a user's model, not built by initlab: its blocks compute relu(x + conv2(relu(conv1(x)))).
``mark_branches`` tells initlab where the branches are (every block; its last conv is the branch's
last layer), and Fixup (Zhang, Dauphin & Ma 2019) zeroes each branch's last conv and the classifier,
scaling the other branch convs by L^(−1/(2m−2)). Every unit of a zeroed conv then starts identical to
every other; the symmetry probe says whether gradient descent can ever separate them (it can: their
outgoing weights differ), and after a few SGD steps they are all distinct.
"""

from __future__ import annotations

import torch
from torch import nn

from initlab import apply_init
from initlab.models import mark_branches
from initlab.probes import SymmetryProbe


class Block(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.conv2(torch.relu(self.conv1(x))))


class MyResNet(nn.Module):
    def __init__(self, channels: int = 8, blocks: int = 3, classes: int = 10):
        super().__init__()
        self.stem = nn.Conv2d(1, channels, 3, padding=1)
        self.blocks = nn.Sequential(*[Block(channels) for _ in range(blocks)])
        self.fc = nn.Linear(channels, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.blocks(torch.relu(self.stem(x))).mean((2, 3)))


def main(steps: int = 3) -> tuple[dict, dict]:
    """Fixup, then the symmetry verdicts of the zeroed convs at init and after ``steps`` SGD steps."""
    torch.manual_seed(0)
    model = MyResNet()
    print("marked branches:", mark_branches(model, "blocks.*"))
    apply_init(model, "fixup", torch.Generator().manual_seed(0), strict=False)  # no scalar biases here
    x, y = torch.rand(32, 1, 8, 8), torch.randint(10, (32,))
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    probe = SymmetryProbe(rank=False).attach(model, inputs=x, optimizer=optimizer)
    probe.record(0)
    at_init = {name: v for name, v in probe.verdicts.items() if name.endswith("conv2")}
    for name, verdict in at_init.items():
        print(f"step 0  {name}: {verdict.distinct}/{verdict.units} distinct units; {verdict.reason}")
    for _ in range(steps):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()
    probe.record(steps)
    after = {name: v for name, v in probe.verdicts.items() if name.endswith("conv2")}
    for name, verdict in after.items():
        print(f"step {steps}  {name}: {verdict.distinct}/{verdict.units} distinct units")
    probe.detach()
    return at_init, after


if __name__ == "__main__":
    main()
