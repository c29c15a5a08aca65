"""One quadrature module: theory/gauss/rules.py serves every layer.

``E[g²]`` was estimated twice (theory: Gauss–Hermite; numerics: trapezoidal rules with
an odd number of nodes). Merged into :func:`giantstep.theory.gauss.rules.second_moment`,
checked here against closed forms, including the discontinuous targets on which the
odd-node trapezoidal estimate was wrong (0.849 instead of 1 for sign(z1 z2 z3)).
"""

from __future__ import annotations

import math

import mpmath
import pytest

import giantstep.numerics.gaussian as ngauss
import giantstep.theory.gauss.rules as quad
from giantstep.numerics.overlaps._params import target_second_moment
from giantstep.theory import as_target


def _relu_shift_second_moment(a: float) -> float:
    # E[relu(z − a)²] = (1 + a²) Φ(−a) − a φ(a)
    phi = math.exp(-a * a / 2) / math.sqrt(2 * math.pi)
    Phi = 0.5 * math.erfc(a / math.sqrt(2))
    return (1 + a * a) * Phi - a * phi


@pytest.mark.parametrize("expr, exact", [
    ("sign(z1)", 1.0),
    ("sign(z1*z2)", 1.0),
    ("sign(z1*z2*z3)", 1.0),
    ("sign(z1 + z2 - 0.3)", 1.0),
    ("abs(z1) + sign(z2)", 2.0),  # E|z|² + 2E|z|E[sign] + 1 = 1 + 0 + 1
    ("relu(z1 - 0.3)", _relu_shift_second_moment(0.3)),
    ("relu(z1)*relu(z2)", 0.25),
    ("tanh(2*z1)", float(mpmath.quad(lambda x: mpmath.tanh(2 * x) ** 2 * mpmath.npdf(x),
                                      [-mpmath.inf, mpmath.inf]))),
])
def test_second_moment_against_closed_forms(expr, exact):
    t = as_target(expr)
    got = t.expansion.second_moment
    assert got == pytest.approx(exact, rel=1e-9, abs=1e-12)
    assert target_second_moment(t) == got  # the numerics layer uses the same number


def test_numerics_gaussian_reexports_the_theory_rules():
    for name in ("gauss_hermite", "trapezoid_rule", "product_of_rules", "piecewise_gauss_rule",
                 "nodes_for_tolerance", "second_moment"):
        assert getattr(ngauss, name) is getattr(quad, name)


def test_theory_quadrature_imports_no_numba():
    import subprocess
    import sys

    code = "import sys, giantstep.theory.gauss.rules; print('numba' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_normal_quantile_matches_scipy_to_rounding():
    import numpy as np
    from scipy.special import ndtri

    p = np.concatenate([np.logspace(-300, -1, 500), np.linspace(0.01, 0.99, 999), 1 - np.logspace(-16, -1, 100)])
    q = quad.normal_quantile(p)
    assert np.max(np.abs(q - ndtri(p)) / np.maximum(1.0, np.abs(ndtri(p)))) < 1e-14
