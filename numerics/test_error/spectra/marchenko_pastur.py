"""Spectral inputs of the spiked-random-features equations (docs/model.md §6.1).

In the limit d → ∞ with p = d the eigenvalues ``D`` of ``Ω = c² W0 Π W0ᵀ`` follow the
Marchenko–Pastur law of ratio 1 and scale ``s = c²``::

    ρ_s(x) = sqrt(x (4s − x)) / (2π s x),    x ∈ [0, 4s],

which has an integrable ``x^{-1/2}`` singularity at the hard edge 0. With the substitution
``x = 4 s t²`` the measure becomes ``(2/π) sqrt(1 − t²) dt`` on ``[−1, 1]`` (a semicircle),
so ``⟨g(D)⟩ = (2/π) ∫ sqrt(1−t²) g(4 s t²) dt`` is computed *exactly for polynomials of
degree 2n−1 in t* by the n-point Gauss–Chebyshev rule of the second kind; for the rational
integrands of §6.1 (poles at ``x = −(λ + V̂2)/V̂1 < 0``) the error decays like ``ρ^{−2n}``
with ``ρ = b + sqrt(1 + b²)``, ``b = sqrt((λ + V̂2)/(4 s V̂1))`` (Bernstein ellipse through
the pole ``t = i b``). :func:`mp_rule_for_pole` picks ``n`` from that bound.

:func:`mp_resolvent` is the closed-form ``⟨1/(D + a)⟩`` used by the tests as an
independent reference, and :func:`sample_spiked_spectrum` draws finite-d inputs
``(D, F, H)`` the way Cui et al. (2024) do (the ``spectrum="sampled"`` mode).
"""

from __future__ import annotations

import numpy as np

from giantstep.errors import InputError
from giantstep.numerics.gaussian import MAX_SPECTRAL_NODES, MarchenkoPasturRule


