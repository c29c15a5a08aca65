"""Spectral inputs of the §6.1 equations measured on the *real* first step (exact bulk model).

docs/model.md §6.1 ("Beyond the quoted domain") and: the spiked-random-features model
writes the weights after the step as ``c·W0 + spike + iid noise``. The real update is

    W1 = W0 + η̃ diag(s) (1/n0) σ'(W0 Xᵀ) diag(e) X,     e = y − f0(X),

whose bulk carries the term ``η̃ μ2 W0 M`` (``M = Xᵀ diag(e) X / n0``, one random matrix
shared by all rows) and gradient noise of rank ≤ n0 built from the same X as the spike.
:func:`sample_step` draws this update exactly (no Hermite truncation) at a moderate size;
:func:`bulk_inputs` reads off the inputs of the conditional Gaussian equivalence:

* the spike: ``m̄ = mean_j (W1 − W0)_j`` (constant readout), ``r = ‖m̄‖``, ``v̂ = m̄/r``;
* the alignment ``γ = ⟨v̂, θ⟩`` and ``ζ̂`` the unit part of θ orthogonal to v̂;
* the bulk ``B = W1 − 1 m̄ᵀ`` with scale ``c² = ‖B‖_F²/p``;
* ``D_i`` the eigenvalues of ``Ω = B Π Bᵀ`` (Π = I − v̂v̂ᵀ) with eigenvectors ``u_i``,
  ``F_i = p (u_iᵀ B v̂)²``, ``H_i = p (u_iᵀ B ζ̂)²`` (normalisation ‖v‖² = ‖ζ‖² = p, so that
  with the readout ratio ``α/ψ`` of samples per feature the equations hold for every
  ψ = p/d; derived here and checked: the lazy limit equals Mei–Montanari 2019 for
  ψ ∈ {0.25, 0.5, 2, 4} to 1e-10).

This module is a *derived* construction of the project (docs/test_error.md, "exact bulk
model"); the equations it feeds are the quoted ones of Cui et al. (2024, Result 3.3).
Every draw takes a seed; results are cached per (student, teacher, ψ, α0, η̃, Δ, d, seed).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import scipy.linalg

from giantstep.caching import bounded_cache
from giantstep.errors import InputError
from giantstep.theory import Activation, Target, as_activation, as_target

CHUNK = 4096
# Version of the sampled draw: bump whenever a change here (seeds, order of the draws, the
# arithmetic of the steps) changes the bits of sample_step / sample_steps. It is part of the
# key of the on-disk cache of the sampled several-step inputs (numerics/test_error/spectra/step_cache.py).
SAMPLER_VERSION = 1
# BLAS threads while the bulk inputs are sampled (env GIANTSTEP_SAMPLER_THREADS; 0 = leave
# the BLAS libraries alone). Measured on the shared 2-core machine (load average ≈ 7): the
# p = 1000 eigendecomposition of the geometry takes 0.38 s on one OpenBLAS thread and
# 1.0–3.6 s on two (thread oversubscription); one trajectory of 4 steps at d = 1000:
# 1.4 s instead of 42 s for the four eigendecompositions, the steps themselves unchanged.
SAMPLER_THREADS_ENV = "GIANTSTEP_SAMPLER_THREADS"
DEFAULT_SAMPLER_THREADS = 1
_OPENBLAS_SYMBOLS = (
    ("scipy_openblas_set_num_threads64_", "scipy_openblas_get_num_threads64_"),
    ("scipy_openblas_set_num_threads", "scipy_openblas_get_num_threads"),
    ("openblas_set_num_threads64_", "openblas_get_num_threads64_"),
    ("openblas_set_num_threads", "openblas_get_num_threads"),
)


def sampler_threads() -> int:
    """BLAS threads for the sampling (``$GIANTSTEP_SAMPLER_THREADS``, default 1; 0 = leave
    the libraries' own setting). A malformed value falls back to the default."""
    try:
        return max(0, int(os.environ.get(SAMPLER_THREADS_ENV, DEFAULT_SAMPLER_THREADS)))
    except ValueError:
        return DEFAULT_SAMPLER_THREADS


def _openblas_controls() -> list[tuple]:
    """(set, get) thread-count functions of every OpenBLAS loaded in this process (numpy's
    and scipy's bundled copies; Linux, via /proc/self/maps); empty elsewhere."""
    import scipy.linalg  # noqa: F401 - load scipy's OpenBLAS before looking for it

    try:
        with open("/proc/self/maps") as fh:
            paths = sorted({ln.split()[-1] for ln in fh if "openblas" in ln.lower()
                            and ".so" in ln.split()[-1]})
    except OSError:
        return []
    out = []
    for path in paths:
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for set_name, get_name in _OPENBLAS_SYMBOLS:
            if hasattr(lib, set_name) and hasattr(lib, get_name):
                setter, getter = getattr(lib, set_name), getattr(lib, get_name)
                setter.argtypes, setter.restype = [ctypes.c_int], None
                getter.argtypes, getter.restype = [], ctypes.c_int
                out.append((setter, getter))
                break
    return out


@contextlib.contextmanager
def blas_threads(n: int) -> Iterator[None]:
    """Run the block with ``n`` OpenBLAS threads (n = 0: unchanged), restoring the previous
    counts afterwards. A no-op where no OpenBLAS control is found."""
    controls = _openblas_controls() if n > 0 else []
    previous = [get() for _, get in controls]
    try:
        for setter, _ in controls:
            setter(int(n))
        yield
    finally:
        for (setter, _), k in zip(controls, previous):
            setter(int(k))


@dataclass(frozen=True)
class BulkInputs:
    """Inputs of the §6.1 equations measured on one sampled real step.

    Attributes
    ----------
    r, gamma, c : float
        Spike strength, alignment of the spike with θ, bulk scale (docs/model.md §5.1 names).
    D, F, H, G : ndarray (p,)
        Eigenvalues of ``B Π Bᵀ`` and the weights ``p (u_iᵀ B v̂)²``, ``p (u_iᵀ B ζ̂)²``
        and the cross weights ``p (u_iᵀ B v̂)(u_iᵀ B ζ̂)``.
    p, d : int
        Width and dimension of the draw.
    seconds : float
        Wall-clock cost of the draw (sampling the step and one eigendecomposition).
    """

    r: float
    gamma: float
    c: float
    D: np.ndarray
    F: np.ndarray
    H: np.ndarray
    G: np.ndarray
    p: int
    d: int
    seconds: float


def sample_step(
    student: Activation, target: Target, psi: float, alpha0: float, eta: float,
    noise: float, d: int, seed: int,
) -> tuple[np.ndarray, np.ndarray]:
    """One giant step of docs/model.md §1 (ℓ = 1, constant readout, W0 rows ``N(0, I/d)``).

    ``W1 = W0 + η̃ (1/n0) Σ_ν e_ν σ'(W0 x_ν) x_νᵀ``, ``e = y − (1/p) Σ_j σ(⟨w_j, x⟩)``,
    ``y = g*(x_1..x_r) + √Δ ε`` (θ_k = e_k; W0 is rotation invariant), n0 = round(α0 d),
    p = round(ψ d). Returns ``(W0, W1)``.
    """
    p = max(1, int(round(psi * d)))
    n0 = max(1, int(round(alpha0 * d)))
    rng = np.random.default_rng([int(seed), 9, 1])
    w0 = rng.standard_normal((p, d)) / math.sqrt(d)
    return w0, w0 + (eta / n0) * batch_gradient(student, target, w0, n0, noise, rng)


def batch_gradient(student: Activation, target: Target, w: np.ndarray, n0: int, noise: float,
                    rng: np.random.Generator, s: np.ndarray | None = None) -> np.ndarray:
    """``Σ_ν e_ν σ'(W x_ν) x_νᵀ`` on a fresh batch of n0 samples drawn from ``rng``, with
    ``e = y − f``: ``f = (1/p) Σ_j σ(⟨w_j, x⟩)`` (constant readout, ``s = None``) or
    ``f = (1/p) Σ_j s_j σ(⟨w_j, x⟩)`` (readout values s; the caller multiplies row j of
    the result by ``s_j``)."""
    grad = np.zeros(w.shape)
    sd = math.sqrt(noise)
    done = 0
    while done < n0:
        m = min(CHUNK, n0 - done)
        x = rng.standard_normal((m, w.shape[1]))
        y = np.asarray(target.evaluate(x[:, : target.r]), dtype=float)
        if sd:
            y = y + sd * rng.standard_normal(m)
        h = x @ w.T
        act = np.asarray(student.evaluate(h), dtype=float)
        f = act.mean(axis=1) if s is None else act @ s / w.shape[0]
        g = np.asarray(student.derivative(h, 1), dtype=float) * (y - f)[:, None]
        grad += g.T @ x
        done += m
    return grad


def sample_steps(
    student: Activation, target: Target, psi: float, alpha0: float, eta: float,
    noise: float, d: int, seed: int, steps: int,
) -> list[np.ndarray]:
    """T giant steps of docs/model.md §1 on fresh batches (ℓ = 1, constant readout, W0 rows
    ``N(0, I/d)``); returns ``[W0, W1, …, WT]``.

    Step 1 is exactly :func:`sample_step` (same draws); batch t ≥ 2 comes from the seed
    ``(seed, 9, t)``, so a trajectory of T steps extends the one of T − 1 steps.
    """
    n0 = max(1, int(round(alpha0 * d)))
    w0, w1 = sample_step(student, target, psi, alpha0, eta, noise, d, seed)
    out = [w0, w1]
    for t in range(2, int(steps) + 1):
        rng = np.random.default_rng([int(seed), 9, t])
        w = out[-1]
        out.append(w + (eta / n0) * batch_gradient(student, target, w, n0, noise, rng))
    return out


def spike_and_bulk(w0: np.ndarray, w1: np.ndarray, on_zero: str = "the step did not move the weights (r = 0)"):
    """The spike and the bulk of one real step (docs/model.md §6.1), shared by the one- and
    multi-index readings: the mean displacement ``m̄``, its norm ``r`` and direction ``v``,
    the centred weights ``B = W1 − 1 m̄ᵀ``, the bulk scale ``c = ‖B‖_F/√p``, ``B v``, and the
    eigenvalues (clipped at 0) and eigenvectors of ``B Π Bᵀ`` (Π projects off ``v``).

    Raises :class:`InputError` with ``on_zero`` when the step did not move the weights."""
    p = w1.shape[0]
    mbar = (w1 - w0).mean(axis=0)
    r = float(np.linalg.norm(mbar))
    if not r > 0:
        raise InputError(on_zero)
    v = mbar / r
    b = w1 - mbar[None, :]
    c = float(np.sqrt(np.sum(b * b) / p))
    bv = b @ v
    bpi = b - np.outer(bv, v)
    # LAPACK syevr: on the shared 2-core machine 3× faster than numpy's syevd (2.8 s vs 9 s
    # at p = 1000 under load; equal when idle)
    evals, evecs = scipy.linalg.eigh(bpi @ bpi.T, driver="evr")
    return mbar, r, v, b, c, bv, np.clip(evals, 0.0, None), evecs


def bulk_inputs(w0: np.ndarray, w1: np.ndarray, seconds: float = 0.0) -> BulkInputs:
    """Read the §6.1 inputs off a real step (θ = e1); see the module docstring."""
    p, d = w1.shape
    _, r, v, b, c, bv, evals, evecs = spike_and_bulk(
        w0, w1, "the step did not move the weights (r = 0): use the lazy curve")
    gamma = float(v[0])
    zeta = -gamma * v
    zeta[0] += 1.0
    nz = np.linalg.norm(zeta)
    zeta = zeta / nz if nz > 1e-12 else np.zeros(d)
    fv = evecs.T @ bv
    hv = evecs.T @ (b @ zeta)
    return BulkInputs(r, gamma, c, evals, fv * fv * p, hv * hv * p, fv * hv * p, p, d, seconds)


@bounded_cache(64)
def _cached(student: str, teacher: str, psi: float, alpha0: float, eta: float, noise: float,
            d: int, seed: int) -> BulkInputs:
    t0 = time.perf_counter()
    w0, w1 = sample_step(as_activation(student), as_target(teacher), psi, alpha0, eta, noise,
                         d, seed)
    out = bulk_inputs(w0, w1)
    for arr in (out.D, out.F, out.H, out.G):
        arr.setflags(write=False)
    return BulkInputs(out.r, out.gamma, out.c, out.D, out.F, out.H, out.G, out.p, out.d,
                      time.perf_counter() - t0)


def sampled_bulk_inputs(
    student: str | Activation, teacher: str, psi: float, alpha0: float, eta: float,
    noise: float, d: int, seed: int,
) -> BulkInputs:
    """:func:`sample_step` + :func:`bulk_inputs`, cached per (student, teacher, ψ, α0, η̃,
    Δ, d, seed); ``seconds`` is the cost of the first (uncached) call."""
    name = student.name if isinstance(student, Activation) else str(student)
    return _cached(name, str(teacher), float(psi), float(alpha0), float(eta), float(noise),
                   int(d), int(seed))
