"""The one executor seam: every replication, sweep point and capacity probe runs here.

:func:`make_executor` turns the command line's ``--executor``/``--jobs`` into a
``concurrent.futures.Executor``: a process pool on this machine by default, or a Dask
cluster (``dask://HOST:PORT``, or ``dask://local`` for a LocalCluster) through
``distributed.Client(...).get_executor()`` for users who outgrow one machine (the
optional extra ``planshift[dask]``). :func:`run_tasks` submits tasks and returns their
results sorted by task key, never in completion order, so a result never depends on how
the work was split (STYLE 11).
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, TypeVar

__all__ = ["DASK_EXTRA", "ExecutorError", "default_jobs", "executor_scope", "make_executor",
           "run_tasks"]

DASK_EXTRA = "planshift[dask]"
# Imported once by the forkserver, so each worker process starts with them loaded.
PRELOAD = ("sim.fleet.runner", "sim.report.records", "sim.report.stats", "sim.batch.peak",
           "sim.batch.tasks")
T = TypeVar("T")
R = TypeVar("R")


class ExecutorError(ValueError):
    """A bad executor specification or a missing optional extra (exit status 2)."""


def default_jobs() -> int:
    """The number of worker processes when ``--jobs`` is not given: the machine's cores."""
    return os.cpu_count() or 1


def _dask_client(address: str, jobs: int | None) -> Any:
    try:
        import distributed
    except ImportError:
        raise ExecutorError(f"--executor dask://{address} needs the optional extra "
                            f"{DASK_EXTRA} (pip install '{DASK_EXTRA}' or pip install "
                            "distributed)") from None
    if address == "local":
        # Worker processes on this machine; one thread each, since a task holds the GIL.
        cluster = distributed.LocalCluster(n_workers=jobs or default_jobs(),
                                           threads_per_worker=1, processes=True,
                                           dashboard_address=":0")
        return distributed.Client(cluster)
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ExecutorError(f"--executor dask://{address}: expected dask://HOST:PORT or "
                            "dask://local")
    try:
        return distributed.Client(f"tcp://{address}", timeout="10s")
    except (OSError, ValueError) as error:  # ValueError: an address Dask cannot parse
        raise ExecutorError(f"--executor dask://{address}: cannot reach the Dask "
                            f"scheduler: {error}") from None


class _DaskExecutor(Executor):
    """``Client.get_executor()`` that also closes the client (and its LocalCluster)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.inner = client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        return self.inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait)
        cluster = getattr(self.client, "cluster", None)
        self.client.close()
        if cluster is not None:
            cluster.close()


def make_executor(spec: str | None = None, jobs: int | None = None) -> Executor:
    """An executor for `spec` (None/"process": a process pool of `jobs` workers).

    `jobs` defaults to the number of cores. The process pool starts its workers with
    ``forkserver`` (no fork of a process that holds Arrow or BLAS threads).
    """
    if jobs is not None and jobs < 1:
        raise ExecutorError(f"--jobs must be >= 1, got {jobs}")
    if spec in (None, "", "process"):
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(list(PRELOAD))
        return ProcessPoolExecutor(max_workers=jobs or default_jobs(), mp_context=context)
    if spec.startswith("dask://"):
        return _DaskExecutor(_dask_client(spec.removeprefix("dask://"), jobs))
    raise ExecutorError(f"--executor {spec!r}: expected 'process', dask://HOST:PORT or "
                        "dask://local")


@contextmanager
def executor_scope(executor: Executor | None, spec: str | None = None,
                   jobs: int | None = None) -> Iterator[Executor]:
    """Use `executor` as given (the caller shuts it down), or make one and shut it down."""
    if executor is not None:
        yield executor
        return
    made = make_executor(spec, jobs)
    try:
        yield made
    finally:
        made.shutdown(wait=True, cancel_futures=True)


def run_tasks(executor: Executor, function: Callable[[T], R], tasks: Iterable[T],
              key: Callable[[T], Any], done: Callable[[T, R], None] | None = None
              ) -> list[R]:
    """Run `function` on every task; results sorted by task key (not completion order).

    `done(task, result)` is called as each task finishes (in completion order), e.g. to
    store its result file at once so that an interrupted batch can resume.
    """
    ordered = sorted(tasks, key=key)
    futures = {executor.submit(function, task): index for index, task in enumerate(ordered)}
    results: list[Any] = [None] * len(ordered)
    try:
        for future in as_completed(futures):
            index = futures[future]
            results[index] = future.result()
            if done is not None:
                done(ordered[index], results[index])
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    return results
