"""``giantstep leap``, ``giantstep hermite`` and ``giantstep thresholds`` (docs/model.md §2–§4)."""

from __future__ import annotations

import argparse
import re

from giantstep.errors import InputError
from giantstep.params import DEFAULTS, cli_help, cli_type

from .options import document, shared
from .output import add_csv, format_table, print_csv, print_json, save_figure

_TARGET_VAR = re.compile(r"\bz[0-9]+\b")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the three theory sub-commands."""
    p = sub.add_parser("leap", help="information exponent, staircase and leap index of a target")
    p.add_argument("expr", help='target in z1..zr, e.g. "z1 + z1*z2*z3"')
    p.add_argument("--activation", help="student activation for the activation-aware staircase")
    p.add_argument("--r", type=int, default=None, help="number of latent variables (default: inferred)")
    shared(p, "--max-degree", "max_degree", default=None)
    shared(p, "--noise", "noise", default=0.0)
    sg = p.add_mutually_exclusive_group()
    sg.add_argument("--strengths", action="store_true",
                    help="compute the strengths E[‖E[He_k | y, z_V][v,·]‖²] of the generative stages for "
                    "several latent variables too (numerical, seconds for 3-index targets; for one "
                    "variable they are computed by default)")
    sg.add_argument("--no-strengths", action="store_true", help="no generative strengths at all")
    p.add_argument("--json", action="store_true", help="print JSON")
    add_csv(p)
    document(p, 'giantstep leap "z1 + z1*z2*z3"',
             "The relevant subspace of a target g*(z1..zr), its information exponent, the staircase "
             "of directions learned by giant steps with n ≍ d samples each, and the greedy leap "
             "index (docs/model.md §3); then the generative exponent and leap with their stages. Exact "
             "for polynomial targets (sympy); --csv prints the greedy leaps.")
    p.set_defaults(func=_leap)

    h = sub.add_parser("hermite", help="Hermite coefficients of an activation or tensors of a target")
    h.add_argument("expr", help='activation (relu, tanh, "He1 + He2") or target in z1..zr')
    h.add_argument("--degree", type=cli_type("kmax"), required=True, help=cli_help("kmax"))
    g = h.add_mutually_exclusive_group()
    g.add_argument("--exact", action="store_true", help="closed forms only (error if none exists)")
    g.add_argument("--precision", type=cli_type("dps"), default=DEFAULTS["dps"], help=cli_help("dps"))
    h.add_argument("--json", action="store_true", help="print JSON")
    add_csv(h)
    document(h, "giantstep hermite relu --degree 6",
             "Hermite coefficients μ_k = E[σ(ξ) He_k(ξ)] of an activation (closed forms where they "
             "exist, else mpmath at --precision digits with an error bound), or the energies "
             "‖P_k g‖² and non-zero tensor entries of a target in z1..zr (docs/model.md §2).")
    h.set_defaults(func=_hermite)

    t = sub.add_parser("thresholds", help="samples needed per algorithm and direction; stairway of plateaus")
    t.add_argument("expr", help="target in z1..zr")
    t.add_argument("--activation", help="student activation (activation-aware thresholds)")
    shared(t, "--noise", "noise", default=0.0)
    t.add_argument("--kappa-step", type=float, default=0.05, help="grid step of κ")
    shared(t, "--max-degree", "max_degree", default=None)
    t.add_argument("--json", action="store_true", help="print JSON")
    t.add_argument("--plot", metavar="FILE.png", help="write the stairway figure")
    add_csv(t)
    document(t, 'giantstep thresholds "z1 + z1*z2*z3" --plot stairway.png',
             "Sample complexity n ≍ d^κ per direction and algorithm (kernels / random features, one "
             "giant step, preprocessed step, several steps, online SGD, batch reuse, SQ, AMP) and the "
             "stairway: the error plateau of each method versus κ = log n / log d (docs/model.md §4). "
             "--csv prints the stairway on the κ grid.")
    t.set_defaults(func=_thresholds)


def _vec(v) -> str:
    return "(" + ", ".join(f"{x:+.4f}" for x in v) + ")"


def _leap(args: argparse.Namespace) -> int:
    from giantstep.theory.expr.target import Target
    from giantstep.theory.structure.generative import generative_analysis
    from giantstep.theory.structure.subspaces import analyze

    target = Target(args.expr, r=args.r, noise=args.noise)
    res = analyze(target, args.activation, max_degree=args.max_degree)
    # one variable: level sets, milliseconds; several: binned estimates, seconds — opt in
    strengths = not args.no_strengths and (args.strengths or target.r == 1)
    gen = generative_analysis(target, max_degree=args.max_degree, strengths=strengths)
    if args.json:
        out = res.to_dict()
        out.update(gen.to_dict())
        out["target"] = target.text
        print_json(out)
        return 0
    if args.csv:
        print_csv(["stage", "leap", "new_directions"],
                  [[i + 1, k, " ".join(_vec(v) for v in B.T)] for i, (k, B) in enumerate(zip(res.leaps, res.stages))])
        return 0
    print(f"target              {target.text}   (r = {res.r})")
    if res.activation:
        print(f"student activation  {res.activation}")
    print(f"information exponent {res.information_exponent}")
    leap = res.leap_index if res.leap_index is not None else "none (unreachable with this activation)"
    print(f"leap index          {leap}")
    if res.activation and res.generic_leap_index != res.leap_index:
        print(f"generic leap index  {res.generic_leap_index}")
    print(f"relevant subspace   dim {res.relevant_dim}")
    rows = [[s["step"], s["dim"], "  ".join(_vec(v) for v in s["new_directions"])] for s in res.staircase]
    print("\nstaircase (n ≍ d per step):")
    print(format_table(["step", "dim", "new directions"], rows) if rows else "  (nothing learned with n ≍ d)")
    rows = [[i + 1, k, "  ".join(_vec(v) for v in B.T)] for i, (k, B) in enumerate(zip(res.leaps, res.stages))]
    print("\ngreedy leaps:")
    print(format_table(["stage", "leap", "new directions"], rows) if rows else "  (none)")
    gl = gen.generative_leap if gen.generative_leap is not None else "none (some directions never revealed)"
    print(f"\ngenerative exponent {gen.generative_exponent}   generative leap {gl}"
          + (f"   (label noise Δ = {gen.noise:g})" if gen.noise else ""))
    rows = []
    for i, st in enumerate(gen.stages):
        for v, sv, se in zip(st.directions.T, st.strengths or [None] * st.directions.shape[1],
                             st.strength_errors or [None] * st.directions.shape[1]):
            strength = "-" if sv is None else f"{sv:.6g} ± {se:.1g}"
            rows.append([i + 1, st.k, _vec(v), strength, ",".join(map(str, st.powers))])
    print("generative stages (E[He_k(z_⊥) | y, z_V] ≢ 0; strength E[‖E[He_k | y, z_V][v,·]‖²]):")
    print(format_table(["stage", "k", "direction", "strength", "label powers"], rows) if rows else "  (none)")
    for n in res.notes + gen.notes:
        print(f"note: {n}")
    if not strengths and not args.no_strengths and gen.stages:
        print("note: strengths of several-variable targets are numerical: add --strengths to compute them")
    return 0


def _hermite(args: argparse.Namespace) -> int:
    import sympy

    from giantstep.theory.expr.target import Activation, Target

    K = args.degree
    if _TARGET_VAR.search(args.expr):
        return _hermite_target(Target(args.expr), K, args)
    act = Activation(args.expr)
    c = act.coefficients(K, dps=args.precision)
    if args.exact and not c.exact:
        raise InputError(f"no closed form is known for the coefficients of '{act.name}'; drop --exact")
    if c.exact:
        values = [str(sympy.nsimplify(v) if v.is_Rational else v) for v in c.values]
        numeric = [sympy.N(v, args.precision) for v in c.values]
    else:
        import mpmath

        with mpmath.workdps(args.precision):
            values = [mpmath.nstr(v, args.precision) for v in c.values]
        numeric = values
    if args.json:
        print_json({
            "activation": act.name,
            "kind": "activation",
            "exact": c.exact,
            "precision": None if c.exact else args.precision,
            "error_estimate": None if c.exact else c.error,
            "coefficients": values,
            "normalized": [float(v) / float(sympy.sqrt(sympy.factorial(k))) for k, v in enumerate(c.floats())],
        })
        return 0
    if args.csv:
        print_csv(["k", "mu_k", "value"], [[k, values[k], str(numeric[k])] for k in range(K + 1)])
        return 0
    how = "exact" if c.exact else f"{args.precision} digits, error ≲ {c.error:.1e}"
    print(f"activation {act.name}: μ_k = E[σ(ξ) He_k(ξ)]  ({how})")
    rows = [[k, values[k], str(numeric[k])[: args.precision + 3]] for k in range(K + 1)]
    print(format_table(["k", "μ_k", "value"], rows))
    return 0


def _finite(value: float, exact=None):
    """``value`` if finite, else its exact form as a string (``exact()``), else None: never inf."""
    import math

    if math.isfinite(value):
        return value
    ex = exact() if exact is not None else None
    return str(ex) if ex is not None else None


def _hermite_target(target, K: int, args: argparse.Namespace) -> int:
    exp = target.expansion if target.is_polynomial else type(target.expansion).of(target, K)
    if args.exact and not exp.exact:
        raise InputError(f"no closed form is known for every coefficient of '{target.text}'; drop --exact")
    energies = []
    for k in range(K + 1):
        ex = exp.exact_energy(k) if exp.exact else None
        energies.append(str(ex) if ex is not None else exp.energy(k))
    tensors = {}
    for k in range(1, K + 1):
        entries = []
        for beta in sorted(exp.coeffs):
            if sum(beta) != k:
                continue
            ev = exp.exact_tensor_entry(beta)
            entries.append({"beta": list(beta), "value": str(ev) if ev is not None else None,
                            "float": _finite(exp.coefficient(beta) * float(_bf(beta)))})
        tensors[str(k)] = entries
    if args.json:
        print_json({"target": target.text, "kind": "target", "r": target.r, "exact": bool(exp.exact),
                    "energies": energies, "tensors": tensors,
                    "second_moment": _finite(exp.second_moment, exp.exact_second_moment),
                    "tail_energy": exp.tail_energy})
        return 0
    if args.csv:
        print_csv(["k", "energy"], [[k, e] for k, e in enumerate(energies)])
        return 0
    print(f"target {target.text} (r = {target.r}); ‖P_k g‖² and non-zero entries E[g He_β]")
    print(format_table(["k", "energy"], [[k, e] for k, e in enumerate(energies)]))
    for k, entries in tensors.items():
        for e in entries:
            shown = e["value"] if e["value"] is not None else format(e["float"], ".8g")
            print(f"  C_{k}  β={tuple(e['beta'])}  {shown}")
    return 0


def _bf(beta) -> int:
    from math import factorial

    out = 1
    for b in beta:
        out *= factorial(b)
    return out


def _thresholds(args: argparse.Namespace) -> int:
    from giantstep.theory.expr.target import Target
    from giantstep.theory.structure.thresholds import thresholds

    if not args.kappa_step > 0:
        raise InputError(f"--kappa-step must be > 0, got {args.kappa_step}")
    target = Target(args.expr, noise=args.noise)
    th = thresholds(target, args.activation, kappa_step=args.kappa_step, max_degree=args.max_degree)
    if args.plot:
        save_figure(th.plot(), args.plot)
    if args.json:
        out = th.to_dict()
        out["target"] = target.text
        print_json(out)
        return 0
    sw = th.stairway
    if args.csv:
        keys = ["kappa", "random_features", "one_step", "one_step_preprocessed", "multi_step"]
        print_csv(keys, [list(r) for r in zip(*(sw[k] for k in keys))])
        return 0
    print(f"target {target.text} (r = {th.r}), information exponent {th.information_exponent}")
    rows = [[_vec(d["vector"]), _opt(d["one_step_exponent"]), _opt(d["one_step_exponent_preprocessed"]),
             _opt(d["staircase_step"]), _opt(d.get("multi_step_exponent"))] for d in th.directions]
    print("\ndirections (batch n ≍ d^κ):")
    print(format_table(["direction", "one step κ", "one step, preprocessed κ", "staircase step (n≍d)",
                        "several steps κ"], rows))
    print("\nHermite degrees (kernel / random features need κ ≥ degree):")
    print(format_table(["degree", "energy ‖P_k g‖²"], [[d["degree"], d["energy"]] for d in th.degrees]))
    sw = th.stairway
    if th.algorithms:
        dirs = [_vec(d["vector"]) for d in th.directions]
        print("\nsamples needed per algorithm (n ≍ d^κ; columns: the directions above):")
        arows = [[a["label"]] + [c["text"] for c in a["cells"]] for a in th.algorithms]
        print(format_table(["algorithm"] + dirs, arows))
    print("\nerror plateaus at integer κ:")
    idx = [i for i, k in enumerate(sw["kappa"]) if abs(k - round(k)) < 1e-9]
    print(format_table(["κ", "random features", "one step", "one step (preproc.)", "several steps"],
                       [[sw["kappa"][i], sw["random_features"][i], sw["one_step"][i],
                         sw["one_step_preprocessed"][i], sw["multi_step"][i]] for i in idx]))
    for n in th.notes:
        print(f"note: {n}")
    return 0


def _opt(v) -> str:
    return "never" if v is None else str(v)
