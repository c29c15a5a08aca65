"""Test oracle: the finite-width overlap recursion of Arnaboldi et al. for giant steps.

Independent re-implementation (written from the equations, not from their code) of the
recursion that the ``giant-learning`` package of arn4/largebatch-ss evaluates in
``OverlapsBase.overlap_update`` for a committee of p neurons in the limit d → ∞ at *fixed*
p (docs/multi_step_error.md, "Comparison with Arnaboldi et al."). Their conventions:

* inputs ``x ~ N(0, I_d)``, local fields ``λ = W x`` (p of them) and ``λ* = W* x`` (k = 1
  here), jointly Gaussian with covariance ``[[Q, M], [Mᵀ, P]]``, ``Q = W Wᵀ``,
  ``M = W W*ᵀ``, ``P = W* W*ᵀ = 1``;
* network ``f = (1/p) Σ_j a_j σ(λ_j)``, residual ``e = y − f``, ``y = σ*(λ*) + √Δ ε``;
* update on a fresh batch of n samples, ``W ← W + γ/(n p) Σ_ν diag(a) σ'(λ_ν) e_ν x_νᵀ``;
* d → ∞ with ``n/d = α`` fixed:
  ``M_j ← M_j + (γ/p) a_j E[e σ'_j λ*]``,
  ``Q_jl ← Q_jl + (γ/p)(a_j X_jl + a_l X_lj)
  + (γ/p)² a_j a_l [E[e² σ'_j σ'_l]/α + T_j P⁻¹ T_l + X⊥_j Q⊥⁻¹ X⊥_lᵀ]``,
  with ``X_jl = E[e σ'_j λ_l]``, ``T_j = E[e σ'_j λ*]``, ``Q⊥ = Q − M P⁻¹ Mᵀ`` and
  ``X⊥`` the part of the population gradient orthogonal to the target (the last two terms
  are ``‖E[e σ'_j x]‖``-type products written in the span of the rows of W and W*);
* population risk ``R = ½ E[(y − f)²]`` (note the ½).

The protocol shared with ``giantstep`` (docs/model.md §1, §5.3): σ = σ* = ``erf(x/√2)`` (their
``ErfErfOverlaps``, all expectations in closed form), all ``a_j = 1`` (our constant readout
``s = 1``), ``γ = η̃ p`` (so ``γ/p = η̃``), ``M0 = 0``, ``Q0 = I`` (the d → ∞ values of
``W0 = randn(p, d)/√d``). Then all neurons stay exchangeable: ``Q = (Qd − Qo) I + Qo 11ᵀ``,
``M = m 1``, and the recursion closes on the three scalars ``(Qd, Qo, m)`` for every p,
including p = ∞ (where the sums over neurons are taken to their limit exactly).

Closed forms for ``g(x) = erf(x/√2)`` (``g' = 2φ``), derived by Gaussian tilting: for a
centred Gaussian vector with covariance C, ``E[Π_{s∈S} 2φ(u_s) F] = (2/π)^{|S|/2}
det(I + C_SS)^{-1/2} E'[F]`` with the conditioned covariance
``C' = C − C_{·S} (I + C_SS)⁻¹ C_{S·}``; and ``E[g(w) g(z)] = (2/π) asin(C_wz /
sqrt((1 + C_ww)(1 + C_zz)))``, ``E[v g(w)] = C_vw sqrt(2/π)/sqrt(1 + C_ww)``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TARGET = "t"  # label of the teacher's local field


def _tilt(cov: np.ndarray, idx: list[int]) -> tuple[float, np.ndarray]:
    """Prefactor and conditioned covariance of ``E[Π_{s ∈ idx} g'(u_s) · ]``."""
    sub = np.eye(len(idx)) + cov[np.ix_(idx, idx)]
    pref = (2.0 / math.pi) ** (len(idx) / 2.0) / math.sqrt(float(np.linalg.det(sub)))
    cross = cov[:, idx]
    return pref, cov - cross @ np.linalg.solve(sub, cross.T)


def _gg(cov: np.ndarray, w: int, z: int) -> float:
    """``E[g(w) g(z)]``."""
    return 2.0 / math.pi * math.asin(cov[w, z] / math.sqrt((1 + cov[w, w]) * (1 + cov[z, z])))


def e_d_lin_g(cov: np.ndarray) -> float:
    """``E[g'(u) v g(w)]`` for fields (u, v, w) = indices (0, 1, 2) of ``cov``."""
    pref, c = _tilt(cov, [0])
    return pref * c[1, 2] * math.sqrt(2.0 / math.pi) / math.sqrt(1.0 + c[2, 2])


def e_dd_gg(cov: np.ndarray) -> float:
    """``E[g'(u) g'(v) g(w) g(z)]`` for fields (u, v, w, z) = indices (0, 1, 2, 3)."""
    pref, c = _tilt(cov, [0, 1])
    return pref * _gg(c, 2, 3)


def e_dd(cov: np.ndarray) -> float:
    """``E[g'(u) g'(v)]`` for fields (u, v) = indices (0, 1)."""
    return _tilt(cov, [0, 1])[0]


@dataclass
class State:
    """Exchangeable state: ``Q_jj = qd``, ``Q_jl = qo`` (j ≠ l), ``M_j = m``."""

    qd: float
    qo: float
    m: float

    def cov(self, labels: tuple) -> np.ndarray:
        """Covariance of the local fields named by ``labels`` (neuron ids or TARGET)."""
        n = len(labels)
        c = np.empty((n, n))
        for i, a in enumerate(labels):
            for j, b in enumerate(labels):
                if a == TARGET and b == TARGET:
                    c[i, j] = 1.0
                elif a == TARGET or b == TARGET:
                    c[i, j] = self.m
                else:
                    c[i, j] = self.qd if a == b else self.qo
        return c


def _mix(p: float) -> dict[str, float]:
    """Weights of the neuron classes in the sums ``(1/p) Σ_m`` and ``(1/p²) Σ_mn`` (x = 1/p)."""
    x = 0.0 if math.isinf(p) else 1.0 / p
    return {"x": x}


def expectations(s: State, p: float, noise: float) -> dict[str, float]:
    """``T = E[e g'_j λ*]``, ``Xd = E[e g'_j λ_j]``, ``Xo = E[e g'_j λ_l]``,
    ``I4d = E[e² g'_j²]``, ``I4o = E[e² g'_j g'_l]`` (j ≠ l) for ``f = (1/p) Σ g(λ_m)``.

    Neuron ids: 0 = j, 1 = l, 2 and 3 = two further neurons (distinct from j, l and each
    other); the sums over m, n are split into these classes with their exact counts."""
    x = _mix(p)["x"]

    def i3(u, v, w):
        return e_d_lin_g(s.cov((u, v, w)))

    def i4(u, v, w, z):
        return e_dd_gg(s.cov((u, v, w, z)))

    t = TARGET
    T = i3(0, t, t) - (x * i3(0, t, 0) + (1 - x) * i3(0, t, 2))
    Xd = i3(0, 0, t) - (x * i3(0, 0, 0) + (1 - x) * i3(0, 0, 2))
    Xo = i3(0, 1, t) - (x * (i3(0, 1, 0) + i3(0, 1, 1)) + (1 - 2 * x) * i3(0, 1, 2))

    def e2(u, v):
        """E[e² g'_u g'_v] with e² = g*² + Δε² − 2 g* f + f² (ε independent)."""
        same = u == v
        val = i4(u, v, t, t) + noise * e_dd(s.cov((u, v)))
        if same:  # m ∈ {j}, other (p − 1)
            gf = x * i4(u, v, t, 0) + (1 - x) * i4(u, v, t, 2)
            ff = (x * x * i4(u, v, 0, 0) + 2 * x * (1 - x) * i4(u, v, 0, 2)
                  + x * (1 - x) * i4(u, v, 2, 2) + (1 - x) * (1 - 2 * x) * i4(u, v, 2, 3))
        else:  # m ∈ {j, l}, other (p − 2)
            gf = x * (i4(u, v, t, 0) + i4(u, v, t, 1)) + (1 - 2 * x) * i4(u, v, t, 2)
            ff = (x * x * (i4(u, v, 0, 0) + i4(u, v, 1, 1) + 2 * i4(u, v, 0, 1))
                  + 2 * x * (1 - 2 * x) * (i4(u, v, 0, 2) + i4(u, v, 1, 2))
                  + x * (1 - 2 * x) * i4(u, v, 2, 2)
                  + (1 - 2 * x) * (1 - 3 * x) * i4(u, v, 2, 3))
        return val - 2 * gf + ff

    return {"T": T, "Xd": Xd, "Xo": Xo, "I4d": e2(0, 0), "I4o": e2(0, 1)}


def risk(s: State, p: float, noise: float) -> float:
    """Their population risk ``½ E[(y − f)²]`` of the committee of p neurons."""
    x = 0.0 if math.isinf(p) else 1.0 / p
    c = s.cov((TARGET, 0, 1))
    gg = _gg(c, 0, 0)
    gf = _gg(c, 0, 1)
    ff = x * _gg(c, 1, 1) + (1 - x) * _gg(c, 1, 2)
    return 0.5 * (gg + noise - 2 * gf + ff)


def step(s: State, p: float, eta: float, alpha: float, noise: float) -> State:
    """One giant step of the d → ∞, fixed-p recursion (γ/p = η̃, a = 1, P = 1)."""
    ex = expectations(s, p, noise)
    T, Xd, Xo = ex["T"], ex["Xd"], ex["Xo"]
    # orthogonal parts: X⊥ = X − M P⁻¹ T (exchangeable: the same for both index orders)
    A = Xd - Xo  # X⊥ = A I + B 11ᵀ
    B = Xo - s.m * T
    a = s.qd - s.qo  # Q⊥ = a I + b 11ᵀ
    b = s.qo - s.m * s.m
    if math.isinf(p):
        # limits of (A I + B J)(a I + b J)⁻¹(A I + B J): J-part → B²/b (B = 0 when b = 0)
        r_off = B * B / b if b > 1e-300 else 0.0
    else:
        # (A I + B J)(αI + βJ)(A I + B J) with α = 1/a, β = −b/(a(a + p b)); J-coefficient
        c1 = A / a
        c2 = (B - A * b / a) / (a + p * b)
        r_off = c1 * B + c2 * A + p * c2 * B
    r_diag = A * A / a + r_off
    qd = s.qd + 2 * eta * Xd + eta**2 * (ex["I4d"] / alpha + T * T + r_diag)
    qo = s.qo + 2 * eta * Xo + eta**2 * (ex["I4o"] / alpha + T * T + r_off)
    return State(qd, qo, s.m + eta * T)


def trajectory(*, p: float, eta: float, alpha: float, steps: int,
               noise: float = 0.0) -> list[dict[str, float]]:
    """States and risks for t = 0..steps from ``Q0 = I``, ``M0 = 0``.

    Returns one dict per step with ``m`` (target overlap), ``shared`` = ``Qo − m²`` (the
    norm² of the component shared by all neurons, orthogonal to the target),
    ``private`` = ``Qd − Qo``, ``risk`` (their ½ E[(y − f)²]) and ``mse`` = 2·risk."""
    s = State(1.0, 0.0, 0.0)
    out = []
    for t in range(steps + 1):
        if t:
            s = step(s, p, eta, alpha, noise)
        r = risk(s, p, noise)
        out.append({"m": s.m, "shared": s.qo - s.m * s.m, "private": s.qd - s.qo,
                    "risk": r, "mse": 2 * r})
    return out
