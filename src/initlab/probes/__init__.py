"""Instruments that watch a model or a run: symmetry, update order, gradient distributions, signal
propagation and Jacobian spectra.

Each probe is a small class with ``attach(model, inputs=, optimizer=)``, ``record(step)`` and
``detach()``, usable on any ``nn.Module``; each is also an :class:`initlab.callbacks.Callback`, so
``train(config, callbacks=[probe])`` runs it, and ``RunConfig(probes={"symmetry": {"every": 10}})``
attaches it by name (see :data:`PROBES`). Rows are tidy :class:`initlab.records.ProbeRow` tuples
(``probe.rows``; helpers in :mod:`initlab.probes.table`), written to the run's sink as they come.
"""

from initlab.probes import grad_dist, jacobian, samples, signal, symmetry, update_order  # noqa: F401  (register)
from initlab.probes.base import Probe, Schedule
from initlab.probes.grad_dist import GradDistProbe
from initlab.probes.jacobian import JacobianProbe
from initlab.probes.registry import PROBES, build_probe, build_probes, register_probe
from initlab.probes.session import run_probes
from initlab.probes.signal import SignalProbe
from initlab.probes.symmetry import SymmetryProbe, Verdict
from initlab.probes.update_order import UpdateOrderProbe

__all__ = [
    "PROBES",
    "GradDistProbe",
    "JacobianProbe",
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
