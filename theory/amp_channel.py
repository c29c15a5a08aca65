"""Deterministic quadrature for the AMP analysis: Gaussian grids and discretised label channels.

Used by :mod:`giantstep.theory.amp` (weak-recovery thresholds) and by
:mod:`giantstep.numerics.amp_state_evolution` (GAMP state evolution); the
formulas are written out in docs/amp.md.

* :func:`gaussian_grid` — tensor product of piecewise Gauss–Legendre rules on
  ``[−L, L]`` (cut at 0 and into equal panels) times the Gaussian density,
  normalised to total weight 1. Cutting at 0 makes jumps of ``sign(z_i)`` /
  ``Heaviside(z_i)`` cost nothing in the coordinate axes.
* :class:`LabelChannel` — the law of the label ``y`` represented by a finite
  set of *cells* ``j`` and probabilities ``P(j | g*(z))``:

  - atoms of ``y`` (values taken with positive probability, e.g. ``sign``
    targets, ``relu`` at 0) are cells of their own (exact when ``Δ = 0``);
  - the continuous part of the law of ``y`` at ``Δ = 0`` is represented by
    hat functions on ``B`` nodes uniform in the Gaussianised quantile
    coordinate ``s = Φ⁻¹(F_y(y)) ∈ [−6, 6]``. The thresholds use the
    ``L²(p_y)`` projection onto their span (:meth:`LabelChannel.gram`), a lower
    bound with error ``O(B^-4)`` for conditional expectations smooth in ``s``;
    the state evolution uses them as a soft quantisation (a garbling of ``y``,
    again a lower bound, error ``O(B^-2)``);
  - for ``Δ > 0``, ``y = g*(z) + √Δ ε``: the values ``g*(z)`` are deposited
    linearly on a uniform grid of spacing ``h ≤ √Δ/4`` and the Gaussian kernel
    ``φ_Δ(y_j − y_b) h`` is applied to the accumulated sums (an ``O(h²/Δ)``
    approximation of the channel, ``O(h⁴)`` once the kernel variance is reduced by
    the hat's ``h²/6``; the ``y``-integral is then the trapezoidal rule).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from giantstep.errors import InputError

GRID_HALF_WIDTH = 7.5  # Gaussian mass beyond ±7.5: 6e-14
ATOM_MIN_COUNT = 64  # grid points sharing one label value before it counts as an atom
ATOM_MIN_FRACTION = 0.005  # … and at least this fraction of the grid (symmetry ties are not atoms)
MAX_ATOMS = 64
ATOM_MIN_DISTINCT = 8
QUANTILE_SPAN = 6.0  # hat nodes uniform in s = Φ⁻¹(F_y(y)) on [−6, 6]
MAX_NOISE_GRID = 1200


@lru_cache(maxsize=32)
def _piecewise_rule_1d(panels: int, nodes: int, half_width: float) -> tuple[np.ndarray, np.ndarray]:
    t, wt = np.polynomial.legendre.leggauss(int(nodes))
    edges = np.concatenate([np.linspace(-half_width, 0.0, panels + 1)[:-1],
                            np.linspace(0.0, half_width, panels + 1)])
    lo, hi = edges[:-1], edges[1:]
    x = ((lo + hi)[:, None] / 2 + (hi - lo)[:, None] / 2 * t[None, :]).ravel()
    w = ((hi - lo)[:, None] / 2 * wt[None, :]).ravel() * np.exp(-0.5 * x * x)
    w = w / w.sum()
    x.setflags(write=False)
    w.setflags(write=False)
    return x, w


def gaussian_rule_1d(panels: int, nodes: int, half_width: float = GRID_HALF_WIDTH):
    """Piecewise Gauss–Legendre rule for ``E_{ξ~N(0,1)} f(ξ)`` with ``2·panels·nodes`` points.

    ``[−L, 0]`` and ``[0, L]`` are each cut into ``panels`` equal panels with an
    ``nodes``-point Gauss–Legendre rule on each; weights ``∝ φ`` summing to 1.
    Exact up to the truncation at ``±L`` for functions that are polynomials of
    degree ``< 2·nodes`` on each panel; jumps at 0 are resolved exactly.
    """
    if panels < 1 or nodes < 1:
        raise InputError("a quadrature rule needs at least one panel and one node")
    return _piecewise_rule_1d(int(panels), int(nodes), float(half_width))


def gaussian_grid(dim: int, panels: int, nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Tensor-product rule for ``E_{z~N(0, I_dim)}``: nodes ``(K, dim)`` and weights ``(K,)``.

    ``dim = 0`` gives the single empty node with weight 1.
    """
    if dim == 0:
        return np.zeros((1, 0)), np.ones(1)
    x, w = gaussian_rule_1d(panels, nodes)
    if len(x) ** dim > 5_000_000:
        raise InputError(f"quadrature grid with {len(x)}^{dim} nodes is too large")
    grids = np.meshgrid(*([x] * dim), indexing="ij")
    W = w
    for _ in range(dim - 1):
        W = np.multiply.outer(W, w)
    nodes_ = np.stack([g.ravel() for g in grids], axis=1)
    return np.ascontiguousarray(nodes_), np.ascontiguousarray(W.ravel())


