"""One registry of primitive functions.

* every record is consistent: its numpy and mpmath forms agree, the parser builds it,
  its growth class is honoured;
* the kink finder of the registry is the one every layer uses;
* the proof of the design: ``softplus`` and ``gelu`` were added as one record each and
  work in ``hermite`` (against hand-derived values and independent quadrature),
  ``leap --activation``, ``overlaps`` and ``simulate``, with the overlap equations
  agreeing with a simulation of the same protocol.
"""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
import sympy
from scipy import integrate

from giantstep.errors import InputError
from giantstep.theory import as_activation
from giantstep.theory.expr.primitives import BY_NAME, PARSEABLE_NAMES, PRIMITIVES, X, kinks

XS = np.array([-7.5, -2.0, -0.3, 0.0, 0.4, 1.7, 6.0])


@pytest.mark.parametrize("prim", [p for p in PRIMITIVES if p.numpy and p.mpmath], ids=lambda p: p.name)
def test_numpy_and_mpmath_forms_agree(prim):
    with mpmath.workdps(30):
        ref = np.array([float(prim.mpmath(mpmath.mpf(float(v)))) for v in XS])
    assert np.allclose(prim.numpy(XS), ref, rtol=1e-14, atol=1e-15)


@pytest.mark.parametrize("name", PARSEABLE_NAMES)
def test_every_parseable_name_builds_an_activation_that_evaluates(name):
    if name == "sqrt":  # its domain check: the argument must be non-negative for every input
        with pytest.raises(InputError, match="non-negative"):
            as_activation(name)
        name = "sqrt(1 + x**2)"
    vals = as_activation(name).evaluate(XS)
    assert np.all(np.isfinite(vals))


def test_growth_facts_match_the_functions():
    big = np.array([50.0, -50.0])
    for p in PRIMITIVES:
        if p.numpy is None:
            continue
        v = np.abs(p.numpy(big))
        if p.growth == "bounded":
            assert np.all(v <= 1.0 + 1e-12), p.name
        elif p.growth == "argument":
            assert np.all(v <= 1.0 + np.abs(big)), p.name
        if p.nonnegative:
            assert np.all(p.numpy(XS) >= 0), p.name


def test_kinks_of_composite_expressions():
    assert kinks(as_activation("relu(x - 1) + abs(2*x + 1)").expr) == (-0.5, 1.0)
    assert kinks(as_activation("tanh").expr) == ()
    assert kinks(as_activation("sign(x**2 - 4)").expr) == (-2.0, 2.0)
    assert kinks(as_activation("softplus").expr) == ()


# ------------------------------------------------------------------ the two new activations


def _mu_quad(f, k):
    """E[f(ξ) He_k(ξ)] by scipy adaptive quadrature (independent of the library's rules)."""
    he = np.polynomial.hermite_e.HermiteE.basis(k)
    val, _ = integrate.quad(lambda x: f(x) * he(x) * math.exp(-x * x / 2) / math.sqrt(2 * math.pi),
                            -40, 40, limit=400, epsabs=1e-13)
    return val


def test_gelu_has_exact_hand_derived_coefficients():
    # gelu(x) = x Φ(x): μ0 = E[ξΦ(ξ)] = E[φ(ξ)] = 1/(2√π) (Stein), μ1 = E[Φ + ξφ] = 1/2,
    # μ2 = E[2φ − ξ²φ] = 1/√π − 1/(4√π) = 3/(4√π)
    c = as_activation("gelu").coefficients(6)
    assert c.exact
    pi = sympy.pi
    assert sympy.simplify(c.values[0] - 1 / (2 * sympy.sqrt(pi))) == 0
    assert c.values[1] == sympy.Rational(1, 2)
    assert sympy.simplify(c.values[2] - 3 / (4 * sympy.sqrt(pi))) == 0
    assert all(c.values[k] == 0 for k in (3, 5))  # gelu(x) − x/2 is even
    gelu = lambda x: x * 0.5 * (1 + math.erf(x / math.sqrt(2)))  # noqa: E731
    for k in range(7):
        assert float(c.values[k]) == pytest.approx(_mu_quad(gelu, k), abs=1e-10)


def test_softplus_coefficients_against_independent_quadrature():
    c = as_activation("softplus").coefficients(6)
    assert not c.exact and c.error < 1e-20
    # μ1 = E[sigmoid(ξ)] = 1/2 exactly (sigmoid(x) + sigmoid(−x) = 1); softplus(x) − x/2 is even
    assert abs(c.values[1] - mpmath.mpf(1) / 2) < 1e-25
    assert all(abs(c.values[k]) < 1e-25 for k in (3, 5))
    sp = lambda x: math.log1p(math.exp(x)) if x < 30 else x + math.log1p(math.exp(-x))  # noqa: E731
    for k in range(7):
        assert float(c.values[k]) == pytest.approx(_mu_quad(sp, k), abs=1e-10)
    # its derivatives are the registry's sigmoid and sigmoid·(1 − sigmoid)
    act = as_activation("softplus")
    assert act.derivative_expr(1) == BY_NAME["sigmoid"].build(X)
    s = 1 / (1 + np.exp(-XS))
    assert np.allclose(act.derivative(XS, 2), s * (1 - s), rtol=1e-13)


def _cli(*argv):
    return subprocess.run([sys.executable, "-m", "giantstep", *argv], capture_output=True, text=True)


@pytest.mark.parametrize("name", ["softplus", "gelu"])
def test_new_activations_work_in_every_command(name):
    out = _cli("hermite", name, "--degree", "4", "--json")
    assert out.returncode == 0, out.stderr
    out = _cli("leap", "z1 + z1*z2", "--activation", name, "--json")
    assert out.returncode == 0 and '"leap_index": 1' in out.stdout, out.stdout + out.stderr
    out = _cli("overlaps", "z1", "--activation", name, "--alpha", "2", "--eta", "1", "--steps", "2", "--json")
    assert out.returncode == 0, out.stderr
    out = _cli("simulate", "z1", "--activation", name, "--alpha", "2", "--eta", "1", "--d", "64",
               "--seeds", "2", "--workers", "1", "--quiet", "--json")
    assert out.returncode == 0, out.stderr


def test_softplus_overlap_equations_agree_with_simulation():
    """§5.3 for the new activation against the §1 simulator: d = 1024, 4 seeds, 2 steps."""
    import giantstep as gs

    th = gs.overlap_trajectory("z1", "softplus", alpha=2.0, eta=1.0, steps=2, readout="sign")
    pred = {round(tp.s): tp.overlap[0] for tp in th.steps[-1].types}
    sims = [gs.simulate(target="z1", activation="softplus", d=1024, p=256, alpha=2.0, eta=1.0, steps=2,
                        readout="sign", seed=s, n_test=0, measure_spike=False) for s in range(4)]
    for tp_index, s_val in ((0, 1), (1, -1)):
        vals = np.array([r.steps[-1]["types"][tp_index]["overlap_mean"][0] for r in sims])
        assert round(sims[0].steps[-1]["types"][tp_index]["s"]) == s_val
        se = vals.std(ddof=1) / 2
        assert abs(vals.mean() - pred[s_val]) < 3 * se + 0.03, (vals.mean(), pred[s_val], se)
