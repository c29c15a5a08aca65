"""The declared parameter rules (giantstep/params.py), and a test generated from them.

For every public function declared with ``validate_params`` and every parameter it
declares, each value of ``rule.invalid_values()`` must raise ``InputError`` whose message
names the parameter; a valid value built from the same rule must not be refused by the
check. The same is done for the fields of ``SimulationConfig``.
"""

from __future__ import annotations

import importlib
import inspect

import numpy as np
import pytest
import sympy

import giantstep
from giantstep.errors import InputError
from giantstep.params import (
    DEFAULTS,
    PARAMETERS,
    Boolean,
    Expression,
    Grid,
    Interval,
    Noneable,
    Options,
    cli_type,
    registered,
    validate_params,
)

# modules holding the public functions (importing them fills the registry)
MODULES = [
    "giantstep.theory.structure.subspaces", "giantstep.theory.structure.thresholds",
    "giantstep.theory.structure.generative",
    "giantstep.theory.expr.hermite1d", "giantstep.theory.amp", "giantstep.numerics.overlaps.one_step",
    "giantstep.numerics.overlaps.preprocessed", "giantstep.numerics.overlaps.multi_step",
    "giantstep.numerics.test_error.curves.one_step", "giantstep.numerics.amp_state_evolution",
    "giantstep.numerics.test_error.curves.multi_step",
]
for _m in MODULES:
    importlib.import_module(_m)

# values for parameters that carry no rule (internal objects), by name
_UNDECLARED = {"expr": sympy.Symbol("x") ** 2, "x": sympy.Symbol("x")}


def _valid(rule):
    """A value the rule accepts, built from the rule alone."""
    if isinstance(rule, Noneable):
        return _valid(rule.rule)
    if isinstance(rule, Interval):
        lo = rule.low if rule.low is not None else (rule.high - 2 if rule.high is not None else 0)
        hi = rule.high if rule.high is not None else lo + 4
        v = (lo + hi) / 2
        return int(round(v)) if rule.kind is int else v
    if isinstance(rule, Options):
        return rule.choices[0]
    if isinstance(rule, Expression):
        return {"target": "z1", "activation": "tanh", "teacher": "tanh"}[rule.kind]
    if isinstance(rule, Grid):
        return [_valid(rule.element)]
    if isinstance(rule, Boolean):
        return False
    raise AssertionError(rule)


def _cases():
    out = []
    for func, rules in registered():
        if func.__module__ not in MODULES:
            continue
        for name, rule in rules.items():
            for bad in rule.invalid_values():
                out.append(pytest.param(func, name, bad, id=f"{func.__name__}-{name}-{bad!r}"))
    return out


def _call_with(func, name, value):
    sig = inspect.signature(func)
    rules = func.__giantstep_rules__
    args, kwargs = [], {}
    for pname, p in sig.parameters.items():
        if p.kind in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            continue
        if pname == name:
            v = value
        elif pname in rules:
            v = _valid(rules[pname])
        elif p.default is not p.empty:
            continue
        else:
            v = _UNDECLARED[pname]
        if p.kind is p.POSITIONAL_OR_KEYWORD and pname in ("expr", "x"):
            args.append(v)
        else:
            kwargs[pname] = v
    return func(*args, **kwargs)


def test_every_public_function_declares_its_parameters():
    names = {f.__name__ for f, _ in registered()}
    api = {"analyze", "leap_index", "information_exponent", "staircase", "thresholds",
           "generative_analysis", "amp_analysis", "gamp_state_evolution", "hermite_coefficients",
           "one_step_overlaps", "preprocessed_overlaps", "overlap_trajectory",
           "one_step_learning_curve"}
    for n in api:
        obj = getattr(giantstep, n)
        assert hasattr(obj, "__giantstep_rules__"), n
    assert {"analyze", "one_step_learning_curve", "overlap_trajectory"} <= names


def test_public_functions_are_keyword_only_after_their_subject():
    subjects = {"target", "activation", "student", "teacher", "expr", "x", "s_values"}
    for func, _ in registered():
        for pname, p in inspect.signature(func).parameters.items():
            if p.kind is p.POSITIONAL_OR_KEYWORD:
                assert pname in subjects, f"{func.__name__}: {pname} should be keyword-only"


def test_shared_names_have_shared_defaults():
    # the same thing has the same default in every public function
    for func, _ in registered():
        for pname, p in inspect.signature(func).parameters.items():
            if pname in ("readout", "noise", "seed", "dtype", "tol") and p.default is not p.empty:
                assert p.default == PARAMETERS[pname].default, (func.__name__, pname, p.default)
    assert DEFAULTS["readout"] == "constant" and PARAMETERS["noise"].default is None


