"""``zero-module``: improved-diffusion's ``zero_module`` on a real diffusion U-Net.

Two seed documents ask how openai/improved-diffusion (Nichol & Dhariwal 2021, arXiv 2102.09672) can
zero the last conv of every ResBlock, each attention block's ``proj_out`` and the output conv without
the symmetry problem of zero init, and a forum answer says conv locality breaks the symmetry. This
study answers in the setting where it was asked: the ``unet`` model (GroupNorm, SiLU, dropout, a
timestep embedding, attention), the ``denoise`` task (DDPM ε-prediction), Adam, with the ``symmetry``
and ``update-order`` probes, the evaluation loss on fixed noisy test images and the Fréchet distance of
DDIM samples in the features of a classifier initlab trains itself.

The package, one job per module: :mod:`.grid` (the sweeps), :mod:`.facts` (what the store says per
condition), :mod:`.claims` (the verdicts), :mod:`.text` (the prose), :mod:`.figures`,
:mod:`.analysis` (the report's sections).
"""

from initlab.studies.base import Study, register_study
from initlab.studies.presets import Preset
from initlab.studies.zero_module.analysis import analyze
from initlab.studies.zero_module.grid import SETTINGS, sweeps
from initlab.train.features import ensure_feature_classifier


def prepare(preset: Preset) -> None:
    """Train the preset dataset's feature classifier once, before the sweep's workers start."""
    ensure_feature_classifier(SETTINGS[preset].dataset)


STUDY = register_study(
    Study(
        name="zero-module",
        title="The zero_module question on a diffusion U-Net",
        question="Does zeroing each ResBlock's last conv, each attention proj_out and the output conv "
        "(improved-diffusion's zero_module) leave a symmetry on a denoising U-Net, and does conv locality "
        "break it?",
        sweeps=sweeps,
        analyze=analyze,
        metric="test_loss",
        prepare=prepare,
    )
)

__all__ = ["STUDY", "analyze", "sweeps"]
