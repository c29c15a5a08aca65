"""``giantstep error``: test error after one giant step and a ridge readout (docs/model.md §6.1)."""

from __future__ import annotations

import argparse

from giantstep.errors import InputError
from giantstep.resources import check_spectrum_budget

from .options import alpha_option, document, shared
from .output import add_csv, format_table, print_csv, print_json, save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``error`` sub-command."""
    p = sub.add_parser(
        "error",
        help="Gaussian-equivalence test error after one giant step + ridge readout (§6.1)",
        description="Asymptotic (d → ∞, p = ψ d) test error of the ridge readout trained after "
        "one giant step on n0 = α0 d samples (constant readout, η = η̃ p), for a single-index "
        "or multi-index teacher y = g*(z) + √Δ ε, with the lazy (random-features) baseline. Students with "
        "μ2(σ) ≠ 0 (relu) and small α0 use the exact bulk model (sampled real steps, cost "
        "reported). Points outside the region checked against simulation are flagged "
        "(validated = false, a warning on stderr, a different plot marker).",
    )
    p.add_argument("--student", required=True, help="student activation σ (e.g. tanh, erf)")
    p.add_argument("--teacher", required=True,
                   help="teacher activation σ* of one direction (tanh, sin, relu) or a target "
                   "expression in z1..zr (e.g. 'tanh(z1) + z1*z2'; the step learns the "
                   "direction of C_1, the readout fits the rest)")
    p.add_argument("--alpha0", type=float, required=True, help="first-step batch ratio n0/d")
    p.add_argument("--eta", type=float, required=True, help="rescaled learning rate η̃ (η = η̃ p)")
    p.add_argument("--lam", type=float, required=True, help="ridge penalty λ > 0")
    alpha_option(p, what="readout sample ratios α = n/d")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Δ (default 0)")
    p.add_argument("--readout", choices=["constant", "sign", "gaussian"], default="constant",
                   help="second-layer law during the step (default constant; sign with an odd "
                   "student equals constant exactly; sign with relu and gaussian use the "
                   "several-type equations on sampled real steps)")
    shared(p, "--n-types", "n_types", extra="quantile bins of s for --readout gaussian")
    p.add_argument("--width-ratio", type=float, default=1.0,
                   help="ψ = p/d, width over input dimension (default 1)")
    p.add_argument("--spectrum", choices=["auto", "limit", "sampled", "bulk"], default="auto",
                   help="auto (default): exact bulk model for μ2(σ) ≠ 0 or α0 < 1, else the "
                   "d → ∞ Marchenko–Pastur inputs; limit; sampled spiked-model spectra; bulk: "
                   "spectral inputs of sampled real steps")
    p.add_argument("--spectrum-draws", type=int, default=4,
                   help="number of sampled spectra / real steps to average (sampled, bulk)")
    p.add_argument("--d", type=int, default=None,
                   help="dimension of the sampled spectra (default 2000; bulk: 1000)")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled spectra")
    p.add_argument("--tol", type=float, default=1e-8, help="fixed-point tolerance")
    p.add_argument("--steps", type=int, default=None, metavar="T",
                   help="several giant steps on fresh batches of n0 = α0 d (docs/model.md §6.2): test "
                   "and training error of the ridge readout refit after each step t = 1..T and "
                   "the frozen-readout error (JSON key 'steps'); spectrum auto/limit/bulk only")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    p.add_argument("--plot", metavar="FILE.png", help="write test error vs α with the lazy baseline")
    document(p, "giantstep error --student tanh --teacher tanh --alpha0 2 --eta 1 --lam 0.01 "
             "--alpha 0.5:3:6 --plot curve.png")
    p.set_defaults(func=_error)


def _error(args: argparse.Namespace) -> int:
    import sys

    from giantstep.numerics.test_error.curves.one_step import one_step_learning_curve

    alphas = args.alpha
    check_spectrum_budget(args.spectrum, args.d, args.width_ratio, args.alpha0, args.spectrum_draws,
                          args.steps or 1)
    if args.steps is not None:
        return _error_steps(args, alphas)
    curve = one_step_learning_curve(
        args.student, args.teacher, alpha0=args.alpha0, eta=args.eta, lam=args.lam, alphas=alphas, noise=args.noise,
        width_ratio=args.width_ratio, readout=args.readout, n_types=args.n_types,
        spectrum=args.spectrum, spectrum_draws=args.spectrum_draws,
        d=args.d, seed=args.seed, tol=args.tol, warn=False,
    )
    # a teacher without linear part: the curve is the lazy one — an answer, with its warning (exit 0)
    for note in curve.params.get("notes", []):
        print(f"giantstep: warning: {note}", file=sys.stderr)
    if args.plot:
        save_figure(curve.plot(), args.plot)
    if args.json:
        print_json(curve.to_dict())
        return 0
    prm = curve.params
    headers = ["alpha", "test_error", "train_error", "lazy_test_error", "validated"]
    rows = []
    for i, a in enumerate(curve.alpha):
        row = [float(a), float(curve.test_error[i]), float(curve.train_error[i]),
               float(curve.lazy_test_error[i]), bool(curve.validated[i])]
        rows.append(row)
    if curve.test_error_std is not None:
        headers.insert(2, "std_over_draws")
        for i, row in enumerate(rows):
            row.insert(2, float(curve.test_error_std[i]))
    if args.csv:
        print_csv(headers, rows)
        return 0
    print(f"student σ = {prm['student']}, teacher σ* = {prm['teacher']}, α0 = {prm['alpha0']:g}, "
          f"η̃ = {prm['eta']:g}, λ = {prm['lam']:g}, Δ = {prm['noise']:g}, "
          f"ψ = p/d = {prm['width_ratio']:g}, spectrum = {prm['spectrum']}")
    if "type_r" in prm:
        def fmt(xs):
            return "[" + ", ".join(f"{x:.4g}" for x in xs) + "]"
        print(f"{prm['n_types']} neuron types (readout {prm['readout']}, several-type "
              f"equations): spike r_t = {fmt(prm['type_r'])}, bulk c_t = {fmt(prm['type_c'])}, "
              f"alignment γ = {prm['gamma']:.6g} (measured on the sampled steps)")
    else:
        print(f"spike r = {prm['r']:.6g}, alignment γ = {prm['gamma']:.6g}, bulk c = "
              f"{prm['c']:.6g} (docs/model.md §5.1" + (", measured on the sampled steps)"
                                                   if prm["spectrum"] == "bulk" else ")"))
    if prm["spectrum"] == "bulk":
        cost = sum(prm["bulk_sampling_seconds"])
        print(f"exact bulk model: {prm['spectrum_draws']} sampled steps at d = {prm['d']} "
              f"(seeds {prm['seed']}…), sampling cost {cost:.1f} s (cached in-process); "
              "std_over_draws is their finite-size spread")
    print(format_table(headers, rows))
    return 0


def _error_steps(args: argparse.Namespace, alphas: list[float]) -> int:
    """``giantstep error --steps T``: several giant steps (docs/model.md §6.2)."""
    import sys

    from giantstep.numerics.test_error.curves.multi_step import multi_step_learning_curve

    if args.spectrum == "sampled":
        raise InputError("--spectrum sampled is a one-step option; with --steps use auto, limit "
                         "or bulk")
    curve = multi_step_learning_curve(
        args.student, args.teacher, alpha0=args.alpha0, eta=args.eta, steps=args.steps,
        lam=args.lam, alphas=alphas, noise=args.noise, width_ratio=args.width_ratio,
        readout=args.readout, n_types=args.n_types, spectrum=args.spectrum,
        spectrum_draws=args.spectrum_draws, d=args.d, seed=args.seed, tol=args.tol, warn=False,
    )
    for note in curve.params.get("notes", []):
        print(f"giantstep: warning: {note}", file=sys.stderr)
    if args.plot:
        save_figure(curve.plot(), args.plot)
    if args.json:
        print_json(curve.to_dict())
        return 0
    prm = curve.params
    headers = ["step", "alpha", "test_error", "train_error", "frozen_error", "validated"]
    rows = [[0, float(a), float(curve.lazy_test_error[i]), float(curve.lazy_train_error[i]),
             float(prm["frozen_error_at_init"]), True] for i, a in enumerate(curve.alpha)]
    for st in curve.steps:
        for i, a in enumerate(curve.alpha):
            rows.append([st["step"], float(a), float(st["test_error"][i]),
                         float(st["train_error"][i]), float(st["frozen_error"]),
                         bool(st["validated"][i])])
    if args.csv:
        print_csv(headers, rows)
        return 0
    print(f"student σ = {prm['student']}, target g* = {prm['teacher']}, readout = "
          f"{prm['readout']}, α0 = {prm['alpha0']:g} per step, η̃ = {prm['eta']:g}, "
          f"λ = {prm['lam']:g}, Δ = {prm['noise']:g}, ψ = p/d = {prm['width_ratio']:g}, "
          f"spectrum = {prm['spectrum']}")
    if prm.get("reduction"):
        print(prm["reduction"])
    if prm["spectrum"] == "bulk":
        print(f"exact bulk model: {prm['spectrum_draws']} sampled {prm['steps']}-step "
              f"trajectories at d = {prm['d']} (seeds {prm['seed']}…), sampling cost "
              f"{sum(prm['bulk_sampling_seconds']):.1f} s; std_over_draws is their spread")
    print(format_table(headers, rows))
    print("step 0 = lazy (random features); frozen_error = readout kept as trained (no refit)")
    return 0
