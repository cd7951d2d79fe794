"""Per-install secret files: written once with mode 0600, refused when readable by others.

A workspace keeps its secrets (the audit log's HMAC key, the demo's API key) in small
text files under its home. Each is written through :func:`write_secret_file` — a
temporary file created with mode 0600, then linked or renamed into place, so no reader
ever sees a half-written secret and no other user ever can read it — and read back
through :func:`read_secret_file`, which refuses a file whose mode lets the group or
others read or write it (``chmod 600 FILE`` fixes it). The check is POSIX's; on Windows,
where modes mean little, it is skipped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import tempfile
from pathlib import Path

from baryon.core.errors import InvalidHome, InvalidInput

__all__ = ["ensure_random_key", "read_secret_file", "write_secret_file"]

_LOOSE_BITS = stat.S_IRWXG | stat.S_IRWXO


def write_secret_file(path: Path, text: str, *, replace: bool = True) -> bool:
    """Write ``text`` (and a newline) to ``path`` with mode 0600, atomically.

    Parameters
    ----------
    path : Path
        Where the secret goes; its directory must exist.
    text : str
        The secret, one line.
    replace : bool
        Replace an existing file (default). With ``False`` an existing file wins and
        is left as it is (two processes creating the same key: the first one's stays).

    Returns
    -------
    bool
        Whether this call wrote the file (``False``: it existed and ``replace`` is off).

    Raises
    ------
    InvalidHome
        Code ``key_file_unwritable`` when the file cannot be written.
    """
    path = Path(path)
    tmp_name: str | None = None
    try:
        # mkstemp creates the file with mode 0600 whatever the umask.
        fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        if replace:
            os.replace(tmp_name, path)
            tmp_name = None
            return True
        try:
            os.link(tmp_name, path)  # fails if the file exists: never overwrites
        except FileExistsError:
            return False
        return True
    except OSError as exc:
        raise InvalidHome(
            f"cannot write the secret file {path}: {exc.strerror}", code="key_file_unwritable"
        ) from None
    finally:
        if tmp_name is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp_name)


def read_secret_file(path: Path) -> str:
    """Return the one-line secret of ``path``, refusing a file others may read.

    Parameters
    ----------
    path : Path
        A file written by :func:`write_secret_file` (or by hand, mode 0600 or 0400).

    Returns
    -------
    str
        Its text without surrounding white space.

    Raises
    ------
    InvalidInput
        ``key_file_missing`` (no such file), ``key_file_insecure`` (its mode lets the
        group or others read or write it, or it is not a regular file), or
        ``key_file_unreadable``.
    """
    path = Path(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        raise InvalidInput(
            f"the secret file {path} does not exist", code="key_file_missing"
        ) from None
    except OSError as exc:
        raise InvalidInput(
            f"cannot read the secret file {path}: {exc.strerror}", code="key_file_unreadable"
        ) from None
    if not stat.S_ISREG(info.st_mode):
        raise InvalidInput(
            f"the secret file {path} is not a regular file", code="key_file_insecure"
        )
    if os.name == "posix" and info.st_mode & _LOOSE_BITS:
        raise InvalidInput(
            f"the secret file {path} has mode {stat.S_IMODE(info.st_mode):04o}: others may read "
            f"or change it; run `chmod 600 {path}` (and check who could have copied it)",
            code="key_file_insecure",
            details={"path": str(path), "mode": f"{stat.S_IMODE(info.st_mode):04o}"},
        )
    try:
        return path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"cannot read the secret file {path}: {exc}", code="key_file_unreadable"
        ) from None


def ensure_random_key(path: Path, *, nbytes: int = 32) -> bytes:
    """Return the random key kept (as hex) in ``path``, creating it on first use.

    Safe when several processes start at once: the first file linked into place wins
    and every process reads that one.

    Parameters
    ----------
    path : Path
        The key file (created with mode 0600 if missing).
    nbytes : int
        Key length in bytes for a new key (default 32: 256 bits).

    Returns
    -------
    bytes
        The key.

    Raises
    ------
    InvalidInput
        As :func:`read_secret_file`, plus ``key_file_invalid`` when the file does not
        hold at least 16 bytes of hex.
    """
    path = Path(path)
    if not path.exists():
        write_secret_file(path, secrets.token_hex(nbytes), replace=False)
    text = read_secret_file(path)
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise InvalidInput(
            f"the key file {path} does not hold a hex key of at least 16 bytes",
            code="key_file_invalid",
        )
    return key
