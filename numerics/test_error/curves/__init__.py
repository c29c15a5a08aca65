"""Public test-error curves: one step (THEORY.md §6.1) and several steps (§6.2)."""
