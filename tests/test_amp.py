"""AMP weak-recovery analysis (theory/amp.py): exact values derived by hand, basis-freedom, bad input.

Hand derivations (docs/amp.md §2):

* ``y = z²`` or ``|z|``: y determines z², ``G(y) = z² − 1`` so ``λ = E[(z²−1)²] = 2``, ``α_c = 1/2``.
* ``y = Σ_{i≤r} z_i²``: by rotation invariance ``E[zzᵀ|y] = (y/r) I``, ``G = (y/r − 1) I``,
  ``F(M) = Var(y)/r² M = (2/r) M``, ``α_c = r/2``.
* ``y = sign(z1 z2)``: ``E[z1 z2 | y] = y E|z1| E|z2| = 2y/π``, ``E[z_i² | y] = 1`` (|z| independent
  of the signs), so ``G = (2y/π) X`` with X the swap; ``F(M) = (4/π²) X M X``, ``λ = 4/π²``,
  ``α_c = π²/4``.
* ``y = sign(z1 z2 z3)``: the label only depends on the signs; flipping two signs keeps y and
  changes the sign of any ``z_i z_j``, and ``|z|`` is independent of the signs, so ``G ≡ 0`` and
  ``E[z|y] = 0``: every direction is hard.
* ``y = z1 z2``: ``p(y) = K0(|y|)/π``, ``E[z1² | y] = |y| K1(|y|)/K0(|y|) =: c(y)``,
  ``E[z1 z2 | y] = y``; ``F`` has eigenvalues ``1 + E(c−1)²`` (twice) and ``E(c−1)² − 1``, so
  ``α_c = 1/(1 + E(c−1)²)`` (one-dimensional integral, evaluated here with scipy.integrate.quad).
"""

from __future__ import annotations

import numpy as np
import pytest

from giantstep.errors import InputError
from giantstep.theory.amp import amp_analysis, linear_forms, sym_basis
from giantstep.theory.amp_channel import LabelChannel, gaussian_grid


def _span_equal(vectors, expected) -> bool:
    A = np.array(vectors, dtype=float).reshape(len(vectors), -1).T
    B = np.array(expected, dtype=float).reshape(len(expected), -1).T
    if A.shape[1] != B.shape[1]:
        return False
    return np.allclose(A @ A.T, B @ B.T, atol=1e-6)


@pytest.mark.parametrize("expr", ["z1**2", "abs(z1)"])
def test_phase_retrieval_threshold_is_one_half(expr):
    res = amp_analysis(expr)
    assert res.trivial == [] and res.hard == []
    assert len(res.stages) == 1
    assert res.stages[0].alpha_c == pytest.approx(0.5, rel=1e-5)
    assert _span_equal(res.stages[0].directions, [[1.0]])


@pytest.mark.parametrize("r", [1, 2, 3])
def test_sum_of_squares_threshold_is_r_over_two(r):
    expr = "+".join(f"z{i}**2" for i in range(1, r + 1))
    res = amp_analysis(expr)
    assert len(res.stages) == 1
    assert res.stages[0].alpha_c == pytest.approx(r / 2, rel=1e-3)
    assert res.stages[0].error < 2e-3 * r
    assert _span_equal(res.stages[0].directions, np.eye(r))


@pytest.mark.parametrize("expr", ["z1", "tanh(z1)", "sign(z1)", "relu(z1)"])
def test_odd_or_correlated_targets_are_trivial(expr):
    res = amp_analysis(expr)
    assert _span_equal(res.trivial, [[1.0]])
    assert res.stages == [] and res.hard == []


def test_sign_of_product_of_three_is_hard():
    res = amp_analysis("sign(z1*z2*z3)")
    assert res.trivial == [] and res.stages == []
    assert _span_equal(res.hard, np.eye(3))


def test_sign_of_product_of_two_has_threshold_pi_squared_over_four():
    res = amp_analysis("sign(z1*z2)")
    assert res.stages[0].alpha_c == pytest.approx(np.pi**2 / 4, rel=1e-6)
    assert _span_equal(res.stages[0].directions, np.eye(2))


def _z1z2_threshold() -> float:
    from scipy.integrate import quad
    from scipy.special import k0, k1

    def f(y):
        return k0(y) / np.pi * (y * k1(y) / k0(y) - 1) ** 2

    e = 2 * (quad(f, 0, 1, limit=200)[0] + quad(f, 1, 60, limit=200)[0])
    return 1 / (1 + e)


def test_product_of_two_matches_bessel_integral():
    res = amp_analysis("z1*z2")
    assert res.stages[0].alpha_c == pytest.approx(_z1z2_threshold(), rel=2e-4)


