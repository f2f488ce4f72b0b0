"""The QA harness: the case/verdict format, case generation, export and checking.

Looks down at :mod:`sim.rules` and :mod:`sim.fleet`.
"""
