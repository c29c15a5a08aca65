"""``giantstep validate``: theory versus simulation, point by point (docs/model.md §5, §6.1).

``giantstep validate overlaps EXPR …`` (§5.1/§5.3), ``giantstep validate preprocessed EXPR
--ell 2 …`` (§5.2) and ``giantstep validate error --student … --teacher …`` (§6.1) print a
table ``quantity, theory, sim mean, s.e., law, z, verdict``; ``--json`` prints
``{"points": [{"name", "theory", "sim_mean", "se", "z", "verdict", …}], "all_ok", "summary"}``.
Verdicts (docs/validation.md §2): agrees, agrees (finite-size allowance), undetermined
(too few seeds: run ≥ N), disagrees. Exit code 0 when every point agrees, 1 when some
point disagrees or is undetermined, 2 on bad input.
"""

from __future__ import annotations

import argparse

from giantstep.errors import InputError

from .options import alpha_option, document, shared
from .output import print_csv, print_json, save_figure
from .simulate_cmd import add_simulation_arguments, check_budget, parse_values


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--level", type=float, default=0.01,
                   help="family-wise false-alarm level of the report (Holm; default 0.01)")
    p.add_argument("--resolution", type=float, default=0.1,
                   help="relative resolution below which a point is undetermined (default 0.1)")
    p.add_argument("--study", action="store_true",
                   help="finite-size study: fit the gap against d^{-1/2} over ≥ 3 --d values")
    add_simulation_arguments(p)
    p.add_argument("--out", metavar="FILE.jsonl",
                   help="journal one JSON record per simulated seed (a killed run can be resumed)")
    p.add_argument("--resume", action="store_true",
                   help="continue --out: reuse the seeds already in it (other records are kept)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` sub-command and its three kinds."""
    v = sub.add_parser("validate", help="theory versus finite-d simulation, with error bars",
                       description="Run the prediction and the simulation on the same "
                       "configuration over seeds and dimensions; report z-scores and verdicts.")
    document(v, 'giantstep validate overlaps "z1 + z1*z2" --activation tanh --readout sign --alpha 2 '
             '--eta 2 --steps 2 --seeds 6')
    kinds = v.add_subparsers(dest="kind", metavar="KIND")
    kinds.required = True

    o = kinds.add_parser("overlaps", help="overlaps after T steps, n = α d (§5.1, §5.3)")
    o.add_argument("expr", help="target in z1..zr")
    o.add_argument("--activation", required=True, help="student activation")
    shared(o, "--readout", "readout", default="sign")
    alpha_option(o, what="batch size per step α = n/d", single=True)
    shared(o, "--eta", "eta", required=True)
    shared(o, "--steps", "steps", default=1)
    shared(o, "--noise", "noise", default=0.0)
    o.add_argument("--normalize", action="store_true", help="row normalisation after each step")
    o.add_argument("--symmetric", action="store_true", help="symmetric pairs (one step only)")
    shared(o, "--types", "n_types", default=8, metavar="K")
    o.add_argument("--p", type=int, default=None, help="hidden width (default p-ratio · d)")
    o.add_argument("--p-ratio", type=float, default=0.5, help="p/d when --p is not given (0.5)")
    o.add_argument("--quantities", default=None,
                   help="comma list among overlap,norm2,cosine,perp_norm2,shared_norm2,"
                   "private_var,spike (default all)")
    _common(o)
    document(o, 'giantstep validate overlaps "z1 + z1*z2" --activation tanh --readout sign --alpha 2 '
             '--eta 2 --steps 2 --seeds 6',
             "Overlaps after T giant steps (n = α d per step): the d → ∞ equations (docs/model.md §5.1, "
             "§5.3) against simulations at each --d over --seeds seeds; per quantity the z-score and "
             "a verdict (agrees / disagrees / undetermined: too few seeds). Exit code 0 when every "
             "point agrees, 1 otherwise.")
    o.set_defaults(func=_validate)

    q = kinds.add_parser("preprocessed", help="one step, n = α d^ℓ, degrees < ℓ removed (§5.2)")
    q.add_argument("expr", help="target in z1..zr")
    q.add_argument("--activation", required=True, help="student activation")
    shared(q, "--readout", "readout", default="gaussian")
    alpha_option(q, what="batch size α = n/d^ℓ", single=True)
    shared(q, "--eta", "eta", required=True)
    shared(q, "--ell", "ell", default=2)
    shared(q, "--noise", "noise", default=0.0)
    q.add_argument("--p", type=int, default=256, help="hidden width (default 256)")
    _common(q)
    document(q, 'giantstep validate preprocessed "He2(z1)" --activation relu --alpha 1 --eta 1 --d 64',
             "One step on n = α d^ℓ samples with the label components of degree < ℓ removed "
             "(docs/model.md §5.2): theory against simulation with verdicts; exit code 0 when every "
             "point agrees, 1 otherwise.")
    q.set_defaults(func=_validate, **{"d": "64"})

    e = kinds.add_parser("error", help="test error after one step + ridge readout (§6.1)")
    e.add_argument("--student", required=True, help="student activation σ")
    e.add_argument("--teacher", required=True,
                   help="teacher activation σ* (y = σ*(z1) + √Δ ε) or a target in z1..zr")
    shared(e, "--alpha0", "alpha0", required=True)
    shared(e, "--eta", "eta", required=True)
    shared(e, "--lam", "lam", required=True)
    alpha_option(e, what="readout sample ratios α = n/d")
    shared(e, "--noise", "noise", default=0.0)
    shared(e, "--width-ratio", "width_ratio")
    shared(e, "--readout", "readout", extra="sign: odd students only (exact reduction)")
    e.add_argument("--n-test", type=int, default=10_000, help="test-set size (default 10000)")
    _common(e)
    document(e, "giantstep validate error --student tanh --teacher tanh --alpha0 2 --eta 1 --lam 0.01 "
             "--alpha 1,2 --d 256,512 --plot validate.png",
             "Test error after one giant step and a ridge readout (docs/model.md §6.1) against "
             "simulations at each --d over --seeds seeds; with --plot, the learning curves (α on the "
             "x axis, theory line, simulation points with error bars, one colour per d). Exit code "
             "0 when every point agrees, 1 otherwise.")
    e.set_defaults(func=_validate)


def _config(args: argparse.Namespace):
    from giantstep.validation.compare import ValidationConfig

    ds = parse_values(args.d, int, "d")
    if args.seeds < 1:
        raise InputError(f"--seeds must be ≥ 1, got {args.seeds}")
    _check_budget(args, ds)
    common = dict(ds=ds, seeds=args.seeds, dtype=args.dtype, level=args.level,
                  resolution=args.resolution, noise=args.noise, eta=args.eta)
    if args.kind == "overlaps":
        quantities = None
        if args.quantities:
            quantities = [q.strip() for q in args.quantities.split(",") if q.strip()]
        if args.steps < 1:
            raise InputError(f"--steps must be ≥ 1, got {args.steps}")
        return ValidationConfig(kind="overlaps", target=args.expr, activation=args.activation,
                                readout=args.readout, alpha=args.alpha, steps=args.steps,
                                normalize=args.normalize, symmetric=args.symmetric,
                                n_types=args.types, p=args.p, p_ratio=args.p_ratio,
                                quantities=quantities, **common)
    if args.kind == "preprocessed":
        return ValidationConfig(kind="preprocessed", target=args.expr, activation=args.activation,
                                readout=args.readout, alpha=args.alpha, ell=args.ell, p=args.p,
                                **common)
    return ValidationConfig(kind="error", activation=args.student, teacher=args.teacher,
                            alpha=args.alpha0, lam=args.lam, p_ratio=args.width_ratio,
                            readout=args.readout, alphas=args.alpha,
                            n_test=args.n_test, **common)


def _check_budget(args: argparse.Namespace, ds: list[int]) -> None:
    """Memory and work of the simulations, estimated before any is built (one-line refusal)."""
    budget = argparse.Namespace(**vars(args))
    if args.kind == "error":
        alphas = list(args.alpha)
        budget.p, budget.p_ratio, budget.lam = None, args.width_ratio, args.lam
        budget.alpha_readout, budget.ell, budget.steps = max(alphas), 1.0, 1
        check_budget(budget, ds, len(alphas), args.alpha0)
        return
    budget.lam, budget.n_test = None, 0
    budget.ell = float(getattr(args, "ell", 1))
    budget.steps = getattr(args, "steps", 1)
    check_budget(budget, ds, 1, args.alpha)


def _validate(args: argparse.Namespace) -> int:
    from giantstep.validation.compare import validate

    cfg = _config(args)
    if (args.resume or args.overwrite) and not args.out:
        raise InputError(f"--{'resume' if args.resume else 'overwrite'} needs --out FILE.jsonl")
    if args.resume and args.overwrite:
        raise InputError("--resume and --overwrite exclude each other")
    run = dict(workers=args.workers, scheduler=args.scheduler, progress=not args.no_progress,
               out=args.out, resume=args.resume, overwrite=args.overwrite)
    if args.study:
        from giantstep.validation.finite_size import finite_size_study

        if len(cfg.ds) < 3:
            raise InputError("--study needs at least three dimensions in --d "
                             "(e.g. 256,512,1024,2048)")
        study = finite_size_study(cfg, ds=tuple(cfg.ds), **run)
        report = study.report
        if args.plot:
            save_figure(report.plot(), args.plot)
        if args.json:
            print_json({**report.to_dict(), "fits": study.fits, "study_ok": study.all_ok})
        elif args.csv:
            _print_points_csv(report)
        else:
            print(report.table())
            print()
            print(study.table())
            print(report.tolerance)
            print(report.verdict_line())
            bad = [f["name"] for f in study.fits if f["verdict"] == "disagrees"]
            print("finite-size study: " + (f"GAPS THAT DO NOT VANISH: {', '.join(bad)}" if bad
                                           else "no gap stays as d → ∞"))
        return 0 if study.all_ok else 1
    report = validate(cfg, **run)
    if args.plot:
        save_figure(report.plot(), args.plot)
    if args.json:
        print_json(report.to_dict())
    elif args.csv:
        _print_points_csv(report)
    else:
        print(report.table())
        print(report.tolerance)
        print(report.verdict_line())
    return 0 if report.all_ok else 1


def _print_points_csv(report) -> None:
    """``--csv``: one row per compared point."""
    print_csv(["d", "quantity", "theory", "sim_mean", "se", "law", "z", "verdict"],
              [[p["d"], p["name"], p["theory"], p["sim_mean"], p["se"], p["law"], p["z"], p["verdict"]]
               for p in report.points])
