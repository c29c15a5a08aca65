"""Information exponent, staircase and leap index (docs/model.md §3 examples, rotation invariance)."""

import numpy as np
import pytest
import sympy

from giantstep.errors import InputError
from giantstep.theory import Target
from giantstep.theory.expr.parsing import zvar
from giantstep.theory.structure.subspaces import analyze, conditional_extension, information_exponent, leap_index


def span_equal(A, B):
    A, B = np.asarray(A, float).reshape(len(A), -1), np.asarray(B, float)
    if A.shape != B.shape:
        return False
    return np.allclose(A @ A.T, B @ B.T, atol=1e-8)


@pytest.mark.parametrize(
    "text, kstar, leap",
    [
        ("z1", 1, 1),
        ("z1 + z1*z2", 1, 1),
        ("z1*z2", 2, 2),
        ("He3(z1)", 3, 3),
        ("z1 + z1*z2*z3", 1, 2),
        ("(z1+z1**2)/2 + (z2-z2**2)/2", 1, 1),
        ("z1*z2*z3", 3, 3),
        ("He4(z1)", 4, 4),
        ("z1 + z1*z2 + z1*z2*z3", 1, 1),  # staircase of Abbe et al.
        ("z1*z2 + z1*z2*z3*z4", 2, 2),
        ("sign(z1*z2*z3)", 3, 3),
        ("z1**2", 2, 2),
    ],
)
def test_examples(text, kstar, leap):
    a = analyze(text)
    assert a.information_exponent == kstar
    assert a.leap_index == leap


def test_staircase_examples():
    a = analyze("z1 + z1*z2")
    assert [s["dim"] for s in a.staircase] == [1, 2]
    assert span_equal(np.array(a.staircase[0]["new_directions"]).T, np.array([[1.0], [0.0]]))
    a = analyze("(z1+z1**2)/2 + (z2-z2**2)/2")
    v1 = np.array(a.staircase[0]["new_directions"]).T
    assert span_equal(v1, np.array([[1.0], [1.0]]) / np.sqrt(2))
    assert [s["dim"] for s in a.staircase] == [1, 2]
    assert analyze("z1*z2").staircase == []
    a = analyze("z1 + z1*z2*z3")
    assert [s["dim"] for s in a.staircase] == [1]  # stuck: z2, z3 need a leap of 2


def rotate(expr, Q):
    r = Q.shape[0]
    zs = sympy.Matrix([zvar(i + 1) for i in range(r)])
    zq = Q * zs
    return expr.xreplace({zvar(i + 1): zq[i] for i in range(r)})


def test_rotated_coordinates_give_the_same_answer():
    # z1*z2 and (z1² - z2²)/2 are the same function in coordinates rotated by 45°
    assert analyze("z1*z2").leap_index == analyze("(z1**2 - z2**2)/2").leap_index == 2
    Q = sympy.Matrix([[2, -1, 2], [2, 2, -1], [-1, 2, 2]]) / 3  # orthogonal, rational
    Qn = np.array(Q, dtype=float)
    for text in ["z1 + z1*z2*z3", "z1 + z1*z2", "(z1+z1**2)/2 + (z2-z2**2)/2 + z3**3", "z1*z2 + z3"]:
        t = Target(text, r=3)
        a = analyze(t)
        b = analyze(Target(rotate(t.expr, Q), r=3))
        assert (a.information_exponent, a.leap_index, a.leaps) == (b.information_exponent, b.leap_index, b.leaps)
        assert [s["dim"] for s in a.staircase] == [s["dim"] for s in b.staircase]
        # subspaces transform as U(g∘Q) = Qᵀ U(g)
        assert span_equal(Qn.T @ a.relevant_basis, b.relevant_basis)
        for sa, sb in zip(a.staircase, b.staircase):
            A = Qn.T @ np.array(sa["new_directions"]).T
            assert span_equal(A, np.array(sb["new_directions"]).T)


def test_conditional_extension_definition():
    # g = z1 + z1 z2 z3: E_1(<e1>) = 0, E_2(<e1>) = <e2, e3>
    V = np.array([[1.0], [0.0], [0.0]])
    assert conditional_extension("z1 + z1*z2*z3", V, 1).shape[1] == 0
    E2 = conditional_extension("z1 + z1*z2*z3", V, 2)
    assert span_equal(E2, np.array([[0, 0], [1, 0], [0, 1.0]]))
    with pytest.raises(InputError):
        conditional_extension("z1", np.array([[2.0]]), 1)


def test_activation_aware_parity():
    """With an odd student, He_1(z1)He_1(z2) teaches nothing (∝ E[σ''] = 0): z2 is never learned."""
    for act in ["tanh", "erf", "sin"]:
        a = analyze("z1 + z1*z2", act)
        assert [s["dim"] for s in a.staircase] == [1]
        assert a.leap_index is None and a.generic_leap_index == 1
    a = analyze("z1 + z1*z2", "relu")
    assert [s["dim"] for s in a.staircase] == [1, 2] and a.leap_index == 1
    # an even student has μ_1 = 0 at every scale: it learns nothing from z1 in one step
    assert analyze("z1", "x**2").staircase == []
    # a student whose Hermite coefficients are all non-zero behaves generically
    assert analyze("z1 + z1*z2*z3", "tanh + relu").leap_index == 2
    # relu = x/2 + |x|/2 has μ_3 = 0 at every scale: the order-3 term He1(z1)He1(z2)He1(z3)
    # that carries z2, z3 gives no gradient (extrapolation of the rule to leaps k ≥ 2, docs/theory.md)
    r = analyze("z1 + z1*z2*z3", "relu")
    assert r.leap_index is None and r.generic_leap_index == 2


def test_information_exponent_and_leap_helpers():
    assert information_exponent("He3(z1) + He4(z2)") == 3
    assert leap_index("He3(z1) + He4(z2)") == 4
    assert information_exponent("7") is None
    assert leap_index("7") == 0


def test_quadrature_target_subspace():
    """relu(z1+z2+z3)·z3 depends on z only through (z1+z2+z3) and z3 (quadrature path)."""
    a = analyze("relu(z1 + z2 + z3)*z3")
    expected = np.array([[1, 0], [1, 0], [1, np.sqrt(3)]]) / np.sqrt(3)
    expected = np.linalg.qr(expected)[0]
    assert a.relevant_dim == 2
    assert span_equal(a.relevant_basis, expected)
    assert a.information_exponent == 1
