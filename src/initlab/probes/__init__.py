"""Instruments that watch a model or a run: symmetry, update order, gradient distributions, signal
propagation, Jacobian spectra, gradient norms through depth, output change (Admin's amplification)
and muP's coordinate check.

Each probe is a small class with ``attach(model, inputs=, optimizer=)``, ``record(step)`` and
``detach()``, usable on any ``nn.Module``; each is also an :class:`initlab.callbacks.Callback`, so
``train(config, callbacks=[probe])`` runs it, and ``RunConfig(probes={"symmetry": {"every": 10}})``
attaches it by name (see :data:`PROBES`). Rows are tidy :class:`initlab.records.ProbeRow` tuples
(``probe.rows``; helpers in :mod:`initlab.probes.table`), written to the run's sink as they come.
"""

from initlab.probes import (  # noqa: F401  (register)
    coord,
    grad_dist,
    grad_profile,
    jacobian,
    output_change,
    samples,
    signal,
    symmetry,
    update_order,
)
from initlab.probes.base import Probe, Schedule
from initlab.probes.coord import CoordCheckProbe
from initlab.probes.grad_dist import GradDistProbe
from initlab.probes.grad_profile import GradProfileProbe
from initlab.probes.jacobian import JacobianProbe
from initlab.probes.output_change import OutputChangeProbe
from initlab.probes.registry import PROBES, build_probe, build_probes, register_probe
from initlab.probes.session import run_probes
from initlab.probes.signal import SignalProbe
from initlab.probes.symmetry import SymmetryProbe, Verdict
from initlab.probes.update_order import UpdateOrderProbe

__all__ = [
    "PROBES",
    "CoordCheckProbe",
    "GradDistProbe",
    "GradProfileProbe",
    "JacobianProbe",
    "OutputChangeProbe",
    "Probe",
    "Schedule",
    "SignalProbe",
    "SymmetryProbe",
    "UpdateOrderProbe",
    "Verdict",
    "build_probe",
    "build_probes",
    "register_probe",
    "run_probes",
]
