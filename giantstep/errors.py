"""Exceptions shared by every layer of giantstep.

Every error that is the user's to fix derives from :class:`GiantstepError`; the
command line turns it into one line on stderr and exit code 2.
"""

from __future__ import annotations


class GiantstepError(Exception):
    """Base class of all errors raised on purpose by giantstep."""


class InputError(GiantstepError, ValueError):
    """Bad user input: an expression, a parameter or a configuration."""


class ConvergenceError(GiantstepError, RuntimeError):
    """A solver did not converge.

    Attributes
    ----------
    residual : float
        The last residual reached.
    iterations : int
        The number of iterations performed.
    """

    def __init__(self, message: str, residual: float = float("nan"), iterations: int = 0):
        super().__init__(f"{message} (last residual {residual:.3e} after {iterations} iterations)")
        self.residual = residual
        self.iterations = iterations


class DivergenceError(ConvergenceError):
    """An iteration ran away (values grew without bound): no finite answer exists at these inputs."""


class NumericalError(GiantstepError, ArithmeticError):
    """A computation left floating-point range (an overflow, a non-finite result): exit code 1."""
