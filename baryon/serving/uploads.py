"""Receiving an upload: a ``multipart/form-data`` body streamed to disk under a size cap.

:func:`receive_upload` parses the request body **as it arrives** with python-multipart's
streaming parser (the one Starlette's own form parsing uses) and writes the file part
straight to a private temporary directory in the workspace home; the other form fields
are short text kept in memory. At most about 1 MiB of the body is held in memory at
any time, whatever the file's size. Bytes are counted as they arrive: past
``max_bytes`` the reading stops at once with 413 ``upload_too_large`` (a
``Content-Length`` over the cap is refused before anything is read). The temporary
directory goes when the ``async with`` block ends, on success or failure alike::

    async with receive_upload(request, directory=tmp, max_bytes=cap, fields={"name"}) as up:
        version = await run_in_threadpool(store.ingest, up.path, name=up.value("name"))

Starlette's ``request.form()`` is not used: it spools files to the system's temporary
directory and has no cap on a file part. The request middleware does not buffer the
bodies of the routes that use this module (:data:`baryon.serving.routers.STREAMED`),
so the cap here is theirs, separate from ``max_body_bytes``.

Errors: 413 ``upload_too_large``; 415 ``unsupported_media_type`` (not
``multipart/form-data``); 422 ``invalid_upload`` (malformed multipart, a second file,
a field over 64 KiB or repeated when it may not be), ``missing_field``,
``unknown_field``, ``upload_incomplete`` (the client went away).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import unicodedata
from collections.abc import AsyncIterator, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import anyio
import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect, Request

from baryon.core.errors import InvalidInput, PayloadTooLarge, UnsupportedMediaType
from baryon.core.scratch import open_scratch_dir

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.workspace import Workspace

__all__ = ["UPLOAD_FIELDS", "Upload", "ingest_upload", "receive_upload", "safe_filename"]

#: The text fields of a dataset upload (besides the file): see :func:`ingest_upload`.
UPLOAD_FIELDS = (
    "name", "format", "delimiter", "encoding", "role", "type", "mask_pii", "sensitive",
)  # fmt: skip
#: Longest value of a text field, in bytes.
MAX_FIELD_BYTES = 65_536
#: Most parts (fields and the file) in one upload.
MAX_PARTS = 64
_FLUSH_BYTES = 1 << 20
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename(raw: str, default: str = "upload") -> str:
    """Return the last path component of a client's file name, in safe characters.

    Keeps letters, digits, ``.``, ``_`` and ``-`` (anything else becomes ``_``), drops
    leading dots and keeps the last 100 characters (so the extensions that tell the
    format survive): ``"../../etc/passwd"`` → ``"passwd"``, ``"Fiche client.csv"`` →
    ``"Fiche_client.csv"``.
    """
    base = unicodedata.normalize("NFKC", raw).replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = _UNSAFE.sub("_", base).lstrip(".")[-100:].lstrip(".")
    return cleaned or default


@dataclass
class Upload:
    """What :func:`receive_upload` received.

    Attributes
    ----------
    path : Path
        The uploaded file, in a private temporary directory (gone after the block).
    filename : str
        The client's file name, made safe (:func:`safe_filename`).
    size : int
        Bytes of the file.
    fields : dict of str to list of str
        The text fields, each with every value it was given, in order.
    """

    path: Path
    filename: str
    size: int
    fields: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str, *, required: bool = False) -> str | None:
        """Return the one value of text field ``name`` (``None`` when absent).

        Raises
        ------
        InvalidInput
            ``missing_field`` (required and absent or blank) or ``invalid_upload``
            (given more than once).
        """
        values = self.fields.get(name, [])
        if len(values) > 1:
            raise InvalidInput(f"the field {name!r} is given more than once", code="invalid_upload")
        value = values[0] if values else None
        if required and (value is None or not value.strip()):
            raise InvalidInput(f"the upload needs a {name!r} field", code="missing_field")
        return value

    def values(self, name: str) -> list[str]:
        """Return every value of a repeatable text field (``role``, ``type``)."""
        return list(self.fields.get(name, []))


class _Receiver:
    """The synchronous half: python-multipart callbacks that write the file to disk.

    Runs in a worker thread (one call per ~1 MiB of body), so disk writes never block
    the event loop.
    """

    def __init__(
        self, boundary: bytes, directory: Path, file_field: str, fields: Collection[str]
    ) -> None:
        self.directory = directory
        self.file_field = file_field
        self.allowed = frozenset(fields)
        self.fields: dict[str, list[str]] = {}
        self.path: Path | None = None
        self.filename = "upload"
        self.size = 0
        self.parts = 0
        self.ended = False
        self._out: BinaryIO | None = None
        self._name = ""
        self._value = bytearray()
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value_part,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
                "on_end": self._end,
            },
        )

    # ------------------------------------------------------------ callbacks
    def _part_begin(self) -> None:
        self.parts += 1
        if self.parts > MAX_PARTS:
            raise InvalidInput(f"an upload has at most {MAX_PARTS} parts", code="invalid_upload")
        self._disposition = b""
        self._name = ""
        self._value.clear()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value_part(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name = b""
        self._header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        raw_name = options.get(b"name")
        if raw_name is None:
            raise InvalidInput(
                "every part needs a Content-Disposition header with a name",
                code="invalid_upload",
            )
        self._name = raw_name.decode("utf-8", errors="replace")
        if self._name == self.file_field:
            if self.path is not None:
                raise InvalidInput(
                    f"an upload holds one file, in the field {self.file_field!r}",
                    code="invalid_upload",
                )
            raw_filename = options.get(b"filename", b"")
            self.filename = safe_filename(raw_filename.decode("utf-8", errors="replace"))
            self.path = self.directory / self.filename
            self._out = self.path.open("xb")
        elif b"filename" in options:
            raise InvalidInput(
                f"an upload holds one file, in the field {self.file_field!r} "
                f"(got a file in {self._name!r})",
                code="invalid_upload",
            )
        elif self._name not in self.allowed:
            raise InvalidInput(
                f"unknown field {self._name!r}; the fields are {self.file_field}, "
                + ", ".join(sorted(self.allowed)),
                code="unknown_field",
            )

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None and self._name == self.file_field:
            self._out.write(data[start:end])
            self.size += end - start
            return
        if len(self._value) + (end - start) > MAX_FIELD_BYTES:
            raise InvalidInput(
                f"the field {self._name!r} is longer than {MAX_FIELD_BYTES} bytes",
                code="invalid_upload",
            )
        self._value += data[start:end]

    def _part_end(self) -> None:
        if self._name == self.file_field:
            if self._out is not None:
                self._out.close()
                self._out = None
            return
        try:
            value = self._value.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidInput(
                f"the field {self._name!r} is not UTF-8 text", code="invalid_upload"
            ) from None
        self.fields.setdefault(self._name, []).append(value)

    def _end(self) -> None:
        self.ended = True

    # ------------------------------------------------------------- driving
    def write(self, data: bytes) -> None:
        """Feed body bytes to the parser (raises the callbacks' named errors)."""
        try:
            self._parser.write(data)
        except FormParserError as exc:
            raise InvalidInput(
                f"the body is not valid multipart/form-data ({exc})", code="invalid_upload"
            ) from None

    def finish(self) -> Upload:
        """Check the body was complete and had a file; return what was received."""
        try:
            self._parser.finalize()
        except FormParserError as exc:
            raise InvalidInput(
                f"the body is not valid multipart/form-data ({exc})", code="invalid_upload"
            ) from None
        if not self.ended:
            raise InvalidInput(
                "the multipart body ended before its closing boundary", code="invalid_upload"
            )
        if self.path is None:
            raise InvalidInput(
                f"the upload needs a file in the field {self.file_field!r}", code="missing_field"
            )
        return Upload(path=self.path, filename=self.filename, size=self.size, fields=self.fields)

    def close(self) -> None:
        """Close the file if a failure left it open."""
        if self._out is not None:
            self._out.close()
            self._out = None


def _too_large(max_bytes: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the upload exceeds {max_bytes} bytes (BARYON_MAX_UPLOAD_BYTES)",
        code="upload_too_large",
        details={"max_bytes": max_bytes},
    )


def _boundary(request: Request) -> bytes:
    media_type, params = parse_options_header(request.headers.get("content-type", ""))
    if media_type != b"multipart/form-data":
        raise UnsupportedMediaType(
            "send the upload as multipart/form-data (a 'file' part and form fields)"
        )
    boundary = params.get(b"boundary")
    if not boundary:
        raise InvalidInput("the multipart body has no boundary", code="invalid_upload")
    return boundary


@contextlib.asynccontextmanager
async def receive_upload(
    request: Request,
    *,
    directory: Path,
    max_bytes: int,
    fields: Collection[str],
    file_field: str = "file",
) -> AsyncIterator[Upload]:
    """Receive a ``multipart/form-data`` upload into a temporary directory.

    Parameters
    ----------
    request : Request
        Its body is read here, as a stream (nobody may have read it before).
    directory : Path
        Where the private temporary directory is made (created if missing); the
        workspace home's ``tmp/``.
    max_bytes : int
        Cap of the whole request body in bytes (the file plus a few hundred bytes
        of multipart framing).
    fields : collection of str
        Names of the text fields the route takes; any other is ``unknown_field``.
    file_field : str
        Name of the file part.

    Yields
    ------
    Upload
        The file on disk and the fields; everything is deleted after the block.

    Raises
    ------
    PayloadTooLarge
        413 ``upload_too_large``: the body is (or announces) more than ``max_bytes``.
    UnsupportedMediaType
        415: not ``multipart/form-data``.
    InvalidInput
        ``invalid_upload``, ``missing_field``, ``unknown_field`` or
        ``upload_incomplete`` (see the module docstring).
    """
    boundary = _boundary(request)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise _too_large(max_bytes)
    # held while the request lasts; a crashed server's is swept when a workspace opens
    workdir, marker = open_scratch_dir(directory, prefix="upload-")
    receiver = _Receiver(boundary, workdir, file_field, fields)
    try:
        received = 0
        pending: list[bytes] = []
        pending_bytes = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > max_bytes:
                    raise _too_large(max_bytes)
                pending.append(chunk)
                pending_bytes += len(chunk)
                if pending_bytes >= _FLUSH_BYTES:
                    await anyio.to_thread.run_sync(receiver.write, b"".join(pending))
                    pending.clear()
                    pending_bytes = 0
        except ClientDisconnect:
            raise InvalidInput(
                "the client went away before the upload ended", code="upload_incomplete"
            ) from None
        if pending:
            await anyio.to_thread.run_sync(receiver.write, b"".join(pending))
        yield receiver.finish()
    finally:
        receiver.close()
        with anyio.CancelScope(shield=True):  # a cancelled request still cleans up
            await anyio.to_thread.run_sync(shutil.rmtree, workdir, True)
            os.close(marker)


def ingest_upload(ws: Workspace, upload: Upload, *, actor: str) -> tuple[DatasetVersion, bool]:
    """Store an uploaded file as a version of the dataset its ``name`` field names.

    The one ingest path of ``POST /v1/datasets`` and the console's upload form:
    ``name`` (required) and, optionally, ``format``, ``delimiter``, ``encoding`` and
    the repeatable ``role`` / ``type`` (``COLUMN=VALUE``) and ``mask_pii`` (a column
    whose personal data is masked before anything is stored) fields, ``sensitive``
    (``true``: encrypt the dataset at rest), as
    :meth:`baryon.data.versions.DatasetStore.ingest` takes them (``baryon data
    ingest``). An empty optional field counts as not given (an HTML form sends its
    empty fields).

    Parameters
    ----------
    ws : Workspace
        The uploading organization's view.
    upload : Upload
    actor : str
        Who uploads (audit).

    Returns
    -------
    (DatasetVersion, bool)
        The version, and whether it is new (the same bytes with the same options
        give the existing version back).

    Raises
    ------
    InvalidInput
        ``missing_field``, ``invalid_name`` and every ingest error (``empty_file``,
        ``header_only``, ``encoding_error``, ``ragged_rows``, ...).
    """
    from baryon.core.refs import check_name
    from baryon.data.schema import parse_pairs

    def optional(field: str) -> str | None:
        value = upload.value(field)
        return value if value else None  # a form's empty field: not given

    name = check_name(str(upload.value("name", required=True)), kind="dataset")
    sensitive = optional("sensitive") or "false"
    if sensitive not in ("true", "false"):
        raise InvalidInput("sensitive is true or false", code="invalid_flag")
    before = set(ws.datasets.version_ids(name))
    version = ws.datasets.ingest(
        upload.path,
        name=name,
        format=optional("format"),
        delimiter=optional("delimiter"),
        encoding=optional("encoding"),
        roles=parse_pairs(upload.values("role"), "role"),
        types=parse_pairs(upload.values("type"), "type"),
        mask_pii=[column for column in upload.values("mask_pii") if column] or None,
        sensitive=sensitive == "true",
        actor=actor,
    )
    return version, version.id not in before
