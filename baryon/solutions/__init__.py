"""Baryon solutions layer (see DESIGN.md §3)."""
