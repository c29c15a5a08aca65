"""The symmetric sparse form of the Hermite tensors (docs/model.md §2, §3).

The leap analysis works on the multiplicity tables ``{β: C_k[β]}`` and changes basis by
polynomial substitution; here it is compared with the dense r^k computation (tensordot
contractions, kept in :mod:`giantstep.theory.structure.subspaces` for this purpose) on targets nobody
named, checked for scale invariance, and timed on high-degree targets.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from giantstep.theory import Target
from giantstep.theory.structure.subspaces import (
    _context,
    _extension,
    _join,
    _relevant,
    _sym_context,
    _sym_extension,
    analyze,
    canonical_basis,
)

# several label branches, flat pieces, rotated and degenerate directions, mixed degrees
TARGETS = [
    "z1", "z1*z2", "z1 + z1*z2", "z1 + z1*z2*z3", "(z1+z2)**2", "(z1 + z2)**3 - 3*(z1+z2)",
    "z1**2 - z2**2", "z1*z2 + z2*z3 + z3*z1", "(z1 - z2)*z3**2", "z1**3 + z2", "z1**4 + z1*z2*z3",
    "(z1 + 2*z2 - z3)**2 + z3", "z1*z2*z3", "(z1+z2)*(z1-z2)*z3", "z1**2*z2 + z2**3",
    "relu(z1 + z2) + z3", "tanh(z1) + z2**2", "sign(z1*z2)", "abs(z1) + z2*z3", "z1**5 - 10*z1**3*z2**2",
    "(z1+z2+z3)**4", "z1 + 0.5*z2**2 + 0.25*z3**3", "He3(z1) + z2*He2(z3)", "z1*z2*z3*z4",
]


def _dense_analysis(text: str):
    """The reference: dense tensors C_k and tensordot contractions (the original algorithm)."""
    ctx = _context(text)
    U = _relevant(ctx)
    kstar = next((k for k in range(1, ctx.kmax + 1) if np.max(np.abs(ctx.tensors[k])) > ctx.tol), None)
    V = np.zeros((ctx.target.r, 0))
    leaps = []
    while V.shape[1] < U.shape[1]:
        for k in range(1, ctx.kmax + 1):
            E = _extension(ctx, V, k)
            if E.shape[1]:
                V = _join(V, canonical_basis(E))
                leaps.append(k)
                break
        else:
            break
    return U, kstar, leaps


def _projector(B: np.ndarray) -> np.ndarray:
    return B @ B.T


@pytest.mark.parametrize("text", TARGETS)
def test_sparse_analysis_equals_the_dense_one(text):
    U, kstar, leaps = _dense_analysis(text)
    res = analyze(text)
    assert res.information_exponent == kstar
    assert res.leaps == leaps
    assert np.allclose(_projector(res.relevant_basis), _projector(U), atol=1e-8)


@pytest.mark.parametrize("text", [t for t in TARGETS if Target(t).r >= 2][:12])
def test_conditional_extension_in_a_random_basis(text):
    """E_k(V) for random (non-axis) subspaces V: the change of basis by substitution."""
    rng = np.random.default_rng(abs(hash(text)) % 2**32)
    dense = _context(text)
    sparse = _sym_context(text)
    r = dense.target.r
    for m in range(1, r):
        V, _ = np.linalg.qr(rng.standard_normal((r, m)))
        for k in (1, 2, 3):
            if k > dense.kmax:
                continue
            A, B = _extension(dense, V, k), _sym_extension(sparse, V, k)
            assert A.shape == B.shape
            assert np.allclose(_projector(A), _projector(B), atol=1e-7)


@pytest.mark.parametrize("text", ["z1", "z1 + z1*z2", "z1*z2*z3 + z3", "(z1+z2)**2 + z3**3",
                                  "z1**2 + z2"])
@pytest.mark.parametrize("c", ["1e-300", "1e-12", "3", "1e12", "1e300"])
def test_structure_does_not_depend_on_the_scale(text, c):
    ref = analyze(text)
    res = analyze(f"{c}*({text})")
    assert (res.information_exponent, res.leap_index, res.leaps) == \
        (ref.information_exponent, ref.leap_index, ref.leaps)
    assert [s["dim"] for s in res.staircase] == [s["dim"] for s in ref.staircase]
    assert np.allclose(res.relevant_basis, ref.relevant_basis, atol=1e-12)


def test_tiny_direction_next_to_a_huge_order_is_kept():
    """z1**40 has entries up to 40!; the exact zero test still sees z2 (exact coefficients)."""
    res = analyze("z1**40 + z2")
    assert res.relevant_dim == 2 and res.information_exponent == 1


@pytest.mark.parametrize("text, kstar, leap, seconds", [
    ("z1**64", 2, 2, 20), ("He40(z1)", 40, 40, 20), ("(z1+z2)**22", 2, 2, 20),
    ("z1*z2*z3*z4*z5*z6*z7*z8*z9*z10", 10, 10, 20), ("He7(z1) + He5(z2)*z3", 6, 7, 20),
])
def test_high_degree_targets_in_seconds(text, kstar, leap, seconds):
    t0 = time.perf_counter()
    res = analyze(text)
    assert time.perf_counter() - t0 < seconds
    assert res.information_exponent == kstar and res.leap_index == leap


def test_dense_tensor_is_refused_beyond_its_budget():
    from giantstep.errors import InputError

    t = Target("z1*z2*z3*z4*z5*z6*z7*z8*z9*z10")
    entries = t.expansion.symmetric_entries(10)
    assert entries == {(1,) * 10: 1.0}
    with pytest.raises(InputError, match="budget"):
        t.tensor(10)


def test_dense_tensor_from_the_multiplicity_table():
    """C_3 of z1**2*z2: entries a_β β! at every permutation of (0, 0, 1) (hand derivation:
    z1² z2 = (He2(z1) + 1) He1(z2), so a_(2,1) = 1 and C_3[0,0,1] = 2! · 1! = 2)."""
    T = Target("z1**2*z2").tensor(3)
    expected = np.zeros((2, 2, 2))
    for idx in [(0, 0, 1), (0, 1, 0), (1, 0, 0)]:
        expected[idx] = 2.0
    assert np.array_equal(T, expected)
