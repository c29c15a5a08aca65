"""Measurements on the first-layer weights (docs/model.md §5).

* :func:`type_statistics` — per readout type τ (constant: one type; sign: s = ±1;
  gaussian: quantile bins of s): mean and spread of the target overlaps
  ``W* w_j`` (r entries), of the squared norms ``‖w_j‖²`` and of the cosines
  ``‖W* w_j‖/‖w_j‖`` (§5.1, §5.3).
* :func:`spike` — top singular value/vector of an update ``ΔW = W1 − W0``:
  ``strength² = σ_max²/p`` and the alignment ``‖W* v‖`` of the top right singular
  vector v with the target subspace (the "γ" of §5.1).

The target subspace is spanned by the first r coordinate axes (the simulator
uses ``W* = [I_r, 0]``; every quantity is rotation invariant).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg

from giantstep.numerics.overlaps.result import Spike


def _stats(values: np.ndarray) -> tuple[list[float], list[float]]:
    mean = values.mean(axis=0)
    std = values.std(axis=0, ddof=1) if values.shape[0] > 1 else np.zeros_like(mean)
    return np.atleast_1d(mean).tolist(), np.atleast_1d(std).tolist()


def type_groups(s: np.ndarray, readout: str, n_bins: int = 8) -> list[tuple[str, np.ndarray]]:
    """Partition of the neurons into readout types: ``[(label, indices), …]``.

    ``constant`` → one group; ``sign`` → ``s=+1`` then ``s=-1``; ``gaussian`` →
    ``n_bins`` groups of (almost) equal size by increasing s.
    """
    s = np.asarray(s)
    if readout == "constant":
        return [("s=1", np.arange(s.size))]
    if readout == "sign":
        return [("s=+1", np.flatnonzero(s > 0)), ("s=-1", np.flatnonzero(s < 0))]
    order = np.argsort(s, kind="stable")
    bins = np.array_split(order, min(n_bins, s.size))
    return [(f"bin{k}", np.sort(idx)) for k, idx in enumerate(bins)]


def neuron_measures(W: np.ndarray, r: int) -> dict[str, np.ndarray]:
    """Per-neuron target overlaps (p, r), squared norms (p,) and cosines (p,)."""
    W = np.asarray(W)
    m = np.asarray(W[:, :r], dtype=np.float64)
    norm2 = np.einsum("ij,ij->i", W, W, dtype=np.float64)
    m2 = np.einsum("ij,ij->i", m, m)
    cos = np.sqrt(m2) / np.sqrt(np.maximum(norm2, 1e-300))
    return {"overlap": m, "norm2": norm2, "cosine": cos, "perp_norm2": norm2 - m2}


def type_statistics(
    W: np.ndarray, s: np.ndarray, r: int, readout: str, n_bins: int = 8
) -> list[dict]:
    """Statistics of the neurons of each readout type (docs/model.md §5.3 outputs).

    Returns a list of dicts with keys ``type``, ``s`` (mean readout value),
    ``s_min``, ``s_max``, ``count``, ``overlap_mean``/``overlap_std`` (r floats),
    ``norm2_mean``/``norm2_std``, ``cosine_mean``/``cosine_std``, ``perp_norm2`` (mean of
    ``‖w_j‖² − ‖W* w_j‖²``), and the split of
    §5.3: ``private_var`` = unbiased within-type variance ``Σ_j ‖w_j − w̄‖²/(count−1)``
    (the q_τ of the theory) and ``shared_norm2`` = ``‖w̄_⊥‖² − private_var/count``
    (squared norm of the type's mean outside the target subspace, debiased).
    """
    meas = neuron_measures(W, r)
    out = []
    for label, idx in type_groups(s, readout, n_bins):
        if idx.size == 0:
            continue
        om, osd = _stats(meas["overlap"][idx])
        nm, nsd = _stats(meas["norm2"][idx])
        cm, csd = _stats(meas["cosine"][idx])
        qm, _ = _stats(meas["perp_norm2"][idx])
        Wt = np.asarray(W[idx], dtype=np.float64)
        wbar = Wt.mean(axis=0)
        if idx.size > 1:
            private = float(np.sum((Wt - wbar) ** 2) / (idx.size - 1))
        else:
            private = float("nan")
        shared = float(wbar[r:] @ wbar[r:]) - (private / idx.size if idx.size > 1 else 0.0)
        out.append({
            "type": label,
            "s": float(np.mean(s[idx])),
            "s_min": float(np.min(s[idx])),
            "s_max": float(np.max(s[idx])),
            "count": int(idx.size),
            "overlap_mean": om,
            "overlap_std": osd,
            "norm2_mean": nm[0],
            "norm2_std": nsd[0],
            "cosine_mean": cm[0],
            "cosine_std": csd[0],
            "perp_norm2": qm[0],
            "shared_norm2": shared,
            "private_var": private,
        })
    return out


def spike(delta_W: np.ndarray, r: int, s: np.ndarray | None = None) -> dict:
    """Top singular direction of an update ``ΔW`` (p × d) (docs/model.md §5.1).

    Uses the eigen-decomposition of the smaller Gram matrix (``ΔWᵀΔW`` or
    ``ΔWΔWᵀ``), which is deterministic. Returns ``strength2 = σ_max²/p``,
    ``alignment = ‖W* v‖`` (v the unit top right singular vector) and
    ``direction`` = the first r entries of v with the sign fixed so that the
    largest of them in absolute value is positive. With the readout values ``s``,
    also the rank-one estimate ``u = Σ_j s_j ΔW_j / Σ_j s_j²`` of the shared part
    ``η̃ μ1 (C1 + v)`` of §5.1: ``r2 = ‖u‖²`` (the r² of the spiked random
    features) and ``gamma = ‖W* u‖/‖u‖`` — the fields of the predicted
    :class:`giantstep.numerics.overlaps.result.Spike`, whose ``to_dict()`` this matches.
    """
    D = np.asarray(delta_W, dtype=np.float64)
    p, d = D.shape
    if d <= p:
        G = D.T @ D
        w, V = scipy.linalg.eigh(G, subset_by_index=[d - 1, d - 1])
        v = V[:, 0]
    else:
        G = D @ D.T
        w, U = scipy.linalg.eigh(G, subset_by_index=[p - 1, p - 1])
        v = D.T @ U[:, 0]
        norm = np.linalg.norm(v)
        v = v / norm if norm > 0 else U[:d, 0] * 0.0
    head = v[:r].copy()
    if head.size and head[np.argmax(np.abs(head))] < 0:
        head = -head
    r2 = gamma = None
    if s is not None:
        s = np.asarray(s, dtype=np.float64)
        u = (s @ D) / float(s @ s)
        nu = float(np.linalg.norm(u))
        r2, gamma = nu**2, (float(np.linalg.norm(u[:r]) / nu) if nu > 0 else 0.0)
    out = Spike(r2=r2, gamma=gamma, alignment=float(np.linalg.norm(v[:r])),
                strength2=float(max(w[0], 0.0) / p), direction=head.tolist())
    return out.to_dict()
