"""Fixed-point equations of the test error over neuron types × spike directions (docs/model.md §6)."""
