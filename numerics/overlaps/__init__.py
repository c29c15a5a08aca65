"""Overlaps of the first layer after giant steps (docs/model.md §5).

* :mod:`.one_step` — §5.1, one step with n = α d (closed form);
* :mod:`.preprocessed` — §5.2, one step with n = α d^ℓ, label degrees < ℓ removed;
* :mod:`.multi_step` — §5.3, several steps, the neuron-type recursion
  (numba kernel :mod:`.kernel`, smoothed activation tables :mod:`.smoothing`);
* :mod:`.readout_types` — the readout laws of §1 as neuron types;
* :mod:`.result` — the result objects.
"""
