"""Named studies: the seed documents' claims reproduced from one command, with verdicts and a report."""

from initlab.studies import (  # noqa: F401  (register the studies)
    bias_scale,
    rank_gap,
    residual_zero,
    signal_depth,
    transformer_depth,
    update_order,
    zero_module,
    zero_symmetry,
)
from initlab.studies.base import (
    PRESETS,
    STUDIES,
    Analysis,
    Preset,
    Study,
    StudyReport,
    StudyRuns,
    get_study,
    register_study,
    report_study,
    run_study,
)

__all__ = [
    "PRESETS",
    "STUDIES",
    "Analysis",
    "Preset",
    "Study",
    "StudyReport",
    "StudyRuns",
    "get_study",
    "register_study",
    "report_study",
    "run_study",
]
