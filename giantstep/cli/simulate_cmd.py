"""``giantstep simulate``: finite-d simulations of giant-step training (docs/model.md §1).

Grid points (``--alpha``, ``--eta``, ``--d`` accept several values) × seeds run in
parallel (local processes, or Dask with ``--scheduler``), stream to ``--out FILE.jsonl``
and can be resumed with ``--resume``. The summary averages over seeds (mean ± s.e.).
"""

from __future__ import annotations

import argparse
import math
import os
import sys

from giantstep.errors import InputError
from giantstep.params import check, check_grid_size

from .options import alpha_option, document, grid_size, grid_values, shared
from .output import add_csv, format_table, print_csv, print_json, save_figure


def parse_values(text: str, kind=float, name: str = "value") -> list:
    """``"a,b,c"`` or ``"START:STOP:NUM"`` (the grammar of :func:`.options.grid_values`) → values
    of type ``kind`` (finite; an integer kind takes integral values only)."""
    try:
        check_grid_size(f"--{name}", grid_size(text))
        floats = grid_values(text)
        values = [kind(v) for v in floats]
        if not values or not all(math.isfinite(v) for v in values):
            raise ValueError
        if kind is int and any(float(v) != x for v, x in zip(values, floats)):
            raise ValueError
        return values
    except (ValueError, OverflowError):
        raise InputError(f"--{name} must be a number, a comma list or START:STOP:NUM, "
                         f"got {text!r}") from None


