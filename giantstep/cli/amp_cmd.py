"""``giantstep amp``: AMP weak-recovery thresholds and the GAMP state evolution (docs/amp.md)."""

from __future__ import annotations

import argparse
import sys

from giantstep.errors import InputError

from .options import alpha_option, document, shared
from .output import add_csv, format_table, print_csv, print_json, save_figure

#: most state-evolution points of one curve (each point iterates the SE map)
MAX_SE_POINTS = 400


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``amp`` sub-command."""
    p = sub.add_parser(
        "amp",
        help="Bayes-optimal AMP at n = α d: trivial directions, weak-recovery thresholds α_c, hard directions",
        description="Weak-recovery analysis of Bayes-optimal GAMP (Troiani et al. 2024, arXiv:2405.15480) "
        "and, with --alpha, its state evolution computed by quadrature (r ≤ 3; docs/amp.md).",
    )
    p.add_argument("expr", help='target in z1..zr (r ≤ 3), e.g. "z1**2" or "sign(z1*z2*z3)"')
    shared(p, "--noise", "noise", default=0.0)
    p.add_argument("--r", type=int, default=None, help="number of latent variables (default: inferred)")
    alpha_option(p, what="state-evolution curve at these α = n/d", required=False)
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    p.add_argument("--plot", metavar="FILE.png", help="figure of the state-evolution overlap versus α")
    document(p, 'giantstep amp "He4(z1)" --noise 0.05',
             "Weak-recovery analysis of Bayes-optimal GAMP at n = α d (Troiani et al. 2024, "
             "arXiv:2405.15480; docs/amp.md): the directions learned at any α > 0 (trivial), the "
             "threshold α_c of each later stage with its stated error, and the hard directions. "
             "One-direction and radial targets use exact label integrals (under a second); with "
             "--alpha the state evolution is iterated at each α (minutes for two directions).")
    p.set_defaults(func=_amp)


def _vec(v) -> str:
    return "(" + ", ".join(f"{x:+.4f}" for x in v) + ")"


def _amp(args: argparse.Namespace) -> int:
    if args.noise != args.noise or args.noise < 0:
        raise InputError(f"--noise (Δ) must be ≥ 0, got {args.noise}")
    alphas = args.alpha
    if alphas is not None and len(alphas) > MAX_SE_POINTS:
        raise InputError(f"--alpha asks for {len(alphas)} state-evolution points; at most {MAX_SE_POINTS}")
    if args.plot and alphas is None:
        raise InputError("--plot draws the state-evolution curve: give --alpha (e.g. 0.2:2:10)")
    from giantstep.theory.amp import amp_analysis

    res = amp_analysis(args.expr, noise=args.noise, r=args.r)
    se = None
    if alphas is not None:
        from giantstep.numerics.amp_state_evolution import state_evolution
        from giantstep.theory.expr.target import Target

        se = state_evolution(Target(args.expr, r=args.r, noise=args.noise), alphas=alphas, noise=args.noise)
    # checked against finite-d GAMP in the region SE_CHECKED (docs/amp.md §5), point by point
    extra = []
    se_validated = False
    point_flags: list = []
    if se is not None:
        from giantstep.numerics.amp_state_evolution import se_checked

        n_dirs = len(res.trivial) + sum(len(st.directions) for st in res.stages)
        point_flags = [se_checked(p.alpha, se.noise, len(res.trivial), [st.alpha_c for st in res.stages],
                                  n_dirs) for p in se.points]
        se_validated = all(ok for ok, _ in point_flags)
        reasons = sorted({why for ok, why in point_flags if not ok})
        if reasons:
            n_out = sum(not ok for ok, _ in point_flags)
            extra.append(f"{n_out} of {len(point_flags)} state-evolution points are outside the region "
                         "checked against finite-d GAMP (docs/amp.md §5), not validated: " + "; ".join(reasons))
    for w in res.warnings + (se.warnings if se else []) + extra:
        print(f"warning: {w}", file=sys.stderr)
    if args.plot:
        save_figure(_figure(res, se, [ok for ok, _ in point_flags]), args.plot)
    if args.json:
        out = res.to_dict()
        if se is not None:
            out["state_evolution"] = se.to_list()
            for item, (ok, why) in zip(out["state_evolution"], point_flags):
                item["validated"] = ok
                if not ok:
                    item["not_validated_because"] = why
            out["state_evolution_quadrature_error"] = se.quadrature_error
            out["state_evolution_channel"] = se.channel
            out["state_evolution_validated"] = se_validated
        print_json(out)
        return 0
    if args.csv:
        _print_csv(res, se, point_flags)
        return 0
    print(f"target {res.target}   (r = {res.r}, Δ = {res.noise:g}, label law on the grid: {res.channel})")
    rows = [["trivial", "any α > 0", "-", _vec(v)] for v in res.trivial]
    for i, s in enumerate(res.stages):
        for j, v in enumerate(s.directions):
            rows.append([f"stage {i + 1}", f"{s.alpha_c:.6g}" if j == 0 else "",
                         f"{s.error:.1e}" if j == 0 else "", _vec(v)])
    rows += [["hard", "never (G ≡ 0)", "-", _vec(v)] for v in res.hard]
    rows += [["irrelevant", "-", "-", _vec(v)] for v in res.irrelevant]
    print(format_table(["class", "α_c (n = α d)", "± error", "direction"], rows))
    if se is not None:
        print("\nGAMP state evolution (overlap = tr(Q)/m, m = dim U*, at the fixed point from Q₀ = 1e-4·I):")
        srows = [[f"{p.alpha:.4g}", f"{p.overlap:.5f}" + ("" if ok else " *"), p.status, p.iterations,
                  f"{p.error:.1e}"] for p, (ok, _) in zip(se.points, point_flags)]
        print(format_table(["α", "overlap", "status", "iterations", "iteration error"], srows))
        print(f"quadrature error on the overlap ≈ {se.quadrature_error:.1e} (finer grids, largest α)"
              + ("" if se_validated else "; * = outside the region checked against finite-d GAMP"))
    return 0


def _print_csv(res, se, point_flags) -> None:
    """The state-evolution table with --alpha, else one row per direction with its threshold."""
    if se is not None:
        print_csv(["alpha", "overlap", "status", "iterations", "iteration_error", "validated"],
                  [[p.alpha, p.overlap, p.status, p.iterations, p.error, ok]
                   for p, (ok, _) in zip(se.points, point_flags)])
        return
    rows = [["trivial", 0.0, 0.0, *v] for v in res.trivial]
    rows += [[f"stage {i + 1}", s.alpha_c, s.error, *v] for i, s in enumerate(res.stages) for v in s.directions]
    rows += [["hard", float("inf"), 0.0, *v] for v in res.hard]
    print_csv(["class", "alpha_c", "error"] + [f"v{k + 1}" for k in range(res.r)],
              [[c, a, e, *map(float, v)] for c, a, e, *v in rows])


def _figure(res, se, validated):
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6, 4))
    ax = fig.add_subplot(1, 1, 1)
    al = [p.alpha for p in se.points]
    ov = [p.overlap for p in se.points]
    ax.plot(al, ov, "-", color="C0", label="state evolution, tr(Q)/m")
    ok = [i for i, v in enumerate(validated) if v]
    out = [i for i, v in enumerate(validated) if not v]
    if ok:
        ax.plot([al[i] for i in ok], [ov[i] for i in ok], "o", ms=4, color="C0",
                label="checked region (finite-d GAMP, docs/amp.md §5)")
    if out:
        ax.plot([al[i] for i in out], [ov[i] for i in out], "o", ms=5, mfc="none", color="C3",
                label="outside the checked region (not validated)")
    for i, s in enumerate(res.stages):
        ax.axvline(s.alpha_c, ls="--", color=f"C{i + 1}", label=f"α_c = {s.alpha_c:.4g} (linear analysis)")
    ax.set_xlabel("α = n/d")
    ax.set_ylabel("overlap")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Bayes-optimal GAMP: {res.target} (Δ = {res.noise:g})")
    ax.legend(fontsize=8)
    return fig
