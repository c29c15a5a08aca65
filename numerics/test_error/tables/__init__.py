"""κ-tables of the student and the teacher that the fixed-point equations integrate (THEORY.md §6)."""
