"""Baryon training layer (see DESIGN.md §3)."""
