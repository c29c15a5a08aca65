"""Memory and work budgets checked before a command allocates or computes in proportion to its inputs.

A command that builds arrays whose size grows with its inputs (the dimension d, the width p,
sample counts, grid lengths) estimates the bytes it will hold at once and the floating-point
operations it will perform, and refuses in one line (:class:`~giantstep.errors.InputError`,
exit code 2) when the estimate exceeds the memory available on the machine or the work budget,
instead of dying later with ``MemoryError`` or running for days.

Only the standard library is imported here.

>>> format_bytes(3 * 2**30)
'3.0 GiB'
"""

from __future__ import annotations

import os

from giantstep.errors import InputError

__all__ = ["available_memory", "format_bytes", "check_memory", "check_work", "check_spectrum_budget", "WORK_BUDGET",
           "MEMORY_FRACTION"]

#: Fraction of the available memory one command may plan to use (the rest: Python, numba, BLAS).
MEMORY_FRACTION = 0.8
#: Largest number of floating-point operations a command starts without being asked to split
#: its work: about a day at 1e10 flop/s, the order of a two-core machine with BLAS.
WORK_BUDGET = 1e15
_FLOPS_PER_SECOND = 1e10


def available_memory() -> int:
    """Bytes of memory available to a new allocation (``MemAvailable`` of ``/proc/meminfo``).

    Falls back to the physical memory (``os.sysconf``) where ``/proc`` is absent, and to
    ``GIANTSTEP_MEMORY_LIMIT`` (bytes) when that variable is set (it caps either figure).
    """
    avail = None
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    avail = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        avail = None
    if avail is None:
        try:
            avail = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
        except (ValueError, OSError, AttributeError):
            avail = 1 << 34
    limit = os.environ.get("GIANTSTEP_MEMORY_LIMIT", "")
    if limit.strip().isdigit():
        avail = min(avail, int(limit))
    return int(avail)


def format_bytes(n: float) -> str:
    """``n`` bytes in binary units with one decimal (``'74.5 GiB'``)."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(value) < 1024 or unit == "EiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} EiB"  # pragma: no cover - unreachable


def check_memory(what: str, nbytes: float, hint: str = "") -> float:
    """Refuse (``InputError``, one line) if ``nbytes`` exceeds the usable available memory.

    Parameters
    ----------
    what : str
        What would be allocated, named by the options that set its size (``"simulate with
        d = 100000, p = 100000"``).
    nbytes : float
        Estimated peak bytes held at once.
    hint : str
        What to reduce, appended to the message.

    Returns
    -------
    float
        ``nbytes``, for chaining.
    """
    avail = available_memory()
    if not nbytes <= MEMORY_FRACTION * avail:  # also refuses a NaN/inf estimate
        raise InputError(f"{what} needs about {format_bytes(nbytes)} of memory, more than the "
                         f"{format_bytes(avail)} available" + (f"; {hint}" if hint else ""))
    return nbytes


def check_work(what: str, flops: float, hint: str = "", budget: float = WORK_BUDGET) -> float:
    """Refuse (``InputError``, one line) if ``flops`` floating-point operations exceed ``budget``.

    The message states the estimate and its running time at 1e10 flop/s.
    """
    if not flops <= budget:
        hours = flops / _FLOPS_PER_SECOND / 3600
        raise InputError(f"{what} needs about {flops:.1e} floating-point operations (≈ {hours:.3g} h "
                         f"at 1e10 flop/s), beyond the budget of {budget:.0e}"
                         + (f"; {hint}" if hint else ""))
    return flops


def check_spectrum_budget(spectrum: str, d: int | None, width_ratio: float, alpha0: float, draws: int,
                          steps: int = 1) -> None:
    """Refuse sampled spectra (``error --spectrum sampled|bulk``) that cannot fit or finish.

    A draw at dimension d holds the batch (``n0 × d``, ``n0 = α0 d``), the weights and their
    step (``p × d``, ``p = ψ d``, three copies), the Gram matrices and their eigenvectors
    (three ``p × p`` and one ``d × d``); it costs ``4 n0 d p`` for the step and ``10 p³`` for
    the eigendecompositions, per step and per draw.
    """
    if spectrum not in ("sampled", "bulk", "auto"):
        return
    if draws < 1:
        raise InputError(f"--spectrum-draws must be ≥ 1, got {draws}")
    if d is None:
        if spectrum == "auto":
            return
        d = 2000 if spectrum == "sampled" else 1000
    if d < 1:
        raise InputError(f"--d must be ≥ 1, got {d}")
    p = max(1.0, width_ratio * d)
    n0 = max(1.0, alpha0 * d)
    mem = 8.0 * (n0 * d + 3.0 * p * d + 3.0 * p * p + 1.0 * d * d)
    check_memory(f"a sampled spectrum at d = {d} (p = {p:.0f}, n0 = {n0:.0f})", mem, "reduce --d")
    flops = draws * steps * (4.0 * n0 * d * p + 10.0 * p**3)
    check_work(f"{draws} sampled spectra at d = {d}", flops, "reduce --d or --spectrum-draws")
