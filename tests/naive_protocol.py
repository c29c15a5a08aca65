"""Tests-side oracle: the training protocol of docs/model.md §1, written as plainly as possible.

The tests that cross-check the library's simulator (``giantstep.validation.simulator``) or
its equations against a simulation of their own use this module (test_simulator.py,
test_overlaps_simulation.py, test_learning_curve_simulation.py); a batch reused by several
steps is passed to :func:`train` several times. It is deliberately simple and shares
nothing with the library's simulator: no chunks, no seed tree, no numba kernels, no Gram
accumulation, no primal/dual switch. From the library it takes only the evaluation of the
functions themselves (``σ``, ``σ'`` and the target ``g*``, from ``giantstep.theory``).

The protocol, with the names used below:

* inputs ``x ~ N(0, I_d)``, target subspace ``W* = [I_r, 0]`` (the first r coordinates,
  no loss of generality: the initialisation is rotation invariant), labels
  ``y = g*(z) + √Δ ε`` with ``z = x[:r]`` and ``ε ~ N(0, 1)``;
* network ``f(x) = (1/√p) Σ_j a_j σ(⟨w_j, x⟩)`` with ``a_j = s_j/√p``, that is
  ``f(x) = (1/p) Σ_j s_j σ(⟨w_j, x⟩)``; readout laws ``constant`` (s = 1),
  ``sign`` (s = +1, −1, +1, … alternately: half each) and ``gaussian`` (s ~ N(0, 1));
* giant step on a batch ``(x_ν, y_ν)_{ν ≤ n}``, second layer frozen:
  ``W ← W − η ∇_W L``, ``L = (1/2n) Σ_ν (y_ν − f(x_ν))²``, ``η = η̃ p d^{(ℓ−1)/2}``, so that
  row j moves by ``lr · s_j (1/n) Σ_ν e_ν σ'(⟨w_j, x_ν⟩) x_ν`` with ``e = y − f(x)`` and
  ``lr = η/p = η̃ d^{(ℓ−1)/2}`` (``η̃ √p a_j = η̃ s_j``);
* readout refit by ridge, ``min_a Σ_ν (y_ν − ⟨φ(x_ν), a⟩)² + λ‖a‖²`` with the features
  ``φ(x) = σ(W x)/√p``, solved on its normal equations ``(ΦᵀΦ + λI) a = Φᵀy``; test error
  ``E[(y − f(x))²]`` on fresh samples, label noise included, no factor ½.

The sums over samples and neurons are written with ``np.einsum`` in the indices of the
formulas (ν a sample, j a neuron, i an input coordinate): as literal as a loop, and fast
enough for the d = 2048 checks (a Python loop over neurons is 20× slower there).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator

import numpy as np

Batch = tuple[np.ndarray, np.ndarray]


# ---------------------------------------------------------------------------
# draws (numpy's default generator, in a fixed order: W0, then s, then the batches)
# ---------------------------------------------------------------------------


def draw_init(rng: np.random.Generator, p: int, d: int, *, readout: str = "constant",
              rows: str = "gaussian") -> tuple[np.ndarray, np.ndarray]:
    """``(W0, s)``: rows ``w_j ~ N(0, I_d/d)`` (``rows="unit"``: then scaled to norm 1) and the
    readout values s of the law ``readout``."""
    W = rng.standard_normal((p, d)) / np.sqrt(d)
    if rows == "unit":
        W = W / np.linalg.norm(W, axis=1, keepdims=True)
    elif rows != "gaussian":
        raise ValueError(rows)
    if readout == "constant":
        s = np.ones(p)
    elif readout == "sign":
        s = np.array([1.0 if j % 2 == 0 else -1.0 for j in range(p)])
    elif readout == "gaussian":
        s = rng.standard_normal(p)
    else:
        raise ValueError(readout)
    return W, s


def draw_batch(rng: np.random.Generator, n: int, d: int, labels: Callable[[np.ndarray], np.ndarray],
               noise: float = 0.0, *, skip_eps_if_noiseless: bool = False) -> Batch:
    """``n`` fresh samples: ``x ~ N(0, I_d)`` (the rows of an n × d draw), then
    ``y = labels(x) + √Δ ε`` with ``ε ~ N(0, 1)`` drawn for every sample even if Δ = 0, as
    the library's simulator does. ``skip_eps_if_noiseless``: no ε is drawn when Δ = 0 (the
    same protocol, another order of draws: the recorded seeds of the learning-curve checks
    and the tables of docs/test_error.md were made with it)."""
    X = rng.standard_normal((n, d))
    if noise == 0 and skip_eps_if_noiseless:
        return X, labels(X)
    eps = rng.standard_normal(n)
    return X, labels(X) + np.sqrt(noise) * eps


def fresh_batches(rng: np.random.Generator, n: int, d: int, labels: Callable[[np.ndarray], np.ndarray],
                  noise: float = 0.0) -> Iterator[Batch]:
    """One fresh batch per giant step, drawn when the step asks for it."""
    while True:
        yield draw_batch(rng, n, d, labels, noise)


# ---------------------------------------------------------------------------
# the network and the giant steps
# ---------------------------------------------------------------------------


def network_output(W: np.ndarray, s: np.ndarray, X: np.ndarray, act) -> np.ndarray:
    """``f(x_ν) = (1/p) Σ_j s_j σ(⟨w_j, x_ν⟩)`` for every sample ν."""
    h = np.einsum("ji,vi->vj", W, X)
    return np.einsum("j,vj->v", s, act.evaluate(h)) / W.shape[0]


def giant_step(W: np.ndarray, s: np.ndarray, X: np.ndarray, y: np.ndarray, act, *, lr: float) -> np.ndarray:
    """``w_j + lr · s_j (1/n) Σ_ν e_ν σ'(⟨w_j, x_ν⟩) x_ν`` for every row j, ``e = y − f(x)``."""
    n = X.shape[0]
    e = y - network_output(W, s, X, act)
    h = np.einsum("ji,vi->vj", W, X)
    grad = np.einsum("v,vj,vi->ji", e, act.derivative(h), X, optimize=True) / n
    return W + lr * s[:, None] * grad