def add_simulation_arguments(p: argparse.ArgumentParser) -> None:
    """Arguments shared by ``simulate`` and ``validate`` (the execution ones)."""
    p.add_argument("--d", default="256", help="input dimension(s), e.g. 256 or 256,512 (default 256)")
    p.add_argument("--seeds", type=int, default=4, help="seeds per point: 0..SEEDS-1 (default 4)")
    p.add_argument("--workers", type=int, default=None,
                   help="local worker processes (default: one per core)")
    p.add_argument("--scheduler", metavar="ADDRESS", default=None,
                   help="run on a Dask distributed scheduler (e.g. tcp://host:8786)")
    shared(p, "--dtype", "dtype", default="float64")
    p.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    p.add_argument("--plot", metavar="FILE.png", help="write a figure")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``simulate`` sub-command."""
    p = sub.add_parser(
        "simulate",
        help="finite-d simulation of T giant steps (+ ridge readout), over seeds and a grid",
        description="Simulate the docs/model.md §1 protocol at finite d, p, n: T giant steps on fresh "
        "batches of n = α d^ℓ samples (η = η̃ p d^{(ℓ−1)/2}), then optionally a ridge readout "
        "on α_r d fresh samples and the test error.",
    )
    p.add_argument("expr", help='target in z1..zr, e.g. "((z1+z1**2)+(z2-z2**2))/2"')
    p.add_argument("--activation", required=True, help="student activation (relu, tanh, erf, ...)")
    shared(p, "--readout", "readout", default="sign")
    alpha_option(p, what="batch size per step α = n/d^ℓ (several values: a grid of runs)")
    p.add_argument("--eta", required=True, help="rescaled learning rate η̃ (list or grid)")
    shared(p, "--steps", "steps", default=1)
    p.add_argument("--ell", type=float, default=1.0, help="batch exponent ℓ: n = α d^ℓ (default 1)")
    p.add_argument("--batch-reuse", type=int, default=1, metavar="B",
                   help="consecutive steps on the same batch (default 1: fresh batch per step)")
    shared(p, "--noise", "noise", default=0.0)
    p.add_argument("--normalize", action="store_true", help="row normalisation after each step")
    p.add_argument("--symmetric", action="store_true", help="symmetric pairs (w, a), (w, −a)")
    p.add_argument("--init", choices=["gaussian", "sphere"], default="gaussian",
                   help="w ~ N(0, I/d) or uniform on the sphere (default gaussian)")
    p.add_argument("--preprocess", type=int, default=None, metavar="K",
                   help="remove the label components of degree < K (default: none)")
    p.add_argument("--p", type=int, default=None, help="hidden width (default p = d)")
    shared(p, "--lam", "lam", default=None, extra="no value: no readout refit")
    p.add_argument("--alpha-readout", type=float, default=None,
                   help="readout samples over d (default α)")
    p.add_argument("--n-test", type=int, default=10_000, help="test-set size (default 10000)")
    p.add_argument("--chunk-size", type=int, default=None, help="samples per chunk (default auto)")
    p.add_argument("--out", metavar="FILE.jsonl", help="stream one JSON record per simulation")
    p.add_argument("--resume", action="store_true",
                   help="continue --out: skip the points already in it (other records are kept)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing --out file")
    p.add_argument("--split-batch", type=int, default=None, metavar="N",
                   help="one simulation across many workers: cut every pass over a batch into N "
                   "row ranges computed on the --scheduler's workers (points run one at a time; "
                   "same numbers as in-process with the same N)")
    add_simulation_arguments(p)
    document(p, 'giantstep simulate "z1 + z1*z2" --activation relu --alpha 1 --eta 1.5 --steps 3 '
             '--d 256 --seeds 4 --plot sim.png')
    p.set_defaults(func=_simulate)


def _configs(args: argparse.Namespace) -> list[dict]:
    from giantstep.validation.simulator import SimulationConfig

    if args.seeds < 1:
        raise InputError(f"--seeds must be ≥ 1, got {args.seeds}")
    if (args.resume or args.overwrite) and not args.out:
        raise InputError(f"--{'resume' if args.resume else 'overwrite'} needs --out FILE.jsonl")
    if args.resume and args.overwrite:
        raise InputError("--resume and --overwrite exclude each other")
    ds = parse_values(args.d, int, "d")
    alphas = [check("alpha", a) for a in args.alpha]
    etas = [check("eta", e) for e in parse_values(args.eta, float, "eta")]
    check_budget(args, ds, len(alphas) * len(etas), max(alphas))
    out = []
    for d in ds:
        for a in alphas:
            for e in etas:
                for seed in range(args.seeds):
                    cfg = SimulationConfig(
                        target=args.expr, activation=args.activation, d=d,
                        p=args.p if args.p is not None else d, alpha=a, ell=args.ell, eta=e,
                        steps=args.steps, readout=args.readout, init=args.init,
                        symmetric=args.symmetric, normalize=args.normalize,
                        preprocess=args.preprocess if args.preprocess is not None else False,
                        noise=args.noise, lam=args.lam, alpha_readout=args.alpha_readout,
                        n_test=args.n_test if args.lam is not None else 0, seed=seed,
                        dtype=args.dtype, chunk_size=args.chunk_size,
                        batch_reuse=args.batch_reuse)
                    out.append(cfg.to_dict())
    # fail early (one line) on a bad target/activation rather than inside a worker
    from giantstep.theory import as_activation, as_target

    tgt = as_target(args.expr)
    if tgt.r > min(ds):
        raise InputError(f"the target uses r = {tgt.r} directions but d = {min(ds)}")
    act = as_activation(args.activation)
    if args.steps > 0:
        act.check_weakly_differentiable()
    return out


#: Largest number of simulations one command runs (grid points × seeds).
MAX_SIMULATIONS = 100_000
_CHUNK_BYTES = 1 << 27  # the simulator's chunk budget (inputs + preactivations of one chunk)


def simulation_cost(d: int, p: int, n: float, steps: int, n_readout: float, n_test: int,
                    itemsize: int = 8, second_moment: bool = False) -> tuple[float, float]:
    """Peak bytes and floating-point operations of one simulation (docs/model.md §1 protocol).

    Memory: the weights, their gradient and a transposed copy (four ``p × d`` arrays with
    slack), the ridge Gram matrix and its factor (``p × p``), one chunk of samples (at least
    128 rows of ``d + p``, at most the simulator's 128 MiB chunk) and, with ``second_moment``,
    the d × d moment of the label preprocessing. Work: a forward and a backward pass per step
    (``4 n d p``), the readout's features and Gram matrix (``n_r (2 d p + p²) + p³/3``) and the
    test set (``2 n_test d p``).
    """
    chunk = max(_CHUNK_BYTES, 2.0 * 128 * (d + p) * itemsize)
    mem = 8.0 * (4.0 * p * d + 2.0 * p * p + (d * d if second_moment else 0)) + chunk
    flops = 4.0 * steps * n * d * p + n_readout * (2.0 * d * p + p * p) + p**3 / 3 + 2.0 * n_test * d * p
    return mem, flops


def check_budget(args: argparse.Namespace, ds: list[int], n_points: int, alpha_max: float) -> None:
    """Refuse, before anything is built, a sweep that cannot fit in memory or would run for days."""
    from giantstep.resources import check_memory, check_work

    for d in ds:
        if d < 1:
            raise InputError(f"--d must be ≥ 1, got {d}")
    for name in ("p", "n_test", "chunk_size", "seeds"):
        value = getattr(args, name, None)
        if value is not None and value < (0 if name == "n_test" else 1):
            raise InputError(f"--{name.replace('_', '-')} must be ≥ {0 if name == 'n_test' else 1}, got {value}")
    total = n_points * len(ds) * args.seeds
    if total > MAX_SIMULATIONS:
        raise InputError(f"{total} simulations requested (grid points × --d values × --seeds); at most "
                         f"{MAX_SIMULATIONS} per run")
    ell = float(getattr(args, "ell", 1.0) or 1.0)
    steps = int(getattr(args, "steps", 1) or 1)
    lam = getattr(args, "lam", 0.0)
    n_test = int(getattr(args, "n_test", 0) or 0) if lam is not None else 0
    itemsize = 4 if getattr(args, "dtype", "float64") == "float32" else 8
    workers = getattr(args, "workers", None) or (os.cpu_count() or 1)
    concurrent = max(1, min(workers, total))
    worst_mem, flops = 0.0, 0.0
    for d in ds:
        p = args.p if args.p is not None else max(1, int(round(getattr(args, "p_ratio", 1.0) * d)))
        n = alpha_max * float(d) ** ell
        a_r = getattr(args, "alpha_readout", None) or alpha_max
        mem, work = simulation_cost(d, p, n, steps, a_r * d if lam is not None else 0, n_test, itemsize,
                                    (getattr(args, "preprocess", None) or 0) >= 3)
        worst_mem = max(worst_mem, mem)
        flops += work * n_points * args.seeds
    check_memory(f"one simulation at d = {max(ds)}" + (f", p = {args.p}" if args.p else "")
                 + (f" (× {concurrent} workers)" if concurrent > 1 else ""), worst_mem * concurrent,
                 "reduce --d/--p or --workers")
    check_work(f"{total} simulation(s)", flops, "reduce --d, --p, --alpha, --n-test or --seeds")


def _mean_se(values: list[float]) -> tuple[float, float | None]:
    k = len(values)
    m = sum(values) / k
    if k < 2:
        return m, None
    var = sum((v - m) ** 2 for v in values) / (k - 1)
    return m, math.sqrt(var / k)


def summarize(records: list[dict]) -> list[dict]:
    """Mean ± s.e. over seeds of the last step's per-type statistics and of the errors."""
    groups: dict[str, list[dict]] = {}
    params: dict[str, dict] = {}
    for rec in records:
        cfg = {k: v for k, v in rec["config"].items() if k != "seed"}
        key = repr(sorted(cfg.items()))
        groups.setdefault(key, []).append(rec)
        params[key] = cfg
    out = []
    for key, recs in groups.items():
        steps = recs[0]["result"]["steps"]
        T = len(steps) - 1
        types = []
        for i, tp in enumerate(steps[T]["types"]):
            row = {"type": tp["type"], "s": tp["s"]}
            r = len(tp["overlap_mean"])
            ov = [_mean_se([rc["result"]["steps"][T]["types"][i]["overlap_mean"][k] for rc in recs])
                  for k in range(r)]
            row["overlap_mean"] = [m for m, _ in ov]
            row["overlap_se"] = [s for _, s in ov]
            for q in ("norm2_mean", "cosine_mean"):
                m, s = _mean_se([rc["result"]["steps"][T]["types"][i][q] for rc in recs])
                row[q] = m
                row[q.replace("_mean", "_se")] = s
            types.append(row)
        point = {"params": params[key], "n_seeds": len(recs), "step": T, "types": types,
                 "float32_unresolved": sorted({q for rc in recs
                                               for q in rc["result"].get("float32_unresolved", [])})}
        if recs[0]["result"].get("readout"):
            for q in ("test_error", "train_error"):
                m, s = _mean_se([rc["result"]["readout"][q] for rc in recs])
                point[f"{q}_mean"], point[f"{q}_se"] = m, s
        out.append(point)
    return out


def _simulate(args: argparse.Namespace) -> int:
    from giantstep.validation.sweep import run_sweep

    configs = _configs(args)
    if args.split_batch is not None and args.split_batch < 1:
        raise InputError(f"--split-batch must be ≥ 1, got {args.split_batch}")
    records = run_sweep(configs, args.out, resume=args.resume, workers=args.workers,
                        scheduler=args.scheduler, progress=not args.no_progress, split=args.split_batch,
                        overwrite=args.overwrite)
    points = summarize(records)
    unresolved = sorted({q for pt in points for q in pt["float32_unresolved"]})
    if unresolved:
        print(f"giantstep simulate: warning: below the float32 rounding level (rerun with --dtype float64): "
              f"{', '.join(unresolved[:6])}{' …' if len(unresolved) > 6 else ''}", file=sys.stderr)
    if args.plot:
        save_figure(_plot(records), args.plot)
    if args.json:
        print_json({"points": points, "n_simulations": len(records), "out": args.out})
        return 0
    rows = []
    for pt in points:
        pr = pt["params"]
        for tp in pt["types"]:
            ov = " ".join(f"{m:+.4f}±{(s or 0):.4f}" for m, s in zip(tp["overlap_mean"], tp["overlap_se"]))
            err = (f"{pt['test_error_mean']:.4f}±{(pt['test_error_se'] or 0):.4f}"
                   if "test_error_mean" in pt else "-")
            rows.append([pr["d"], pr["p"], f"{pr['alpha']:g}", f"{pr['eta']:g}", pt["step"],
                         tp["type"], ov, f"{tp['norm2_mean']:.4f}", f"{tp['cosine_mean']:.4f}", err,
                         pt["n_seeds"]])
    headers = ["d", "p", "alpha", "eta", "step", "type", "overlaps (mean±s.e.)", "norm2", "cosine",
               "test error", "seeds"]
    if args.csv:
        print_csv(headers, rows)
        return 0
    print(format_table(headers, rows))
    if args.out:
        print(f"{len(records)} simulations in {args.out}")
    return 0


def _plot(records: list[dict]):
    """Target overlaps (mean ± s.e. over seeds) versus step: one colour per grid point, one line
    style per direction, open markers for the second type (identical curves stay visible), and
    the d → ∞ overlap equations (docs/model.md §5.3) in thin black where they apply."""
    from giantstep.figures import integer_steps, new_figure

    fig = new_figure((6.5, 4.2))
    ax = fig.subplots()
    groups: dict[str, list[dict]] = {}
    for rec in records:
        c = rec["config"]
        groups.setdefault(f"d={c['d']} α={c['alpha']:g} η̃={c['eta']:g}", []).append(rec)
    for g, (label, recs) in enumerate(groups.items()):
        steps = recs[0]["result"]["steps"]
        for i, tp in enumerate(steps[0]["types"]):
            for k in range(len(tp["overlap_mean"])):
                ys = [[rc["result"]["steps"][t]["types"][i]["overlap_mean"][k] for rc in recs]
                      for t in range(len(steps))]
                ms = [_mean_se(y) for y in ys]
                ax.errorbar(range(len(steps)), [m for m, _ in ms], yerr=[s or 0 for _, s in ms], capsize=2,
                            marker="os^D"[i % 4], ms=5 - i, mfc="none" if i else None, color=f"C{g % 10}",
                            ls=["-", "--", ":", "-."][k % 4], label=f"{label} {tp['type']} z{k + 1}")
        _theory_overlay(ax, recs[0]["config"], len(steps) - 1)
    c = records[0]["config"]
    ax.set_title(f"simulation: {c.get('target', '')} — {c.get('activation', '')}, {c.get('readout', '')} readout, "
                 f"{len(records)} runs", fontsize=9)
    ax.set_xlabel("giant step t")
    integer_steps(ax)
    ax.set_ylabel("target overlap W* w (mean over the type)")
    ax.legend(fontsize=6)
    return fig


def _theory_overlay(ax, c: dict, steps: int) -> None:
    """Draw the §5.3 overlaps of the configuration ``c`` (fresh batches n = α d, constant or sign
    readout); other protocols have no overlay (said on stderr)."""
    from giantstep.errors import GiantstepError
    from giantstep.figures import label_once

    if (c.get("ell", 1) != 1 or c.get("batch_reuse", 1) != 1 or c.get("preprocess") or c.get("symmetric")
            or c.get("readout") not in ("constant", "sign")):
        print("giantstep simulate: note: no theory overlay for this protocol (the §5.3 equations take "
              "fresh batches n = α d and a constant or sign readout)", file=sys.stderr)
        return
    from giantstep.numerics import overlap_trajectory

    try:
        th = overlap_trajectory(c["target"], c["activation"], alpha=c["alpha"], eta=c["eta"], steps=steps,
                                readout=c["readout"], noise=c.get("noise") or 0.0,
                                normalize=bool(c.get("normalize")))
    except GiantstepError as exc:
        print(f"giantstep simulate: note: no theory overlay ({exc})", file=sys.stderr)
        return
    for k, tp in enumerate(th.steps[0].types):
        for i in range(len(tp.overlap)):
            ax.plot(range(steps + 1), [st.types[k].overlap[i] for st in th.steps], color="k", lw=0.8,
                    ls=["-", "--", ":", "-."][i % 4], label=label_once(ax, "theory (d → ∞, §5.3)"))
