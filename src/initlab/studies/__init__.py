"""Named studies: the seed documents' claims reproduced from one command, with verdicts and a report."""

from initlab.studies import bias_scale, residual_zero, zero_symmetry  # noqa: F401  (register the studies)
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