def test_noisy_phase_retrieval_matches_one_dimensional_integral():
    from scipy.integrate import quad

    delta = 0.5
    s = np.sqrt(delta)

    def dens(y, power):
        def f(z):
            return z**power * np.exp(-z * z / 2 - (y - z * z) ** 2 / (2 * delta))

        peak = np.sqrt(max(y, 0.0))
        return 2 * quad(f, 0, 14, limit=400, points=[peak])[0] / (2 * np.pi * s)

    def integrand(y):
        p = dens(y, 0)
        return (dens(y, 2) / p - 1) ** 2 * p if p > 1e-300 else 0.0

    lam = quad(integrand, -6 * s, 150, limit=400, points=[0.0, 1.0, 5.0])[0]
    res = amp_analysis("z1**2", noise=0.5)
    assert res.channel == "noisy"
    assert res.stages[0].alpha_c == pytest.approx(1 / lam, rel=1e-4)


def test_hierarchy_conditions_on_learned_directions():
    # |y| = 1 + z1² (α_c = 1/2 for z1); given z1, sign(y) = sign(z2 z3) is observed: α_c = π²/4
    # (at V = ∅ the (z2, z3) block has λ = 4/π² < 2, so it is not unlocked in stage 1)
    res = amp_analysis("sign(z2*z3)*(1 + z1**2)")
    assert [s.alpha_c for s in res.stages] == pytest.approx([0.5, np.pi**2 / 4], rel=2e-3)
    assert _span_equal(res.stages[0].directions, [[1, 0, 0]])
    assert _span_equal(res.stages[1].directions, [[0, 1, 0], [0, 0, 1]])
    assert res.stages[1].conditioned_on == 1


def test_trivial_then_conditioned_stage():
    # E[z1 | y] ≠ 0; given z1, y − z1 = z2 z3: the z1*z2 threshold on (z2, z3)
    res = amp_analysis("z1 + z2*z3")
    assert _span_equal(res.trivial, [[1, 0, 0]])
    assert res.stages[0].alpha_c == pytest.approx(_z1z2_threshold(), rel=1e-3)
    assert _span_equal(res.stages[0].directions, [[0, 1, 0], [0, 0, 1]])


def test_trivial_closure_given_a_trivial_direction():
    # E[z2 | y] = 0 but E[z1 | y] ≠ 0; given z1, y = z1² z2 reveals z2 linearly: trivial too
    res = amp_analysis("z1 + z1**2*z2")
    assert _span_equal(res.trivial, np.eye(2))
    assert res.stages == []


# ------------------------------------------------------------------ basis-freedom
def test_rotated_single_index_gives_rotated_direction():
    res = amp_analysis("(3*z1/5 + 4*z2/5)**2")
    assert res.stages[0].alpha_c == pytest.approx(0.5, rel=1e-5)
    assert _span_equal(res.stages[0].directions, [[0.6, 0.8]])
    assert _span_equal(res.irrelevant, [[-0.8, 0.6]])
    assert res.hard == []


def test_rotated_product_same_threshold():
    a = amp_analysis("z1*z2")
    b = amp_analysis("(3*z1/5 + 4*z2/5)*(-4*z1/5 + 3*z2/5)")
    assert b.stages[0].alpha_c == pytest.approx(a.stages[0].alpha_c, rel=2e-4)


def test_rotated_sign_product_still_hard():
    res = amp_analysis("sign((3*z1/5 + 4*z2/5)*(-4*z1/5 + 3*z2/5)*z3)")
    assert res.stages == [] and res.trivial == []
    assert _span_equal(res.hard, np.eye(3))


def test_rotated_hierarchy_rotates_subspaces():
    u = "(3*z1/5 + 4*z2/5)"
    v = "(-4*z1/5 + 3*z2/5)"
    res = amp_analysis(f"{u} + {v}*z3")
    assert _span_equal(res.trivial, [[0.6, 0.8, 0]])
    assert res.stages[0].alpha_c == pytest.approx(_z1z2_threshold(), rel=1e-3)
    assert _span_equal(res.stages[0].directions, [[-0.8, 0.6, 0], [0, 0, 1]])


@pytest.mark.parametrize("form", ["product", "expanded"])
def test_rotated_hierarchy_with_a_jump_keeps_two_stages(form):
    # sign(v·z z3)(1 + (u·z)²), u = (3, 4, 0)/5, v = (−4, 3, 0)/5: the rotation of
    # sign(z2 z3)(1 + z1²) (test above), so the same thresholds 1/2 and π²/4 and the rotated
    # subspaces; the jump along v·z = 0 must not leak into the first stage (docs/amp.md §7)
    u = "(3*z1/5 + 4*z2/5)"
    arg = "(-4*z1/5 + 3*z2/5)*z3" if form == "product" else "-4*z1*z3/5 + 3*z2*z3/5"
    res = amp_analysis(f"sign({arg})*(1 + {u}**2)")
    assert [s.alpha_c for s in res.stages] == pytest.approx([0.5, np.pi**2 / 4], rel=2e-3)
    assert _span_equal(res.stages[0].directions, [[0.6, 0.8, 0]])
    assert _span_equal(res.stages[1].directions, [[-0.8, 0.6, 0], [0, 0, 1]])
    assert res.stages[1].conditioned_on == 1
    assert res.hard == [] and res.trivial == []


