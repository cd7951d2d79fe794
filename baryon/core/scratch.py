"""Scratch files: temporary files held by the process writing them, and the sweep of
the ones a crash left behind.

Baryon writes large temporary files while it works — an artifact on its way into the
store, a dataset's Parquet file being built, an upload being received. A process
killed in the middle (SIGKILL, out of memory, power loss) never deletes them; nothing
else would either. :func:`sweep` removes them when a workspace is opened (every CLI
command, ``baryon serve`` and each of its workers).

The safety rule
---------------
An entry of a scratch directory is removed only when **both** hold:

1. **No live process holds it.** A writer keeps an exclusive ``flock(2)`` lock on its
   scratch file (or on a ``.held`` marker inside its scratch directory) for as long
   as it uses it (:func:`hold`). The kernel drops the lock when the file descriptor
   is closed — normally, or because the process died however it died — so a locked
   file belongs to a process that is still running, on this machine or another one
   sharing the directory over a file system with working locks.
2. **It is old.** The entry and every file in it were last modified more than
   ``older_than`` seconds ago (:data:`STALE_AFTER`, one hour, by default). This
   covers the instant between creating a file and locking it, and file systems or
   platforms without ``flock`` (there only this rule applies; a writer that stops
   writing for an hour is then at risk, which no Baryon writer does).

Names carry the writer's process id (``put-<pid>-...``) for people reading a
directory listing; the sweep does not rely on them, since process ids are reused.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

try:  # POSIX; on Windows only the age rule applies
    import fcntl
except ImportError:  # pragma: no cover - not on the platforms CI runs
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "MARKER",
    "STALE_AFTER",
    "hold",
    "is_held",
    "open_scratch_dir",
    "scratch_dir",
    "scratch_file",
    "sweep",
]

#: Seconds after its last change before an unheld scratch entry counts as left behind.
STALE_AFTER = 3600.0
#: The file a scratch directory's owner holds (see :func:`open_scratch_dir`).
MARKER = ".held"


def hold(fd: int) -> None:
    """Take an exclusive ``flock`` on open file ``fd`` for as long as it stays open.

    Raises
    ------
    BlockingIOError
        Another open file (another process) already holds the file.
    """
    if fcntl is not None:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)


def is_held(path: Path) -> bool:
    """Whether a live process holds ``path`` (a file) with :func:`hold`."""
    if fcntl is None:
        return False
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return False  # gone already, or unreadable: not ours to judge as held
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # closing drops the lock just taken
    return False


@contextlib.contextmanager
def scratch_file(directory: Path | None, *, prefix: str, suffix: str = "") -> Iterator[Path]:
    """A new empty file in ``directory``, held by this process, deleted at the end.

    Parameters
    ----------
    directory : Path or None
        Where (created if missing); ``None``: the system's temporary directory.
    prefix, suffix : str
        Name parts; the process id follows ``prefix``.

    Yields
    ------
    Path
        The file; write it through your own handle (the lock is on another one).
    """
    if directory is not None:
        directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}-", suffix=suffix)
    try:
        hold(fd)
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)
        os.close(fd)


def open_scratch_dir(directory: Path, *, prefix: str) -> tuple[Path, int]:
    """Make a new directory in ``directory`` and hold it through its :data:`MARKER`.

    Returns
    -------
    (Path, int)
        The directory and the marker's file descriptor: close it after removing the
        directory (:func:`scratch_dir` does both).
    """
    directory.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(dir=directory, prefix=f"{prefix}{os.getpid()}-"))
    fd = os.open(workdir / MARKER, os.O_WRONLY | os.O_CREAT, 0o600)
    hold(fd)
    return workdir, fd


@contextlib.contextmanager
def scratch_dir(directory: Path, *, prefix: str) -> Iterator[Path]:
    """A new directory in ``directory``, held by this process, removed at the end."""
    workdir, fd = open_scratch_dir(directory, prefix=prefix)
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        os.close(fd)


def _stale(entry: Path, deadline: float) -> bool:
    """Whether ``entry`` (a file, or a directory and everything in it) is old and unheld."""
    try:
        if entry.lstat().st_mtime > deadline:
            return False
        if entry.is_symlink() or not entry.is_dir():
            return entry.is_symlink() or not is_held(entry)
        for inner in entry.rglob("*"):
            if inner.lstat().st_mtime > deadline:
                return False
            if inner.is_file() and not inner.is_symlink() and is_held(inner):
                return False
    except FileNotFoundError:
        return False  # its owner removed it meanwhile
    return True


def sweep(
    directory: Path, *, older_than: float = STALE_AFTER, now: float | None = None
) -> list[Path]:
    """Remove the entries of ``directory`` a crashed process left (the safety rule above).

    Parameters
    ----------
    directory : Path
        A scratch directory (missing: nothing to do).
    older_than : float
        Seconds since an entry's last change before it may go (>= 0).
    now : float, optional
        The current time as a POSIX timestamp (default: the system clock).

    Returns
    -------
    list of Path
        What was removed. Entries that cannot be removed (permissions) are left and
        not listed; the sweep never raises for them.
    """
    if not directory.is_dir():
        return []
    deadline = (time.time() if now is None else now) - older_than
    removed = []
    for entry in sorted(directory.iterdir()):
        if not _stale(entry, deadline):
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.rmtree(entry)
            else:
                entry.unlink()
        except OSError:
            continue
        removed.append(entry)
    return removed