def mp_rule(n: int, scale: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``⟨g(D)⟩`` over the Marchenko–Pastur law of ratio 1.

    Parameters
    ----------
    n : int
        Number of (folded) nodes; the underlying Gauss–Chebyshev-II rule has ``2n−1``
        points, so the rule is exact for ``g`` a polynomial of degree ``≤ 2n−2`` in ``D``
        and converges geometrically for ``g`` analytic near ``[0, 4 scale]``.
    scale : float
        ``s`` (``= c²`` in docs/model.md §6.1); the support is ``[0, 4s]``.

    Returns
    -------
    x, w : ndarray
        Nodes in ``[0, 4s]`` (the hard edge 0 included) and weights summing to 1.
    """
    if not isinstance(n, (int, np.integer)) or n < 1 or 2 * n - 1 > MAX_SPECTRAL_NODES:
        raise InputError(f"number of spectral nodes must be in [1, {MAX_SPECTRAL_NODES // 2}]")
    if not scale > 0:
        raise InputError(f"Marchenko–Pastur scale must be positive, got {scale}")
    return MarchenkoPasturRule(1.0, float(scale)).nodes(int(n))


def mp_rule_for_pole(pole_ratio: float, tol: float) -> int:
    """Number of folded nodes so that the rule error is below ``tol`` for a pole at ``−a``.

    ``pole_ratio = a / (4 s)`` where the integrand has a (double) pole at ``D = −a``.
    Uses the Bernstein-ellipse rate ``ρ^{−2N}`` of the underlying ``N``-point rule with a
    safety margin of a factor 1e3 and 8 extra nodes.
    """
    return MarchenkoPasturRule(1.0, 1.0).nodes_for_pole(4.0 * float(pole_ratio), tol)


def mp_resolvent(a: float | np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Closed form ``⟨1/(D + a)⟩`` for ``D ~ MP(ratio 1, scale s)``, ``a > 0``.

    From the Stieltjes transform ``G(z) = (z − sqrt(z² − 4 s z))/(2 s z)``:
    ``⟨1/(D + a)⟩ = (sqrt(a² + 4 s a) − a)/(2 s a)``.
    """
    a = np.asarray(a, dtype=float)
    s = float(scale)
    return (np.sqrt(a * a + 4 * s * a) - a) / (2 * s * a)


def sample_spiked_spectrum(
    d: int, c: float, seed: int, rows: str = "unit"
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Finite-d spectral inputs ``(D, F, H)`` of docs/model.md §6.1 (p = d).

    ``W = c W0`` with W0 rows ``N(0, I/d)`` (``rows="gaussian"``) or normalised to unit
    norm (``rows="unit"``); ``v`` a random spike of norm √d, ``Π`` the projector
    orthogonal to it, ``ζ ⊥ v`` of norm √d. ``D`` are the eigenvalues of
    ``Ω = W Π Wᵀ`` with eigenvectors ``u_i``, ``F_i = (u_iᵀ W v)²`` and
    ``H_i = (u_iᵀ W ζ)²``, so that ``⟨F⟩ → c²`` and ``⟨H⟩ → ⟨D⟩`` (mean over the p = d
    eigenvalues). Cost: one ``d × d`` symmetric eigendecomposition.
    """
    if d < 2:
        raise InputError("the sampled spectrum needs d ≥ 2")
    rng = np.random.default_rng(seed)
    w0 = rng.standard_normal((d, d)) / np.sqrt(d)
    if rows == "unit":
        w0 /= np.linalg.norm(w0, axis=1, keepdims=True)
    elif rows != "gaussian":
        raise InputError(f"rows must be 'unit' or 'gaussian', got {rows!r}")
    w = c * w0
    v = rng.standard_normal(d)
    v /= np.linalg.norm(v)
    zeta = rng.standard_normal(d)
    zeta -= v * (v @ zeta)
    zeta /= np.linalg.norm(zeta)
    wv = w @ v
    wpi = w - np.outer(wv, v)  # W Π
    omega = wpi @ wpi.T  # W Π Wᵀ (Π is a projector)
    evals, evecs = np.linalg.eigh(omega)
    evals = np.clip(evals, 0.0, None)
    f = (evecs.T @ wv) ** 2 * d  # ‖v‖² = d in Cui et al.'s normalisation
    h = (evecs.T @ (w @ zeta)) ** 2 * d
    return evals, f, h


def mp_rule_ratio(ratio: float, scale: float, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights for ``⟨g(D)⟩`` over the Marchenko–Pastur law of ratio ``y = p/d``.

    ``D`` are the eigenvalues of the ``p × p`` matrix ``W Wᵀ``, W with iid entries of
    variance ``scale/d``: an atom of mass ``max(0, 1 − 1/y)`` at 0 and the density
    ``sqrt((b − x)(x − a))/(2π y s x)`` on ``[a, b] = s(1 ∓ √y)²`` (mass ``min(1, 1/y)``).
    With ``x = s(1 + y) + 2 s √y t`` the continuous part is
    ``(2s/π) ∫ sqrt(1 − t²) g(x)/x dt``, integrated by the n-point Gauss–Chebyshev rule of
    the second kind; ``1/x`` has its pole at ``t = −(1+y)/(2√y)``, so the rule converges
    like ``ρ^{−2n}`` with ``ρ = max(√y, 1/√y)`` (see :func:`mp_nodes_for_ratio`). For
    ``y = 1`` exactly (hard edge) use :func:`mp_rule`.

    Returns ``(x, w)``: nodes (the atom first when ``y > 1``) and weights summing to 1.
    """
    y = float(ratio)
    if not (y > 0 and np.isfinite(y)):
        raise InputError(f"Marchenko–Pastur ratio must be positive, got {ratio}")
    if not scale > 0:
        raise InputError(f"Marchenko–Pastur scale must be positive, got {scale}")
    if not isinstance(n, (int, np.integer)) or n < 1 or n > MAX_SPECTRAL_NODES:
        raise InputError(f"number of spectral nodes must be in [1, {MAX_SPECTRAL_NODES}]")
    return MarchenkoPasturRule(y, float(scale), hard_edge=False).nodes(int(n))


def mp_nodes_for_ratio(ratio: float, scale: float, pole: float, tol: float) -> int:
    """Nodes for :func:`mp_rule_ratio` so that a rational integrand with a (double) pole at
    ``D = −pole`` (``pole > 0``) is integrated to ``tol``: the nearest singularity in the
    ``t`` plane (the ``1/x`` of the density at ``x = 0`` or the integrand's pole) sets the
    Bernstein-ellipse rate ``ρ^{−2n}``; safety factor 1e3 and 16 extra nodes.
    """
    return MarchenkoPasturRule(float(ratio), float(scale), hard_edge=False).nodes_for_pole(float(pole), tol)
