"""Calibration and power of the verdicts of ``validate`` (docs/validation.md §2.5).

*Calibration*: many validate runs on configurations where the equations are right
(d from 128 to 1024, 2 to 8 seeds, overlaps and test errors); the false-alarm rate is
the fraction of points called ``disagrees`` (and the fraction of runs with at least one),
to be compared with the nominal level of the verdict (family-wise ``level`` per run,
hence at most ``level`` per point). *Power*: the same simulations at d = 1024 with 8
seeds per run, against a deliberately wrong theory (every prediction × 1.05); the
detection rate is the fraction of runs (and of target-overlap points with a non-zero
prediction) called ``disagrees``.

For economy, the runs of one configuration and dimension are disjoint sets of seeds of
one pool of simulations (independent runs: distinct seeds never share a draw).

``python -m giantstep.validation.verdict_calibration [--quick] [--workers W]`` prints the
tables (JSON with ``--json``).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass
from typing import Any

from giantstep.tables import FrameMixin

from .compare import ValidationConfig, _measure_job, predict, predicted_batch, report_from_results

SEED_CYCLE = (2, 3, 4, 5, 6, 8)

# configurations where the equations are right (docs/model.md §5.1, §5.3, §6.1, checked there)
CONFIGS: dict[str, dict] = {
    "5.1 tanh/tanh const α=2 η̃=3": dict(kind="overlaps", target="tanh(z1)", activation="tanh",
                                        readout="constant", alpha=2.0, eta=3.0, p_ratio=0.5),
    "5.1 z1+z1z2 relu sign α=1 η̃=1.5": dict(kind="overlaps", target="z1 + z1*z2",
                                           activation="relu", readout="sign", alpha=1.0,
                                           eta=1.5, p_ratio=0.5),
    "5.1 tanh(z1) relu const α=2 η̃=2": dict(kind="overlaps", target="tanh(z1)",
                                            activation="relu", readout="constant", alpha=2.0,
                                            eta=2.0, p_ratio=0.5),
    "5.3 z1+z1z2 relu sign α=1 η̃=1.5 T=3": dict(kind="overlaps", target="z1 + z1*z2",
                                               activation="relu", readout="sign", alpha=1.0,
                                               eta=1.5, steps=3, p_ratio=0.5,
                                               quantities=["overlap", "norm2", "cosine"]),
    "6.1 lazy tanh/tanh η̃=0 λ=0.1 α=1": dict(kind="error", teacher="tanh", activation="tanh",
                                             alpha=2.0, eta=0.0, lam=0.1, alphas=[1.0],
                                             n_test=2000),
    "6.1 tanh/tanh α0=2 η̃=1 λ=0.1 α=1": dict(kind="error", teacher="tanh", activation="tanh",
                                             alpha=2.0, eta=1.0, lam=0.1, alphas=[1.0],
                                             n_test=2000),
}
FULL_PLAN = {  # runs per dimension
    "5.1 tanh/tanh const α=2 η̃=3": {128: 16, 256: 16, 512: 16, 1024: 16},
    "5.1 z1+z1z2 relu sign α=1 η̃=1.5": {128: 16, 256: 16, 512: 16, 1024: 16},
    "5.1 tanh(z1) relu const α=2 η̃=2": {256: 4, 1024: 4},
    "5.3 z1+z1z2 relu sign α=1 η̃=1.5 T=3": {128: 8, 256: 8, 512: 8, 1024: 8},
    "6.1 lazy tanh/tanh η̃=0 λ=0.1 α=1": {128: 8, 256: 8, 512: 8, 1024: 8},
    "6.1 tanh/tanh α0=2 η̃=1 λ=0.1 α=1": {128: 8, 256: 8, 512: 8, 1024: 8},
}
QUICK_PLAN = {
    "5.1 tanh/tanh const α=2 η̃=3": {128: 6, 256: 6},
    "5.1 z1+z1z2 relu sign α=1 η̃=1.5": {128: 6, 256: 6},
    "6.1 tanh/tanh α0=2 η̃=1 λ=0.1 α=1": {128: 6},
}
POWER = ("5.1 tanh/tanh const α=2 η̃=3", "5.1 tanh(z1) relu const α=2 η̃=2",
         "5.1 z1+z1z2 relu sign α=1 η̃=1.5", "5.3 z1+z1z2 relu sign α=1 η̃=1.5 T=3")


def binomial_se(k: int, n: int) -> float:
    """Standard error ``√(f(1 − f)/n)`` of a rate f = k/n (0 when n = 0)."""
    if n == 0:
        return 0.0
    f = k / n
    return math.sqrt(f * (1 - f) / n)


def upper_bound(k: int, n: int, conf: float = 0.95) -> float:
    """One-sided Clopper–Pearson upper bound of a binomial rate (exact, for small counts)."""
    from scipy import stats

    if n == 0:
        return 1.0
    if k >= n:
        return 1.0
    return float(stats.beta.ppf(conf, k + 1, n - k))


def _pool(cfg: ValidationConfig, d: int, n_seeds: int, workers: int | None) -> tuple[list, dict]:
    """Simulate seeds 0..n_seeds−1 of ``cfg`` at dimension d; return per-seed results."""
    from .sweep import execute

    c = ValidationConfig.from_dict({**cfg.to_dict(), "ds": [d], "seeds": n_seeds})
    theory = predict(c)
    bm = predicted_batch(c)
    jobs = [(sim, c.to_dict(), theory, i, bm) for i, sim in c.simulations()]
    out = [None] * len(jobs)
    for i, res in execute(_measure_job, jobs, workers=workers, progress=False):
        out[i] = res
    return out, theory


def _runs(results: list[dict], sizes: list[int]) -> list[list[dict]]:
    by_seed: dict[int, list[dict]] = {}
    for r in results:
        by_seed.setdefault(r["seed"], []).append(r)
    seeds = sorted(by_seed)
    runs, start = [], 0
    for k in sizes:
        runs.append([r for s in seeds[start:start + k] for r in by_seed[s]])
        start += k
    return runs


def _scaled(results: list[dict], factor: float) -> list[dict]:
    out = []
    for r in results:
        vals = {}
        for name, v in r["values"].items():
            vals[name] = (v[0], v[1] * factor, *v[2:])
        out.append({**r, "values": vals})
    return out


@dataclass
class StudyResult(FrameMixin):
    """Counts of the calibration and power studies (see the module docstring)."""

    calibration: list[dict]
    power: list[dict]
    level: float

    def totals(self) -> dict[str, Any]:
        runs = sum(c["runs"] for c in self.calibration)
        pts = sum(c["points"] for c in self.calibration)
        dis = sum(c["disagrees"] for c in self.calibration)
        bad_runs = sum(c["runs_disagree"] for c in self.calibration)
        und = sum(c["undetermined"] for c in self.calibration)
        return {"runs": runs, "points": pts, "disagrees": dis,
                "false_alarm_rate": dis / pts if pts else 0.0,
                "false_alarm_se": binomial_se(dis, pts),
                "false_alarm_upper95": upper_bound(dis, pts),
                "runs_with_false_alarm": bad_runs,
                "run_false_alarm_rate": bad_runs / runs if runs else 0.0,
                "run_false_alarm_se": binomial_se(bad_runs, runs),
                "run_false_alarm_upper95": upper_bound(bad_runs, runs),
                "undetermined_rate": und / pts if pts else 0.0, "level": self.level}

    def to_dict(self) -> dict[str, Any]:
        return {"calibration": self.calibration, "power": self.power, "totals": self.totals()}

    def table(self) -> str:
        from giantstep.tables import format_table

        rows = [[c["config"], c["d"], c["runs"], c["points"], c["disagrees"], c["runs_disagree"],
                 c["undetermined"], c["agrees"]] for c in self.calibration]
        t = self.totals()
        out = [format_table(["configuration (equations right)", "d", "runs", "points",
                             "disagree", "runs w/ disagree", "undetermined", "agree"], rows),
               f"false-alarm rate per point: {t['disagrees']}/{t['points']} = "
               f"{t['false_alarm_rate']:.4f} ± {t['false_alarm_se']:.4f} (95 % upper bound "
               f"{t['false_alarm_upper95']:.4f}); per run: {t['runs_with_false_alarm']}/"
               f"{t['runs']} = {t['run_false_alarm_rate']:.4f} ± {t['run_false_alarm_se']:.4f} "
               f"(95 % upper bound {t['run_false_alarm_upper95']:.4f}); nominal level "
               f"{self.level:g}"]
        if self.power:
            prow = [[p["config"], p["d"], p["seeds"], p["runs"],
                     f"{p['runs_detected']}/{p['runs']}",
                     f"{p['overlap_detected']}/{p['overlap_points']}",
                     f"{p['all_detected']}/{p['all_points']}"] for p in self.power]
            out.append(format_table(["wrong theory ×1.05", "d", "seeds", "runs",
                                     "runs detected (overlaps)", "overlap points detected",
                                     "all points detected"], prow))
        return "\n\n".join(out)


def run_study(plan: dict[str, dict[int, int]] | None = None, *, power_d: int = 1024,
              power_runs: int = 4, power_factor: float = 1.05, workers: int | None = 1,
              level: float = 0.01, power: tuple[str, ...] = POWER) -> StudyResult:
    """Calibration over ``plan`` (``{config: {d: runs}}``, seeds per run cycling through
    :data:`SEED_CYCLE`) and power at ``power_d`` with 8 seeds per run.

    The power runs use seeds beyond those of the calibration pool at ``power_d``.
    """
    plan = FULL_PLAN if plan is None else plan
    calib, pw = [], []
    for name, per_d in plan.items():
        cfg = ValidationConfig(**CONFIGS[name], level=level)
        for d, n_runs in per_d.items():
            sizes = [SEED_CYCLE[i % len(SEED_CYCLE)] for i in range(n_runs)]
            extra = 8 * power_runs if (name in power and d == power_d) else 0
            results, theory = _pool(cfg, d, sum(sizes) + extra, workers)
            counts = {"config": name, "d": d, "runs": n_runs, "points": 0, "disagrees": 0,
                      "runs_disagree": 0, "undetermined": 0, "agrees": 0,
                      "agrees_finite_size": 0}
            for run, k in zip(_runs(results, sizes + [8] * power_runs * (extra > 0)), sizes):
                rc = ValidationConfig.from_dict({**cfg.to_dict(), "ds": [d], "seeds": k})
                rep = report_from_results(run, rc, theory)
                s = rep.summary()
                counts["points"] += len(rep.points)
                counts["disagrees"] += s["disagrees"]
                counts["runs_disagree"] += int(s["disagrees"] > 0)
                counts["undetermined"] += s["undetermined"]
                counts["agrees"] += s["agrees"]
                counts["agrees_finite_size"] += s["agrees_finite_size"]
            calib.append(counts)
            if extra:
                runs = _runs(results, sizes + [8] * power_runs)[len(sizes):]
                pw.append(_power(name, cfg, d, runs, theory, power_factor))
    return StudyResult(calib, pw, level)


def _power(name: str, cfg: ValidationConfig, d: int, runs: list[list[dict]], theory: dict,
           factor: float) -> dict:
    rc = ValidationConfig.from_dict({**cfg.to_dict(), "ds": [d], "seeds": 8})
    out = {"config": name, "d": d, "seeds": 8, "runs": len(runs), "factor": factor,
           "runs_detected": 0, "overlap_points": 0, "overlap_detected": 0, "all_points": 0,
           "all_detected": 0}
    for run in runs:
        rep = report_from_results(_scaled(run, factor), rc, theory)
        ov = [p for p in rep.points if " overlap[" in p["name"] and abs(p["theory"]) > 1e-9]
        if cfg.kind == "error":
            ov = rep.points
        det = [p for p in ov if p["verdict"] == "disagrees"]
        out["overlap_points"] += len(ov)
        out["overlap_detected"] += len(det)
        out["runs_detected"] += int(bool(det))
        nz = [p for p in rep.points if abs(p["theory"]) > 1e-9]
        out["all_points"] += len(nz)
        out["all_detected"] += sum(p["verdict"] == "disagrees" for p in nz)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="the small CI version")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    res = (run_study(QUICK_PLAN, power_d=512, power_runs=1, workers=args.workers,
                     power=("5.1 tanh/tanh const α=2 η̃=3",))
           if args.quick else run_study(workers=args.workers))
    print(json.dumps(res.to_dict(), indent=1) if args.json else res.table())
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
