"""Many runs: replications, sweeps, capacity search, executors.

Looks down at :mod:`sim.fleet` and :mod:`sim.report`.
"""
