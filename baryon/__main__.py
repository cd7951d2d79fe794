"""``python -m baryon`` runs the CLI."""

from __future__ import annotations

from baryon.cli.main import main

if __name__ == "__main__":
    main()