def test_fully_rotated_hierarchy_gives_rotated_subspaces():
    # an orthogonal R (rows u, v, w) mixing all three axes; y = sign((v·z)(w·z))(1 + (u·z)²)
    u = np.array([0.6, 0.8, 0.0])
    v = np.array([-0.8, 0.6, 0.0])
    e3 = np.array([0.0, 0.0, 1.0])
    u, w = 12 / 13 * u - 5 / 13 * e3, 5 / 13 * u + 12 / 13 * e3

    def lin(a):  # exact rationals (denominators 65)
        return "(" + " + ".join(f"({round(c * 65)}/65)*z{i + 1}" for i, c in enumerate(a)) + ")"

    res = amp_analysis(f"sign({lin(v)}*{lin(w)})*(1 + {lin(u)}**2)")
    assert [s.alpha_c for s in res.stages] == pytest.approx([0.5, np.pi**2 / 4], rel=2e-3)
    assert _span_equal(res.stages[0].directions, [u])
    assert _span_equal(res.stages[1].directions, [v, w])


def test_linear_forms_are_the_maximal_linear_subexpressions():
    F = linear_forms("sign((-4*z1/5 + 3*z2/5)*z3)*(1 + (3*z1/5 + 4*z2/5)**2)")
    got = {tuple(np.round(np.abs(c), 12)) for c in F.T}
    assert got == {(0.6, 0.8, 0.0), (0.8, 0.6, 0.0), (0.0, 0.0, 1.0)}


# ------------------------------------------------------------------ bad input
def test_negative_noise_is_rejected():
    with pytest.raises(InputError, match="Δ"):
        amp_analysis("z1**2", noise=-0.1)


def test_too_many_latent_variables_names_the_limit_and_monte_carlo():
    with pytest.raises(InputError, match=r"r ≤ 3.*Monte-Carlo"):
        amp_analysis("z1*z2*z3*z4")


def test_constant_target_has_nothing_to_learn():
    res = amp_analysis("1 + 0*z1")
    assert res.trivial == [] and res.stages == [] and res.hard == []


# ------------------------------------------------------------------ quadrature helpers
def test_gaussian_grid_moments_exact():
    z, w = gaussian_grid(2, 4, 6)
    assert w.sum() == pytest.approx(1.0, abs=1e-13)
    # Gauss–Legendre on panels times φ: not exact for polynomials, but close
    assert np.sum(w * z[:, 0] ** 4) == pytest.approx(3.0, rel=1e-6)
    assert np.sum(w * z[:, 0] ** 2 * z[:, 1] ** 2) == pytest.approx(1.0, rel=1e-6)
    # the cut at 0 makes half-line moments exact: E[z 1{z>0}] = 1/√(2π)
    pos = z[:, 0] > 0
    assert np.sum(w[pos] * z[pos, 0]) == pytest.approx(0.5 * np.sqrt(2 / np.pi), rel=1e-6)


def test_channel_finds_atoms_and_continuous_part():
    z, w = gaussian_grid(1, 24, 8)
    ch = LabelChannel.build(np.maximum(z[:, 0], 0.0), w)
    assert ch.kind == "mixed" and ch.atoms.tolist() == [0.0]
    ch = LabelChannel.build(np.sign(z[:, 0]), w)
    assert ch.kind == "discrete" and sorted(ch.atoms.tolist()) == [-1.0, 1.0]
    idx, wt = ch.assign(np.array([1.0, -1.0]))
    assert wt.sum(axis=1).tolist() == [1.0, 1.0]


def test_sym_basis_is_orthonormal():
    B = sym_basis(3)
    G = np.einsum("aij,bij->ab", B, B)
    assert np.allclose(G, np.eye(6))


def test_tridiagonal_solver_matches_scipy_banded():
    import numpy as np
    from scipy.linalg import solveh_banded

    from giantstep.theory.amp_channel import solve_tridiagonal_spd

    rng = np.random.default_rng(0)
    for J in (2, 7, 300):
        off = 0.4 * rng.standard_normal(J - 1)
        diag = 1 + np.abs(rng.standard_normal(J)) + np.r_[np.abs(off), 0] + np.r_[0, np.abs(off)]
        b = rng.standard_normal((J, 3))
        ab = np.zeros((2, J))
        ab[1], ab[0, 1:] = diag, off
        assert np.allclose(solve_tridiagonal_spd(diag, off, b), solveh_banded(ab, b), rtol=1e-13, atol=1e-14)


def test_amp_kernel_is_in_the_warmup_list():
    # `giantstep warmup` lists and compiles the kernels of these modules (docs/amp.md §7)
    from giantstep.numerics.compile_cache import NUMERICS_KERNEL_MODULES, _dispatchers

    assert "giantstep.numerics.amp_kernel" in NUMERICS_KERNEL_MODULES
    import giantstep.numerics.amp_kernel as kernel

    assert [name for name, _ in _dispatchers(kernel)] == ["accumulate_cells"]
