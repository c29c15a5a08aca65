"""Public test-error curves: one step (docs/model.md §6.1) and several steps (§6.2)."""
