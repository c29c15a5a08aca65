"""Sweeps of simulations over grid points and seeds, streamed to a JSON-lines file.

* Execution: local processes by default (:class:`concurrent.futures.ProcessPoolExecutor`,
  ``spawn`` start method, BLAS threads shared out between the workers), in-process with
  ``workers=1``, or on a Dask distributed cluster with ``scheduler=ADDRESS`` (or a
  ``dask.distributed.Client`` / ``LocalCluster`` object).
* Streaming: each point is appended to the output journal (:mod:`.journal`: one JSON
  object per line, flushed, under a file lock) as soon as it finishes, so a killed sweep
  loses nothing; killing the parent process also ends its worker processes.
* Resume: ``resume=True`` reads the journal, trusts its valid finite records of points of
  this sweep, and only runs the others; records of other sweeps stay in the file. At the
  end this sweep's records are rewritten in the canonical order of its points, with every
  float rounded to 12 significant digits and no timings, so a killed-and-resumed sweep
  yields byte for byte the same file as an uninterrupted one, whatever the completion order.
* A point whose result is not finite (an overflow) is never recorded: the sweep raises
  :class:`~giantstep.errors.NumericalError` naming it.
* Progress: a tqdm bar on stderr.

A record is ``{"key": <canonical JSON of the config>, "config": {...}, "result": {...}}``
where ``result`` is :meth:`SimulationResult.to_dict` without ``timings`` (or the
output of a custom ``summarize`` function).
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from contextlib import contextmanager
from typing import Any

from giantstep.errors import InputError, NumericalError
from giantstep.jsonable import to_jsonable

from .journal import Journal, is_finite_record
from .simulator import SimulationConfig, simulate

SIGNIFICANT_DIGITS = 12
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def canonical(obj: Any) -> Any:
    """Round floats to 12 significant digits, recursively (numpy values converted)."""
    return to_jsonable(obj, SIGNIFICANT_DIGITS)


def point_key(config: dict) -> str:
    """Canonical identifier of a point: sorted-key JSON of its (normalised) config."""
    return json.dumps(canonical(config), sort_keys=True, separators=(",", ":"))


def _normalise(config: SimulationConfig | dict) -> dict:
    if isinstance(config, SimulationConfig):
        return config.to_dict()
    return SimulationConfig.from_dict(dict(config)).to_dict()


def run_point(config: dict, summarize: Callable[[Any], dict] | None = None,
              simulate_kw: dict | None = None) -> dict:
    """Simulate one point and return its JSON record (module-level: picklable).

    ``simulate_kw`` is passed to :func:`simulate` (``client``, ``parts``: one run over a cluster).
    """
    res = simulate(SimulationConfig.from_dict(config), **(simulate_kw or {}))
    if summarize is not None:
        result = summarize(res)
    else:
        result = res.to_dict()
        result.pop("timings", None)
        result.pop("config", None)
    return {"key": point_key(config), "config": canonical(config), "result": canonical(result)}


def read_records(path: str) -> dict[str, dict]:
    """Complete, valid, finite records of a journal by key (see :mod:`.journal`; skipped lines warned)."""
    from .journal import read_records as _read

    return _read(path)


@contextmanager
def _thread_env(threads: int):
    old = {k: os.environ.get(k) for k in _THREAD_VARS}
    for k in _THREAD_VARS:
        os.environ[k] = str(threads)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stop_with_parent(parent_pid: int) -> None:
    """Worker initializer: end this worker when the parent process dies (even by ``kill -9``).

    Linux: the kernel sends SIGTERM at the parent's death (``prctl(PR_SET_PDEATHSIG)``); every
    platform: a daemon thread checks once a second that the parent is still the parent.
    """
    import signal
    import threading
    import time

    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG = 1
    except (OSError, AttributeError):
        pass

    def watch() -> None:
        while True:
            if os.getppid() != parent_pid:
                os._exit(1)
            time.sleep(1.0)

    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=watch, daemon=True, name="giantstep-parent-watch").start()


def execute(
    fn: Callable[..., Any],
    items: list[Any],
    *,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    desc: str = "points",
    extra: tuple = (),
) -> Iterator[tuple[int, Any]]:
    """Run ``fn(item, *extra)`` for every item; yield ``(index, result)`` as they finish.

    ``scheduler``: None → local processes (``workers`` of them; 1 → in this process);
    a string → address of a Dask scheduler; a Dask ``Client`` or cluster object → used
    directly.
    """
    from tqdm import tqdm

    bar = tqdm(total=len(items), desc=desc, file=sys.stderr, disable=not progress, leave=False)
    try:
        if not items:
            return
        if scheduler is not None:
            yield from _execute_dask(fn, items, scheduler, bar, extra)
            return
        cpus = os.cpu_count() or 1
        if workers is None:
            workers = min(cpus, len(items))
        if workers < 1:
            raise InputError(f"workers must be ≥ 1, got {workers}")
        if workers == 1 or len(items) == 1:
            for i, item in enumerate(items):
                yield i, fn(item, *extra)
                bar.update()
            return
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        with _thread_env(max(1, cpus // workers)), ProcessPoolExecutor(
                workers, mp_context=ctx, initializer=_stop_with_parent, initargs=(os.getpid(),)) as ex:
            pending = {ex.submit(fn, item, *extra): i for i, item in enumerate(items)}
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for fut in done:
                        i = pending.pop(fut)
                        yield i, fut.result()
                        bar.update()
            finally:
                for fut in pending:
                    fut.cancel()
    finally:
        bar.close()


def _execute_dask(fn, items, scheduler, bar, extra) -> Iterator[tuple[int, Any]]:
    from dask.distributed import as_completed

    from .distributed import connect

    client, own = connect(scheduler)
    try:
        futures = [client.submit(fn, item, *extra, pure=False) for item in items]
        index = {f.key: i for i, f in enumerate(futures)}
        for fut in as_completed(futures):
            i = index[fut.key]
            yield i, fut.result()
            bar.update()
    finally:
        if own:
            client.close()


def run_sweep(
    configs: Iterable[SimulationConfig | dict],
    out: str | None = None,
    *,
    resume: bool = False,
    workers: int | None = None,
    scheduler: Any = None,
    progress: bool = True,
    summarize: Callable[[Any], dict] | None = None,
    split: int | None = None,
    overwrite: bool = False,
) -> list[dict]:
    """Simulate every configuration; stream records to ``out``; return them in order.

    Parameters
    ----------
    configs : iterable of SimulationConfig or dict
        The points (each with its own seed). Duplicates are run once.
    out : str, optional
        JSON-lines journal (:mod:`.journal`: append-only, locked, checked on read). An
        existing non-empty journal needs ``resume`` or ``overwrite``.
    resume : bool
        Skip the points already in ``out``; every other record of the file is kept.
    workers : int, optional
        Local worker processes (default: one per core, at most one per point).
    scheduler : str or dask Client/cluster, optional
        Run on Dask instead of local processes.
    progress : bool
        tqdm progress bar on stderr.
    summarize : callable, optional
        ``summarize(SimulationResult) -> dict`` stored instead of the full result
        (must be picklable: a module-level function).
    split : int, optional
        Run the points one after the other in this process, each one's passes over a
        batch cut into ``split`` row ranges computed on the ``scheduler``'s workers
        (:mod:`.distributed`; in this process if no scheduler): one simulation across
        many workers, with the numbers of ``simulate(cfg, parts=split)``.
    overwrite : bool
        Replace an existing ``out`` (its records are deleted).

    Returns
    -------
    list of dict
        The records, in the order of ``configs``.
    """
    normalised = [_normalise(c) for c in configs]
    keys = [point_key(c) for c in normalised]
    order: dict[str, int] = {}
    for k in keys:
        order.setdefault(k, len(order))
    unique = [normalised[keys.index(k)] for k in order]
    journal = Journal(out, resume=resume, overwrite=overwrite) if out is not None else None
    done: dict[str, dict] = {}
    if journal is not None and resume:
        done = {k: v for k, v in journal.read().items() if k in order}
    todo = [c for c, k in zip(unique, order) if k not in done]
    extra: tuple = (summarize,)
    if split is not None:
        from .distributed import DaskMapper

        mapper = DaskMapper(scheduler, progress=progress) if scheduler is not None else None
        extra, workers, scheduler = (summarize, {"client": mapper, "parts": split}), 1, None
    else:
        mapper = None
    failed: list[dict] = []
    try:
        for _, rec in execute(run_point, todo, workers=workers, scheduler=scheduler,
                              progress=progress, desc="simulations", extra=extra):
            if not is_finite_record(rec["result"]):
                failed.append(rec["config"])
                continue
            done[rec["key"]] = rec
            if journal is not None:
                journal.append(rec)
    finally:
        if mapper is not None:
            mapper.close()
    records = [done[k] for k in order if k in done]
    if journal is not None and len(records) == len(order):
        journal.finalize(records)
    if failed:
        c = failed[0]
        raise NumericalError(f"{len(failed)} of {len(order)} simulations gave non-finite values (overflow), "
                             f"e.g. d={c.get('d')}, alpha={c.get('alpha')}, eta={c.get('eta')}, "
                             f"seed={c.get('seed')}; they were not recorded (try a smaller eta or "
                             "a bounded activation)")
    return records


def grid(base: dict, seeds: Iterable[int] = (0,), **axes: Iterable[Any]) -> list[dict]:
    """Cartesian product of parameter axes × seeds on top of ``base`` (a config dict)."""
    import itertools

    names = list(axes)
    out = []
    for values in itertools.product(*(list(axes[n]) for n in names)):
        for seed in seeds:
            cfg = dict(base)
            cfg.update(zip(names, values))
            cfg["seed"] = int(seed)
            out.append(cfg)
    return out
