"""Expressions: the functions the package knows, parsing, evaluation, ``Target`` and ``Activation``.

docs/model.md §1–§2. ``primitives`` holds one record per function (closed forms, kinks,
smoothings); ``parsing`` turns strings into sympy expressions (whitelist, no ``eval``);
``evaluate`` compiles them for numpy and mpmath; ``hermite1d`` computes the univariate
coefficients ``μ_k = E[f(ξ) He_k(ξ)]``; ``target`` defines the two objects a user handles.
Imports only :mod:`giantstep.theory.gauss` and the ground floor of ``giantstep``.
"""
