"""``giantstep overlaps``: the deterministic overlap equations (docs/model.md §5.1, §5.3)."""

from __future__ import annotations

import argparse

from giantstep.errors import InputError

from .options import alpha_option, document, shared
from .output import add_csv, format_table, print_csv, print_json, save_figure


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``overlaps`` sub-command."""
    p = sub.add_parser(
        "overlaps",
        help="overlaps of the first layer with the target after T giant steps (n = α d per step)",
        description="Deterministic d → ∞ overlap equations of giant-step training (docs/model.md §5.3; "
        "step 1 is the closed form of §5.1).",
    )
    p.add_argument("expr", help='target in z1..zr, e.g. "((z1+z1**2)+(z2-z2**2))/2"')
    p.add_argument("--activation", required=True, help="student activation (relu, tanh, erf, ...)")
    shared(p, "--readout", "readout", default="sign", extra="the staircase of docs/model.md §3 needs two signs")
    alpha_option(p, what="batch size per step α = n/d (several values: one trajectory each)")
    shared(p, "--eta", "eta", required=True)
    shared(p, "--steps", "steps", required=True)
    shared(p, "--noise", "noise", default=0.0)
    p.add_argument("--normalize", action="store_true", help="row normalisation after each step")
    shared(p, "--types", "n_types", default=8, metavar="K")
    shared(p, "--tol", "tol", default=None,
           extra="absolute accuracy on overlaps and norms (default 1e-4; 1e-7 when T = 1)")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    p.add_argument("--plot", metavar="FILE.png", help="write a figure of overlaps versus step (several α: "
                   "one figure each, FILE_alpha=A.png)")
    document(p, 'giantstep overlaps "z1 + z1*z2" --activation relu --alpha 1 --eta 1.5 --steps 3 '
             '--plot overlaps.png',
             "Deterministic d → ∞ overlap equations of giant-step training (docs/model.md §5.3; step 1 "
             "is the closed form of §5.1): after each step t, for each neuron type (readout sign s), "
             "the overlap of the first-layer weights with each latent direction z_i, their norm and "
             "cosine. A direction whose overlap leaves 0 at step t is learned at step t (the "
             "staircase). Accuracy: the difference with the previous quadrature rule is printed.")
    p.set_defaults(func=_overlaps)


def _overlaps(args: argparse.Namespace) -> int:
    if args.steps < 1:
        raise InputError(f"--steps must be ≥ 1, got {args.steps}")
    if args.types < 1:
        raise InputError(f"--types (K) must be ≥ 1, got {args.types}")
    from giantstep.numerics import overlap_trajectory

    tol = args.tol if args.tol is not None else (1e-7 if args.steps == 1 else 1e-4)
    runs = [overlap_trajectory(args.expr, args.activation, alpha=a, eta=args.eta, steps=args.steps,
                               readout=args.readout, noise=args.noise, n_types=args.types,
                               normalize=args.normalize, tol=tol) for a in args.alpha]
    if args.plot:
        for res in runs:
            path = args.plot if len(runs) == 1 else _suffixed(args.plot, f"_alpha={res.alpha:g}")
            save_figure(res.plot(), path)
    if args.json:
        print_json(runs[0].to_dict() if len(runs) == 1 else {"runs": [res.to_dict() for res in runs]})
        return 0
    tables = [_table(res) for res in runs]
    if args.csv:
        print_csv(["alpha"] + tables[0][0], [[res.alpha] + row for res, (_, rows) in zip(runs, tables)
                                             for row in rows])
        return 0
    for k, (res, (headers, rows)) in enumerate(zip(runs, tables)):
        print(("\n" if k else "") + f"target {res.target}, activation {res.activation}, readout {res.readout}, "
              f"α = {res.alpha:g}, η̃ = {res.eta:g}, Δ = {res.noise:g}"
              + (", row-normalised" if res.normalize else ""))
        print(format_table(headers, rows))
        q = res.quadrature
        print(f"accuracy: difference with the previous quadrature rule {q['difference_with_previous_rule']:.2e} "
              f"(tol {q['tol']:g}); {q['seconds']:.2f} s")
    return 0


def _table(res) -> tuple[list[str], list[list]]:
    """Headers and rows of one trajectory: one row per step and neuron type."""
    r = len(res.steps[0].types[0].overlap)
    headers = ["step", "s", "weight"] + [f"overlap z{i + 1}" for i in range(r)] + [
        "norm2", "cosine", "latent_dim", "corr(F, g*)"]
    rows = []
    for st in res.steps:
        for tp in st.types:
            corr = "-" if st.output_correlation != st.output_correlation else f"{st.output_correlation:.4f}"
            rows.append([st.step, f"{tp.s:+.4f}", f"{tp.weight:.4f}"]
                        + [f"{x:+.5f}" for x in tp.overlap]
                        + [f"{tp.norm2:.5f}", f"{tp.cosine:.5f}", st.latent_dim, corr])
    return headers, rows


def _suffixed(path: str, suffix: str) -> str:
    """``fig.png`` + ``_alpha=2`` → ``fig_alpha=2.png``."""
    from pathlib import Path

    p = Path(path)
    return str(p.with_name(p.stem + suffix + p.suffix))
