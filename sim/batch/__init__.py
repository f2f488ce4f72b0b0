"""Many runs: replications, sweeps, capacity search, executors (issue 10).

Looks down at :mod:`sim.fleet` and :mod:`sim.report` (never the other way round).

- :mod:`.executor`: the one executor seam (process pool, or Dask with ``planshift[dask]``);
- :mod:`.tasks`: one scenario at one seed, run and summarised (a pure function of the task);
- :mod:`.replicate`: R derived seeds, ``rep-NNN/`` records and the aggregate summary.json;
- :mod:`.stats` and :mod:`.compare`: Student-t intervals, Welch's test, Holm's correction;
- :mod:`.sweep` and :mod:`.tables`: grids of variations, resumable, as one tidy table;
- :mod:`.capacity` and :mod:`.peak`: the capacity search and peak-period metrics;
- :mod:`.distributions`: re-exports :mod:`sim.fleet.distributions` (service-time
  distributions, which the fleet itself uses);
- :mod:`.render`: the report of a replication set.
"""
