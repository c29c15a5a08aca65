"""Generative exponent / leap and strengths (docs/model.md §7, docs/algorithms.md); values derived by hand."""

import math

import mpmath as mp
import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.theory import Target
from giantstep.theory.structure.generative import (
    conditional_strength,
    generative_analysis,
    generative_exponent,
    generative_leap,
    online_sgd_exponent,
)
from giantstep.theory.structure.subspaces import analyze


@pytest.mark.parametrize(
    "expr, k",
    [
        ("He3(z1)", 1),  # odd link: E[y^3 z] ≠ 0
        ("He4(z1)", 2),  # even link: odd orders vanish, E[y^2 He2] ≠ 0
        ("z1*z2", 2),  # invariant under z → −z
        ("sign(z1*z2*z3)", 3),  # y ∈ {±1}: only E[y He_k], first non-zero tensor C_3
        ("z1", 1),
        ("z1**2", 2),
        ("abs(z1)", 2),
        ("tanh(z1)", 1),
    ],
)
def test_generative_exponents_by_hand(expr, k):
    assert generative_exponent(expr) == k


@pytest.mark.parametrize("expr", ["He3(z1)", "He4(z1)", "z1*z2", "z1 + z1*z2*z3", "z1 + He3(z2)", "z1**2 + z2",
                                  "He5(z1) + He3(z1)"])
def test_generative_never_exceeds_information_exponent_and_leap(expr):
    a = analyze(expr)
    g = generative_analysis(expr, strengths=False)
    assert g.generative_exponent <= a.information_exponent
    assert g.generative_leap <= a.leap_index


def test_generative_leap_multi_index():
    # z1 + He3(z2): classical leap 3 (He3 given z1), generative leap 1 (E[y^3 z2] ≠ 0)
    assert analyze("z1 + He3(z2)").leap_index == 3
    g = generative_analysis("z1 + He3(z2)", strengths=False)
    assert g.generative_leap == 1 and [s.k for s in g.stages] == [1]
    # z1 + z1 z2 z3: every power of y is invariant under (z2, z3) → −(z2, z3): leap 2 stays
    g = generative_analysis("z1 + z1*z2*z3", strengths=False)
    assert [s.k for s in g.stages] == [1, 2]
    assert np.allclose(g.stages[0].directions[:, 0], [1, 0, 0])
    B = g.stages[1].directions
    assert np.allclose(B @ B.T, np.diag([0, 1, 1]), atol=1e-9)
    assert generative_leap("sign(z1*z2*z3)") == 3


def test_rotation_invariance():
    # z1 z2 in the basis u = (e1+e2)/√2, v = (e1−e2)/√2 is (z1² − z2²)/2
    g = generative_analysis("(z1**2 - z2**2)/2")
    g0 = generative_analysis("z1*z2")
    assert [s.k for s in g.stages] == [s.k for s in g0.stages] == [2]
    assert g.stages[0].directions.shape == (2, 2)
    # He3 along (e1+e2)/√2: same k, direction (1,1)/√2, same strength as He3(z1)
    g = generative_analysis("He3((z1+z2)/sqrt(2))")
    assert [s.k for s in g.stages] == [1]
    assert np.allclose(np.abs(g.stages[0].directions[:, 0]), [2**-0.5, 2**-0.5])
    ref = generative_analysis("He3(z1)").stages[0].strengths[0]
    s, err = g.stages[0].strengths[0], g.stages[0].strength_errors[0]
    assert abs(s - ref) < err + 1e-6
    # the total strength of a stage is basis-free: Σ over the directions
    tot = sum(g0.stages[0].strengths)
    tot_rot = sum(generative_analysis("(z1**2 - z2**2)/2").stages[0].strengths)
    errs = sum(g0.stages[0].strength_errors) + sum(generative_analysis("(z1**2 - z2**2)/2").stages[0].strength_errors)
    assert abs(tot - tot_rot) < errs


def test_strengths_exact_values():
    # y = z + √Δ ε: E[z | y] = y/(1+Δ), E_y[E[z|y]²] = 1/(1+Δ)
    for delta in (0.0, 0.5):
        s = generative_analysis(Target("z1", noise=delta)).stages[0]
        assert abs(s.strengths[0] - 1 / (1 + delta)) < max(s.strength_errors[0], 1e-9) + 1e-9
    # He2(z) is a function of y = z² (or |z|): strength = E[He2²] = 2
    for expr in ("z1**2", "abs(z1)"):
        s = generative_analysis(expr).stages[0]
        assert s.k == 2 and abs(s.strengths[0] - 2.0) < s.strength_errors[0] + 1e-9
    # sign: E[z | y] = y √(2/π) → 2/π; relu: z on y > 0, −√(2/π) on the atom y = 0 → 1/2 + 1/π
    for expr, exact in (("sign(z1)", 2 / math.pi), ("relu(z1)", 0.5 + 1 / math.pi)):
        s = generative_analysis(expr).stages[0]
        assert abs(s.strengths[0] - exact) < s.strength_errors[0] + 1e-9, (expr, s.strengths, s.strength_errors)
        assert s.strength_errors[0] < 1e-3


