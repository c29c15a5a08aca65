"""Fixed-point equations of the test error over neuron types × spike directions (THEORY.md §6)."""
