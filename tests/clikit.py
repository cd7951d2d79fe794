"""Run the ``baryon`` command line in process, for the CLI tests.

``tests/`` is on ``sys.path`` (the root ``conftest.py`` lives there), so every test
module imports this as ``clikit``.
"""

from __future__ import annotations

import pytest

from baryon.cli.main import main

__all__ = ["run"]


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """Run ``baryon ARGV``; return its exit code, standard output and standard error."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err
