"""Which numba kernels are compiled already (a first run says what it does).

Every kernel of the project is ``numba.njit(cache=True)``: the first call in a
fresh install compiles it and writes the machine code next to the source
(``__pycache__/*.nbi``/``*.nbc``, or under ``NUMBA_CACHE_DIR``); later processes
load it. :func:`announce_compilation` says so on stderr when a process really
compiles (numba's ``numba:compile`` event, a cache miss), instead of sitting
silent. :func:`cold_kernels`, used by ``giantstep warmup``, reads the cache index
of each kernel of the given modules — valid only if it matches the current
source file's stamp — and lists the kernels with no cached compilation; it
reads the index through numba's own loader, and if that internal API changes it
answers "unknown" (nothing listed) rather than fail.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable

#: Modules holding numba kernels of the numerics layer (``giantstep warmup`` adds validation's).
NUMERICS_KERNEL_MODULES = (
    "giantstep.numerics.special",
    "giantstep.numerics.gaussian",
    "giantstep.numerics.overlaps.smoothing",
    "giantstep.numerics.overlaps.kernel",
    "giantstep.numerics.test_error.solver.engine",
    "giantstep.numerics.amp_kernel",
)


def _dispatchers(module) -> list:
    """``(name, kernel)`` for the cached numba dispatchers defined in ``module``."""
    out = []
    for name, obj in vars(module).items():
        py_func = getattr(obj, "py_func", None)
        inlined = getattr(obj, "targetoptions", {}).get("inline") == "always"  # compiled into callers
        if hasattr(obj, "_cache") and not inlined and getattr(py_func, "__module__", None) == module.__name__:
            out.append((name, obj))
    return out


def _has_cached_overload(obj) -> bool | None:
    """True/False if numba's cache index for ``obj`` is readable, None if unknown."""
    try:
        cache_file = obj._cache._cache_file
        return bool(cache_file._load_index())
    except Exception:  # noqa: BLE001 - private numba API: unknown rather than wrong
        return None


def cold_kernels(modules: Iterable[str] = NUMERICS_KERNEL_MODULES) -> list[str]:
    """Names ``module.function`` of the kernels that have no cached compilation.

    Parameters
    ----------
    modules : iterable of str
        Importable module names holding cached numba kernels.
    """
    cold = []
    for modname in modules:
        module = importlib.import_module(modname)
        for name, obj in _dispatchers(module):
            if _has_cached_overload(obj) is False:
                cold.append(f"{modname.rsplit('.', 1)[-1]}.{name}")
    return cold


_NOTICE = None


def announce_compilation(stream=None):
    """From now on, say on ``stream`` (stderr) when this process compiles a kernel instead of loading it.

    Uses numba's ``numba:compile`` event, which fires only on a cache miss, so a
    warm cache prints nothing. Installed once per process; returns the listener,
    whose ``compiled`` lists the kernels compiled so far.
    """
    global _NOTICE
    if _NOTICE is not None:
        return _NOTICE
    from numba.core import event

    class CompileNotice(event.Listener):
        """One line at the first real compilation (cache miss) of the process.

        The stream is looked up when the line is printed (``sys.stderr`` of that moment:
        test runners and notebooks swap it), and a failing write never breaks the compile.
        """

        def __init__(self, out) -> None:
            self.out = out
            self.compiled: list[str] = []

        def on_start(self, ev) -> None:
            name = getattr(ev.data["dispatcher"], "__qualname__", "kernel")
            if not self.compiled:
                out = self.out or sys.stderr
                try:
                    print(f"giantstep: compiling numba kernels for first use (starting with {name}); this "
                          "happens once per install — `giantstep warmup` does it ahead of time", file=out)
                    out.flush()
                except (OSError, ValueError):  # a closed or broken stream: say nothing
                    pass
            self.compiled.append(name)

        def on_end(self, ev) -> None:
            pass

    _NOTICE = CompileNotice(stream)
    event.register("numba:compile", _NOTICE)
    return _NOTICE


_HEALING = False


def heal_corrupt_entries() -> None:
    """From now on, treat an unreadable numba cache entry as a cache miss (then rebuilt).

    numba trusts its on-disk cache: a truncated or corrupted ``.nbi`` index or ``.nbc`` data
    file makes every later call of the kernel fail (``UnpicklingError``, ``EOFError``, …)
    until the file is deleted by hand. This wraps numba's index reader and overload loader
    so that such a file counts as absent: the kernel is compiled again and the cache entry
    is rewritten (numba's own save path), healing the cache. Installed once per process.
    """
    global _HEALING
    if _HEALING:
        return
    from numba.core import caching

    load_index = caching.IndexDataCacheFile._load_index
    load_overload = caching.Cache.load_overload

    def _load_index(self):
        try:
            return load_index(self)
        except Exception:  # noqa: BLE001 - any unreadable index: start a fresh one
            return {}

    def _load_overload(self, sig, target_context):
        try:
            return load_overload(self, sig, target_context)
        except Exception:  # noqa: BLE001 - any unreadable entry: a cache miss, recompiled and saved
            return None

    caching.IndexDataCacheFile._load_index = _load_index
    caching.Cache.load_overload = _load_overload
    _HEALING = True
