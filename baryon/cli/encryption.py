"""``baryon encryption ...``: the key-encryption key of sensitive datasets.

``rotate`` makes a new key-encryption key, re-wraps every data key with it and
retires the old one (the encrypted artifacts themselves are not rewritten; see
:func:`baryon.data.sealed.rotate_kek`). Keep a backup of ``$BARYON_HOME/kek``: without
it, encrypted versions cannot be read (``encryption_key_missing``).
"""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Encryption at rest of sensitive datasets.")


@app.command("rotate")
def rotate_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print the result as JSON.")] = False,
) -> None:
    """Rotate the key-encryption key: re-wrap every data key, retire the old key."""
    from baryon.data.sealed import rotate_kek

    ws = get_workspace(ctx)
    result = rotate_kek(ws.db, ws.keys)
    if as_json:
        print_json(result)
        return
    retired = ", ".join(map(str, result["retired"])) or "none"  # type: ignore[call-overload]
    console.print(
        f"key-encryption key {result['kek_id']}: {result['rewrapped']} data key(s) "
        f"re-wrapped; retired {retired}",
        markup=False,
        highlight=False,
        soft_wrap=True,
    )
