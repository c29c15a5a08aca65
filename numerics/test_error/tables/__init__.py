"""κ-tables of the student and the teacher that the fixed-point equations integrate (docs/model.md §6)."""
