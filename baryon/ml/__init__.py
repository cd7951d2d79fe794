"""Baryon ml layer (see DESIGN.md §3)."""
