"""Baryon commerce layer (see DESIGN.md §3)."""
