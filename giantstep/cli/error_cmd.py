"""``giantstep error``: test error after one giant step and a ridge readout (THEORY.md §6.1)."""

from __future__ import annotations

import argparse

from giantstep.errors import InputError

from .output import format_table, print_json, save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``error`` sub-command."""
    p = sub.add_parser(
        "error",
        help="Gaussian-equivalence test error after one giant step + ridge readout (§6.1)",
        description="Asymptotic (d = p → ∞) test error of the ridge readout trained after one "
        "giant step on n0 = α0 d samples (constant readout, η = η̃ p), for a single-index "
        "teacher y = σ*(⟨θ,x⟩) + √Δ ε, with the lazy (random-features) baseline. "
        "Validated for students with μ2(σ) = 0 (tanh, erf, …); any student when --eta 0.",
    )
    p.add_argument("--student", required=True, help="student activation σ (e.g. tanh, erf)")
    p.add_argument("--teacher", required=True, help="teacher activation σ* (e.g. tanh, sin, relu)")
    p.add_argument("--alpha0", type=float, required=True, help="first-step batch ratio n0/d")
    p.add_argument("--eta", type=float, required=True, help="rescaled learning rate η̃ (η = η̃ p)")
    p.add_argument("--lam", type=float, required=True, help="ridge penalty λ > 0")
    p.add_argument("--alpha", required=True, metavar="START:STOP:NUM",
                   help="readout sample ratios n/d, e.g. 0.2:3:8 (or a single value)")
    p.add_argument("--noise", type=float, default=0.0, help="label-noise variance Δ (default 0)")
    p.add_argument("--spectrum", choices=["limit", "sampled"], default="limit",
                   help="d → ∞ Marchenko–Pastur inputs (default) or sampled finite-d spectra")
    p.add_argument("--spectrum-draws", type=int, default=4,
                   help="number of sampled spectra to average (with --spectrum sampled)")
    p.add_argument("--d", type=int, default=2000, help="dimension of the sampled spectra")
    p.add_argument("--seed", type=int, default=0, help="seed of the sampled spectra")
    p.add_argument("--tol", type=float, default=1e-8, help="fixed-point tolerance")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE.png", help="write test error vs α with the lazy baseline")
    p.set_defaults(func=_error)


def parse_alpha_grid(text: str) -> list[float]:
    """``"START:STOP:NUM"`` → NUM evenly spaced values (inclusive); ``"A"`` → ``[A]``."""
    parts = text.split(":")
    try:
        if len(parts) == 1:
            return [float(parts[0])]
        if len(parts) != 3:
            raise ValueError
        start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise InputError(f"--alpha must be START:STOP:NUM (e.g. 0.2:3:8) or one number, "
                         f"got {text!r}") from None
    if num < 1:
        raise InputError(f"--alpha NUM must be ≥ 1, got {num}")
    if num == 1:
        return [start]
    step = (stop - start) / (num - 1)
    return [start + i * step for i in range(num)]


def _error(args: argparse.Namespace) -> int:
    from giantstep.numerics.learning_curve import one_step_learning_curve

    alphas = parse_alpha_grid(args.alpha)
    curve = one_step_learning_curve(
        args.student, args.teacher, args.alpha0, args.eta, args.lam, alphas, args.noise,
        spectrum=args.spectrum, spectrum_draws=args.spectrum_draws, d=args.d, seed=args.seed,
        tol=args.tol,
    )
    if args.plot:
        import matplotlib

        matplotlib.use("Agg")
        save_figure(curve.plot(), args.plot)
    if args.json:
        print_json(curve.to_dict())
        return 0
    prm = curve.params
    print(f"student σ = {prm['student']}, teacher σ* = {prm['teacher']}, α0 = {prm['alpha0']:g}, "
          f"η̃ = {prm['eta']:g}, λ = {prm['lam']:g}, Δ = {prm['noise']:g}, spectrum = {prm['spectrum']}")
    print(f"spike r = {prm['r']:.6g}, alignment γ = {prm['gamma']:.6g}, bulk c = {prm['c']:.6g} "
          "(THEORY.md §5.1)")
    headers = ["alpha", "test_error", "train_error", "lazy_test_error", "converged"]
    rows = []
    for i, a in enumerate(curve.alpha):
        row = [float(a), float(curve.test_error[i]), float(curve.train_error[i]),
               float(curve.lazy_test_error[i]), bool(curve.converged[i])]
        rows.append(row)
    if curve.test_error_std is not None:
        headers.insert(2, "std_over_draws")
        for i, row in enumerate(rows):
            row.insert(2, float(curve.test_error_std[i]))
    print(format_table(headers, rows))
    return 0
