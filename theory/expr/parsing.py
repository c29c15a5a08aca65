"""Safe parsing of target and activation expressions (docs/model.md §1–§2).

User text is never evaluated. It is parsed by :mod:`ast` and every node is
checked against a whitelist before the matching sympy object is built:

* numbers (integers and decimals, kept exact as rationals), the constant ``pi``;
* the variables ``z1, z2, …`` (targets) or ``x`` (activations);
* ``+ - * /`` and ``**`` with a non-negative integer exponent (at most
  :data:`MAX_POWER`); division only by expressions bounded away from zero;
* the functions ``He<k>`` (probabilists' Hermite polynomial, ``k ≤``
  :data:`MAX_HERMITE_DEGREE`), ``relu``, ``sign``, ``abs``, ``tanh``, ``erf``,
  ``sin``, ``cos``, ``exp``, ``sqrt``, each of one argument.

An activation may also be written without its variable: ``relu``,
``He2 + He1``, ``0.5*tanh`` mean ``relu(x)``, ``He2(x) + He1(x)``, …

After parsing, :func:`check_square_integrable` verifies that the function has
finite Gaussian moments (``exp`` only of arguments that grow at most linearly,
``sqrt`` only of non-negative arguments), so that every Hermite coefficient
exists.
"""

from __future__ import annotations

import ast
import re
from fractions import Fraction

import sympy

from giantstep.errors import InputError

from ..gauss.hermite import he_sympy
from .primitives import (
    ARGUMENT_GROWTH_TYPES,
    BOUNDED_TYPES,
    NONNEGATIVE_TYPES,
    PARSEABLE_NAMES,
    X,
    relu,  # noqa: F401  (re-exported: ``from giantstep.theory.expr.parsing import X, relu`` is used widely)
)
from .primitives import build as build_primitive

MAX_LENGTH = 2000
MAX_DEPTH = 60
MAX_POWER = 64
MAX_HERMITE_DEGREE = 40
MAX_VARIABLES = 64
MAX_GROWTH_DEGREE = 80

_VAR_RE = re.compile(r"^z([1-9][0-9]*)$")
_HE_RE = re.compile(r"^He([0-9]+)$")
_UNARY_FUNCTIONS = PARSEABLE_NAMES  # one record per function: theory/expr/primitives.py


def _did_you_mean(name: str, variable: str | None) -> str:
    """``"; did you mean 'He2(z1)'?"`` for a bare function name or a close misspelling, else ``""``.

    ``variable`` is the argument a bare function name is applied to (``z1`` in a target) or
    ``None`` for a misspelt function call.
    """
    import difflib

    is_function = name in _UNARY_FUNCTIONS or _HE_RE.match(name)
    if is_function and variable == "z1":
        return f"; did you mean '{name}(z1)'?"
    names = list(_UNARY_FUNCTIONS) + ["He2", "He3", "pi"] + ([variable] if variable else [])
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    if not close:
        return ""
    best = close[0] if variable in (None, "x") or close[0] in ("pi", variable) else f"{close[0]}({variable})"
    return f"; did you mean '{best}'?"


def zvar(i: int) -> sympy.Symbol:
    """The latent variable ``z_i`` (1-based) as a real sympy symbol."""
    return sympy.Symbol(f"z{i}", real=True)


def hermite_he(k: int, arg: sympy.Expr) -> sympy.Expr:
    """Probabilists' Hermite polynomial ``He_k(arg)`` as an explicit polynomial (docs/model.md §2)."""
    if k < 0:
        raise InputError(f"Hermite degree must be non-negative, got He{k}")
    return he_sympy(k, arg)


def _function(name: str, arg: sympy.Expr) -> sympy.Expr:
    return build_primitive(name, arg)


