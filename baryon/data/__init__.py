"""Baryon data layer (see DESIGN.md §3)."""
