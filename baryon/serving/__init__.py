"""Baryon serving layer (see DESIGN.md §3)."""