@dataclass
class LabelChannel:
    """A discretised label channel: cells ``j`` with probabilities ``P(j | g*(z) = v)``.

    Attributes
    ----------
    atoms : np.ndarray
        Label values carried with positive probability (cells ``0..len(atoms)-1``).
    quantile_values, quantile_levels : np.ndarray
        Sorted continuous label values and their Gaussianised mid-rank CDF levels
        ``s = Φ⁻¹(F_y(y))`` (Δ = 0).
    bins : int
        Number of hat-function nodes in quantile coordinates (Δ = 0, continuous part).
    noise : float
        Label-noise variance Δ.
    y_grid : np.ndarray or None
        The uniform y-grid (Δ > 0).
    kernel : np.ndarray or None
        ``φ_Δ(y_j − y_b) h``, applied to sums accumulated on the y-grid (Δ > 0).
    kind : str
        ``"discrete"``, ``"continuous"``, ``"mixed"`` or ``"noisy"``.
    """

    atoms: np.ndarray
    quantile_values: np.ndarray
    quantile_levels: np.ndarray
    bins: int
    noise: float
    y_grid: np.ndarray | None
    kernel: np.ndarray | None
    kind: str

    @property
    def n_cells(self) -> int:
        """Number of cells (before the noise kernel, which keeps the number)."""
        if self.y_grid is not None:
            return len(self.y_grid)
        return len(self.atoms) + (self.bins if len(self.quantile_values) else 0)

    # ------------------------------------------------------------------ build
    @classmethod
    def build(cls, values: np.ndarray, weights: np.ndarray, noise: float = 0.0,
              bins: int = 64, flat: float = 0.0,
              max_noise_grid: int = MAX_NOISE_GRID, nodes: np.ndarray | None = None) -> LabelChannel:
        """The channel for labels ``g*(z)`` sampled at a quadrature grid (values, weights).

        ``flat``: if the values spread over at most this much, the label is treated as
        constant on the grid (one atom) — used when conditioning on numerically
        determined directions, whose ~1e-6 errors would otherwise leak information.
        ``nodes`` (the grid points, ``(K, dim)``): a cluster of equal values is an atom
        only if its points take at least ``ATOM_MIN_DISTINCT`` distinct values along every
        grid axis — a set of positive measure, not a tie of the product grid (e.g. the
        values of ``z1² + sign(z2 z3)`` at a fixed ``z1`` node).
        """
        values = np.asarray(values, dtype=float).ravel()
        weights = np.asarray(weights, dtype=float).ravel()
        if not np.all(np.isfinite(values)):
            raise InputError("the target is not finite on the quadrature grid (a singularity?)")
        if noise > 0:
            return cls.noisy(values, weights, noise, max_noise_grid)
        if np.ptp(values) <= flat:
            mean = np.array([float(np.dot(values, weights) / weights.sum())])
            return cls(mean, np.zeros(0), np.zeros(0), int(bins), 0.0, None, None, "discrete")
        scale = 1.0 + np.max(np.abs(values))
        # cluster equal values: runs of sorted values with gaps ≤ 1e-10·scale (rounding)
        order = np.argsort(values, kind="stable")
        sv, sw = values[order], weights[order]
        new_run = np.concatenate([[True], np.diff(sv) > 1e-10 * scale])
        run = np.cumsum(new_run) - 1
        counts = np.bincount(run)
        mass = np.bincount(run, weights=sw)
        first = np.flatnonzero(new_run)
        is_atom = (counts >= ATOM_MIN_COUNT) & (counts >= ATOM_MIN_FRACTION * len(values))
        if nodes is not None:
            sn = np.asarray(nodes)[order]
            for c in np.flatnonzero(is_atom):
                pts = sn[run == c]
                if any(len(np.unique(pts[:, a])) < ATOM_MIN_DISTINCT for a in range(pts.shape[1])):
                    is_atom[c] = False
        if is_atom.sum() > MAX_ATOMS:  # ties of a product grid, not atoms of the law of y
            is_atom[:] = False
        atoms = sv[first[is_atom]]
        cont = ~is_atom
        if np.any(cont):
            from .gauss.rules import normal_quantile

            cm = mass[cont]
            levels = normal_quantile(np.clip((np.cumsum(cm) - 0.5 * cm) / cm.sum(), 1e-300, 1 - 2**-53))
            qv, ql = sv[first[cont]], levels
        else:
            qv = ql = np.zeros(0)
        kind = "discrete" if not len(qv) else ("continuous" if not len(atoms) else "mixed")
        return cls(atoms, qv, ql, int(bins), 0.0, None, None, kind)

    @classmethod
    def noisy(cls, values: np.ndarray, weights: np.ndarray, noise: float,
               max_grid: int = MAX_NOISE_GRID, per_sigma: int = 4) -> LabelChannel:
        """Δ > 0: linear deposit on a uniform y-grid of spacing ``√Δ/per_sigma`` (at most
        ``max_grid`` points), then the Gaussian kernel of variance ``Δ − h²/6``."""
        s = float(np.sqrt(noise))
        order = np.argsort(values)
        cdf = np.cumsum(weights[order])
        lo = values[order][np.searchsorted(cdf, 1e-12 * cdf[-1])] - 8 * s
        hi = values[order][min(np.searchsorted(cdf, (1 - 1e-12) * cdf[-1]), len(values) - 1)] + 8 * s
        h = s / per_sigma
        n = int(np.ceil((hi - lo) / h)) + 1
        if n > max_grid:
            n = max_grid
            h = (hi - lo) / (n - 1)
        y = lo + h * np.arange(n)
        # the linear deposit convolves with a hat of variance h²/6: the kernel takes the rest
        se = np.sqrt(max(noise - h * h / 6, 0.25 * noise))
        diff = (y[:, None] - y[None, :]) / se
        kernel = np.exp(-0.5 * diff * diff) * (h / (se * np.sqrt(2 * np.pi)))
        return cls(np.zeros(0), np.zeros(0), np.zeros(0), 0, float(noise), y, kernel, "noisy")

    @property
    def resolution(self) -> float:
        """y-grid spacing over √Δ (noisy channels; the deposit error is ``O(resolution²)``)."""
        if self.y_grid is None:
            return 0.0
        return float((self.y_grid[1] - self.y_grid[0]) / np.sqrt(self.noise))

    # ------------------------------------------------------------------ assign
    def assign(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Cells and probabilities for label values: two arrays of shape ``values.shape + (2,)``.

        Each value spreads over (at most) two adjacent cells; probabilities sum to 1.
        """
        v = np.asarray(values, dtype=float)
        shape = v.shape
        v = v.ravel()
        idx = np.zeros((v.size, 2), dtype=np.int64)
        wt = np.zeros((v.size, 2))
        if self.y_grid is not None:
            y0, h, n = self.y_grid[0], self.y_grid[1] - self.y_grid[0], len(self.y_grid)
            t = np.clip((v - y0) / h, 0.0, n - 1.000001)
            i = np.floor(t).astype(np.int64)
            f = t - i
            idx[:, 0], idx[:, 1] = i, i + 1
            wt[:, 0], wt[:, 1] = 1 - f, f
            return idx.reshape(shape + (2,)), wt.reshape(shape + (2,))
        na = len(self.atoms)
        done = np.zeros(v.size, dtype=bool)
        if na:
            scale = 1.0 + np.max(np.abs(self.atoms))
            for a, val in enumerate(self.atoms):
                hit = np.abs(v - val) <= 1e-9 * scale  # clustered at 1e-10·scale when built
                idx[hit, 0] = a
                wt[hit, 0] = 1.0
                done |= hit
        rest = ~done
        if np.any(rest):
            if not len(self.quantile_values):
                # a value the reference grid never produced: nearest atom
                near = np.argmin(np.abs(v[rest, None] - self.atoms[None, :]), axis=1)
                idx[rest, 0] = near
                wt[rest, 0] = 1.0
            else:
                u = np.interp(v[rest], self.quantile_values, self.quantile_levels)
                u = (u + QUANTILE_SPAN) / (2 * QUANTILE_SPAN)
                t = np.clip(u * (self.bins - 1), 0.0, self.bins - 1.000001)
                i = np.floor(t).astype(np.int64)
                f = t - i
                idx[rest, 0], idx[rest, 1] = na + i, na + i + 1
                wt[rest, 0], wt[rest, 1] = 1 - f, f
        return idx.reshape(shape + (2,)), wt.reshape(shape + (2,))

    def accumulate(self, idx: np.ndarray, wt: np.ndarray, weights: np.ndarray,
                   features: np.ndarray, kernel: bool = True) -> np.ndarray:
        """``S[..., j, c] = Σ_k w_k P(j | y_k) f_c(z_k)`` (noise kernel applied).

        ``idx, wt`` from :meth:`assign` with shape ``(G, K, 2)``, ``weights`` ``(K,)`` or
        ``(G, K)``, ``features`` ``(K, C)`` or ``(G, K, C)``; returns ``(G, J, C)``.
        ``kernel=False`` leaves the noise kernel to the caller.
        """
        G, K = idx.shape[:2]
        J = self.n_cells
        wfull = np.broadcast_to(weights, (G, K))
        feats = np.broadcast_to(features, (G, K, features.shape[-1]))
        C = feats.shape[-1]
        flat = (idx + (np.arange(G) * J)[:, None, None]).reshape(G, K * 2)
        pw = (wt * wfull[:, :, None]).reshape(G, K * 2)
        out = np.empty((G, J, C))
        fl = flat.ravel()
        for c in range(C):
            vals = (pw * np.repeat(feats[:, :, c], 2, axis=1)).ravel()
            out[:, :, c] = np.bincount(fl, weights=vals, minlength=G * J).reshape(G, J)
        if kernel and self.kernel is not None:
            out = np.einsum("ab,gbc->gac", self.kernel, out, optimize=True)
        return out

    def gram_solve(self, idx: np.ndarray, wt: np.ndarray, weights: np.ndarray,
                   rhs: np.ndarray) -> np.ndarray:
        """``Γ⁻¹ rhs`` with ``Γ_jk = Σ_i w_i P(j | y_i) P(k | y_i)`` (one grid: ``idx, wt`` ``(K, 2)``).

        Γ is tridiagonal (each value touches two adjacent cells); a ridge of
        ``1e-13·max Γ_jj`` keeps cells that no grid point reaches at zero.
        ``rhs`` has shape ``(J, …)``.
        """
        J = self.n_cells
        diag = np.zeros(J)
        off = np.zeros(J)
        for a in range(2):
            diag += np.bincount(idx[:, a], weights=weights * wt[:, a] ** 2, minlength=J)
        sel = idx[:, 1] == idx[:, 0] + 1
        off += np.bincount(idx[sel, 0], weights=weights[sel] * wt[sel, 0] * wt[sel, 1],
                           minlength=J)
        ab = np.zeros((2, J))
        ab[1] = diag + 1e-13 * max(diag.max(), 1e-300)
        ab[0, 1:] = off[:-1]
        shape = rhs.shape
        if J == 1:
            return rhs / ab[1, 0]
        out = solve_tridiagonal_spd(ab[1], ab[0, 1:], rhs.reshape(J, -1))
        return out.reshape(shape)


def solve_tridiagonal_spd(diag: np.ndarray, off: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve ``T x = rhs`` for a symmetric positive-definite tridiagonal ``T`` (Thomas algorithm).

    ``diag`` (J,) is the diagonal, ``off`` (J−1,) the super/sub-diagonal, ``rhs`` (J, m).
    No pivoting is needed for SPD matrices (the elimination is a Cholesky factorisation);
    written here so that the theory commands do not import scipy.linalg (~0.25 s at start-up).
    """
    J = diag.shape[0]
    c = np.empty(J)
    x = np.array(rhs, dtype=float, copy=True)
    c[0] = diag[0]
    for j in range(1, J):
        m = off[j - 1] / c[j - 1]
        c[j] = diag[j] - m * off[j - 1]
        x[j] -= m * x[j - 1]
    x[J - 1] /= c[J - 1]
    for j in range(J - 2, -1, -1):
        x[j] = (x[j] - off[j] * x[j + 1]) / c[j]
    return x

