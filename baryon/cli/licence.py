"""``baryon licence keygen|issue|verify|install|show``: on-premises licences.

``keygen`` and ``issue`` are the vendor's (the private key never goes on a serving
host); ``verify``, ``install`` and ``show`` are the customer's.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from baryon.cli._common import get_settings, get_workspace, print_json, write_output
from baryon.core.errors import InvalidInput

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="On-premises licences (signed, verified offline).")


def _date(text: str, name: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise InvalidInput(
            f"{name} must be an ISO date or time such as 2027-01-31, got {text!r}",
            code="invalid_time",
        ) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read the {what} {path}: {exc.strerror}",
                           code="invalid_file") from None  # fmt: skip


@app.command("keygen")
def keygen_cmd(
    out: Annotated[
        Path, typer.Option("--out", help="Directory for vendor.key and vendor.pub.pem.")
    ],
) -> None:
    """Make the vendor's Ed25519 key pair (private key file mode 0600; keep it offline)."""
    from baryon.commerce.licences import generate_keys, key_fingerprint

    private, public = generate_keys()
    out.mkdir(parents=True, exist_ok=True)
    key_path = out / "vendor.key"
    if key_path.exists():
        raise InvalidInput(f"{key_path} exists; not overwriting a key", code="file_exists")
    fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(private)
    (out / "vendor.pub.pem").write_bytes(public)
    typer.echo(f"Wrote {key_path} (private, 0600) and {out / 'vendor.pub.pem'} "
               f"(key id {key_fingerprint(public)})")  # fmt: skip


@app.command("issue")
def issue_cmd(
    ctx: typer.Context,
    key: Annotated[Path, typer.Option("--key", help="The vendor's private key (PEM).")],
    licensee: Annotated[str, typer.Option("--licensee", help="Who the licence is for.")],
    seats: Annotated[int, typer.Option("--seats", help="Most active users.")],
    orgs: Annotated[int, typer.Option("--orgs", help="Most organizations.")],
    expires: Annotated[str, typer.Option("--expires", help="Expiry, ISO date (UTC).")],
    feature: Annotated[
        list[str] | None, typer.Option("--features", "--feature", help="Feature (repeatable).")
    ] = None,
    not_before: Annotated[
        str | None, typer.Option("--not-before", help="Valid from (default now).")
    ] = None,
    grace_days: Annotated[int, typer.Option("--grace-days", help="Days before read-only.")] = 14,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="Write to a file.")] = None,
) -> None:
    """Sign a licence (prints the token, or writes it with -o)."""
    from baryon.commerce.licences import issue_licence

    names = [f.strip() for value in feature or [] for f in value.split(",") if f.strip()]
    token = issue_licence(
        _read(key, "private key"),
        licensee=licensee,
        features=names,
        seats=seats,
        orgs=orgs,
        expires_at=_date(expires, "--expires"),
        not_before=None if not_before is None else _date(not_before, "--not-before"),
        grace_days=grace_days,
    )
    if output is None:
        typer.echo(token)
    else:
        write_output(output, (token + "\n").encode("utf-8"))
        typer.echo(f"Wrote {output}")


@app.command("verify")
def verify_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The licence file.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The vendor's public key.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Check a licence offline: signature, key, dates (one named error if not valid)."""
    from baryon.commerce.licences import verify_licence
    from baryon.core.clock import SystemClock

    clock = SystemClock()
    licence = verify_licence(
        _read(file, "licence").decode("utf-8", "replace"), _read(public_key, "public key"),
        clock=clock,
    )  # fmt: skip
    if as_json:
        print_json(licence.to_dict(clock.now()))
        return
    typer.echo(
        f"valid: {licence.licensee}, features {', '.join(sorted(licence.features)) or '-'}, "
        f"{licence.seats} seats, {licence.orgs} organizations, until {licence.expires_at.date()}"
    )


@app.command("install")
def install_cmd(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The licence file.")],
    public_key: Annotated[Path, typer.Option("--public-key", help="The vendor's public key.")],
) -> None:
    """Install a licence in this workspace (checked first; enforced from the next start)."""
    from baryon.commerce.licences import install_licence

    settings = get_settings(ctx)
    licence = install_licence(
        settings.home,
        _read(file, "licence").decode("utf-8", "replace"),
        _read(public_key, "public key"),
    )
    typer.echo(f"Installed the licence of {licence.licensee} until {licence.expires_at.date()}")


@app.command("show")
def show_cmd(
    ctx: typer.Context,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Show this install's licence and its state (or the open edition)."""
    ws = get_workspace(ctx)
    licence = ws.licence
    now = ws.clock.now()
    if as_json:
        print_json(None if licence is None else licence.to_dict(now))
        return
    if licence is None:
        typer.echo("open edition: no licence installed")
        return
    typer.echo(
        f"{licence.licensee}: {licence.state(now)}, features "
        f"{', '.join(sorted(licence.features)) or '-'}, {licence.seats} seats, "
        f"{licence.orgs} organizations, expires {licence.expires_at.date()}, read-only "
        f"from {licence.read_only_at.date()}"
    )
