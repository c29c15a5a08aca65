"""Test error after several giant steps (docs/model.md §6.2): fast checks.

Identities and limits of :func:`giantstep.numerics.test_error.curves.multi_step.multi_step_learning_curve`
(derivation in docs/multi_step_error.md); the comparison with simulations of docs/model.md §1 is
``tests/test_multi_step_curve_simulation.py``.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy.special import erf

from giantstep.cli import main
from giantstep.errors import InputError
from giantstep.numerics.overlaps.multi_step import overlap_trajectory
from giantstep.numerics.test_error.curves.multi_step import multi_step_learning_curve, state_geometry
from giantstep.numerics.test_error.curves.one_step import one_step_learning_curve


@pytest.fixture(autouse=True)
def _private_cache_dir(tmp_path, monkeypatch):
    """Keep the sampled inputs of these tests out of the user's cache (~/.cache/giantstep)."""
    monkeypatch.setenv("GIANTSTEP_CACHE_DIR", str(tmp_path / "giantstep-cache"))


STAIR = "z1 + (z1**2 - 1)*z2"  # tanh learns z2 at step 2 (He2(z1) z2: even σ'' term)
PARITY = "z1 + z1*z2"  # tanh never learns z2 (docs/model.md §3)


def test_step_one_equals_the_one_step_equations():
    """t = 1 is the one-step curve of §6.1 (limit mode), up to the §5.3 quadrature accuracy."""
    al = [0.4, 1.5, 3.0]
    for student, teacher in (("tanh", STAIR), ("erf", "tanh")):
        cur = multi_step_learning_curve(student, teacher, alpha0=1.5, eta=1.5, steps=2, lam=0.05,
                                        alphas=al, noise=0.1, overlap_tol=1e-7, spectrum="limit",
                                        tol=1e-9, warn=False)
        one = one_step_learning_curve(student, teacher, alpha0=1.5, eta=1.5, lam=0.05, alphas=al,
                                      noise=0.1, spectrum="limit", tol=1e-9, warn=False)
        np.testing.assert_allclose(cur.steps[0]["test_error"], one.test_error, rtol=0, atol=2e-6)
        np.testing.assert_allclose(cur.steps[0]["train_error"], one.train_error, rtol=0, atol=2e-6)
        np.testing.assert_allclose(cur.lazy_test_error, one.lazy_test_error, rtol=0, atol=1e-8)
        # and the §5.1 spike: r = η̃ μ1 sqrt(‖C_1‖² + E[e²]/α0)
        assert cur.steps[0]["r"] == pytest.approx(one.params["r"], abs=1e-6)


def test_step_one_bulk_equals_the_one_step_bulk_model():
    """The sampled t-step trajectories start with exactly the one-step draws (same seeds)."""
    al = [0.5, 2.0]
    kw = dict(alpha0=2.0, eta=1.0, lam=0.05, alphas=al, noise=0.0, width_ratio=1.0,
              spectrum="bulk", spectrum_draws=2, d=120, seed=3, tol=1e-9, warn=False)
    cur = multi_step_learning_curve("relu", "tanh(2*z1)", steps=2, **kw)
    one = one_step_learning_curve("relu", "tanh(2*z1)", **kw)
    np.testing.assert_allclose(cur.steps[0]["test_error"], one.test_error, rtol=1e-10)
    np.testing.assert_allclose(cur.steps[0]["test_error_std"], one.test_error_std, rtol=1e-8)
    assert cur.params["spectrum"] == "bulk"
    assert not np.allclose(cur.steps[1]["test_error"], cur.steps[0]["test_error"])


def test_eta_zero_is_the_lazy_curve_at_every_step():
    al = [0.5, 2.0]
    for student, mu0 in (("tanh", 0.0), ("relu", 1 / math.sqrt(2 * math.pi))):
        cur = multi_step_learning_curve(student, PARITY, alpha0=2.0, eta=0.0, steps=3, lam=0.1,
                                        alphas=al, noise=0.1, tol=1e-9, warn=False)
        one = one_step_learning_curve(student, PARITY, alpha0=2.0, eta=0.0, lam=0.1, alphas=al,
                                      noise=0.1, tol=1e-9, warn=False)
        for st in cur.steps:
            np.testing.assert_allclose(st["test_error"], cur.lazy_test_error, rtol=1e-12)
            # frozen network f = μ0 at every step: E[(g* − μ0)²] + Δ = 2 + μ0² + 0.1 by hand
            assert st["frozen_error"] == pytest.approx(2.0 + mu0**2 + 0.1, abs=1e-6)
            assert st["validated"].all()
        np.testing.assert_allclose(cur.lazy_test_error, one.test_error, rtol=1e-9)