def low_degree_estimates(X: np.ndarray, y: np.ndarray, degree: int) -> tuple[float, np.ndarray | None]:
    """Batch estimates of the Hermite components of y of degree < ``degree`` (≤ 2):
    ``c0 = mean y`` and, for degree 2, ``c1 = mean y x``."""
    if degree > 2:
        raise NotImplementedError("the oracle removes the degrees 0 and 1 only")
    c0 = float(np.mean(y))
    c1 = np.einsum("v,vi->i", y, X) / X.shape[0] if degree >= 2 else None
    return c0, c1


def low_degree_value(X: np.ndarray, est: tuple[float, np.ndarray | None]) -> np.ndarray:
    """``c0 + ⟨c1, x_ν⟩`` for every sample."""
    c0, c1 = est
    out = np.full(X.shape[0], c0)
    if c1 is not None:
        out = out + X @ c1
    return out


def train(W: np.ndarray, s: np.ndarray, act, batches: Iterable[Batch], *, steps: int, lr: float,
          preprocess: int = 0, normalize: bool = False) -> Iterator[tuple[np.ndarray, tuple | None]]:
    """Giant steps 1..``steps``, step t on the t-th batch of ``batches`` (pass one batch several
    times to reuse it). Yields, after each step, the weights and the step's low-degree
    estimates (``preprocess = k``: the components of degree < k are subtracted from that
    batch's labels before the step; None without preprocessing). ``normalize``: rows
    rescaled to norm 1 after each step."""
    batches = iter(batches)
    for _ in range(steps):
        X, y = next(batches)
        est = None
        if preprocess:
            est = low_degree_estimates(X, y, preprocess)
            y = y - low_degree_value(X, est)
        W = giant_step(W, s, X, y, act, lr=lr)
        if normalize:
            W = W / np.linalg.norm(W, axis=1, keepdims=True)
        yield W, est


def average_estimates(estimates: list) -> tuple[float, np.ndarray | None] | None:
    """The low-degree estimates averaged over the steps' batches (None if there are none)."""
    if not estimates:
        return None
    c0 = float(np.mean([e[0] for e in estimates]))
    c1 = None if estimates[0][1] is None else np.mean([e[1] for e in estimates], axis=0)
    return c0, c1


# ---------------------------------------------------------------------------
# measurements
# ---------------------------------------------------------------------------


def readout_types(s: np.ndarray, readout: str, *, bins: int = 8) -> list[np.ndarray]:
    """Indices of the neurons of each type: one type (constant), s = +1 then s = −1 (sign),
    ``bins`` quantile bins of s, in increasing s (gaussian)."""
    if readout == "constant":
        return [np.arange(s.size)]
    if readout == "sign":
        return [np.flatnonzero(s > 0), np.flatnonzero(s < 0)]
    if readout == "gaussian":
        return np.array_split(np.argsort(s), bins)
    raise ValueError(readout)


def type_means(W: np.ndarray, groups: list[np.ndarray], r: int) -> tuple[np.ndarray, np.ndarray]:
    """Per type: the mean target overlaps ``W* w_j = w_j[:r]`` (K, r) and the mean ``‖w_j‖²`` (K,)."""
    overlaps = np.array([W[g, :r].mean(axis=0) for g in groups])
    norms = np.array([np.mean(np.sum(W[g] ** 2, axis=1)) for g in groups])
    return overlaps, norms


def frozen_error(W: np.ndarray, s: np.ndarray, act, X: np.ndarray, y: np.ndarray) -> float:
    """Error ``mean (y − f(x))²`` of the network as trained (readout frozen at ``a = s/√p``)."""
    return float(np.mean((y - network_output(W, s, X, act)) ** 2))


def features(W: np.ndarray, X: np.ndarray, act) -> np.ndarray:
    """``Φ[ν, j] = σ(⟨w_j, x_ν⟩)/√p``."""
    return act.evaluate(np.einsum("ji,vi->vj", W, X)) / np.sqrt(W.shape[0])


def ridge_readout(phi: np.ndarray, y: np.ndarray, lam: float) -> np.ndarray:
    """``argmin_a ‖y − Φa‖² + λ‖a‖²``: the normal equations ``(ΦᵀΦ + λI) a = Φᵀy``."""
    p = phi.shape[1]
    return np.linalg.solve(phi.T @ phi + lam * np.eye(p), phi.T @ y)


def readout_errors(phi: np.ndarray, y: np.ndarray, phi_test: np.ndarray, y_test: np.ndarray,
                   lam: float) -> tuple[float, float]:
    """Ridge readout on ``(Φ, y)``: its training error ``mean (y − Φa)²`` (penalty excluded) and
    its test error ``mean (y_test − Φ_test a)²``."""
    a = ridge_readout(phi, y, lam)
    return float(np.mean((y - phi @ a) ** 2)), float(np.mean((y_test - phi_test @ a) ** 2))
