"""A dataset upload: its text fields and its ingest, one path for ``POST /v1/datasets``
and the console's upload form.

:class:`UploadForm` states each field's rule once: the OpenAPI document shows it
(:func:`upload_body`) and :func:`read_form` enforces it, with the same named codes as
``baryon data ingest`` (``invalid_name``, ``invalid_format``, ``invalid_delimiter``,
``unknown_encoding``, ``invalid_option``, ``invalid_role``, ``invalid_type``,
``invalid_mask_pii``). :func:`ingest_upload` stores the received file with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    ValidationError,
)
from pydantic_core import CoreSchema, PydanticCustomError, core_schema

from baryon.core.errors import CODES, InvalidInput
from baryon.core.refs import NAME_PATTERN, WHITE_SPACE, check_name
from baryon.data.schema import LOGICAL_TYPES, ROLES, check_roles, check_types, parse_pairs
from baryon.data.sources import FORMATS
from baryon.serving.fields import OneOf, named
from baryon.serving.uploads import MAX_PARTS, Upload

if TYPE_CHECKING:
    from baryon.data.versions import DatasetVersion
    from baryon.workspace import Workspace

__all__ = ["UPLOAD_FIELDS", "UploadForm", "ingest_upload", "read_form", "upload_body"]


class _Pair:
    """A ``COLUMN=VALUE`` form field whose value is one of ``values`` (any case).

    Validated by the domain's own parser (:func:`~baryon.data.schema.parse_pairs`, then
    ``check``), so its codes stay the command line's (``invalid_option``,
    ``invalid_role``, ``invalid_type``); the JSON Schema pattern says the same.
    """

    def __init__(
        self, what: str, values: tuple[str, ...], check: Callable[[dict[str, str]], Any]
    ) -> None:
        self.what, self.values, self.check = what, values, check

    def pattern(self) -> str:
        either = "|".join("".join(f"[{c.lower()}{c.upper()}]" for c in v) for v in self.values)
        any_char = "[\\s\\S]"
        ws = f"[{WHITE_SPACE}]"
        return f"^{any_char}*[^{WHITE_SPACE}]{any_char}*={ws}*(?:{either}){ws}*$"

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> CoreSchema:
        return core_schema.no_info_after_validator_function(self._validate, handler(source))

    def __get_pydantic_json_schema__(self, schema: Any, handler: GetJsonSchemaHandler) -> Any:
        out = handler(schema)
        out["pattern"] = self.pattern()
        return out

    def _validate(self, value: str) -> str:
        try:
            self.check(parse_pairs([value], self.what))
        except InvalidInput as error:
            raise PydanticCustomError(error.code, error.message) from None
        return value


#: A delimiter: one character but a quote or a line break, or a name the ingest knows
#: (any case: ``tab``, ``\\t``, ``comma``, ``semicolon``, ``pipe``).
_DELIMITER = (
    '^(?:[^"\\r\\n]|'
    + "|".join(
        "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in name)
        for name in ("\\t", "tab", "comma", "semicolon", "pipe")
    )
    + ")$"
)
#: Most ``role``, ``type`` or ``mask_pii`` fields: an upload has at most MAX_PARTS parts,
#: six of them the file and the single fields.
_MAX_PAIRS = (MAX_PARTS - 6) // 3
_REPEATED = ("role", "type", "mask_pii")


class UploadForm(BaseModel):
    """The text fields of a dataset upload (the file is the part ``file``)."""

    model_config = ConfigDict(extra="forbid")

    name: Annotated[
        str,
        Field(pattern=f"^{NAME_PATTERN}$", max_length=100),
        named("invalid_name", "invalid dataset name: 1-100 letters, digits, '.', '_' or '-'"),
    ] = Field(description="Dataset name.")
    format: Annotated[str, OneOf((*FORMATS, "ndjson"), "invalid_format", "format")] | None = Field(
        default=None, description="Default: guessed from the file."
    )
    delimiter: (
        Annotated[
            str,
            Field(pattern=_DELIMITER),
            named(
                "invalid_delimiter",
                "one character other than a quote or newline, or tab, comma, semicolon, pipe",
            ),
        ]
        | None
    ) = Field(default=None, description="Field delimiter, e.g. ';' or 'tab'.")
    encoding: (
        Annotated[
            str,
            Field(max_length=40, pattern="^[A-Za-z0-9][A-Za-z0-9_.:+ -]*$"),
            named("unknown_encoding", "an encoding is a name such as utf-8 or cp1252"),
        ]
        | None
    ) = Field(
        default=None,
        description="Text encoding, e.g. cp1252 (default: detect); unknown: unknown_encoding.",
    )
    role: list[Annotated[str, _Pair("role", ROLES, check_roles)]] = Field(
        default_factory=list,
        max_length=_MAX_PAIRS,
        description="COLUMN=ROLE; repeat the field for several columns.",
    )
    type: list[Annotated[str, _Pair("type", LOGICAL_TYPES, check_types)]] = Field(
        default_factory=list,
        max_length=_MAX_PAIRS,
        description="COLUMN=TYPE; repeat the field for several columns.",
    )
    mask_pii: list[
        Annotated[
            str,
            Field(min_length=1, max_length=300),
            named("invalid_mask_pii", "a column to mask is named by 1 to 300 characters"),
        ]
    ] = Field(
        default_factory=list,
        max_length=_MAX_PAIRS,
        description="A column whose e-mails, IBANs, card and phone numbers are masked "
        "before any version is stored; repeat the field for several columns.",
    )
    sensitive: Annotated[str, OneOf(("true", "false"), "invalid_flag", "sensitive")] | None = Field(
        default=None, description="true: encrypt this dataset at rest (every version)."
    )


#: The names of the text fields (besides the file).
UPLOAD_FIELDS = tuple(UploadForm.model_fields)


def upload_body() -> dict[str, Any]:
    """Return the OpenAPI ``requestBody`` of an upload: the file and :class:`UploadForm`."""
    form = UploadForm.model_json_schema()
    for prop in form["properties"].values():  # a form field is absent, never null
        kinds = [k for k in prop.pop("anyOf", []) if k != {"type": "null"}]
        if kinds:
            prop.update(kinds[0])
    form["required"] = ["file", *form.get("required", [])]
    form["properties"] = {
        "file": {
            "type": "string",
            "format": "binary",
            "description": "CSV/TSV (optionally .gz), JSON Lines, JSON array, Parquet or "
            ".xlsx; the file name's extension helps detect the format.",
        },
        **form["properties"],
    }
    form["additionalProperties"] = False
    return {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": form,
                "encoding": {name: {"style": "form", "explode": True} for name in _REPEATED},
            }
        },
    }


def read_form(upload: Upload, *, blank_is_absent: bool = False) -> UploadForm:
    """Return the upload's text fields, validated by :class:`UploadForm`.

    Parameters
    ----------
    upload : Upload
    blank_is_absent : bool
        Take an empty field as not given (an HTML form sends its empty fields); the
        API refuses an empty value where the schema does.

    Raises
    ------
    InvalidInput
        ``missing_field`` (no ``name``), ``invalid_upload`` (a single field given
        twice), or the named code of the field's rule (``invalid_delimiter``, ...;
        ``invalid_input`` when several rules fail), with ``details["errors"]``
        as a schema error's ``loc``, ``msg`` and ``type``.
    """
    upload.value("name", required=True)  # missing_field before the form's rules
    raw: dict[str, Any] = {}
    for name in UPLOAD_FIELDS:
        if name in _REPEATED:
            values = [v for v in upload.values(name) if v or not blank_is_absent]
            if values:
                raw[name] = values
        elif (value := upload.value(name)) is not None and (value or not blank_is_absent):
            raw[name] = value
    try:
        return UploadForm.model_validate(raw)
    except ValidationError as error:
        errors = [
            {"loc": ["body", *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in error.errors()
        ]
        kinds = {e["type"] for e in error.errors()}
        code = next(iter(kinds)) if len(kinds) == 1 and kinds <= CODES.keys() else "invalid_input"
        first = error.errors()[0]
        raise InvalidInput(
            f"{'.'.join(map(str, first['loc']))}: {first['msg']}",
            code=code,
            details={"errors": errors},
        ) from None


def ingest_upload(
    ws: Workspace, upload: Upload, *, actor: str, blank_is_absent: bool = False
) -> tuple[DatasetVersion, bool]:
    """Store an uploaded file as a version of the dataset its ``name`` field names.

    The fields (:class:`UploadForm`, read by :func:`read_form`) are those of
    :meth:`baryon.data.versions.DatasetStore.ingest` (``baryon data ingest``).

    Parameters
    ----------
    ws : Workspace
        The uploading organization's view.
    upload : Upload
    actor : str
        Who uploads (audit).
    blank_is_absent : bool
        An empty field counts as not given (the console's HTML form).

    Returns
    -------
    (DatasetVersion, bool)
        The version, and whether it is new (the same bytes with the same options
        give the existing version back).

    Raises
    ------
    InvalidInput
        The errors of :func:`read_form` and every ingest error (``empty_file``,
        ``header_only``, ``encoding_error``, ``ragged_rows``, ``unknown_column``, ...).
    """
    form = read_form(upload, blank_is_absent=blank_is_absent)
    name = check_name(form.name, kind="dataset")
    before = set(ws.datasets.version_ids(name))
    version = ws.datasets.ingest(
        upload.path,
        name=name,
        format=form.format,
        delimiter=form.delimiter,
        encoding=form.encoding,
        roles=parse_pairs(form.role, "role"),
        types=parse_pairs(form.type, "type"),
        mask_pii=form.mask_pii or None,
        sensitive=form.sensitive == "true",
        actor=actor,
    )
    return version, version.id not in before
