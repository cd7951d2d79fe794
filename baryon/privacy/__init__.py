"""Baryon privacy layer (see DESIGN.md §3)."""
