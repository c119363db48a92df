"""``residual-zero``: why do Fixup and ``zero_module`` not suffer from the symmetry of zero init?

The question (Cross Validated 582809): zero init is bad because identical units get identical
updates, yet Fixup (Zhang, Dauphin & Ma 2019, arXiv 1901.09321) and improved-diffusion's
``zero_module`` zero the last layer of every residual branch (Fixup the classifier too), and they
train. Its one answer says that conv locality breaks the symmetry across channels ("different neurons
get different input data") and that x + f(x) keeps the asymmetry of the input.

What this study measures, with the ``symmetry`` probe (at steps 0, 1, 2 and at the end of every epoch)
and the ``update-order`` probe attached through the run config:

- resnet-20 without normalization from all-zero init (``zeros``), ``zero-last-layer`` (``zero_module``
  on each branch's last conv), ``fixup`` (on Fixup's structure, ``fixup=True``), ``rezero``,
  ``skipinit`` and ``pytorch-default``; with BatchNorm, ``zero-last-norm`` (zero-γ) and
  ``pytorch-default``. Adam 1e-3, batch 128, as in the seed study (c-schicho/ZeroInitializationSymmetry).
- the constant-init conv case: the seed study's MNIST CNN with every weight 0.01 (``constant``), its
  default-initialized twin, and the same pair for the MNIST FNN.

**Shortcuts: option B.** Every ResNet here uses projection shortcuts (``shortcut="conv"``, a strided 1×1
conv) where the shape changes. With option A (zero-padded channels, Fixup's CIFAR reference), a
downsampling block's appended channels get shortcut 0 and, under ``zero-last-layer`` or
``zero-last-norm``, branch 0: their pre-activation is exactly 0, ReLU'(0) = 0, and they stay dead for
good (resnet-20: at least 16 of 32 channels of stage 2 and 48 of 64 of stage 3), while ``fixup``,
``rezero`` and ``skipinit`` revive them through a scalar. That artefact of the shortcut would hit only
some schemes and blur the comparison of their symmetry; option B gives every scheme the same network.

**Data.** The quick preset trains on scikit-learn's 8×8 digits (real handwritten digits; 1,137 training
images, 20 epochs) and runs the constant-init nets on 6,000 MNIST images for one epoch. The full preset
trains resnet-20 on Fashion-MNIST (1×28×28; 15 epochs, 5 seeds), on CIFAR-10 too when it is available
(30 epochs, random crop and flip, standardized inputs), and the constant-init nets on MNIST for the
seed study's 15 (CNN) and 10 (FNN) epochs.

The package, one job per module: :mod:`.grid` (the presets' sweeps), :mod:`.facts` (what the stored
probe rows and metrics say per condition, over every recorded step), :mod:`.claims` (the verdicts),
:mod:`.text` (the prose, chosen from the verdicts and facts), :mod:`.tables`, :mod:`.analysis` (the
report's sections).
"""

from initlab.studies.base import Study, register_study
from initlab.studies.residual_zero.analysis import analyze
from initlab.studies.residual_zero.facts import layers_of
from initlab.studies.residual_zero.grid import RESNET_SCHEMES, Part, sweeps

STUDY = register_study(
    Study(
        name="residual-zero",
        title="Why Fixup and zero_module do not suffer from the symmetry of zero init",
        question="Zeroing each residual branch's last layer (Fixup, zero_module, zero-γ, ReZero, SkipInit) "
        "leaves no permanent symmetry while all-zero and constant init do, conv locality notwithstanding?",
        sweeps=sweeps,
        analyze=analyze,
    )
)

__all__ = ["RESNET_SCHEMES", "STUDY", "Part", "analyze", "layers_of", "sweeps"]
