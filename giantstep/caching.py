"""The one bounded in-memory cache of the library (ground floor: imports only the standard library).

Every layer (theory, numerics, validation) memoises expensive, deterministic results —
quadrature nodes, sampled spectra, trajectories — with a size bound so that a long sweep
cannot grow the process without limit. :class:`BoundedCache` is a least-recently-used
mapping with an explicit ``get_or_compute``; :func:`bounded_cache` is the decorator form
for functions of hashable arguments. Both can mark returned numpy arrays read-only, so a
caller cannot corrupt a shared cached value by writing into it.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")


def freeze(value: Any) -> Any:
    """Mark numpy arrays in ``value`` (an array, or a tuple / list of them) read-only; returns ``value``."""
    if hasattr(value, "setflags") and hasattr(value, "dtype"):
        value.setflags(write=False)
    elif isinstance(value, (tuple, list)):
        for item in value:
            freeze(item)
    return value


class BoundedCache:
    """Least-recently-used mapping holding at most ``maxsize`` entries (thread safe).

    Parameters
    ----------
    maxsize
        Number of entries kept; the least recently used one is dropped beyond it.
    readonly
        Freeze numpy arrays of stored values (:func:`freeze`).
    """

    def __init__(self, maxsize: int, *, readonly: bool = False) -> None:
        if maxsize < 1:
            raise ValueError(f"cache size must be ≥ 1, got {maxsize}")
        self.maxsize = int(maxsize)
        self.readonly = readonly
        self._data: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data

    def get(self, key: Hashable, default: Any = None) -> Any:
        """The cached value of ``key`` (marked most recently used), else ``default``."""
        with self._lock:
            if key in self._data:
                self._data.move_to_end(key)
                self.hits += 1
                return self._data[key]
        return default

    def put(self, key: Hashable, value: T) -> T:
        """Store ``value`` under ``key``, dropping the least recently used entry beyond ``maxsize``."""
        if self.readonly:
            freeze(value)
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)
        return value

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The cached value of ``key``, computing and storing ``compute()`` on a miss.

        A hit takes no lock (single dictionary operations are atomic under the GIL; an entry
        evicted by another thread in between is a miss).
        """
        try:
            value = self._data[key]
            self._data.move_to_end(key)
            self.hits += 1
            return value
        except KeyError:
            pass
        with self._lock:
            self.misses += 1
        return self.put(key, compute())

    def clear(self) -> None:
        """Drop every entry."""
        with self._lock:
            self._data.clear()


def bounded_cache(maxsize: int, *, readonly: bool = False) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorator: memoise a function of hashable arguments in a :class:`BoundedCache`.

    The wrapper exposes the cache as ``.cache`` and ``.cache_clear()``.
    """

    def decorate(fn: Callable[..., T]) -> Callable[..., T]:
        cache = BoundedCache(maxsize, readonly=readonly)

        @functools.wraps(fn)
        def wrapper(*args: Hashable, **kwargs: Hashable) -> T:
            key = (args, tuple(sorted(kwargs.items()))) if kwargs else args
            return cache.get_or_compute(key, lambda: fn(*args, **kwargs))

        wrapper.cache = cache  # type: ignore[attr-defined]
        wrapper.cache_clear = cache.clear  # type: ignore[attr-defined]
        return wrapper

    return decorate
