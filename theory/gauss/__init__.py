"""Gaussian integration and Hermite polynomials: the ground floor of the theory layer.

docs/model.md §2. ``hermite`` is the one implementation of the ``He_k`` recurrence (sympy,
mpmath and numpy back ends); ``rules`` holds the quadrature rules for expectations over
standard Gaussians (rule objects that own their nodes, their cache and their error
estimate, plus the functional helpers the numerics layer re-exports). Imports nothing
from the rest of the theory layer.
"""