@pytest.mark.parametrize("func, name, bad", _cases())
def test_invalid_value_of_each_declared_parameter_is_refused_by_name(func, name, bad):
    with pytest.raises(InputError) as info:
        _call_with(func, name, bad)
    assert name in str(info.value)


def test_the_rule_examples_are_accepted():
    # the base values used above pass every rule (else the test above proves nothing)
    for _func, rules in registered():
        for name, rule in rules.items():
            rule.check(name, _valid(rule))


def test_interval_bounds_and_messages():
    r = Interval(float, 0, 1, closed="left")
    assert r.accepts(0) and r.accepts(0.5) and not r.accepts(1) and not r.accepts(-1e-300)
    assert not r.accepts(True) and not r.accepts(float("inf")) and not r.accepts("0.5")
    assert r.describe() == "a number in [0, 1)"
    k = Interval(int, 1, None)
    assert k.accepts(3) and k.accepts(np.int64(3)) and k.accepts(3.0) and not k.accepts(2.5)
    assert not k.accepts(0) and k.describe() == "an integer ≥ 1"
    with pytest.raises(InputError, match=r"lam \(λ\) must be a number ≥ 0, got -1"):
        PARAMETERS["lam"].rule.check("lam (λ)", -1)


def test_grid_and_expression_rules():
    g = Grid(Interval(float, 0, None, closed="neither"))
    assert g.accepts([0.5, 2]) and g.accepts(np.array([1.0])) and g.accepts((1,))
    assert not g.accepts([]) and not g.accepts([1, 0]) and not g.accepts("1,2") and not g.accepts(1.0)
    e = Expression("teacher")
    e.check("teacher", "tanh")
    e.check("teacher", "tanh(z1) + z1*z2")
    with pytest.raises(InputError, match="teacher"):
        e.check("teacher", "__import__('os')")


def test_decorator_checks_before_running_and_refuses_unknown_names():
    calls = []

    @validate_params(k=Interval(int, 1, 3))
    def f(target, *, k=1, readout="constant"):
        calls.append(k)
        return k

    assert f("z1", k=2) == 2
    with pytest.raises(InputError, match="readout"):
        f("z1", readout="uniform")
    with pytest.raises(InputError, match="k must be an integer in"):
        f("z1", k=4)
    with pytest.raises(InputError, match="unexpected keyword"):
        f("z1", kk=2)
    assert calls == [2]
    with pytest.raises(TypeError):
        validate_params(nope=Boolean())(lambda target: target)


def test_cli_converter_uses_the_same_rule():
    import argparse

    conv = cli_type("noise")
    assert conv("0.25") == 0.25
    with pytest.raises(argparse.ArgumentTypeError, match="Δ must be a number ≥ 0"):
        conv("-1")
    steps = cli_type("steps")
    assert steps("3") == 3
    for bad in ("0", "2.5", "x", "201"):
        with pytest.raises(argparse.ArgumentTypeError):
            steps(bad)


def _config_cases():
    from giantstep.validation.simulator import _CONFIG_RULES

    return [pytest.param(name, bad, id=f"{name}-{bad!r}") for name, rule in _CONFIG_RULES.items()
            for bad in rule.invalid_values()]


@pytest.mark.parametrize("name, bad", _config_cases())
def test_simulation_config_refuses_each_invalid_field_by_name(name, bad):
    from giantstep.validation.simulator import SimulationConfig

    with pytest.raises(InputError) as info:
        SimulationConfig(**{name: bad})
    assert name in str(info.value)


def _validation_cases():
    from giantstep.validation.compare import _VALIDATION_RULES

    return [pytest.param(name, bad, id=f"{name}-{bad!r}") for name, rule in _VALIDATION_RULES.items()
            for bad in rule.invalid_values()]


@pytest.mark.parametrize("name, bad", _validation_cases())
def test_validation_config_refuses_each_invalid_field_by_name(name, bad):
    from giantstep.validation.compare import ValidationConfig

    base = {"kind": "error", "teacher": "tanh"} if name in ("lam", "alphas", "teacher") else {}
    if name == "teacher":
        base = {"kind": "error"}
    with pytest.raises(InputError) as info:
        ValidationConfig(**{**base, name: bad})
    assert name in str(info.value)


def test_docs_table_is_the_code():
    from pathlib import Path

    from giantstep.params import markdown_table

    text = (Path(__file__).resolve().parents[1] / "docs" / "api.md").read_text()
    assert markdown_table() in text