def test_sign_readout_with_an_odd_student_is_the_constant_readout():
    kw = dict(alpha0=2.0, eta=1.5, steps=3, lam=0.05, alphas=[0.5, 2.0], spectrum="limit",
              warn=False)
    sgn = multi_step_learning_curve("tanh", PARITY, readout="sign", **kw)
    con = multi_step_learning_curve("tanh", PARITY, readout="constant", **kw)
    np.testing.assert_array_equal(sgn.test_error, con.test_error)
    assert sgn.params["reduction"] and con.params["reduction"] is None
    # the reduction seen by the two-type §5.3 recursion of the sign law: same frozen error
    tr = overlap_trajectory(PARITY, "tanh", alpha=2.0, eta=1.5, steps=3, readout="sign")
    np.testing.assert_allclose([s.output_mse for s in tr.steps[1:]], sgn.frozen_error, atol=2e-4)
    # and the types are mirror images m₋ = −m₊
    np.testing.assert_allclose(tr.steps[3].types[1].overlap, -tr.steps[3].types[0].overlap,
                               atol=1e-6)


def _train(w, s, batches, eta, act, dact, target):
    """docs/model.md §1 steps (ℓ = 1, η = η̃ p): w_j += η̃ s_j (1/n) Σ e σ'(w_j·x) x (plain numpy)."""
    p = w.shape[0]
    for x in batches:
        y = target(x)
        h = x @ w.T
        e = y - act(h) @ s / p
        w = w + eta * s[:, None] * ((dact(h) * e[:, None]).T @ x) / x.shape[0]
    return w


def _ridge_test_error(w, xr, xt, lam, act, target):
    p = w.shape[0]
    phi = act(xr @ w.T) / math.sqrt(p)
    a = np.linalg.solve(phi.T @ phi + lam * np.eye(p), phi.T @ target(xr))
    return float(np.mean((target(xt) - act(xt @ w.T) / math.sqrt(p) @ a) ** 2))


def test_sign_flip_reduction_at_finite_d():
    """The derivation of the reduction, at finite d in plain numpy: W̃ = diag(s)W follows the
    constant-readout steps from W̃0, and the refit ridge errors coincide."""
    rng = np.random.default_rng(5)
    d, p, n = 40, 30, 90
    w0 = rng.standard_normal((p, d)) / math.sqrt(d)
    s = rng.choice([-1.0, 1.0], p)
    batches = [rng.standard_normal((n, d)) for _ in range(3)]
    xr, xt = rng.standard_normal((70, d)), rng.standard_normal((500, d))

    def target(x):
        return x[:, 0] + x[:, 0] * x[:, 1]

    def dtanh(h):
        return 1.0 / np.cosh(h) ** 2

    w_sign = _train(w0, s, batches, 1.5, np.tanh, dtanh, target)
    w_const = _train(s[:, None] * w0, np.ones(p), batches, 1.5, np.tanh, dtanh, target)
    np.testing.assert_allclose(s[:, None] * w_sign, w_const, atol=1e-12)
    e_sign = _ridge_test_error(w_sign, xr, xt, 0.05, np.tanh, target)
    e_const = _ridge_test_error(w_const, xr, xt, 0.05, np.tanh, target)
    assert e_sign == pytest.approx(e_const, rel=1e-9)
    # not an identity for relu (σ' not even): the two laws give different weights
    relu, drelu = (lambda h: np.maximum(h, 0.0)), (lambda h: (h > 0).astype(float))
    w_sign = _train(w0, s, batches, 1.5, relu, drelu, target)
    w_const = _train(s[:, None] * w0, np.ones(p), batches, 1.5, relu, drelu, target)
    assert np.abs(s[:, None] * w_sign - w_const).max() > 1e-3


