"""One giant step with n = α d^ℓ and the label components of degree < ℓ removed (docs/model.md §5.2).

With ``η = η̃ p d^{(ℓ−1)/2}`` and ``ξ_j = √d W* w_j^0 ~ N(0, I_r)`` (random per neuron),
the target overlaps after the step are, as d → ∞,

    W* w_j → η̃ s_j (μ_ℓ/(ℓ−1)!) C_ℓ(g*)[ξ_j^{⊗(ℓ−1)}, ·],

and ``‖w_j‖² → ρ_j² + ‖W* w_j‖² + η̃² s_j² E[e²] E[σ'(ξ)²]/α``, where
``E[e²] = Σ_{k≥ℓ} ‖P_k g*‖² + Δ`` is the variance of the preprocessed labels and
``ρ_j = 1`` for ℓ ≥ 2. (For ℓ ≥ 2 the removed degree-0 part is that of the
residual ``y − f_0``: a non-centred residual would rescale the rows by
``1 + η̃ d^{(ℓ−1)/2} s μ_2 E[e]``, which diverges. For ℓ = 1 nothing is removed and
``ρ_j = 1 + η̃ s_j μ_2 E[y − f_0]``: this is §5.1 exactly.)

Law of the overlaps. ``T[ξ^{⊗k}]`` with ``T = C_ℓ``, ``k = ℓ − 1`` is a polynomial of
ξ; expanding ``ξ^{⊗k}`` in Hermite tensors,
``T[ξ^{⊗k}, ·] = Σ_j c_j (Tr^j T)[He_{k−2j}(ξ), ·]`` with ``c_j = k!/((k−2j)! j! 2^j)``,
and orthogonality ``E[A[He_m] B[He_m']] = δ_mm' m! ⟨A, B⟩`` give exactly

    mean = E[s] A c_{k/2} Tr^{k/2} T  (k even; 0 for k odd),
    E[o oᵀ] = E[s²] A² Σ_j c_j² (k−2j)! (Tr^j T)ᵀ(Tr^j T),     A = η̃ μ_ℓ/(ℓ−1)!.

For ℓ = 2 the overlaps are Gaussian (linear in ξ); for ℓ ≥ 3 they are not, and
:meth:`PreprocessedOverlaps.sample` draws them from their exact law.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import factorial

import numpy as np

from giantstep.errors import InputError
from giantstep.numerics.overlaps._params import check_common, target_second_moment
from giantstep.numerics.overlaps.readout_types import readout_types
from giantstep.numerics.overlaps.result import _f
from giantstep.params import Interval, check, validate_params
from giantstep.tables import FrameMixin
from giantstep.theory import Activation, Target


@dataclass
class PreprocessedSample:
    """Overlaps of ``p`` sampled neurons: ``s`` (p,), ``overlaps`` (p, r), ``norms2``, ``cosines``."""

    s: np.ndarray
    xi: np.ndarray
    overlaps: np.ndarray
    norms2: np.ndarray
    cosines: np.ndarray

    def to_dict(self) -> dict:
        return _f(self.__dict__.copy())


@dataclass
class PreprocessedOverlaps(FrameMixin):
    """Result of :func:`preprocessed_overlaps` (docs/model.md §5.2)."""

    target: str
    activation: str
    readout: str
    alpha: float
    eta: float
    ell: int
    noise: float
    coefficient: float  # A = η̃ μ_ℓ/(ℓ−1)!
    tensor: np.ndarray  # C_ℓ(g*)
    mean: np.ndarray  # E[W* w]
    second_moment: np.ndarray  # E[(W* w)(W* w)ᵀ]
    covariance: np.ndarray
    mean_e: float  # E[e] (0 for ℓ ≥ 2)
    mean_e2: float  # E[e²]
    noise_norm2: float  # η̃² E[e²] E[σ'²]/α  (times s²)
    mu: tuple
    s_law: tuple  # (E[s], E[s²])

    def _rescale(self, s: np.ndarray) -> np.ndarray:
        if self.ell == 1:
            return 1.0 + self.eta * s * self.mu[2] * self.mean_e
        return np.ones_like(s)

    def sample(self, p: int, seed: int) -> PreprocessedSample:
        """Draw ``p`` neurons (``ξ ~ N(0, I_r)`` and ``s`` from the readout law) with ``seed``."""
        p = int(check("p", p, Interval(int, 1, None)))
        check("seed", seed)
        rng = np.random.default_rng(seed)
        r = self.tensor.shape[0] if self.tensor.ndim else 1
        xi = rng.standard_normal((p, r))
        if self.readout == "constant":
            s = np.ones(p)
        elif self.readout == "sign":
            s = rng.choice([-1.0, 1.0], size=p)
        else:
            s = rng.standard_normal(p)
        ov = predicted_overlap_change(self.coefficient, self.tensor, s, xi)  # (p, r)
        norms2 = self._rescale(s) ** 2 + np.sum(ov * ov, axis=1) + s**2 * self.noise_norm2
        cos = np.sqrt(np.sum(ov * ov, axis=1) / norms2)
        return PreprocessedSample(s, xi, ov, norms2, cos)

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items()}
        return _f(d)

    def plot(self, p: int = 500, seed: int = 0):
        """Scatter of sampled overlaps on the first two target directions and their cosines."""
        from matplotlib.figure import Figure

        smp = self.sample(p, seed)
        fig = Figure(figsize=(10, 4))
        ax = fig.subplots(1, 2)
        y = smp.overlaps[:, 1] if smp.overlaps.shape[1] > 1 else np.zeros(p)
        ax[0].scatter(smp.overlaps[:, 0], y, s=6, alpha=0.6)
        ax[0].set_xlabel("⟨w, W*_1⟩")
        ax[0].set_ylabel("⟨w, W*_2⟩")
        ax[1].hist(smp.cosines, bins=40)
        ax[1].set_xlabel("cosine ‖W* w‖/‖w‖")
        fig.suptitle(f"one step, ℓ={self.ell}: {self.target} — {self.activation}")
        fig.tight_layout()
        return fig


def _contract(T: np.ndarray, xi: np.ndarray) -> np.ndarray:
    """``T[ξ^{⊗k}, ·]`` for every row of ξ (T of order k+1, last index kept)."""
    out = np.broadcast_to(T, (xi.shape[0],) + T.shape)
    while out.ndim > 2:
        out = np.einsum("pi,pi...->p...", xi, out)
    return np.array(out)


def predicted_overlap_change(coefficient: float, tensor: np.ndarray, s: np.ndarray,
                             xi: np.ndarray) -> np.ndarray:
    """``W* (w_j¹ − w_j⁰) = A s_j C_ℓ[ξ_j^{⊗(ℓ−1)}, ·]`` per neuron (docs/model.md §5.2, mean part).

    ``coefficient`` = A = η̃ μ_ℓ/(ℓ−1)!, ``tensor`` = C_ℓ(g*) (order ℓ), ``xi`` = the
    neurons' initial overlaps ``√d W* w_j⁰`` (p × r), ``s`` the readout values (p,).
    """
    T = np.asarray(tensor, dtype=float)
    return coefficient * np.asarray(s, dtype=float)[:, None] * _contract(T, np.asarray(xi, dtype=float))


def _traces(T: np.ndarray, j: int) -> np.ndarray:
    for _ in range(j):
        T = np.trace(T, axis1=0, axis2=1)
    return T


def overlap_moments(T: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Exact ``E[T[ξ^{⊗k}]]`` and ``E[T[ξ^{⊗k}] T[ξ^{⊗k}]ᵀ]`` for ``ξ ~ N(0, I_r)``, T of order k+1."""
    k = T.ndim - 1
    r = T.shape[-1]
    mean = np.zeros(r)
    M2 = np.zeros((r, r))
    for j in range(k // 2 + 1):
        m = k - 2 * j
        c = factorial(k) / (factorial(m) * factorial(j) * 2**j)
        A = _traces(T, j).reshape(-1, r)
        M2 += c * c * factorial(m) * (A.T @ A)
        if m == 0:
            mean = c * A.reshape(r)
    return mean, M2


@validate_params()
def preprocessed_overlaps(
    target: str | Target,
    activation: str | Activation,
    *,
    alpha: float,
    eta: float,
    ell: int,
    readout: str = "constant",
    noise: float | None = None,
) -> PreprocessedOverlaps:
    """Law of the neurons' target overlaps after one step with n = α d^ℓ (docs/model.md §5.2).

    Parameters
    ----------
    target, activation : str or Target / Activation
    alpha : float
        ``n / d^ℓ > 0``.
    eta : float
        η̃ ≥ 0 with ``η = η̃ p d^{(ℓ−1)/2}``.
    ell : int
        Sample-complexity exponent ℓ ≥ 1; label components of degree < ℓ removed.
    readout : {"constant", "sign", "gaussian"}
    noise : float, optional
        Label noise Δ (default ``target.noise``).

    Returns
    -------
    PreprocessedOverlaps
        ``.mean``, ``.covariance`` of ``W* w``; ``.sample(p, seed)`` for neurons.
    """
    tgt, act, alpha, eta, delta = check_common(target, activation, alpha, eta, noise)
    ell = int(ell)
    if ell > 12:
        raise InputError(f"ell must be at most 12, got {ell}")
    if tgt.r**ell > 20_000_000:
        raise InputError(f"C_ℓ has r^ℓ = {tgt.r}^{ell} entries: too large")
    if not tgt.is_polynomial and ell > tgt.expansion.max_degree:
        raise InputError(f"ell = {ell} exceeds the expansion degree {tgt.expansion.max_degree} "
                         "computed for this non-polynomial target")
    s_types, pi = readout_types(readout)
    Es = float(pi @ s_types) if readout != "gaussian" else 0.0
    Es2 = float(pi @ s_types**2) if readout != "gaussian" else 1.0
    mus = tuple(float(act.mu(k)) for k in range(max(3, ell + 1)))
    from giantstep.numerics.overlaps.one_step import _mean_dsigma2

    Edsig2 = _mean_dsigma2(act)
    f0 = Es * mus[0]
    g2 = target_second_moment(tgt)
    if ell == 1:
        gm = float(tgt.tensor(0))
        Ee = gm - f0
        Ee2 = g2 - 2 * f0 * gm + f0 * f0 + delta
    else:
        Ee = 0.0
        low = sum(tgt.energy(k) for k in range(ell))
        Ee2 = max(g2 - low, 0.0) + delta
    T = np.asarray(tgt.tensor(ell), dtype=float).reshape((tgt.r,) * ell)
    A = eta * mus[ell] / factorial(ell - 1)
    mean1, M21 = overlap_moments(T)
    mean = Es * A * mean1
    second = Es2 * A * A * M21
    cov = second - np.outer(mean, mean)
    noise_norm2 = eta**2 * Ee2 * Edsig2 / alpha
    return PreprocessedOverlaps(tgt.text, act.name, readout, alpha, eta, ell, delta, A, T, mean,
                                second, cov, Ee, Ee2, noise_norm2, mus, (Es, Es2))
