"""Features after the giant steps: spike directions and bulk spectrum (docs/model.md §6.1–§6.2)."""
