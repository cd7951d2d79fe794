"""Baryon's benchmarks: Baryon's path against a named baseline, side by side, in one run.

Run with ``make bench`` (full) or ``make bench-quick`` (reduced sizes, < 3 minutes).
Results go to ``benchmarks/results/<date>-<machine>.json`` and the table in
``docs/benchmarks.md`` is generated from that file (never typed by hand).
"""
