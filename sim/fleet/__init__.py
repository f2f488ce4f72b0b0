"""The fleet simulator: scenarios, population, random streams, clock, engine, records, runner.

Looks down at :mod:`sim.rules` only.
"""
