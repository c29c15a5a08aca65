"""Finite-d simulation of giant-step training (docs/model.md §1).

Protocol (exactly §1):

* inputs ``x ~ N(0, I_d)``; target subspace ``W* = [I_r, 0]`` (the first r axes —
  every measured quantity is rotation invariant); labels ``y = g*(z) + √Δ ε``;
* network ``f(x) = (1/√p) Σ_j a_j σ(⟨w_j, x⟩)``, ``a_j = s_j/√p``, readout law
  ``constant`` (s = 1), ``sign`` (s = ±1, half each) or ``gaussian`` (s ~ N(0,1));
  ``w_j ~ N(0, I_d/d)`` or uniform on the unit sphere; option symmetric pairs
  ``(w, a), (w, −a)`` so that ``f ≡ 0`` at initialisation;
* T giant steps, each on a fresh batch of ``n = α d^ℓ`` samples, second layer
  frozen: ``W ← W − η ∇_W L`` with ``L = (1/2n) Σ (y − f)²`` and
  ``η = η̃ p d^{(ℓ−1)/2}``, i.e. row j moves by
  ``η̃ d^{(ℓ−1)/2} s_j (1/n) Σ_ν e_ν σ'(⟨w_j, x_ν⟩) x_ν``;
* options: row normalisation after each step; label preprocessing (the batch
  estimates of the Hermite components of y of degree < k are subtracted from the
  labels, k = ⌈ℓ⌉ by default — mean and linear part for ℓ = 2 — and the same
  training estimates are added back to the predictor at readout and test time);
* readout refit by ridge on ``n_r = α_r d`` fresh samples (module :mod:`.ridge`),
  test error ``E[(y − f)²]`` on ``n_test`` fresh samples, label noise included.

Implementation: batches are generated and processed in chunks (the gradient is
a sum over samples): per chunk one product ``X Wᵀ``, one fused numba pass
(output, residual, ``e σ'``) and one product ``Mᵀ X``. Memory is
``O(chunk · (d + p) + p d)`` whatever n. Every draw comes from a seed tree
(:mod:`.sampling`), so results do not depend on the chunk size and the same seed
gives the same numbers.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np
import scipy.linalg.blas

from giantstep.caching import bounded_cache
from giantstep.errors import InputError
from giantstep.params import PARAMETERS, Boolean, Interval, Noneable, Options, check
from giantstep.tables import FrameMixin
from giantstep.theory import Activation, Target, as_activation, as_target

from . import precision, sampling
from .kernels import activation_code, apply_sigma, residual_times_derivative
from .measure import spike, type_statistics
from .ridge import solve_dual, solve_primal

INITS = ("gaussian", "sphere")
DTYPES = ("float64", "float32")
_INT_POS = Interval(int, 1, None)
_FLAG = Boolean()
#: Declared rules of the configuration fields (:mod:`giantstep.params`; shared names —
#: readout, noise, seed, dtype, alpha, eta — use the shared rule).
_CONFIG_RULES: dict = {
    "target": PARAMETERS["target"].rule, "activation": PARAMETERS["activation"].rule,
    "d": _INT_POS, "p": _INT_POS, "steps": Interval(int, 0, None), "n_test": Interval(int, 0, None),
    "seed": PARAMETERS["seed"].rule, "gaussian_bins": _INT_POS, "batch_reuse": _INT_POS,
    "alpha": PARAMETERS["alpha"].rule, "ell": Interval(float, 0, None, closed="neither"),
    "eta": Interval(float, None, None), "readout": PARAMETERS["readout"].rule,
    "init": Options(INITS), "dtype": PARAMETERS["dtype"].rule, "noise": PARAMETERS["noise"].rule,
    "lam": Noneable(Interval(float, 0, None)), "alpha_readout": Noneable(PARAMETERS["alpha"].rule),
    "chunk_size": Noneable(_INT_POS), "eta_raw": Noneable(Interval(float, None, None)),
    "n_samples": Noneable(_INT_POS), "symmetric": _FLAG, "normalize": _FLAG,
    "measure_spike": _FLAG, "record_neurons": _FLAG, "readout_on_step_batch": _FLAG,
    "measure_frozen": _FLAG, "readout_every_step": _FLAG,
}
CHUNK_BYTES = 1 << 27  # memory budget of one chunk's inputs + preactivations (128 MiB)


@dataclass
class SimulationConfig:
    """Parameters of one simulation of the docs/model.md §1 protocol.

    Parameters
    ----------
    target, activation : str
        Target ``g*`` (e.g. ``"z1 + z1*z2"``) and student activation (e.g. ``"relu"``).
    d, p : int
        Input dimension and number of hidden neurons.
    alpha, ell : float
        Batch size per step ``n = round(α d^ℓ)`` (ℓ may be fractional, κ = ℓ).
    eta : float
        Rescaled learning rate η̃ (``η = η̃ p d^{(ℓ−1)/2}``).
    steps : int
        Number of giant steps T (0 = random features).
    readout : {"constant", "sign", "gaussian"}
        Law of the second-layer signs s.
    init : {"gaussian", "sphere"}
        ``w ~ N(0, I/d)`` or uniform on the unit sphere.
    symmetric : bool
        Symmetric pairs ``(w, a), (w, −a)`` (p must be even).
    normalize : bool
        Row normalisation after each step.
    preprocess : bool or int
        Remove the batch estimates of the Hermite components of y of degree < k:
        ``True`` → k = ⌈ℓ⌉, an int gives k (k ≤ 3 supported), ``False`` → none.
    noise : float or None
        Label-noise variance Δ (None → 0).
    lam : float or None
        Ridge penalty λ of the readout refit; None → no readout, no test error.
    alpha_readout : float or None
        Readout samples ``n_r = round(α_r d)`` (None → α).
    n_test : int
        Size of the fresh test set.
    seed : int
        Root seed of every draw.
    dtype : {"float64", "float32"}
        Arithmetic of the matrix products (draws are always float64).
    chunk_size : int or None
        Samples per chunk (rounded up to a multiple of 128; ``None`` → automatic,
        about 128 MiB per chunk).
    eta_raw : float or None
        If given, the actual learning rate η (overrides the η̃ scaling), e.g.
        ``10·√(n p)`` in the public one-step notebook.
    n_samples : int or None
        If given, the batch size n per step (overrides α d^ℓ).
    gaussian_bins : int
        Number of quantile bins of s reported for the gaussian readout.
    measure_spike : bool
        Compute the top singular direction of each step's update.
    record_neurons : bool
        Keep per-neuron overlaps/norms (``SimulationResult.neurons``).
    readout_on_step_batch : bool
        Fit the readout on the last step's batch instead of fresh samples (the
        protocol of the public one-step notebook; docs/model.md §1 uses fresh samples).
    measure_frozen : bool
        After every step t = 0..T, the test error of the network as trained — second layer
        frozen at ``a = s/√p``, no refit, no low-degree add-back — on the ``n_test`` test
        samples: ``steps[t]["frozen_error"]`` (the quantity ``output_mse`` of docs/model.md §5.3 /
        :func:`giantstep.numerics.overlap_trajectory` predicts for p → ∞).
    readout_every_step : bool
        With ``lam``: also refit the ridge readout after every step t = 0..T
        (same readout and test samples at every t) and store it as
        ``steps[t]["readout"]`` (the same dict as ``SimulationResult.readout``, which is
        unchanged: the refit after the last step). Used for the several-step test error
        (docs/multi_step_error.md).
    batch_reuse : int
        Consecutive giant steps taken on the same batch (default 1: a fresh batch
        per step, docs/model.md §1). With ``batch_reuse = B`` steps ``1..B`` use batch 1,
        steps ``B+1..2B`` batch 2, … (GD reusing a batch, Dandi et al. 2024,
        arXiv:2402.03220; docs/algorithms.md).
    """

    target: str = "z1"
    activation: str = "relu"
    d: int = 256
    p: int = 256
    alpha: float = 2.0
    ell: float = 1.0
    eta: float = 1.0
    steps: int = 1
    readout: str = "constant"
    init: str = "gaussian"
    symmetric: bool = False
    normalize: bool = False
    preprocess: bool | int = False
    noise: float | None = None
    lam: float | None = None
    alpha_readout: float | None = None
    n_test: int = 10_000
    seed: int = 0
    dtype: str = "float64"
    chunk_size: int | None = None
    eta_raw: float | None = None
    n_samples: int | None = None
    gaussian_bins: int = 8
    measure_spike: bool = True
    record_neurons: bool = False
    readout_on_step_batch: bool = False
    batch_reuse: int = 1
    measure_frozen: bool = False
    readout_every_step: bool = False

    def __post_init__(self) -> None:
        if isinstance(self.target, Target):
            self.target = self.target.text
        if isinstance(self.activation, Activation):
            self.activation = self.activation.name
        for name, rule in _CONFIG_RULES.items():
            check(name, getattr(self, name), rule)
        for name in ("d", "p", "steps", "n_test", "seed", "gaussian_bins", "batch_reuse"):
            setattr(self, name, int(getattr(self, name)))
        for name in ("alpha", "ell", "eta"):
            setattr(self, name, float(getattr(self, name)))
        if self.symmetric and self.p % 2:
            raise InputError(f"symmetric pairs need an even p, got p={self.p}")
        for name in ("noise", "lam", "alpha_readout", "eta_raw"):
            if getattr(self, name) is not None:
                setattr(self, name, float(getattr(self, name)))
        for name in ("chunk_size", "n_samples"):
            if getattr(self, name) is not None:
                setattr(self, name, int(getattr(self, name)))
        if self.preprocess is not False and self.preprocess_degree > 3:
            raise InputError("preprocessing removes at most the degrees 0, 1, 2 (k ≤ 3)")
        n = self.n
        if n > 10**10:
            raise InputError(f"batch n = {n} is too large")

    # derived quantities -------------------------------------------------
    @property
    def n(self) -> int:
        """Batch size per giant step."""
        if self.n_samples is not None:
            return self.n_samples
        return max(1, int(round(self.alpha * self.d**self.ell)))

    @property
    def n_readout(self) -> int:
        """Number of fresh samples of the ridge readout."""
        a = self.alpha if self.alpha_readout is None else self.alpha_readout
        return max(1, int(round(a * self.d)))

    @property
    def step_multiplier(self) -> float:
        """Factor m such that row j moves by ``m s_j (1/n) Σ e σ' x`` (``= η/p``)."""
        if self.eta_raw is not None:
            return self.eta_raw / self.p
        return self.eta * self.d ** ((self.ell - 1.0) / 2.0)

    def batch_of_step(self, t: int) -> int:
        """Index of the batch used by giant step t (1-based): ``⌈t / batch_reuse⌉``."""
        return (t - 1) // self.batch_reuse + 1

    @property
    def preprocess_degree(self) -> int:
        """k: the label components of degree < k are removed (0 = no preprocessing)."""
        if self.preprocess is True:
            return int(math.ceil(self.ell - 1e-12))
        if self.preprocess is False or self.preprocess is None:
            return 0
        k = int(self.preprocess)
        if k < 0:
            raise InputError(f"preprocess must be a bool or an integer ≥ 0, got {self.preprocess}")
        return k

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly dict of the parameters.

        Options added later (``batch_reuse``, ``measure_frozen``) are left out at their
        defaults, so that the point keys of sweeps recorded before they existed stay valid
        (``--resume``).
        """
        out = asdict(self)
        for name, default in (("batch_reuse", 1), ("measure_frozen", False),
                              ("readout_every_step", False)):
            if out.get(name) == default:
                del out[name]
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimulationConfig:
        """Inverse of :meth:`to_dict` (unknown keys are an error)."""
        names = {f.name for f in fields(cls)}
        if "ridge_lambda" in data and "lam" not in data:  # files written before the rename
            data = {("lam" if k == "ridge_lambda" else k): v for k, v in data.items()}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"unknown simulation parameters: {sorted(unknown)}")
        return cls(**data)


@dataclass
class SimulationResult(FrameMixin):
    """Output of :func:`simulate`.

    Attributes
    ----------
    config : dict
        The parameters.
    steps : list of dict
        One record per step t = 0..T (t = 0: initialisation) with ``types``
        (per readout type, see :func:`giantstep.validation.measure.type_statistics`),
        ``all`` (every neuron), and for t ≥ 1 ``train_loss`` (mean squared residual on
        the step's batch, before the update), ``pred2`` (mean f² on that batch) and
        ``spike`` (top singular direction of the step's update).
    readout : dict or None
        ``n``, ``lambda``, ``form``, ``train_error``, ``test_error``, ``n_test``,
        ``pred2_train``/``pred2_test`` (mean f² on the readout and test samples).
    timings : dict
        Wall-clock seconds per stage.
    neurons : dict or None
        With ``record_neurons``: ``s`` (p,), ``overlap`` (T+1, p, r), ``norm2`` (T+1, p),
        ``grad_cosine`` (T, p, r) — cosines of each step's update of row j with the target
        directions, ``⟨Δw_j, e_i⟩/‖Δw_j‖`` — and the final weights ``W`` (p, d).
    float32_unresolved : list of str
        With ``dtype="float32"``: the reported quantities below the float32 rounding
        level (:mod:`.precision`); empty in float64.
    """

    config: dict
    steps: list[dict]
    readout: dict | None
    timings: dict = field(default_factory=dict)
    neurons: dict | None = None
    float32_unresolved: list[str] = field(default_factory=list)

    @property
    def test_error(self) -> float | None:
        return None if self.readout is None else self.readout["test_error"]

    @property
    def train_error(self) -> float | None:
        return None if self.readout is None else self.readout["train_error"]

    def to_dict(self, neurons: bool = False) -> dict[str, Any]:
        """JSON-friendly dict (per-neuron arrays only if ``neurons``)."""
        out = {
            "config": self.config,
            "steps": self.steps,
            "readout": self.readout,
            "float32_unresolved": self.float32_unresolved,
            "timings": self.timings,
        }
        if neurons and self.neurons is not None:
            out["neurons"] = {k: np.asarray(v).tolist() for k, v in self.neurons.items()}
        return out


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


class LowDegree:
    """Training estimates of the Hermite components of y of degree < k (§1 preprocessing).

    ``value(x) = c0 + ⟨c1, x⟩ + ½ (xᵀ C2 x − tr C2)`` with ``c0 = mean y``,
    ``c1 = mean y x`` and ``C2 = mean y (x xᵀ − I)`` (only the degrees < k).
    """

    def __init__(self, k: int, d: int):
        self.k = k
        self.c0 = 0.0
        self.c1 = np.zeros(d) if k >= 2 else None
        self.C2 = np.zeros((d, d)) if k >= 3 else None

    def value(self, x: np.ndarray) -> np.ndarray:
        out = np.full(x.shape[0], self.c0)
        if self.c1 is not None:
            out += x @ self.c1.astype(x.dtype)
        if self.C2 is not None:
            xc = x @ self.C2.astype(x.dtype)
            out += 0.5 * (np.einsum("ij,ij->i", xc, x) - np.trace(self.C2))
        return out

    @staticmethod
    def average(parts: list[LowDegree]) -> LowDegree:
        out = LowDegree(parts[0].k, parts[0].c1.size if parts[0].c1 is not None else 0)
        out.c0 = float(np.mean([q.c0 for q in parts]))
        if out.c1 is not None:
            out.c1 = np.mean([q.c1 for q in parts], axis=0)
        if out.C2 is not None:
            out.C2 = np.mean([q.C2 for q in parts], axis=0)
        return out


class _Problem:
    """Everything a simulation needs besides the weights (compiled target, activation…)."""

    def __init__(self, cfg: SimulationConfig):
        self.cfg = cfg
        self.target = as_target(cfg.target)
        self.r = self.target.r
        if self.r > cfg.d:
            raise InputError(f"the target uses r = {self.r} directions but d = {cfg.d}")
        self.act = as_activation(cfg.activation)
        if cfg.steps > 0:
            self.act.check_weakly_differentiable()
        self.code = activation_code(self.act)
        self.dtype = np.dtype(cfg.dtype)
        self.noise_sd = math.sqrt(cfg.noise or 0.0)
        width = (cfg.d + cfg.p) * self.dtype.itemsize
        auto = max(sampling.BLOCK_ROWS, CHUNK_BYTES // width)
        self.chunk_request = cfg.chunk_size if cfg.chunk_size is not None else auto

    def chunk(self, n: int) -> int:
        return sampling.round_chunk(self.chunk_request, n)

    def labels(self, x: np.ndarray, eps: np.ndarray) -> np.ndarray:
        y = np.asarray(self.target.evaluate(x[:, : self.r]), dtype=np.float64)
        if self.noise_sd:
            y = y + self.noise_sd * eps
        return y


def initial_weights(cfg: SimulationConfig) -> tuple[np.ndarray, np.ndarray]:
    """First-layer weights W0 (p × d, float64) and readout signs s (p,) (§1)."""
    p, d = cfg.p, cfg.d
    base = p // 2 if cfg.symmetric else p
    g = sampling.rng(cfg.seed, sampling.STAGE_INIT, 0)
    W = g.standard_normal((base, d))
    if cfg.init == "gaussian":
        W /= math.sqrt(d)
    else:
        W /= np.linalg.norm(W, axis=1, keepdims=True)
    if cfg.readout == "constant":
        s = np.ones(base)
    elif cfg.readout == "sign":
        s = np.where(np.arange(base) < (base + 1) // 2, 1.0, -1.0)
    else:
        s = sampling.rng(cfg.seed, sampling.STAGE_INIT, 1).standard_normal(base)
    if cfg.symmetric:
        W = np.concatenate([W, W])
        s = np.concatenate([s, -s])
    return W, s


# ---------------------------------------------------------------------------
# sums over the rows of a batch: the unit of work of a (distributed) run
# ---------------------------------------------------------------------------
#
# Every pass over a batch is a sum over its rows. Each ``_*_sum`` function below
# is module-level (picklable), takes the configuration as a dict and a
# :class:`~.sampling.GaussianStream` of rows, regenerates those rows from the
# seed tree, and returns unnormalised partial sums. ``_map_rows`` cuts a stream
# into ``parts`` block-aligned ranges, maps the sum over them with ``mapper``
# (in-process by default, or :class:`giantstep.validation.distributed.DaskMapper`)
# and adds the parts in range order: the reduction order is fixed by ``parts``
# alone, so a distributed run equals the in-process run with the same ``parts``
# bit for bit, and with ``parts = 1`` it is the plain chunk loop.

Mapper = Callable[[Callable, list[tuple]], list]


def local_map(fn: Callable, arglist: list[tuple]) -> list:
    """The in-process mapper: ``[fn(*args) for args in arglist]``."""
    return [fn(*args) for args in arglist]


@bounded_cache(8)
def _problem_from_json(cfg_json: str) -> _Problem:
    return _Problem(SimulationConfig.from_dict(json.loads(cfg_json)))


def _problem(cfg: dict) -> _Problem:
    """The compiled problem of a configuration dict (cached per process: workers reuse it)."""
    return _problem_from_json(json.dumps(cfg, sort_keys=True))


def _map_rows(fn: Callable, stream: sampling.GaussianStream, args: tuple, mapper: Mapper | None,
              parts: int) -> list:
    """``fn(*args[:1], …, rows, *args[1:])`` over the partition of ``stream``: partial sums in order."""
    cfg, rest = args[0], args[1:]
    ranges = stream.partition(parts)
    jobs = [(cfg, stream.rows(a, b), *rest) for a, b in ranges]
    return (mapper or local_map)(fn, jobs)


def _low_degree_sum(cfg: dict, stream: sampling.GaussianStream, k: int) -> LowDegree:
    """Unnormalised sums ``Σ y``, ``Σ y x``, ``Σ y x xᵀ`` of the rows of ``stream`` (degrees < k)."""
    prob = _problem(cfg)
    est = LowDegree(k, prob.cfg.d)
    s0 = 0.0
    for _, x, eps in stream.chunks(prob.chunk(stream.n), prob.dtype):
        y = prob.labels(x, eps)
        s0 += float(y.sum())
        if est.c1 is not None:
            est.c1 += x.T @ y.astype(x.dtype)
        if est.C2 is not None:
            est.C2 += (x * y[:, None].astype(x.dtype)).T @ x
    est.c0 = s0
    return est


def estimate_low_degree(prob: _Problem, stream: sampling.GaussianStream, k: int,
                        mapper: Mapper | None = None, parts: int = 1) -> LowDegree:
    """Batch estimates of the label components of degree < k (first pass over the batch)."""
    cfg = prob.cfg
    est = LowDegree(k, cfg.d)
    n = stream.n
    s0 = 0.0
    for part in _map_rows(_low_degree_sum, stream, (cfg.to_dict(), k), mapper, parts):
        s0 += part.c0
        if est.c1 is not None:
            est.c1 += part.c1
        if est.C2 is not None:
            est.C2 += part.C2
    est.c0 = s0 / n
    if est.c1 is not None:
        est.c1 /= n
    if est.C2 is not None:
        est.C2 /= n
        est.C2[np.diag_indices(cfg.d)] -= est.c0
    return est


def _labelled_chunks(prob: _Problem, stream: sampling.GaussianStream, Wt: np.ndarray,
                     low: LowDegree | None):
    """Chunks ``(x, y, h = x Wᵀ)`` of a stream, ``y`` the labels minus ``low`` if given.

    ``h`` lives in one buffer reused from chunk to chunk (use it before the next one).
    """
    chunk = prob.chunk(stream.n)
    H = np.empty((min(chunk, stream.n), Wt.shape[1]), dtype=prob.dtype)
    for _, x, eps in stream.chunks(chunk, prob.dtype):
        y = prob.labels(x, eps)
        if low is not None:
            y = y - low.value(x)
        h = H[: x.shape[0]]
        np.matmul(x, Wt, out=h)
        yield x, y, h


def _gradient_sum(cfg: dict, stream: sampling.GaussianStream, W: np.ndarray, c: np.ndarray,
                  low: LowDegree | None) -> tuple[np.ndarray, float, float]:
    """``Σ_ν e_ν σ'(W x_ν) x_νᵀ``, ``Σ_ν e_ν²`` and ``Σ_ν f_ν²`` over the rows of ``stream``."""
    prob = _problem(cfg)
    Wt = np.asarray(W, dtype=prob.dtype).T
    G = np.zeros(W.shape, dtype=np.float64)
    sq = ff = 0.0
    for x, y, h in _labelled_chunks(prob, stream, Wt, low):
        f = residual_times_derivative(prob.act, prob.code, h, c, y)
        sq += float(np.sum((y - f) ** 2))
        ff += float(f @ f)
        G += h.T @ x
    return G, sq, ff


def batch_gradient(
    prob: _Problem,
    W: np.ndarray,
    c: np.ndarray,
    stream: sampling.GaussianStream,
    low: LowDegree | None = None,
    mapper: Mapper | None = None,
    parts: int = 1,
) -> tuple[np.ndarray, float, float]:
    """``G = (1/n) Σ_ν e_ν σ'(W x_ν) x_νᵀ`` (p × d, float64), the mean of ``e²`` and of ``f²``.

    ``e = y − low(x) − f(x)`` with ``f(x) = Σ_j c_j σ(⟨w_j, x⟩)``; processed in chunks,
    as ``parts`` partial sums mapped by ``mapper`` (see :func:`_map_rows`).
    """
    n = stream.n
    G = np.zeros(W.shape, dtype=np.float64)
    sq = ff = 0.0
    for Gp, sqp, ffp in _map_rows(_gradient_sum, stream, (prob.cfg.to_dict(), W, c, low), mapper, parts):
        G += Gp
        sq += sqp
        ff += ffp
    G /= n
    return G, sq / n, ff / n


def _gram_sum(cfg: dict, stream: sampling.GaussianStream, W: np.ndarray,
              low: LowDegree | None) -> tuple[np.ndarray, np.ndarray, float]:
    """Upper triangle of ``Σ φ φᵀ``, ``Σ φ y`` and ``Σ y²`` over the rows (``φ = σ(W x)/√p``)."""
    prob = _problem(cfg)
    p = prob.cfg.p
    scale = 1.0 / math.sqrt(p)
    gram = np.zeros((p, p))
    rhs = np.zeros(p)
    yy = 0.0
    for _, y, h in _labelled_chunks(prob, stream, np.asarray(W, dtype=prob.dtype).T, low):
        phi = apply_sigma(prob.act, prob.code, h, scale)
        gram += _gram_upper(phi)
        rhs += phi.T @ y.astype(phi.dtype)
        yy += float(y @ y)
    return gram, rhs, yy


def _readout(prob: _Problem, W: np.ndarray, low: LowDegree | None, mapper: Mapper | None = None,
             parts: int = 1) -> dict:
    """Ridge refit of the second layer and test error (§1)."""
    cfg = prob.cfg
    p = cfg.p
    lam = float(cfg.lam)
    scale = 1.0 / math.sqrt(p)
    if cfg.readout_on_step_batch and cfg.steps > 0:
        n_r = cfg.n
        stream = sampling.GaussianStream(cfg.seed, (sampling.STAGE_STEP, cfg.batch_of_step(cfg.steps)), n_r,
                                         cfg.d)
    else:
        n_r = cfg.n_readout
        stream = sampling.GaussianStream(cfg.seed, (sampling.STAGE_READOUT,), n_r, cfg.d)
    if n_r >= p:
        form = "primal"
        gram = np.zeros((p, p))
        rhs = np.zeros(p)
        yy = 0.0
        for gp, rp, yp in _map_rows(_gram_sum, stream, (cfg.to_dict(), W, low), mapper, parts):
            gram += gp
            rhs += rp
            yy += yp
        gram = np.triu(gram) + np.triu(gram, 1).T
        a = solve_primal(gram, rhs, lam)
        train = (yy - 2.0 * a @ rhs + a @ gram @ a) / n_r
        pred2 = float(a @ gram @ a) / n_r
    else:  # n_r < p: the n_r × p features fit in memory; solved where the weights are
        form = "dual"
        x, eps = stream.all(prob.dtype)
        y = prob.labels(x, eps)
        if low is not None:
            y = y - low.value(x)
        Wt = np.asarray(W, dtype=prob.dtype).T
        phi = apply_sigma(prob.act, prob.code, np.ascontiguousarray(x @ Wt), scale)
        a = solve_dual(phi, y, lam)
        f = phi.astype(np.float64) @ a
        train = float(np.mean((y - f) ** 2))
        pred2 = float(f @ f) / n_r
    test, pred2_test = _test_error(prob, W, a * scale, low, mapper, parts)
    return {
        "n": n_r,
        "lambda": lam,
        "form": form,
        "train_error": float(train),
        "test_error": test,
        "n_test": cfg.n_test,
        "pred2_train": pred2,
        "pred2_test": pred2_test,
        "a_norm2": float(a @ a),
    }


def _gram_upper(phi: np.ndarray) -> np.ndarray:
    """Upper triangle of ``ΦᵀΦ`` by BLAS ``syrk`` (half the flops of a general product)."""
    syrk = scipy.linalg.blas.get_blas_funcs("syrk", (phi,))
    # phi is C-contiguous (m × p): phi.T is Fortran-contiguous (p × m), no copy
    return syrk(1.0, phi.T, trans=0, lower=0)


def _test_sum(cfg: dict, stream: sampling.GaussianStream, W: np.ndarray, c: np.ndarray,
              low: LowDegree | None) -> tuple[float, float]:
    """``Σ (y − f)²`` and ``Σ f²`` over the rows of ``stream``."""
    prob = _problem(cfg)
    c = c.astype(prob.dtype)
    sq = ff = 0.0
    for _, y, h in _labelled_chunks(prob, stream, np.asarray(W, dtype=prob.dtype).T, low):
        f = apply_sigma(prob.act, prob.code, h) @ c
        sq += float(np.sum((y - f) ** 2))
        ff += float(f @ f)
    return sq, ff


def _test_error(prob: _Problem, W: np.ndarray, c: np.ndarray, low: LowDegree | None,
                mapper: Mapper | None = None, parts: int = 1) -> tuple[float, float | None]:
    """``E[(y − f)²]`` on ``n_test`` fresh samples, label noise included, and the mean of ``f²``."""
    cfg = prob.cfg
    if cfg.n_test == 0:
        return float("nan"), None
    stream = sampling.GaussianStream(cfg.seed, (sampling.STAGE_TEST,), cfg.n_test, cfg.d)
    sq = ff = 0.0
    for sqp, ffp in _map_rows(_test_sum, stream, (cfg.to_dict(), W, c, low), mapper, parts):
        sq += sqp
        ff += ffp
    return sq / cfg.n_test, ff / cfg.n_test


def _frozen_error(prob: _Problem, W: np.ndarray, c: np.ndarray, mapper: Mapper | None,
                  parts: int) -> float:
    """Test error of the network as trained (readout frozen at ``c = s/p``), label noise included."""
    if prob.cfg.n_test == 0:
        raise InputError("measure_frozen needs test samples (n_test > 0)")
    return _test_error(prob, W, c, None, mapper, parts)[0]


def group_law(cfg: SimulationConfig) -> str:
    """How neurons are grouped into types: symmetric constant readout has s = ±1."""
    if cfg.symmetric and cfg.readout == "constant":
        return "sign"
    return cfg.readout


def _step_record(t: int, W: np.ndarray, s: np.ndarray, prob: _Problem) -> dict:
    cfg = prob.cfg
    types = type_statistics(W, s, prob.r, group_law(cfg), cfg.gaussian_bins)
    everyone = type_statistics(W, s, prob.r, "constant")[0]
    everyone["type"] = "all"
    return {"step": t, "types": types, "all": everyone}


# ---------------------------------------------------------------------------
# public entry point
# ---------------------------------------------------------------------------


def simulate(cfg: SimulationConfig | dict | None = None, *, client: Any = None, parts: int | None = None,
             **kwargs: Any) -> SimulationResult:
    """Simulate T giant steps and the ridge readout (docs/model.md §1).

    Parameters
    ----------
    cfg : SimulationConfig or dict, optional
        The parameters; keyword arguments build or override them.
    client : dask.distributed.Client, str or DaskMapper, optional
        Spread this one run over a Dask cluster: every pass over a batch (the
        gradient sum of each step, the preprocessing estimates, the readout Gram
        matrix, the test error) becomes ``parts`` tasks over row ranges of the seed
        tree, reduced here in a fixed order; the weights go to the workers once per
        step, the batches are drawn where they are used
        (:mod:`giantstep.validation.distributed`).
    parts : int, optional
        Row ranges per pass (default 1 in-process, ``4 ×`` the cluster's threads with a
        client). The result depends on ``parts`` only through the order of the floating
        point additions: the same ``parts`` gives the same bits in-process and on any
        cluster; different ``parts`` agree to rounding (≤ 1e-12 relative, tested).

    Returns
    -------
    SimulationResult
        Per step and per readout type: overlap mean/std (r entries), squared norms,
        cosines; spike of each step's update; after the readout (if
        ``lam`` is not None) test and train errors.

    Examples
    --------
    >>> res = simulate(target="z1", activation="tanh", d=64, p=32, eta=1.0,
    ...                readout="constant", n_test=0)
    >>> len(res.steps)
    2
    """
    if cfg is None:
        cfg = SimulationConfig(**kwargs)
    elif isinstance(cfg, dict):
        cfg = SimulationConfig.from_dict({**cfg, **kwargs})
    elif kwargs:
        cfg = SimulationConfig.from_dict({**cfg.to_dict(), **kwargs})
    if not isinstance(cfg, SimulationConfig):
        raise InputError(f"expected a SimulationConfig, got {type(cfg).__name__}")
    mapper: Mapper | None = None
    if client is not None:
        from .distributed import as_mapper

        mapper = as_mapper(client)
    if parts is None:
        parts = 1 if mapper is None else mapper.default_parts()
    if isinstance(parts, bool) or int(parts) < 1:
        raise InputError(f"parts must be an integer ≥ 1, got {parts!r}")
    parts = int(parts)
    prob = _problem(cfg.to_dict())
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    W, s = initial_weights(cfg)
    c = s / cfg.p  # a_j/√p with a_j = s_j/√p
    records = [_step_record(0, W, s, prob)]
    if cfg.measure_frozen:
        records[0]["frozen_error"] = _frozen_error(prob, W, c, mapper, parts)
    every = cfg.readout_every_step and cfg.lam is not None
    if every:
        records[0]["readout"] = _readout(prob, W, None, mapper, parts)
    rec_neurons = None
    if cfg.record_neurons:
        rec_neurons = {"s": s.copy(), "overlap": [W[:, : prob.r].copy()], "grad_cosine": [],
                       "norm2": [np.einsum("ij,ij->i", W, W)]}
    timings["init"] = time.perf_counter() - t0
    k = cfg.preprocess_degree
    estimates: list[LowDegree] = []
    mult = cfg.step_multiplier
    for t in range(1, cfg.steps + 1):
        t1 = time.perf_counter()
        b = cfg.batch_of_step(t)  # batch_reuse consecutive steps share one batch
        stream = sampling.GaussianStream(cfg.seed, (sampling.STAGE_STEP, b), cfg.n, cfg.d)
        if t == 1 or b != cfg.batch_of_step(t - 1):
            low = estimate_low_degree(prob, stream, k, mapper, parts) if k > 0 else None
            if low is not None:
                estimates.append(low)
        G, loss, pred2 = batch_gradient(prob, W, c, stream, low, mapper, parts)
        update = (mult * s)[:, None] * G
        W = W + update
        if cfg.normalize:
            W /= np.linalg.norm(W, axis=1, keepdims=True)
        rec = _step_record(t, W, s, prob)
        rec["train_loss"] = loss
        rec["pred2"] = pred2
        if cfg.measure_frozen:
            rec["frozen_error"] = _frozen_error(prob, W, c, mapper, parts)
        if cfg.measure_spike:
            rec["spike"] = spike(update, prob.r, s)
        if every:
            rec["readout"] = _readout(prob, W, LowDegree.average(estimates) if estimates else None,
                                      mapper, parts)
        records.append(rec)
        if rec_neurons is not None:
            un = np.linalg.norm(update, axis=1)
            rec_neurons["grad_cosine"].append(update[:, : prob.r] / np.maximum(un, 1e-300)[:, None])
            rec_neurons["overlap"].append(W[:, : prob.r].copy())
            rec_neurons["norm2"].append(np.einsum("ij,ij->i", W, W))
        timings[f"step{t}"] = time.perf_counter() - t1
    readout = None
    if cfg.lam is not None:
        t2 = time.perf_counter()
        low = LowDegree.average(estimates) if estimates else None
        readout = _readout(prob, W, low, mapper, parts)
        timings["readout"] = time.perf_counter() - t2
    timings["total"] = time.perf_counter() - t0
    if rec_neurons is not None:
        rec_neurons["overlap"] = np.stack(rec_neurons["overlap"])
        rec_neurons["norm2"] = np.stack(rec_neurons["norm2"])
        rec_neurons["grad_cosine"] = (np.stack(rec_neurons["grad_cosine"]) if cfg.steps
                                      else np.zeros((0, cfg.p, prob.r)))
        rec_neurons["W"] = W
    unresolved = precision.unresolved(records, readout, cfg.d, cfg.dtype)
    return SimulationResult(cfg.to_dict(), records, readout, timings, rec_neurons, unresolved)
