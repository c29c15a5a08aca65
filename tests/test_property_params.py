"""Property tests over the declared parameter rules (hypothesis).

Whatever a caller passes, a rule either accepts the value (finite, inside its bounds) or
raises :class:`InputError` naming the parameter — never another exception; the command-line
converters built from the same rules agree with them; public functions fed values drawn from
their rules answer with finite numbers or a :class:`GiantstepError`, within a time bound; and
the leap analysis does not depend on the scale of the target.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from giantstep.errors import GiantstepError, InputError
from giantstep.params import MAX_GRID_POINTS, PARAMETERS, Grid, Interval, Noneable, cli_type

ANY = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400, 10**400),
                st.text(max_size=8), st.booleans(), st.none(), st.lists(st.floats(), max_size=3))
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _interval_rules():
    out = []
    for name, p in PARAMETERS.items():
        rule = p.rule.rule if isinstance(p.rule, Noneable) else p.rule
        if isinstance(rule, Interval):
            out.append((name, rule))
    return out


def _inside(rule: Interval, v: float) -> bool:
    lo = rule.low is None or (v >= rule.low if rule.closed in ("both", "left") else v > rule.low)
    hi = rule.high is None or (v <= rule.high if rule.closed in ("both", "right") else v < rule.high)
    capped = rule.ceiling is None or abs(v) <= rule.ceiling
    return lo and hi and capped


@pytest.mark.parametrize("name, rule", _interval_rules(), ids=[n for n, _ in _interval_rules()])
@SETTINGS
@given(value=ANY)
def test_interval_rule_accepts_exactly_the_finite_values_inside(name, rule, value):
    real = isinstance(value, (int, float)) and not isinstance(value, bool)
    try:
        fv = float(value) if real else None
    except OverflowError:
        fv = math.inf
    expected = (real and fv is not None and math.isfinite(fv) and _inside(rule, fv)
                and (rule.kind is float or fv == int(fv)))
    try:
        rule.check(name, value)
        assert expected
    except InputError as exc:
        assert not expected and name in str(exc)


@pytest.mark.parametrize("name, rule", _interval_rules(), ids=[n for n, _ in _interval_rules()])
@SETTINGS
@given(text=st.one_of(st.text(max_size=12), st.floats().map(repr), st.integers(-10**30, 10**30).map(str)))
def test_cli_converter_agrees_with_the_rule(name, rule, text):
    convert = cli_type(name)
    try:
        value = convert(text)
    except argparse.ArgumentTypeError:
        return
    assert rule.accepts(value) and math.isfinite(float(value))


def test_every_scale_parameter_has_an_upper_bound():
    for name in ("alpha", "alpha0", "eta", "lam", "width_ratio", "ell", "max_iter"):
        rule = PARAMETERS[name].rule
        bound = rule.high if rule.high is not None else rule.ceiling
        assert bound is not None and bound < 1e10, name
        assert not rule.accepts(2 * bound) and not rule.accepts(1e308), name
    noise = PARAMETERS["noise"].rule.rule
    assert noise.ceiling is not None and not noise.accepts(1e308)


@SETTINGS
@given(items=st.lists(st.floats(min_value=1e-3, max_value=10), min_size=0, max_size=12))
def test_grid_rule(items):
    grid = Grid(PARAMETERS["alpha"].rule)
    assert grid.accepts(items) == (len(items) > 0)
    assert not grid.accepts([1.0] * (MAX_GRID_POINTS + 1))


@SETTINGS
@given(text=st.text(alphabet="0123456789.:,-e+ x", max_size=20))
def test_grid_text_is_a_list_or_one_line_refusal(text):
    from giantstep.cli.simulate_cmd import parse_values

    try:
        values = parse_values(text, float, "alpha")
    except InputError as exc:
        assert "\n" not in str(exc)
        return
    assert 0 < len(values) <= MAX_GRID_POINTS and all(math.isfinite(v) for v in values)


COEF = st.one_of(st.sampled_from([1e-300, 1e-150, 1e-12, 1.0, 3.5, 1e12, 1e150, 1e300]),
                 st.floats(min_value=1e-200, max_value=1e200))
SHAPES = st.sampled_from(["z1", "z1 + z1*z2", "z1*z2*z3", "(z1+z2)**2 + z3", "z1**3 - 3*z1 + z2**2",
                          "z1**2 + z2", "z1*z2 + z2*z3"])


@settings(max_examples=25, deadline=None)
@given(c=COEF, shape=SHAPES, negative=st.booleans())
def test_leap_structure_is_scale_free(c, shape, negative):
    from giantstep.theory.structure.subspaces import analyze

    ref = analyze(shape)
    sign = -1 if negative else 1
    res = analyze(f"{sign * c!r}*({shape})")
    assert (res.information_exponent, res.leap_index, res.leaps) == \
        (ref.information_exponent, ref.leap_index, ref.leaps)
    assert np.all(np.isfinite(res.relevant_basis))


@settings(max_examples=20, deadline=None)
@given(alpha=st.floats(min_value=1e-3, max_value=1e6), eta=st.floats(min_value=0.0, max_value=1e4),
       act=st.sampled_from(["relu", "tanh", "erf", "x**2"]), readout=st.sampled_from(["constant", "sign"]))
def test_one_step_overlaps_finite_or_one_error(alpha, eta, act, readout):
    """Fast path (one step, closed-form smoothing where available): finite numbers or a
    GiantstepError, never another exception, within a time bound."""
    import giantstep.numerics as gn

    t0 = time.perf_counter()
    try:
        res = gn.one_step_overlaps("z1 + z1*z2", act, alpha=alpha, eta=eta, readout=readout)
    except GiantstepError:
        return
    finally:
        assert time.perf_counter() - t0 < 60
    values = np.asarray([v for tp in res.types for v in (*tp.overlap, tp.norm2)], dtype=float)
    assert np.all(np.isfinite(values))


@pytest.mark.parametrize("name, value", [("lam", 1e308), ("eta", 1e5), ("alpha0", 2e6), ("noise", 1e9)])
def test_a_value_beyond_the_ceiling_is_refused_naming_the_ceiling(name, value):
    rule = PARAMETERS[name].rule
    with pytest.raises(InputError, match=r"must be at most .* \(larger values overflow the computation\)"):
        rule.check(name, value)
    with pytest.raises(InputError, match=r"must be a number [≥>] 0, got -1"):
        rule.check(name, -1.0)
