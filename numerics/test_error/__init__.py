"""Test error of the ridge readout after giant steps (docs/model.md §6).

The pipeline, one subpackage per stage:

1. :mod:`.spectra` — the features after t steps: spike directions and bulk spectrum, in the
   d → ∞ form (:mod:`.spectra.marchenko_pastur`) or measured on sampled real steps
   (:mod:`.spectra.sampled_steps`, cached on disk by :mod:`.spectra.step_cache`);
2. :mod:`.tables` — the κ-tables of the student and the teacher (one index, several
   indices, several types after several steps);
3. :mod:`.solver` — the fixed-point equations over neuron types × spike directions;
4. :mod:`.curves` — the public curves (one step §6.1, several steps §6.2) with their
   validation flags.

Beside the pipeline: :mod:`.lazy_baseline` (random features at initialisation, Mei &
Montanari 2019) and :mod:`.plateau` (the p, n → ∞ limit of the several-type equations).
"""
