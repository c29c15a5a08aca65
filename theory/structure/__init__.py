"""Structure of a target: Hermite tensors, subspaces and leaps, thresholds, generative exponent.

docs/model.md §2–§4 and §7. ``hermite_tensor`` computes ``C_k(g*)`` and the energies;
``subspaces`` the relevant subspace, staircase and leap index; ``thresholds`` the sample
exponents and the stairway of plateaus; ``generative`` the generative exponent and leap.
Builds on :mod:`giantstep.theory.expr` and :mod:`giantstep.theory.gauss`.
"""
