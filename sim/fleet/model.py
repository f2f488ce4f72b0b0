"""The fleet model: the engine and its rooms put together (issue 3 part 3, issue 8 part 4).

:class:`FleetModel` is the engine (:mod:`sim.fleet.engine`: clock, workers, arrivals,
incidents) with the change-request process and automatic path
(:mod:`sim.fleet.request`), the manual path (:mod:`sim.fleet.manual`) and the ledger
(:mod:`sim.fleet.ledger`); remediations are the table of :mod:`sim.fleet.remediation`
and the invariants INV-01..07 are recomputed by the monitor (:mod:`sim.fleet.monitor`),
an observer like any other (:mod:`sim.fleet.observe`). The rules layer decides every
step; these modules only decide *when*.
"""

from __future__ import annotations

from .engine import FleetEngine, InvariantViolation
from .ledger import Ledger
from .manual import ManualChanges
from .request import ChangeRequests

__all__ = ["FleetModel", "InvariantViolation"]


class FleetModel(ChangeRequests, ManualChanges, Ledger, FleetEngine):
    """One simulated fleet over the scenario's horizon.

    ``FleetModel(scenario, catalog, population, recorder, digits, strict, observers)``;
    ``run(progress)`` runs it to the horizon.
    """