def test_strength_sign_parity_tensor():
    # E[He_3(z) | y] = y (2/π)^{3/2} sym(e1⊗e2⊗e3); contracted once with e1: 2 entries → 2 (2/π)³
    s = generative_analysis("sign(z1*z2*z3)").stages[0]
    exact = 2 * (2 / math.pi) ** 3
    for v, e in zip(s.strengths, s.strength_errors):
        assert abs(v - exact) < e and e < 0.05


def test_strength_product_bessel():
    # y = z1 z2: p(y) = K0(|y|)/π, E[z1² | y] = |y| K1(|y|)/K0(|y|), E[z1 z2 | y] = y.
    # direction e1, k = 2: E[(E[He2(z1)|y])²] + E[(E[z1 z2|y])²] = E[(|y|K1/K0 − 1)²] + 1
    m = lambda y: y * mp.besselk(1, y) / mp.besselk(0, y) - 1  # noqa: E731
    exact = float(1 + 2 * mp.quad(lambda y: mp.besselk(0, y) / mp.pi * m(y) ** 2, [0, 1, mp.inf]))
    s = generative_analysis("z1*z2").stages[0]
    for v, e in zip(s.strengths, s.strength_errors):
        assert abs(v - exact) < e and e < 0.05


def test_strength_he3_against_y_space_integral():
    # independent formulation: ∫ p(y) m(y)² dy with p(y) = Σ φ(s)/|p'(s)| over the real roots of He3(s) = y
    def branch_sums(y):
        roots = [r for r in mp.polyroots([1, 0, -3, -y], maxsteps=200, extraprec=60) if abs(mp.im(r)) < 1e-20]
        w = [mp.npdf(mp.re(r)) / abs(3 * mp.re(r) ** 2 - 3) for r in roots]
        return sum(w), sum(wi * mp.re(r) for wi, r in zip(w, roots))

    def integrand(y):
        p, num = branch_sums(y)
        return num**2 / p

    with mp.workdps(20):
        exact = float(mp.quad(integrand, [-mp.inf, -2, 0, 2, mp.inf]))
    s = generative_analysis("He3(z1)").stages[0]
    assert abs(s.strengths[0] - exact) < 1e-9
    assert s.strength_errors[0] < 1e-8


def test_noise_changes_strength_not_stages():
    g0 = generative_analysis("He3(z1)")
    g1 = generative_analysis(Target("He3(z1)", noise=0.5))
    assert [s.k for s in g1.stages] == [s.k for s in g0.stages] == [1]
    s1, e1 = g1.stages[0].strengths[0], g1.stages[0].strength_errors[0]
    assert s1 + e1 < g0.stages[0].strengths[0]  # noise can only lower E[E[z|y]²]
    assert s1 > 0.1


def test_conditional_strength_given_subspace():
    # y = z1 + z1 z2 given z1: y is affine in z2, so E[z2 | y, z1] = (y − z1)/z1 = z2 → strength 1
    s, err = conditional_strength("z1 + z1*z2", 1, np.array([0.0, 1.0]), np.array([[1.0], [0.0]]))
    assert abs(s - 1.0) < err + 1e-6


def test_online_sgd_rule():
    assert online_sgd_exponent(1)["text"] == "d"
    assert online_sgd_exponent(2) == {"exponent": 1.0, "log_factor": True, "text": "d log d"}
    assert online_sgd_exponent(3)["exponent"] == 2.0 and online_sgd_exponent(5)["text"] == "d^4"
    assert online_sgd_exponent(None)["exponent"] is None


def test_bad_input():
    with pytest.raises(InputError):
        generative_analysis("z1", noise=-1.0)
    with pytest.raises(InputError):
        generative_analysis("z1", max_power=0)
    with pytest.raises(InputError):
        conditional_strength("z1", 0, np.array([1.0]))


def test_noisy_strength_against_nested_quadrature():
    # y = z² + √Δ ε, Δ = 0.3: E_y[E[He2(z) | y]²] by nested scipy quadrature (independent of the grid)
    from scipy.integrate import quad

    delta = 0.3
    sd = math.sqrt(delta)

    def kern(y, z):
        return math.exp(-0.5 * z * z - 0.5 * ((y - z * z) / sd) ** 2) / (2 * math.pi * sd)

    def integrand(y):
        peak = [math.sqrt(y)] if 0 < y < 144 else None  # the kernel is narrow around z = √y
        p = 2 * quad(lambda z: kern(y, z), 0, 12, limit=200, points=peak)[0]
        num = 2 * quad(lambda z: (z * z - 1) * kern(y, z), 0, 12, limit=200, points=peak)[0]
        return num * num / p if p > 1e-300 else 0.0

    exact = quad(integrand, -6, 0, limit=200)[0] + quad(integrand, 0, 150, limit=400, points=[1, 5, 20])[0]
    s = generative_analysis(Target("z1**2", noise=delta)).stages[0]
    assert abs(s.strengths[0] - exact) < s.strength_errors[0] + 1e-6, (s.strengths, s.strength_errors, exact)