def test_staircase_and_parity_in_the_spike():
    """§3: tanh learns z2 of He2(z1) z2 at step 2 (error drops each step) but never z2 of
    z1 + z1 z2 (parity: the second target overlap stays 0)."""
    kw = dict(alpha0=2.0, eta=1.5, steps=4, lam=0.05, alphas=[2.0], spectrum="limit", warn=False)
    st = multi_step_learning_curve("tanh", STAIR, **kw)
    assert abs(st.steps[0]["gamma"][1]) < 1e-6 and abs(st.steps[3]["gamma"][1]) > 0.1
    assert np.all(np.diff(st.test_error[:, 0]) < -0.01)
    assert np.all(np.diff(st.frozen_error) < 0)
    par = multi_step_learning_curve("tanh", PARITY, **kw)
    assert max(abs(s["gamma"][1]) for s in par.steps) < 1e-6
    assert np.all(par.test_error[:, 0] < par.lazy_test_error[0])


def test_large_width_and_samples_approach_the_one_type_plateau():
    """p, n → ∞ (ψ → ∞, α/ψ → ∞, λ → 0): one neuron type can only fit
    ``m μ0(κ) + μ1(κ)(θκ + ⟨β, ξ⟩)`` (derived), so the error tends to the least-squares
    residual P of g* on those 4 functions plus Δ — computed here by hand with the closed
    forms ``μ0 = erf(rκ/s)``, ``μ1 = (2/√π) exp(−r²κ²/s²)/s``, ``s² = 1 + 2c²`` of an erf
    student. P lies above docs/model.md §4's ideal plateau E[Var(g* | z_V)] + Δ = Δ (V ⊇ span z
    after the staircase): one type has no neuron diversity."""
    noise = 0.1
    tr = overlap_trajectory(STAIR, "erf", alpha=2.0, eta=1.5, steps=2, readout="constant",
                            noise=noise)
    r, g, a, c = state_geometry(tr.steps[2].types[0], 2)
    x, w = np.polynomial.hermite_e.hermegauss(60)
    w = w / w.sum()
    k, x1, x2 = np.meshgrid(x, x, x, indexing="ij")
    wt = np.einsum("i,j,k->ijk", w, w, w).ravel()
    z = g[None, None, None, :] * k[..., None] + np.stack([x1, x2], -1) @ a.T
    y = (z[..., 0] + (z[..., 0] ** 2 - 1) * z[..., 1]).ravel()
    s = math.sqrt(1 + 2 * c * c)
    mu0, mu1 = erf(r * k / s), 2 / math.sqrt(math.pi) * np.exp(-(r * k / s) ** 2) / s
    basis = np.stack([mu0, mu1 * k, mu1 * x1, mu1 * x2], -1).reshape(-1, 4)
    coef = np.linalg.solve((basis * wt[:, None]).T @ basis, (basis * wt[:, None]).T @ y)
    plateau = float(wt @ (y - basis @ coef) ** 2) + noise
    assert plateau > noise + 1.0
    gaps = []
    for psi in (4.0, 16.0):
        cur = multi_step_learning_curve("erf", STAIR, alpha0=2.0, eta=1.5, steps=2, lam=1e-4,
                                        alphas=[300 * psi], noise=noise, width_ratio=psi,
                                        spectrum="limit", warn=False)
        gaps.append(float(cur.steps[1]["test_error"][0]) - plateau)
    assert 0 < gaps[1] < gaps[0] / 2 and gaps[1] < 0.03


@pytest.mark.parametrize("kw, word", [
    (dict(readout="gaussian", spectrum="limit"), "sampled real trajectories"),
    (dict(student="relu", readout="sign", spectrum="limit"), "sampled real trajectories"),
    (dict(readout="binary"), "readout"),
    (dict(readout="gaussian", n_types=0), "n_types"),
    (dict(steps=0), "steps"),
    (dict(steps=2.5), "steps"),
    (dict(lam=0.0), "lam"),
    (dict(alpha0=-1.0), "alpha0"),
    (dict(alphas=[]), "alphas"),
    (dict(spectrum="sampled"), "spectrum"),
    (dict(noise=-0.1), "noise"),
    (dict(width_ratio=0.0), "width_ratio"),
    (dict(student="sign", eta=1.0), "differentiable"),
])
def test_bad_input_raises_input_error(kw, word):
    args = dict(student="tanh", teacher=PARITY, alpha0=2.0, eta=1.0, steps=2, lam=0.05,
                alphas=[1.0], warn=False)
    args.update(kw)
    with pytest.raises(InputError, match=word):
        multi_step_learning_curve(args.pop("student"), args.pop("teacher"), **args)


