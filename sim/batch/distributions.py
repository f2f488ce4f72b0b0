"""Service-time distributions: moved to :mod:`sim.fleet.distributions` (the scenario uses
them, and the fleet cannot import the batch layer); re-exported here for batch code."""

from ..fleet.distributions import (
    DISTRIBUTIONS,
    Deterministic,
    Distribution,
    DistributionError,
    Duration,
    Empirical,
    Exponential,
    Gamma,
    Lognormal,
    distribution_to_dict,
    parse_distribution,
)

__all__ = ["DISTRIBUTIONS", "Deterministic", "Distribution", "DistributionError", "Duration",
           "Empirical", "Exponential", "Gamma", "Lognormal", "distribution_to_dict",
           "parse_distribution"]
