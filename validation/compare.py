"""Theory versus simulation, point by point (docs/model.md §5, §6.1).

:func:`validate` runs the prediction of the numerics layer that matches a
configuration and the finite-d simulation of :mod:`.simulator` over several
seeds and dimensions, and returns a table of points
``name, theory, sim_mean ± sim_se, z, ok``.

Kinds of comparison:

* ``overlaps`` — §5.1 (one step: :func:`giantstep.numerics.one_step_overlaps`) and
  §5.3 (several steps: :func:`giantstep.numerics.overlap_trajectory`): per step and
  per readout type, the target overlaps ``W* w`` (r entries), ``‖w‖²``, the cosine
  ``‖W* w‖/‖w‖``, ``‖w‖² − ‖W* w‖²``, the shared/private split; after one step the
  spike (alignment γ of the top singular vector of ``W1 − W0`` and the rank-one r²).
  For the gaussian readout the neurons are binned by s and the theory's type curve
  (cubic spline through the Gauss–Hermite types) is averaged over each bin's s.
* ``preprocessed`` — §5.2 (n = α d^ℓ, degrees < ℓ removed): regression slope and
  correlation of the simulated update of the overlaps on the predicted
  ``η̃ s_j (μ_ℓ/(ℓ−1)!) C_ℓ[ξ_j^{⊗(ℓ−1)}, ·]`` (theory: 1 and 1).
* ``error`` — §6.1 (:func:`giantstep.numerics.one_step_learning_curve`): test error of
  the ridge readout after one step, p = d, constant readout, single-index teacher.

Verdict (:mod:`.verdict`, docs/validation.md §2). Per point: the gap ``sim_mean − theory``
over its k seeds, with per-seed variance ``max(s², v_pred)`` where ``v_pred`` is the
predicted seed-to-seed fluctuation (:mod:`.fluctuations`: derived after the first step;
test-set noise for a test error); the normal law when ``v_pred`` is the complete
leading-order variance, else Student t with k − 1 degrees of freedom; Holm's procedure
over the points of a report at the family-wise level ``level`` (default 0.01). Four
verdicts: ``agrees``, ``agrees_finite_size``, ``undetermined`` (the seeds cannot resolve
``resolution`` × the quantity's scale; the table says how many seeds would), ``disagrees``.
Where no finite-size prediction exists, a finite-size study over ≥ 3 dimensions decides
(:mod:`.finite_size`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy as np

from giantstep.errors import InputError
from giantstep.params import PARAMETERS, Boolean, Grid, Interval, Noneable, Options, check
from giantstep.tables import FrameMixin

from .measure import type_groups
from .simulator import SimulationConfig, group_law, initial_weights, simulate

KINDS = ("overlaps", "preprocessed", "error")
_POSITIVE = Interval(float, 0, None, closed="neither")
#: Declared rules of the fields of :class:`ValidationConfig` (:mod:`giantstep.params`).
_VALIDATION_RULES: dict = {
    "kind": Options(KINDS), "target": PARAMETERS["target"].rule,
    "activation": PARAMETERS["activation"].rule, "alpha": PARAMETERS["alpha"].rule,
    "eta": PARAMETERS["eta"].rule, "steps": PARAMETERS["steps"].rule,
    "readout": PARAMETERS["readout"].rule, "noise": PARAMETERS["noise"].rule,
    "normalize": Boolean(), "symmetric": Boolean(), "init": Options(("gaussian", "sphere")),
    "ell": PARAMETERS["ell"].rule, "teacher": Noneable(PARAMETERS["teacher"].rule),
    "lam": PARAMETERS["lam"].rule, "alphas": PARAMETERS["alphas"].rule,
    "ds": Grid(Interval(int, 2, None)), "p": Noneable(Interval(int, 1, None)),
    "p_ratio": _POSITIVE, "seeds": Interval(int, 1, None), "n_test": Interval(int, 1, None),
    "dtype": PARAMETERS["dtype"].rule, "n_types": PARAMETERS["n_types"].rule,
    "level": Interval(float, 0, 1, closed="neither"), "resolution": _POSITIVE,
}
_TYPE_QUANTITIES = ("overlap", "norm2", "cosine", "perp_norm2", "shared_norm2", "private_var")


@dataclass
class ValidationConfig:
    """What to compare (see :func:`validate`).

    Parameters
    ----------
    kind : {"overlaps", "preprocessed", "error"}
        §5.1/§5.3 overlaps, §5.2 preprocessed one-step overlaps, §6.1 test error.
    target, activation : str
        Target g* and student σ (kind ``error``: ``teacher`` is used, g* = σ*(z1)).
    alpha, eta, steps, readout, noise, normalize, symmetric, init, ell :
        As in :class:`~giantstep.validation.simulator.SimulationConfig`.
    teacher : str, optional
        Kind ``error``: teacher activation σ*.
    lam : float
        Kind ``error``: ridge penalty λ.
    alphas : list of float
        Kind ``error``: readout sample ratios n/d.
    ds : list of int
        Dimensions simulated.
    p : int, optional
        Width (default ``round(p_ratio·d)``; kind ``error`` needs p = d).
    p_ratio : float
        Width over dimension when ``p`` is not given.
    seeds : int
        Seeds per dimension (≥ 2 for standard errors).
    n_test : int
        Test-set size (kind ``error``).
    dtype : str
        Arithmetic of the simulation.
    n_types : int
        Gauss–Hermite types of the theory for the gaussian readout.
    level : float
        Family-wise false-alarm level of a report (Holm's procedure over its points).
    resolution : float
        Relative resolution a verdict must reach: a point whose ``1 − level`` confidence
        half-width exceeds ``resolution × scale`` (scale: ``|theory|``, for target overlaps
        the norm of the type's overlap vector) is ``undetermined``.
    quantities : list of str, optional
        Restrict the overlaps points to these quantities (``overlap``, ``norm2``,
        ``cosine``, ``perp_norm2``, ``shared_norm2``, ``private_var``, ``spike``).
    """

    kind: str = "overlaps"
    target: str = "z1"
    activation: str = "relu"
    alpha: float = 2.0
    eta: float = 1.0
    steps: int = 1
    readout: str = "constant"
    noise: float | None = None
    normalize: bool = False
    symmetric: bool = False
    init: str = "gaussian"
    ell: int = 2
    teacher: str | None = None
    lam: float = 0.1
    alphas: list[float] = field(default_factory=lambda: [1.0])
    ds: list[int] = field(default_factory=lambda: [256])
    p: int | None = None
    p_ratio: float = 1.0
    seeds: int = 4
    n_test: int = 10_000
    dtype: str = "float64"
    n_types: int = 8
    level: float = 0.01
    resolution: float = 0.1
    quantities: list[str] | None = None

    def __post_init__(self) -> None:
        for name, rule in _VALIDATION_RULES.items():
            check(name, getattr(self, name), rule)
        self.ds = [int(d) for d in np.atleast_1d(self.ds)]
        self.seeds = int(self.seeds)
        self.alphas = [float(a) for a in np.atleast_1d(self.alphas)]
        if self.kind == "error":
            if self.teacher is None:
                raise InputError("kind 'error' needs a teacher activation")
            if self.p is not None:
                raise InputError("kind 'error' sets the width by p_ratio (ψ = p/d, the theory's "
                                 "width_ratio): do not set p")
        if self.kind == "preprocessed" and self.readout == "constant" and not self.symmetric:
            from giantstep.theory import as_activation

            if abs(as_activation(self.activation).mu(0)) > 1e-12:
                raise InputError(
                    "kind 'preprocessed' with a constant readout: the residual y − f is not "
                    "centred (f0 = μ0(σ) ≠ 0), the rows are rescaled by 1 + η̃ d^{(ℓ−1)/2} s μ2 E[e] "
                    "and §5.2 does not apply; use the sign or gaussian readout or symmetric pairs")
        if self.quantities is not None:
            bad = set(self.quantities) - set(_TYPE_QUANTITIES) - {"spike"}
            if bad:
                raise InputError(f"unknown quantities {sorted(bad)}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ValidationConfig:
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"unknown validation parameters: {sorted(unknown)}")
        return cls(**data)

    def width(self, d: int) -> int:
        if self.kind == "error":  # p = ψ d with ψ = p_ratio (the theory's width_ratio)
            return max(1, int(round(self.p_ratio * d)))
        if self.p is not None:
            return int(self.p)
        p = max(2, int(round(self.p_ratio * d)))
        return p + (p % 2) if self.symmetric else p

    def sim_target(self) -> str:
        if self.kind != "error":
            return self.target
        from giantstep.theory import as_activation, is_target_expression
        from giantstep.theory.expr.parsing import X, zvar

        if is_target_expression(str(self.teacher)):  # a multi-index teacher in z1..zr
            return str(self.teacher)
        return str(as_activation(self.teacher).expr.subs(X, zvar(1)))

    def simulations(self) -> list[tuple[int, dict]]:
        """The simulations to run: ``[(index of the readout ratio, SimulationConfig dict)]``."""
        out = []
        for d in self.ds:
            for seed in range(self.seeds):
                base = dict(target=self.sim_target(), activation=self.activation, d=d,
                            p=self.width(d), alpha=self.alpha, eta=self.eta, seed=seed,
                            readout=self.readout, init=self.init, noise=self.noise,
                            symmetric=self.symmetric, normalize=self.normalize,
                            dtype=self.dtype, n_test=0, gaussian_bins=self.n_types)
                if self.kind == "overlaps":
                    base.update(steps=self.steps)
                    out.append((0, SimulationConfig(**base).to_dict()))
                elif self.kind == "preprocessed":
                    base.update(steps=1, ell=self.ell, preprocess=True, record_neurons=True,
                                measure_spike=False)
                    out.append((0, SimulationConfig(**base).to_dict()))
                else:
                    base.update(steps=1, lam=self.lam,
                                n_test=self.n_test, measure_spike=False)
                    for i, a in enumerate(self.alphas):
                        out.append((i, SimulationConfig(alpha_readout=a, **base).to_dict()))
        return out


# ---------------------------------------------------------------------------
# predictions (adapters to the numerics layer)
# ---------------------------------------------------------------------------


def predict(cfg: ValidationConfig) -> dict:
    """The theory's numbers for ``cfg`` in the schema used by the comparison.

    ``overlaps``: ``{"steps": [{"step", "types": [{"s", "overlap", "norm2", "cosine",
    ["perp_norm2", "shared_norm2", "private_var"]}]}], "spike": {"gamma", "r2"}?}``;
    ``preprocessed``: ``{"coef": η̃ μ_ℓ/(ℓ−1)!, "C": C_ℓ (nested lists), "ell"}``;
    ``error``: ``{"test_error": [one per alpha]}``.
    """
    if cfg.kind == "overlaps":
        return _predict_overlaps(cfg)
    if cfg.kind == "preprocessed":
        from giantstep.theory import as_activation, as_target

        tgt, act = as_target(cfg.target), as_activation(cfg.activation)
        ell = int(cfg.ell)
        from giantstep.numerics import preprocessed_overlaps

        pre = preprocessed_overlaps(tgt, act, alpha=cfg.alpha, eta=cfg.eta, ell=ell,
                                    readout=cfg.readout, noise=cfg.noise)
        return {"ell": ell, "coef": float(pre.coefficient), "C": np.asarray(pre.tensor).tolist()}
    from giantstep.numerics import one_step_learning_curve

    lc = one_step_learning_curve(cfg.activation, cfg.teacher, alpha0=cfg.alpha, eta=cfg.eta,
                                 lam=cfg.lam, alphas=cfg.alphas, noise=cfg.noise or 0.0,
                                 width_ratio=cfg.p_ratio, readout=cfg.readout, warn=False)
    return {"test_error": [float(v) for v in lc.test_error],
            "lazy_test_error": [float(v) for v in lc.lazy_test_error]}


def _predict_overlaps(cfg: ValidationConfig) -> dict:
    import giantstep.numerics as gn

    if cfg.steps == 1 and not cfg.normalize:
        res = gn.one_step_overlaps(cfg.target, cfg.activation, alpha=cfg.alpha, eta=cfg.eta,
                                   readout=cfg.readout, noise=cfg.noise, n_types=cfg.n_types,
                                   symmetric=cfg.symmetric)
        out = {"steps": res.to_dict()["steps"]}
        if res.spike is not None:
            out["spike"] = res.spike.to_dict()
        return out
    if cfg.symmetric:
        raise InputError("no multi-step prediction for symmetric pairs (overlap_trajectory "
                         "has no symmetric option)")
    res = gn.overlap_trajectory(cfg.target, cfg.activation, alpha=cfg.alpha, eta=cfg.eta,
                                steps=cfg.steps, readout=cfg.readout, noise=cfg.noise,
                                n_types=cfg.n_types, normalize=cfg.normalize)
    return {"steps": res.to_dict()["steps"]}


# ---------------------------------------------------------------------------
# measurements (run in the worker next to the simulation)
# ---------------------------------------------------------------------------


def _interpolator(types: list[dict], key: str) -> Callable[[np.ndarray], np.ndarray] | None:
    """Theory quantity as a function of s: exact lookup for ≤ 3 types, else a cubic spline."""
    vals = [t.get(key) for t in types]
    if any(v is None for v in vals):
        if key == "perp_norm2" and all(t.get("norm2") is not None for t in types):
            vals = [t["norm2"] - float(np.sum(np.square(t["overlap"]))) for t in types]
        else:
            return None
    s = np.array([t["s"] for t in types], dtype=float)
    V = np.array(vals, dtype=float)
    order = np.argsort(s)
    s, V = s[order], V[order]
    if len(s) <= 3:
        def lookup(x):
            idx = np.argmin(np.abs(np.asarray(x)[:, None] - s[None, :]), axis=1)
            return V[idx]
        return lookup
    from scipy.interpolate import CubicSpline

    spline = CubicSpline(s, V, axis=0)
    return lambda x: spline(np.asarray(x, dtype=float))


def _step1_floors(sim: SimulationConfig, bm, s_j: np.ndarray) -> dict | None:
    """Predicted per-seed variances of one type's means after step 1 (:mod:`.fluctuations`)."""
    if bm is None or sim.normalize:
        return None
    from .fluctuations import one_step_variances

    return one_step_variances(bm, s_mean=float(np.mean(s_j)), s2_mean=float(np.mean(s_j**2)),
                              s3_mean=float(np.mean(s_j**3)), s4_mean=float(np.mean(s_j**4)),
                              count=int(s_j.size), d=sim.d, n=sim.n, init=sim.init)


def _measure_overlaps(sim: SimulationConfig, res, theory: dict, quantities, bm=None) -> dict:
    out: dict[str, tuple] = {}
    _, s = initial_weights(sim)
    groups = type_groups(s, group_law(sim), sim.gaussian_bins)
    want = set(quantities or (*_TYPE_QUANTITIES, "spike"))
    for st_th in theory["steps"]:
        t = st_th["step"]
        if t == 0 or t >= len(res.steps):
            continue
        rec = res.steps[t]
        by_label = {tp["type"]: tp for tp in rec["types"]}
        for label, idx in groups:
            tp = by_label.get(label)
            if tp is None:
                continue
            s_j = s[idx]
            floors = _step1_floors(sim, bm, s_j) if t == 1 else None
            for q in _TYPE_QUANTITIES:
                if q not in want:
                    continue
                f = _interpolator(st_th["types"], q)
                if f is None:
                    continue
                pred = np.mean(f(s_j), axis=0)
                fl = None if floors is None else floors.get(q)
                if q == "overlap":
                    for i, v in enumerate(tp["overlap_mean"]):
                        extra = None if fl is None else {"var": fl[i], "complete": True}
                        out[f"step{t} {label} overlap[{i + 1}]"] = (v, float(pred[i]), extra)
                else:
                    sim_key = {"norm2": "norm2_mean", "cosine": "cosine_mean"}.get(q, q)
                    extra = (None if fl is None else
                             {"var": fl, "complete": q in _COMPLETE_FLOORS})
                    out[f"step{t} {label} {q}"] = (tp[sim_key], float(pred), extra)
    if "spike" in want and "spike" in theory and len(res.steps) > 1 and "spike" in res.steps[1]:
        sp = res.steps[1]["spike"]
        out["step1 spike gamma (top singular vector)"] = (sp["alignment"], theory["spike"]["gamma"])
        if sim.readout in ("constant", "sign") and not sim.symmetric:
            out["step1 spike r2 (rank-one)"] = (sp["r2"], theory["spike"]["r2"])
    return out


def _measure_preprocessed(sim: SimulationConfig, res, theory: dict) -> dict:
    from giantstep.numerics.overlaps.preprocessed import predicted_overlap_change

    nz = res.neurons
    m0, m1 = nz["overlap"][0], nz["overlap"][1]
    pred = predicted_overlap_change(theory["coef"], theory["C"], nz["s"], math.sqrt(sim.d) * m0)
    delta = (m1 - m0).ravel()
    pv = pred.ravel()
    slope = float(pv @ delta / (pv @ pv)) if pv @ pv > 0 else float("nan")
    corr = float(np.corrcoef(pv, delta)[0, 1])
    return {"overlap regression slope": (slope, 1.0), "overlap correlation": (corr, 1.0)}


def _measure_job(job: tuple) -> dict:
    """Simulate one configuration and return ``{name: (sim value, theory value[, extra])}``.

    ``extra`` (optional): ``{"var": predicted per-seed variance, "complete": bool}``.
    """
    sim_dict, vcfg_dict, theory, alpha_index = job[:4]
    bm = job[4] if len(job) > 4 else None
    sim = SimulationConfig.from_dict(sim_dict)
    vcfg = ValidationConfig.from_dict(vcfg_dict)
    res = simulate(sim)
    if vcfg.kind == "overlaps":
        vals = _measure_overlaps(sim, res, theory, vcfg.quantities, bm)
    elif vcfg.kind == "preprocessed":
        vals = _measure_preprocessed(sim, res, theory)
    else:
        from .fluctuations import sampling_variance_of_test_error

        a = vcfg.alphas[alpha_index]
        extra = {"var": sampling_variance_of_test_error(res.test_error, sim.n_test),
                 "complete": False}
        vals = {f"test error (alpha={a:g})": (res.test_error, theory["test_error"][alpha_index],
                                              extra)}
    return {"d": sim.d, "seed": sim.seed, "values": vals}


# ---------------------------------------------------------------------------
# the report
# ---------------------------------------------------------------------------

# predicted step-1 variances that are complete to leading order (checked against
# Monte-Carlo over seeds); the private variance misses an O(1/(nd)) part → floor only
_COMPLETE_FLOORS = ("norm2", "perp_norm2", "shared_norm2", "cosine")
_MARKERS = {"agrees": ("o", "C0", "agrees"),
            "agrees_finite_size": ("s", "C1", "agrees (finite-size allowance)"),
            "undetermined": ("^", "0.5", "undetermined (too few seeds)"),
            "disagrees": ("X", "C3", "disagrees")}


def method_text(cfg: ValidationConfig) -> str:
    """One line describing the verdict rule (printed under the table)."""
    return (f"verdict: gap/s.e. with s.e.² = max(s², predicted fluctuation)/seeds; normal law "
            f"where the fluctuation is predicted, else Student t (seeds − 1 dof); Holm over the "
            f"points at family-wise level {cfg.level:g}; undetermined when the "
            f"{1 - cfg.level:g} interval is wider than {cfg.resolution:g} × scale")


@dataclass
class ValidationReport(FrameMixin):
    """Result of :func:`validate`: ``points`` (each with a ``verdict``) and ``all_ok``."""

    points: list[dict]
    all_ok: bool
    config: dict
    theory: dict
    tolerance: str

    def summary(self) -> dict[str, int]:
        """Number of points per verdict."""
        from .verdict import VERDICTS

        return {v: sum(p["verdict"] == v for p in self.points) for v in VERDICTS}

    def to_dict(self) -> dict[str, Any]:
        return {"points": self.points, "all_ok": self.all_ok, "summary": self.summary(),
                "config": self.config, "tolerance": self.tolerance}

    def table(self) -> str:
        from giantstep.tables import format_table

        rows = []
        for pt in self.points:
            z = "-" if pt["z"] is None else f"{pt['z']:+.2f}"
            se = "-" if pt["se"] is None else f"{pt['se']:.4f}"
            rows.append([pt["d"], pt["name"], f"{pt['theory']:.4f}", f"{pt['sim_mean']:.4f}", se,
                         pt["law"], z, pt["verdict_text"]])
        return format_table(["d", "quantity", "theory", "sim mean", "s.e.", "law", "z",
                             "verdict"], rows)

    def verdict_line(self) -> str:
        """One line: the counts of each verdict and what to do about undetermined points."""
        c = self.summary()
        parts = [f"{c['agrees']} agree"]
        if c["agrees_finite_size"]:
            parts.append(f"{c['agrees_finite_size']} agree through the finite-size allowance")
        if c["undetermined"]:
            need = max(p["seeds_needed"] or 0 for p in self.points
                       if p["verdict"] == "undetermined")
            parts.append(f"{c['undetermined']} undetermined (too few seeds: run ≥ {need})")
        parts.append(f"{c['disagrees']} disagree")
        head = ("all points agree" if self.all_ok else
                "SOME POINTS DISAGREE" if c["disagrees"] else "UNDETERMINED")
        return f"{head}: " + ", ".join(parts)

    def plot(self):
        """The report as a figure (:mod:`giantstep.figures`).

        ``error``: learning curves — α on the x axis, the theory line, the simulation means
        with ± s.e. bars, one colour per d, the marker shape giving the verdict.
        Other kinds: simulation against theory per quantity (the diagonal is agreement),
        one colour per d, marker shape = verdict.
        """
        from giantstep.figures import validation_figure

        c = self.config
        what = c["teacher"] if c["kind"] == "error" else c["target"]
        title = f"{c['kind']}: {what} — student {c['activation']}"
        return validation_figure(self.points, _MARKERS, title, learning_curve=c["kind"] == "error")


_OVERLAP = re.compile(r"^(.*) overlap\[(\d+)\]$")


def _scales(keys: list[tuple[int, str]], theory: dict[tuple[int, str], float]) -> dict:
    """Scale of each point for the resolution: |theory|, or for a target overlap the norm
    of its type's overlap vector (so that a zero overlap is judged on the type's scale)."""
    fam: dict[tuple[int, str], float] = {}
    for d, name in keys:
        m = _OVERLAP.match(name)
        if m:
            fam[(d, m.group(1))] = fam.get((d, m.group(1)), 0.0) + theory[(d, name)] ** 2
    out = {}
    for d, name in keys:
        m = _OVERLAP.match(name)
        scale = math.sqrt(fam[(d, m.group(1))]) if m else abs(theory[(d, name)])
        out[(d, name)] = max(scale, 1e-3)
    return out


def aggregate(results: list[dict], cfg: ValidationConfig) -> list[dict]:
    """Combine per-seed measurements into points with mean, s.e., z and a verdict.

    ``results``: ``[{"d", "seed", "values": {name: (sim, theory[, extra])}}]`` (see
    :func:`_measure_job`). The verdicts are those of :mod:`.verdict` at ``cfg.level`` and
    ``cfg.resolution``.
    """
    from .verdict import decide, point_stats

    table: dict[tuple[int, str], list[tuple[float, float, dict | None]]] = {}
    names: list[tuple[int, str]] = []
    for r in sorted(results, key=lambda r: (r["d"], r["seed"])):
        for name, val in r["values"].items():
            key = (r["d"], name)
            if key not in table:
                table[key] = []
                names.append(key)
            extra = val[2] if len(val) > 2 else None
            table[key].append((float(val[0]), float(val[1]), extra))
    keys = sorted(names, key=lambda k: (k[0], names.index(k)))
    theories = {k: float(np.mean([v[1] for v in table[k]])) for k in keys}
    scales = _scales(keys, theories)
    stats, rows = [], []
    for key in keys:
        vals = table[key]
        sim = [v[0] for v in vals]
        extras = [v[2] for v in vals]
        pred_var, complete = None, False
        if all(e is not None and e.get("var") is not None for e in extras):
            pred_var = float(np.mean([e["var"] for e in extras]))
            complete = all(bool(e.get("complete")) for e in extras)
        finite = all(math.isfinite(v) for v in sim)
        st = point_stats(sim if finite else [0.0] * len(sim), theories[key], pred_var=pred_var,
                         complete=complete, level=cfg.level)
        if not finite:  # a non-finite simulation can never agree
            st.p = st.p_allow = 0.0
        stats.append(st)
        k = len(sim)
        mean = float(np.mean(sim))
        sample_se = float(np.std(sim, ddof=1) / math.sqrt(k)) if k > 1 else None
        rows.append({"name": key[1], "d": key[0], "theory": theories[key], "sim_mean": mean,
                     "sim_se": sample_se, "n_seeds": k,
                     "predicted_sd": None if pred_var is None else math.sqrt(pred_var)})
    decided = decide(stats, [cfg.resolution * scales[k] for k in keys], cfg.level)
    points = []
    for row, st, dec in zip(rows, stats, decided):
        z = st.gap / st.se if st.se else None
        points.append({
            **row, "se": st.se, "z": z,
            "law": "-" if st.se is None else ("normal" if st.dof is None else f"t{st.dof}"),
            **dec, "ok": dec["verdict"] in ("agrees", "agrees_finite_size"),
            "resolved": bool(st.p <= cfg.level / max(len(stats), 1)),
        })
    return points


def validate(
    config: ValidationConfig | dict | None = None,
    *,
    prediction: Callable[[ValidationConfig], dict] | dict | None = None,
    workers: int | None = 1,
    scheduler: Any = None,
    progress: bool = False,
    out: str | None = None,
    resume: bool = False,
    overwrite: bool = False,
    **kwargs: Any,
) -> ValidationReport:
    """Compare theory and simulation on one configuration (docs/model.md §5, §6.1).

    Parameters
    ----------
    config : ValidationConfig or dict, optional
        What to compare; keyword arguments build or override it.
    prediction : callable or dict, optional
        Replaces the numerics prediction (``predict(cfg)``) — same schema as
        :func:`predict`. Used by tests and to compare against other sources. The predicted
        fluctuations (:mod:`.fluctuations`) always come from the configuration.
    workers, scheduler, progress :
        Execution of the simulations (see :func:`giantstep.validation.sweep.execute`).
    out, resume, overwrite :
        Journal of the measured seeds (:mod:`.journal`, as in
        :func:`~giantstep.validation.sweep.run_sweep`): each seed's measurement is appended
        as it finishes; ``resume`` reuses the ones of the same simulation, measurement and
        prediction, so a killed validation loses at most the seeds in flight.

    Returns
    -------
    ValidationReport
        ``points`` (``name, d, theory, sim_mean, sim_se`` (sample), ``se`` (used),
        ``predicted_sd``, ``law``, ``z``, ``verdict`` ∈ {agrees, agrees_finite_size,
        undetermined, disagrees}, ``verdict_text``, ``seeds_needed``, ``p_value``, ``ok``,
        ``tolerance``, ``n_seeds``, ``resolved``) and ``all_ok`` (nothing disagrees and
        nothing is undetermined).
    """
    if config is None:
        config = ValidationConfig(**kwargs)
    elif isinstance(config, dict):
        config = ValidationConfig.from_dict({**config, **kwargs})
    elif kwargs:
        config = ValidationConfig.from_dict({**config.to_dict(), **kwargs})
    if callable(prediction):
        theory = prediction(config)
    elif isinstance(prediction, dict):
        theory = prediction
    else:
        theory = predict(config)
    bm = predicted_batch(config)
    vdict = config.to_dict()
    jobs = [(sim, vdict, theory, i, bm) for i, sim in config.simulations()]
    results = _run_jobs(jobs, config, theory, out, resume, overwrite,
                        dict(workers=workers, scheduler=scheduler, progress=progress))
    return report_from_results(results, config, theory)


def _run_jobs(jobs: list, config: ValidationConfig, theory: dict, out: str | None, resume: bool,
              overwrite: bool, run: dict) -> list:
    """Measure every job, journaled in ``out`` when given (one record per simulated seed)."""
    from .journal import Journal, is_finite_record
    from .sweep import canonical, execute, point_key

    journal = Journal(out, resume=resume, overwrite=overwrite) if out is not None else None
    measure = {k: v for k, v in config.to_dict().items() if k not in ("ds", "seeds", "level", "resolution")}
    keys = [point_key({"simulation": job[0], "validation": measure, "alpha_index": job[3],
                       "theory": theory}) for job in jobs]
    known = journal.read() if journal is not None and resume else {}
    results: list = [known[k]["result"] if k in known else None for k in keys]
    todo = [i for i, r in enumerate(results) if r is None]
    for j, res in execute(_measure_job, [jobs[i] for i in todo], desc="validate", **run):
        i = todo[j]
        results[i] = canonical(res)
        if journal is not None and is_finite_record(results[i]):
            journal.append({"key": keys[i], "config": canonical({"simulation": jobs[i][0],
                                                                  "validation": measure}),
                            "result": results[i]})
    if journal is not None:
        journal.finalize([{"key": k, "config": canonical({"simulation": job[0], "validation": measure}),
                           "result": r} for k, job, r in zip(keys, jobs, results)])
    return results


def predicted_batch(config: ValidationConfig):
    """The first-step batch moments of :mod:`.fluctuations` for ``config`` (None if none)."""
    if config.kind != "overlaps" or config.normalize:
        return None
    from .fluctuations import batch_moments

    return batch_moments(config.target, config.activation, alpha=config.alpha, eta=config.eta,
                         readout=config.readout, noise=config.noise, symmetric=config.symmetric)


def report_from_results(results: list[dict], config: ValidationConfig,
                        theory: dict) -> ValidationReport:
    """The report of already simulated seeds (used by :func:`validate` and the calibration)."""
    points = aggregate(results, config)
    ok = all(p["verdict"] in ("agrees", "agrees_finite_size") for p in points)
    return ValidationReport(points, ok, config.to_dict(), theory, method_text(config))