def _cli(capsys, *args):
    code = main(["error", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_cli_steps_json_and_flags(tmp_path, capsys):
    base = ["--student", "tanh", "--teacher", PARITY, "--readout", "sign", "--eta", "1.5",
            "--lam", "0.05", "--alpha", "0.5:2:3", "--steps", "2", "--spectrum", "bulk",
            "--d", "120", "--spectrum-draws", "2"]
    code, out, err = _cli(capsys, *base, "--alpha0", "2", "--json", "--plot",
                          str(tmp_path / "c.png"))
    assert code == 0, err
    data = json.loads(out)
    assert [s["step"] for s in data["steps"]] == [1, 2]
    for s in data["steps"]:
        assert {"step", "test_error", "train_error", "frozen_error", "validated"} <= set(s)
        assert len(s["test_error"]) == len(s["train_error"]) == len(s["frozen_error"]) == 3
        assert len(set(s["frozen_error"])) == 1 and all(s["validated"])
    assert data["one_step_test_error"] == data["steps"][0]["test_error"]
    assert (tmp_path / "c.png").stat().st_size > 0
    # outside the checked region (α0 = 10): computed, flagged, warned about
    code, out, err = _cli(capsys, *base, "--alpha0", "10", "--json")
    assert code == 0
    data = json.loads(out)
    assert not any(data["steps"][0]["validated"]) and "not validated" in err
    code, out, err = _cli(capsys, *base, "--alpha0", "2")
    assert code == 0 and "frozen_error" in out


@pytest.mark.parametrize("extra", [["--steps", "0"],
                                   ["--readout", "gaussian", "--spectrum", "limit"],
                                   ["--student", "relu", "--readout", "sign", "--spectrum",
                                    "limit"],
                                   ["--spectrum", "sampled"]])
def test_cli_bad_input_one_line_exit_2(extra, capsys):
    args = ["--student", "tanh", "--teacher", PARITY, "--alpha0", "2", "--eta", "1", "--lam",
            "0.05", "--alpha", "1", "--steps", "2"]
    for i in range(0, len(extra), 2):  # later options override the defaults above
        if extra[i] in args:
            args[args.index(extra[i]) + 1] = extra[i + 1]
        else:
            args += extra[i:i + 2]
    code, _, err = _cli(capsys, *args)
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and "error" in err


def test_plot_marks_unvalidated_points():
    cur = multi_step_learning_curve("tanh", PARITY, alpha0=2.0, eta=1.5, steps=2, lam=0.05,
                                    alphas=[0.5, 2.0, 5.0], d=120, spectrum_draws=2, warn=False)
    assert cur.params["spectrum"] == "bulk"
    assert cur.validated[:, :2].all() and not cur.validated[:, 2].any()
    lim = multi_step_learning_curve("tanh", PARITY, alpha0=2.0, eta=1.5, steps=2, lam=0.05,
                                    alphas=[0.5, 2.0], spectrum="limit", warn=False)
    assert not lim.validated.any()
    fig = cur.plot()
    labels = [ln.get_label() for ln in fig.axes[0].lines]
    assert "NOT validated" in labels and "t = 2" in labels


def test_unlearned_nonlinear_part_is_flagged_below_alpha_2():
    """A leap-2 target (z2 z3 never learned) is validated only at α ≥ 2 (config B of the
    docs missed at α = 0.5); the parity target z1 + z1 z2 is not affected (E[g* | z2] = 0)."""
    from giantstep.numerics.test_error.curves.multi_step import unlearned_nonlinear_energy
    from giantstep.theory import as_target

    assert unlearned_nonlinear_energy(as_target("z1 + z2*z3"), np.array([0.9, 0, 0])) == \
        pytest.approx(1.0, abs=1e-10)
    assert unlearned_nonlinear_energy(as_target(PARITY), np.array([0.9, 0])) < 1e-12
    assert unlearned_nonlinear_energy(as_target("z1 + z2**2"), np.array([0.9, 0])) == \
        pytest.approx(2.0, abs=1e-10)  # Var(z2²) = 2
    cur = multi_step_learning_curve("erf", "z1 + z2*z3", alpha0=2.0, eta=1.5, steps=2, lam=0.05,
                                    alphas=[0.5, 2.0], d=120, spectrum_draws=2, warn=False)
    assert cur.validated.tolist() == [[False, True], [False, True]]


# --- on-disk cache of the sampled several-step inputs (numerics/test_error/spectra/step_cache.py) -------------

CACHE_KW = dict(alpha0=2.0, eta=1.5, steps=2, lam=0.05, alphas=[0.5, 2.0], noise=0.05,
                spectrum="bulk", spectrum_draws=2, d=100, seed=7, warn=False)


def _forget_in_process_copies():
    """Drop both in-process caches, so that the next call reads the disk or samples."""
    from giantstep.numerics.test_error.spectra import step_cache
    from giantstep.numerics.test_error.tables import multi_index as multi_index_curve

    step_cache.clear_memory()
    multi_index_curve._STEPS_GEOMETRY_CACHE.clear()


def _curve_arrays(cur):
    return [cur.test_error, cur.train_error, cur.frozen_error,
            np.array([s["test_error_std"] for s in cur.steps]),
            np.array([s["r"] for s in cur.steps]), np.array([s["c"] for s in cur.steps]),
            np.array([s["gamma"] for s in cur.steps])]


def test_disk_cache_is_bit_identical_and_respects_the_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GIANTSTEP_CACHE_DIR", str(tmp_path / "cache"))
    _forget_in_process_copies()
    fresh = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    assert fresh.params["bulk_inputs_source"] == ["sampled", "sampled"]
    files = sorted((tmp_path / "cache" / "bulk_steps").glob("*.npz"))
    assert len(files) == 2  # one per draw, nowhere else, no temporary left behind
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [f.name for f in files]
    again = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    assert again.params["bulk_inputs_source"] == ["memory", "memory"]
    _forget_in_process_copies()  # a new process: only the disk is left
    cached = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    assert cached.params["bulk_inputs_source"] == ["disk", "disk"]
    for a, b in zip(_curve_arrays(fresh), _curve_arrays(cached)):
        assert a.dtype == b.dtype == np.float64
        np.testing.assert_array_equal(a, b)  # bit-identical
    # the stored inputs themselves equal a fresh sampling, array by array
    from giantstep.numerics.test_error.spectra.step_cache import cached_step_geometries
    from giantstep.numerics.test_error.tables.multi_index import sampled_bulk_geometries
    from giantstep.theory import as_activation, as_target

    args = (as_activation("tanh"), as_target(PARITY), 1.0, 2.0, 1.5, 0.05, 100, 7, 2)
    _forget_in_process_copies()
    from_disk, source = cached_step_geometries(*args)
    assert source == "disk"
    _forget_in_process_copies()
    from giantstep.numerics.test_error.spectra.sampled_steps import blas_threads, sampler_threads

    with blas_threads(sampler_threads()):  # as the cache samples (eigh differs by 1e-15 across
        sampled = sampled_bulk_geometries(*args)  # BLAS thread counts)
    for g_disk, g_new in zip(from_disk, sampled):
        for x, y in zip(g_disk[:8], g_new[:8]):
            np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.mark.parametrize("damage", ["garbage", "truncated", "foreign", "empty"])
def test_corrupt_cache_file_is_resampled(tmp_path, monkeypatch, damage):
    monkeypatch.setenv("GIANTSTEP_CACHE_DIR", str(tmp_path))
    _forget_in_process_copies()
    fresh = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    files = sorted((tmp_path / "bulk_steps").glob("*.npz"))
    bad, good = files
    if damage == "garbage":
        bad.write_bytes(b"not an npz file at all")
    elif damage == "truncated":
        bad.write_bytes(bad.read_bytes()[: bad.stat().st_size // 2])
    elif damage == "foreign":  # a valid file stored under the wrong name (another key)
        bad.write_bytes(good.read_bytes())
    else:
        bad.write_bytes(b"")
    _forget_in_process_copies()
    cur = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    sources = cur.params["bulk_inputs_source"]
    assert sorted(sources) == ["disk", "sampled"]
    for a, b in zip(_curve_arrays(fresh), _curve_arrays(cur)):
        np.testing.assert_array_equal(a, b)
    # the damaged file was replaced by a good one
    _forget_in_process_copies()
    cur = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    assert cur.params["bulk_inputs_source"] == ["disk", "disk"]


def test_cache_location_and_key(tmp_path, monkeypatch):
    from giantstep.numerics.test_error.spectra import sampled_steps as bulk_step_inputs
    from giantstep.numerics.test_error.spectra.step_cache import cache_dir, cache_inputs, cache_key
    from giantstep.theory import as_activation, as_target

    monkeypatch.delenv("GIANTSTEP_CACHE_DIR", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert cache_dir() == tmp_path / ".cache" / "giantstep" / "bulk_steps"
    monkeypatch.setenv("GIANTSTEP_CACHE_DIR", "")
    assert cache_dir() is None  # empty: disk cache off
    _forget_in_process_copies()
    cur = multi_step_learning_curve("tanh", PARITY, **CACHE_KW)
    assert cur.params["bulk_inputs_source"] == ["sampled", "sampled"]
    assert not any(p.is_file() for p in tmp_path.rglob("*"))
    # every input of the draw changes the key
    base = dict(student=as_activation("tanh"), target=as_target(PARITY), psi=1.0, alpha0=2.0,
                eta=1.5, noise=0.0, d=100, seed=0, steps=2, readout="constant")
    k0 = cache_key(cache_inputs(**base))
    changes = dict(student=as_activation("erf"), target=as_target("z1 + z2"), psi=0.5,
                   alpha0=1.0, eta=1.0, noise=0.1, d=101, seed=1, steps=3, readout="sign")
    keys = {name: cache_key(cache_inputs(**{**base, name: val})) for name, val in changes.items()}
    assert k0 not in keys.values() and len(set(keys.values())) == len(keys)
    # the same inputs written differently give the same key (canonical sympy text)
    assert cache_key(cache_inputs(**{**base, "target": as_target("z1*z2 + z1")})) == k0
    monkeypatch.setattr(bulk_step_inputs, "SAMPLER_VERSION", bulk_step_inputs.SAMPLER_VERSION + 1)
    assert cache_key(cache_inputs(**base)) != k0


def test_sampler_blas_threads_are_set_and_restored(monkeypatch):
    """The sampling runs on one OpenBLAS thread (faster on the shared machine, module
    docstring of bulk_step_inputs) and gives the same inputs as the libraries' default to
    rounding; the previous thread counts are restored, also after an exception."""
    from giantstep.numerics.test_error.spectra import sampled_steps as bsi
    from giantstep.numerics.test_error.tables.multi_index import sampled_bulk_geometries
    from giantstep.theory import as_activation, as_target

    controls = bsi._openblas_controls()
    before = [get() for _, get in controls]
    with bsi.blas_threads(1):
        assert all(get() == 1 for _, get in controls)
    assert [get() for _, get in controls] == before
    with pytest.raises(RuntimeError), bsi.blas_threads(1):
        raise RuntimeError
    assert [get() for _, get in controls] == before
    with bsi.blas_threads(0):
        assert [get() for _, get in controls] == before
    monkeypatch.setenv(bsi.SAMPLER_THREADS_ENV, "0")
    assert bsi.sampler_threads() == 0
    monkeypatch.setenv(bsi.SAMPLER_THREADS_ENV, "many")
    assert bsi.sampler_threads() == bsi.DEFAULT_SAMPLER_THREADS
    args = (as_activation("tanh"), as_target(PARITY), 1.0, 2.0, 1.5, 0.0, 300, 4, 2)
    _forget_in_process_copies()
    with bsi.blas_threads(1):
        one = sampled_bulk_geometries(*args)
    _forget_in_process_copies()
    default = sampled_bulk_geometries(*args)
    for g1, g2 in zip(one, default):
        for x, y in zip(g1[:8], g2[:8]):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-9, atol=1e-12)
