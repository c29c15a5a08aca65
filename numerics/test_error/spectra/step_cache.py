"""On-disk cache of the sampled several-step bulk inputs.

The default (bulk) mode of :func:`giantstep.numerics.multi_step_learning_curve` reads the
spike and the spectral inputs of the conditional Gaussian equivalence off ``spectrum_draws``
sampled real trajectories of T giant steps
(:func:`giantstep.numerics.test_error.tables.multi_index.sampled_bulk_geometries`: the steps of
:func:`giantstep.numerics.test_error.spectra.sampled_steps.sample_steps` and one p × p eigendecomposition
per step). That costs 10–160 s per call in a fresh process, while the result is a
deterministic function of its inputs. :func:`cached_step_geometries` keeps it on disk:

* one ``.npz`` file per trajectory, named by the SHA-256 of every input that changes the
  draw (student and teacher as canonical sympy text, ψ, α0, η̃, Δ, d, seed, T, the readout
  law of the sampled steps, :data:`~giantstep.numerics.test_error.spectra.sampled_steps.SAMPLER_VERSION`,
  the giantstep and numpy versions);
* directory ``$GIANTSTEP_CACHE_DIR`` if set, else ``~/.cache/giantstep``
  (subfolder ``bulk_steps``); ``GIANTSTEP_CACHE_DIR=""`` (empty) disables the disk cache;
* written atomically (temporary file in the same folder, then :func:`os.replace`), so a
  concurrent reader sees either no file or a complete one;
* a file that cannot be read, lacks an array, has the wrong shapes, non-finite values or
  a different key is ignored and re-sampled (and overwritten);
* float64 arrays are stored exactly: a cached call returns bit-identical inputs, hence
  bit-identical curves (tested).

On a miss the sampling runs with one OpenBLAS thread
(:func:`giantstep.numerics.test_error.spectra.sampled_steps.blas_threads`, ``$GIANTSTEP_SAMPLER_THREADS``):
on the shared 2-core machine the p × p eigendecompositions are 3–30× faster that way.

A read or write failure of the cache directory (read-only home, full disk) never fails
the computation: the inputs are then sampled as without a cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path

import numpy as np

from giantstep.theory import Activation, Target

CACHE_ENV = "GIANTSTEP_CACHE_DIR"
SUBDIR = "bulk_steps"
FIELDS = ("r", "gamma", "A", "c", "D", "F", "G", "H")
_MEMORY: dict[str, list[tuple]] = {}


def cache_dir() -> Path | None:
    """The cache folder: ``$GIANTSTEP_CACHE_DIR/bulk_steps`` or
    ``~/.cache/giantstep/bulk_steps``; None when the variable is set to the empty string."""
    env = os.environ.get(CACHE_ENV)
    if env is not None and env.strip() == "":
        return None
    root = Path(env).expanduser() if env is not None else Path.home() / ".cache" / "giantstep"
    return root / SUBDIR


def cache_inputs(student: Activation, target: Target, psi: float, alpha0: float, eta: float,
                 noise: float, d: int, seed: int, steps: int,
                 readout: str = "constant") -> dict:
    """Every input that changes the sampled trajectory, as a JSON-ready dict (the key)."""
    import giantstep
    from giantstep.numerics.test_error.spectra.sampled_steps import SAMPLER_VERSION

    return {
        "student": str(student.expr), "teacher": str(target.expr), "r": int(target.r),
        "psi": float(psi).hex(), "alpha0": float(alpha0).hex(), "eta": float(eta).hex(),
        "noise": float(noise).hex(), "d": int(d), "seed": int(seed), "steps": int(steps),
        "readout": str(readout), "sampler_version": int(SAMPLER_VERSION),
        "giantstep": str(giantstep.__version__), "numpy": np.__version__,
    }


def cache_key(inputs: dict) -> str:
    """SHA-256 (hex) of the canonical JSON of :func:`cache_inputs`."""
    text = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def _shapes_ok(geo: tuple, r: int) -> bool:
    rr, gamma, a, c, dd, ff, gg, hh = geo
    p = dd.shape[0] if dd.ndim == 1 else -1
    return (np.ndim(rr) == 0 and np.ndim(c) == 0 and gamma.shape == (r,) and a.shape == (r, r)
            and p > 0 and ff.shape == (p,) and gg.shape == (p, r) and hh.shape == (p, r, r)
            and all(np.all(np.isfinite(x)) for x in geo))


def load(path: Path, key: str, r: int, steps: int) -> list[tuple] | None:
    """The cached trajectory of ``path``, or None if it is missing, corrupt or foreign."""
    try:
        with np.load(path, allow_pickle=False) as z:
            if str(z["key"]) != key:
                return None
            seconds = float(z["seconds"])
            out = []
            for t in range(1, steps + 1):
                geo = tuple(np.array(z[f"t{t}_{name}"], dtype=np.float64) for name in FIELDS)
                if not _shapes_ok(geo, r):
                    return None
                out.append((float(geo[0]), geo[1], geo[2], float(geo[3]), *geo[4:], seconds))
            return out
    except Exception:  # noqa: BLE001 - any unreadable file is a cache miss
        return None


def save(path: Path, key: str, geos: list[tuple]) -> bool:
    """Write ``geos`` to ``path`` atomically; False (and nothing written) on failure."""
    arrays: dict[str, np.ndarray] = {"key": np.array(key), "seconds": np.array(geos[0][-1])}
    for t, geo in enumerate(geos, start=1):
        for name, val in zip(FIELDS, geo[:8]):
            arrays[f"t{t}_{name}"] = np.asarray(val, dtype=np.float64)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.stem + ".", suffix=".tmp", dir=path.parent)
        with os.fdopen(fd, "wb") as fh:
            np.savez(fh, **arrays)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
        return False


def cached_step_geometries(student: Activation, target: Target, psi: float, alpha0: float,
                           eta: float, noise: float, d: int, seed: int, steps: int,
                           readout: str = "constant") -> tuple[list[tuple], str]:
    """:func:`~giantstep.numerics.test_error.tables.multi_index.sampled_bulk_geometries` through the
    on-disk cache.

    Parameters
    ----------
    student, target : Activation, Target
        Student activation and target.
    psi, alpha0, eta, noise : float
        p/d, per-step batch ratio, rescaled learning rate, label-noise variance.
    d, seed, steps : int
        Dimension, seed and number of steps of the sampled trajectory.
    readout : str
        Readout law of the sampled steps (the sampler draws constant-readout steps; a sign
        readout with an odd student is reduced to them before this call).

    Returns
    -------
    geometries : list of tuple
        T tuples ``(r, γ, A, c, D, F, G, H, seconds)`` as returned by
        ``sampled_bulk_geometries`` (``seconds``: cost of the original sampling).
    source : {"memory", "disk", "sampled"}
        Where they came from.
    """
    from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads, sampler_threads
    from giantstep.numerics.test_error.tables.multi_index import sampled_bulk_geometries

    inputs = cache_inputs(student, target, psi, alpha0, eta, noise, d, seed, steps, readout)
    key = cache_key(inputs)
    if key in _MEMORY:
        return _MEMORY[key], "memory"
    folder = cache_dir()
    path = None if folder is None else folder / f"{key}.npz"
    geos = None if path is None else load(path, key, int(target.r), int(steps))
    source = "disk"
    if geos is None:
        with blas_threads(sampler_threads()):
            geos = sampled_bulk_geometries(student, target, psi, alpha0, eta, noise, d, seed,
                                           steps)
        source = "sampled"
        if path is not None:
            save(path, key, geos)
    if len(_MEMORY) > 32:
        _MEMORY.pop(next(iter(_MEMORY)))
    _MEMORY[key] = geos
    return geos, source


def clear_memory() -> None:
    """Forget the in-process copies (the next call reads the disk or samples)."""
    _MEMORY.clear()
