"""One simulation across the workers of a Dask cluster.

:func:`giantstep.validation.simulate` with ``client=`` turns every pass over a
batch into tasks over block-aligned row ranges of the seed tree
(:meth:`~giantstep.validation.sampling.GaussianStream.partition`):

* step t: ``Σ_ν e_ν σ'(W x_ν) x_νᵀ`` and ``Σ e²`` (and, with preprocessing, the
  low-degree estimates of the labels) — each task regenerates its rows from
  ``(seed, STAGE_STEP, t, block)`` and returns a p × d partial sum;
* readout: the upper triangle of ``Σ φφᵀ``, ``Σ φ y``, ``Σ y²`` (p × p per task);
* test error: ``Σ (y − f)²`` (a number per task).

The client adds the partial sums in range order, so the result depends only on
``parts`` (never on which worker ran what, or when): bit-for-bit equal to the
in-process run ``simulate(cfg, parts=parts)``.

What travels per step: the weights W (p × d float64, ``8 p d`` bytes) once to
every worker (:meth:`distributed.Client.scatter` with ``broadcast=True``) and the
small arguments (configuration, row range, readout vector) per task; back,
``parts`` partial sums of ``8 p d`` bytes. The batch itself is never sent.

Failures: a task whose worker dies is re-run by the scheduler on another worker
(its inputs are pure functions of the seed and W), so the run resumes; a pass
that fails as a whole (a worker lost while W is being scattered, a connection
reset) is re-run, up to ``retries`` times; if the cluster cannot finish a task
(every retry failed, or the client lost the scheduler), :class:`DistributedError`
is raised — a partial sum is never returned.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

from giantstep.errors import GiantstepError, InputError

#: arrays at least this large are scattered once and shared by every task of a pass
SCATTER_BYTES = 1 << 16


class DistributedError(GiantstepError):
    """A distributed pass could not complete (worker lost beyond retries, scheduler gone)."""


class DaskMapper:
    """Map a partial-sum function over row ranges on a Dask cluster, results in order.

    Parameters
    ----------
    client : distributed.Client or str
        A client, or the address of a scheduler (``tcp://host:8786``).
    retries : int
        Times a task is re-run if its worker dies (Dask ``retries``).
    progress : bool
        A progress line with ETA on stderr for each pass.
    """

    def __init__(self, client: Any, *, retries: int = 2, progress: bool = False) -> None:
        self.client, self._own = connect(client)
        self.retries = int(retries)
        self.progress = progress
        self.bytes_sent = 0
        self.passes = 0

    def close(self) -> None:
        """Close the client if this mapper opened it (from an address or a cluster object)."""
        if self._own:
            self.client.close()

    def default_parts(self) -> int:
        """Four tasks per worker thread (balances uneven workers, bounds the reply sizes)."""
        threads = sum(self.client.nthreads().values()) or 1
        return 4 * threads

    def _shared(self, arglist: list[tuple]) -> list[tuple]:
        """Scatter each large array that every task shares (sent once per pass), keep the rest."""
        first = arglist[0]
        replaced: dict[int, Any] = {}
        for i, arg in enumerate(first):
            if (isinstance(arg, np.ndarray) and arg.nbytes >= SCATTER_BYTES
                    and all(a[i] is arg for a in arglist)):
                replaced[i] = self.client.scatter(arg, broadcast=True, hash=False)
                self.bytes_sent += arg.nbytes
        return [tuple(replaced.get(i, a) for i, a in enumerate(args)) for args in arglist]

    def __call__(self, fn: Callable, arglist: list[tuple]) -> list:
        """Run one pass; a pass whose cluster fails (a worker lost while W was being scattered,
        a connection reset) is re-run whole, up to ``retries`` times: its tasks are pure."""
        self.passes += 1
        for attempt in range(self.retries + 1):
            try:
                return self._run_pass(fn, arglist)
            except GiantstepError:
                raise
            except Exception as exc:  # noqa: BLE001 - any cluster failure: no partial sum
                if attempt == self.retries:
                    raise DistributedError(f"distributed pass {fn.__name__} failed after {self.retries} "
                                           f"retries: {type(exc).__name__}: {exc}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def _run_pass(self, fn: Callable, arglist: list[tuple]) -> list:
        from distributed import as_completed
        from tqdm import tqdm

        futures: list = []
        out: list = [None] * len(arglist)
        bar = tqdm(total=len(arglist), desc=fn.__name__.strip("_"), unit="task", file=sys.stderr,
                   disable=not self.progress, leave=False)
        try:
            jobs = self._shared(arglist)
            futures = [self.client.submit(fn, *args, pure=False, retries=self.retries) for args in jobs]
            index = {f.key: i for i, f in enumerate(futures)}
            for fut in as_completed(futures):
                out[index[fut.key]] = fut.result()
                bar.update()
        except BaseException:
            for f in futures:
                f.cancel()
            raise
        finally:
            bar.close()
        if any(r is None for r in out):  # pragma: no cover - as_completed yields every future
            raise DistributedError(f"distributed pass {fn.__name__} returned incomplete results")
        return out


def connect(scheduler: Any) -> tuple[Any, bool]:
    """``(client, opened_here)`` for a Dask ``Client``, a scheduler address or a cluster object.

    An unreachable address is one line of bad input (``InputError``) after a 10 s timeout.
    """
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover
        raise InputError("Dask runs need dask[distributed] (pip install giantstep[dask])") from exc
    if isinstance(scheduler, Client):
        return scheduler, False
    if isinstance(scheduler, str):
        try:
            return Client(scheduler, timeout="10s"), True
        except OSError as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r}: {exc}") from exc
    return Client(scheduler), True  # a cluster object


def as_mapper(client: Any) -> DaskMapper:
    """A :class:`DaskMapper` from a client, a scheduler address or a mapper."""
    return client if isinstance(client, DaskMapper) else DaskMapper(client)
