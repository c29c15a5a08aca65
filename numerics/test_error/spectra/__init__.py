"""Features after the giant steps: spike directions and bulk spectrum (THEORY.md §6.1–§6.2)."""