class _Builder(ast.NodeVisitor):
    """Turns a whitelisted Python AST into a sympy expression."""

    def __init__(self, variable: str):
        self.variable = variable  # "z" for targets, "x" for activations

    def build(self, node: ast.AST, depth: int = 0) -> sympy.Expr:
        if depth > MAX_DEPTH:
            raise InputError(f"expression is nested too deeply (more than {MAX_DEPTH} levels)")
        if isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise InputError(f"constant {value!r} is not a real number")
            if isinstance(value, float):
                if value != value or value in (float("inf"), float("-inf")):
                    raise InputError("constants must be finite")
                return sympy.Rational(Fraction(repr(value)))
            return sympy.Integer(value)
        if isinstance(node, ast.Name):
            return self._name(node.id)
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand, depth + 1)
            if isinstance(node.op, ast.USub):
                return -operand
            if isinstance(node.op, ast.UAdd):
                return operand
            raise InputError(f"operator '{type(node.op).__name__}' is not allowed")
        if isinstance(node, ast.BinOp):
            return self._binop(node, depth)
        if isinstance(node, ast.Call):
            return self._call(node, depth)
        raise InputError(
            f"'{type(node).__name__}' is not allowed in an expression "
            "(numbers, variables, + - * / **, and whitelisted functions only)"
        )

    def _name(self, name: str) -> sympy.Expr:
        if name == "pi":
            return sympy.pi
        if self.variable == "z":
            m = _VAR_RE.match(name)
            if m:
                i = int(m.group(1))
                if i > MAX_VARIABLES:
                    raise InputError(f"variable {name}: at most {MAX_VARIABLES} latent variables")
                return zvar(i)
            if name.startswith("z") and name[1:].isdigit():
                raise InputError(f"variable '{name}' is not allowed: latent variables are z1, z2, …")
            raise InputError(f"unknown name '{name}': variables are z1, z2, … (and the constant pi)"
                             + _did_you_mean(name, "z1"))
        if name == "x":
            return X
        if name in _UNARY_FUNCTIONS:
            return _function(name, X)
        m = _HE_RE.match(name)
        if m:
            return self._hermite(int(m.group(1)), X)
        raise InputError(
            f"unknown name '{name}': an activation is written in x or with bare function names "
            "(relu, tanh, He2 + He1, …)" + _did_you_mean(name, "x")
        )

    def _hermite(self, k: int, arg: sympy.Expr) -> sympy.Expr:
        if k > MAX_HERMITE_DEGREE:
            raise InputError(f"He{k}: Hermite degree at most {MAX_HERMITE_DEGREE}")
        return hermite_he(k, arg)

    def _binop(self, node: ast.BinOp, depth: int) -> sympy.Expr:
        op = node.op
        if isinstance(op, ast.Pow):
            base = self.build(node.left, depth + 1)
            exponent = self._power_exponent(node.right)
            return base**exponent
        left = self.build(node.left, depth + 1)
        right = self.build(node.right, depth + 1)
        if isinstance(op, ast.Add):
            return left + right
        if isinstance(op, ast.Sub):
            return left - right
        if isinstance(op, ast.Mult):
            return left * right
        if isinstance(op, ast.Div):
            if right.is_zero:
                raise InputError("division by zero")
            if not right.is_number and _positive_lower_bound(right) is None:
                raise InputError(
                    f"division by '{right}' is not allowed: a denominator must be a non-zero "
                    "constant or bounded away from zero (e.g. 1 + exp(z1))"
                )
            return left / right
        raise InputError(f"operator '{type(op).__name__}' is not allowed (use + - * / **)")

    def _power_exponent(self, node: ast.AST) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(
            node.value, bool
        ):
            if node.value > MAX_POWER:
                raise InputError(f"power {node.value} is too large (at most {MAX_POWER})")
            return int(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            raise InputError("negative powers are not allowed (powers must be integers ≥ 0)")
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            raise InputError(
                f"non-integer power {node.value!r} is not allowed (powers must be integers ≥ 0; "
                "use sqrt for square roots)"
            )
        raise InputError("symbolic powers are not allowed (powers must be integer constants ≥ 0)")

    def _call(self, node: ast.Call, depth: int) -> sympy.Expr:
        if not isinstance(node.func, ast.Name):
            raise InputError("only plain function calls such as tanh(z1) are allowed")
        name = node.func.id
        if node.keywords or len(node.args) != 1:
            raise InputError(f"function '{name}' takes exactly one argument")
        if isinstance(node.args[0], ast.Starred):
            raise InputError("starred arguments are not allowed")
        m = _HE_RE.match(name)
        if m:
            return self._hermite(int(m.group(1)), self.build(node.args[0], depth + 1))
        if name not in _UNARY_FUNCTIONS:
            raise InputError(
                f"function '{name}' is not allowed (allowed: He<k>, {', '.join(_UNARY_FUNCTIONS)})"
                + _did_you_mean(name, None)
            )
        return _function(name, self.build(node.args[0], depth + 1))


def _parse(text: str, variable: str) -> sympy.Expr:
    if not isinstance(text, str):
        raise InputError(f"expression must be a string, got {type(text).__name__}")
    stripped = text.strip()
    if not stripped:
        raise InputError("empty expression")
    if len(stripped) > MAX_LENGTH:
        raise InputError(f"expression is too long ({len(stripped)} characters, at most {MAX_LENGTH})")
    if "__" in stripped or any(c in stripped for c in ";:\n\\'\"[]{}@=<>!&|~`$#"):
        raise InputError(f"expression contains characters that are not allowed: {stripped!r}")
    try:
        tree = ast.parse(stripped, mode="eval")
    except (SyntaxError, ValueError) as exc:
        raise InputError(f"cannot parse expression {stripped!r}: {exc.msg if hasattr(exc, 'msg') else exc}") from None
    except RecursionError:
        raise InputError("expression is nested too deeply") from None
    try:
        expr = _Builder(variable).build(tree.body)
    except RecursionError:
        raise InputError("expression is nested too deeply") from None
    return expr


def parse_target_expression(text: str) -> sympy.Expr:
    """Parse a target ``g*(z1, …, zr)`` from text, with the whitelist of the module doc.

    Raises
    ------
    InputError
        If the text is empty, too long, uses anything outside the whitelist, or
        defines a function that is not square-integrable under the Gaussian.
    """
    expr = _parse(text, "z")
    check_square_integrable(expr)
    return expr


def parse_activation_expression(text: str) -> sympy.Expr:
    """Parse a student activation ``σ(x)`` (bare names like ``relu`` allowed)."""
    expr = _parse(text, "x")
    check_square_integrable(expr)
    return expr


# --------------------------------------------------------------------------- growth


def _positive_lower_bound(expr: sympy.Expr) -> float | None:
    """A positive lower bound of ``expr`` valid for all real inputs, or None if unknown."""
    if expr.is_number:
        val = complex(sympy.N(expr))
        return float(val.real) if val.imag == 0 and val.real > 0 else None
    if isinstance(expr, sympy.Add):
        total = 0.0
        for term in expr.args:
            if term.is_number:
                lb = _positive_lower_bound(term)
                if lb is None:
                    return None
                total += lb
            elif _nonnegative(term):
                continue
            else:
                return None
        return total if total > 0 else None
    if isinstance(expr, sympy.Mul):
        lb = 1.0
        for f in expr.args:
            b = _positive_lower_bound(f)
            if b is None:
                return None
            lb *= b
        return lb
    if isinstance(expr, sympy.Pow) and expr.exp.is_integer and expr.exp > 0:
        b = _positive_lower_bound(expr.base)
        return None if b is None else b ** int(expr.exp)
    return None


def _nonnegative(term: sympy.Expr) -> bool:
    if term.is_nonnegative:
        return True
    if isinstance(term, NONNEGATIVE_TYPES):
        return True
    if isinstance(term, sympy.Pow) and term.exp.is_integer and term.exp.is_even:
        return True
    if isinstance(term, sympy.Mul):
        coeff, rest = term.as_coeff_Mul()
        return coeff > 0 and _nonnegative(rest)
    return False


def growth_degree(expr: sympy.Expr) -> tuple[float, bool]:
    """Growth class ``(D, e)`` with ``|f(z)| ≤ C (1+|z|)^D`` if ``e`` is False, or
    ``|f(z)| ≤ C (1+|z|)^D exp(c|z|)`` if ``e`` is True.

    Both classes have finite Gaussian moments of every order. Anything that may
    grow faster (``exp`` of a super-linear argument, ``exp(exp(z))``, division
    by something that may vanish) raises :class:`InputError`.
    """
    if expr.is_number:
        return 0.0, False
    if expr.is_Symbol:
        return 1.0, False
    if isinstance(expr, sympy.Add):
        parts = [growth_degree(a) for a in expr.args]
        return max(p[0] for p in parts), any(p[1] for p in parts)
    if isinstance(expr, sympy.Mul):
        parts = [growth_degree(a) for a in expr.args]
        return sum(p[0] for p in parts), any(p[1] for p in parts)
    if isinstance(expr, sympy.Pow):
        e = expr.exp
        if e.is_Integer and e >= 0:
            d, x = growth_degree(expr.base)
            return int(e) * d, x
        if e.is_Integer and e < 0:
            growth_degree(expr.base)
            if _positive_lower_bound(expr.base) is not None:
                return 0.0, False
            raise InputError(f"division by '{expr.base}', which may vanish, is not allowed")
        if e == sympy.Rational(1, 2):
            d, x = growth_degree(expr.base)
            return d / 2, x
        raise InputError(f"power '{expr}' is not allowed")
    if isinstance(expr, BOUNDED_TYPES):
        growth_degree(expr.args[0])
        return 0.0, False
    if isinstance(expr, ARGUMENT_GROWTH_TYPES):
        return growth_degree(expr.args[0])
    if isinstance(expr, sympy.Max):
        parts = [growth_degree(a) for a in expr.args]
        return max(p[0] for p in parts), any(p[1] for p in parts)
    if isinstance(expr, sympy.exp):
        arg = expr.args[0]
        if _bounded_above_by_linear(arg):
            return 0.0, True
        raise InputError(
            f"exp({arg}) is not square-integrable under the Gaussian (or its integrability cannot "
            "be verified): exp needs an argument that grows at most linearly, is bounded, "
            "or is a quadratic with negative semi-definite quadratic part"
        )
    raise InputError(f"'{type(expr).__name__}' is not an allowed function")


def _bounded_above_by_linear(arg: sympy.Expr) -> bool:
    deg, expo = growth_degree(arg)
    if expo:
        return False
    if deg <= 1:
        return True
    syms = sorted(arg.free_symbols, key=lambda s: s.name)
    if arg.is_polynomial(*syms):
        poly = sympy.Poly(arg, *syms)
        if poly.total_degree() == 2:
            hess = sympy.hessian(arg, syms)
            eig = [complex(sympy.N(v)).real for v in hess.eigenvals(multiple=True)]
            return max(eig) <= 1e-12
    return False


def check_square_integrable(expr: sympy.Expr) -> None:
    """Raise :class:`InputError` unless ``expr`` has finite Gaussian moments of every order."""
    deg, _ = growth_degree(expr)
    if deg > MAX_GROWTH_DEGREE:
        raise InputError(
            f"expression has polynomial degree {deg:g}, more than the {MAX_GROWTH_DEGREE} supported"
        )
