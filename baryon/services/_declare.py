"""What a user writes: a :class:`Service` subclass with :func:`endpoint` methods.

A service is a plain Python class. Its :meth:`Service.setup` loads what the endpoints
need (a model, a word list) and is called once, by Baryon, never at import. Each
method marked with :func:`endpoint` becomes one HTTP route; the type hints of its
parameters become the JSON request body (one field per parameter) and its return type
the ``result`` of the answer, both checked by pydantic::

    import baryon

    class Echo(baryon.Service):
        @baryon.endpoint(path="shout", units="texts")
        def shout(self, texts: list[str]) -> list[str]:
            return [t.upper() for t in texts]

Reading a class (:func:`service_endpoints`) imports nothing heavy and runs none of the
user's code: only the declarations are read.
"""

from __future__ import annotations

import inspect
import re
import typing
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from pydantic import BaseModel, ConfigDict, TypeAdapter, create_model

from baryon.core.errors import InvalidInput

__all__ = [
    "ENDPOINT_PATH_PATTERN",
    "SERVICE_NAME_PATTERN",
    "Endpoint",
    "Service",
    "endpoint",
    "service_endpoints",
    "service_name",
]

#: A service's name: 1-64 lower-case letters, digits, ``_`` or ``-``, starting with a
#: letter or digit (it is a segment of the service's URLs).
SERVICE_NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
#: An endpoint's path: one or more ``/``-separated segments of letters, digits, ``_``,
#: ``.`` or ``-`` (no path parameters: the body carries the inputs).
ENDPOINT_PATH_PATTERN = r"^[A-Za-z0-9_.-]{1,64}(/[A-Za-z0-9_.-]{1,64}){0,7}$"
_NAME_RE = re.compile(SERVICE_NAME_PATTERN)
_PATH_RE = re.compile(ENDPOINT_PATH_PATTERN)
_MARK = "__baryon_endpoint__"

F = TypeVar("F", bound=Callable[..., Any])


class Service:
    """Base class of a service: subclass it, override :meth:`setup`, mark endpoints.

    Attributes
    ----------
    name : str, optional
        The service's name in its URLs (``/v1/services/<name>/...``), matching
        ``^[a-z0-9][a-z0-9_-]{0,63}$``; default: the class name in lower case.
    version : int
        Logged with every call in the prediction log (``model_version``) and answered
        as ``service_version``; default 1. Raise it when the service's behaviour
        changes, so that feedback can tell the versions apart.

    Notes
    -----
    Baryon makes one instance per server process (``cls()``: the constructor takes no
    argument) and calls :meth:`setup` once, before the first call it serves (at
    start-up, or on the first call). Endpoint methods may then run concurrently in
    several threads: keep what ``setup`` loads read-only, or guard it.
    """

    name: ClassVar[str | None] = None
    version: ClassVar[int] = 1

    def setup(self) -> None:
        """Load what the endpoints need (models, data); called once, never at import.

        An exception raised here is logged with its traceback, and every endpoint of
        the service then answers 503 ``service_setup_failed`` (other services keep
        serving).
        """


def endpoint(*, path: str | None = None, units: int | str = 1) -> Callable[[F], F]:
    """Mark a :class:`Service` method as an HTTP endpoint.

    Parameters
    ----------
    path : str, optional
        The endpoint's path under the service (``POST /v1/services/<service>/<path>``):
        segments of letters, digits, ``_``, ``.`` and ``-`` separated by ``/``.
        Default: the method's name.
    units : int or str
        What one call costs in metered units (counted against the organization's
        quota and shown in its usage): an int ``>= 1`` is a constant per call; a
        str names a ``list`` parameter of the method, and a call costs one unit per
        item of that list (``units="texts"``: ten texts, ten units; an empty list is
        free).

    Returns
    -------
    callable
        The decorator; it returns the method unchanged (marked).

    Raises
    ------
    InvalidInput
        Code ``invalid_service`` for a malformed path or units (when the class is
        defined); a ``units`` that names no list parameter is refused when the
        service is loaded.
    """
    if path is not None and not (isinstance(path, str) and _PATH_RE.match(path.strip("/"))):
        raise InvalidInput(
            f"endpoint path {path!r} must be segments of letters, digits, '_', '.', '-' "
            "separated by '/'",
            code="invalid_service",
        )
    if isinstance(units, bool) or not isinstance(units, int | str):
        raise InvalidInput("units must be an int >= 1 or a parameter name", code="invalid_service")
    if isinstance(units, int) and units < 1:
        raise InvalidInput(f"units must be >= 1, got {units}", code="invalid_service")

    def mark(func: F) -> F:
        setattr(func, _MARK, (path, units))
        return func

    return mark


@dataclass(frozen=True)
class Endpoint:
    """One endpoint of a service, read from its declaration.

    Attributes
    ----------
    method : str
        The method's name.
    path : str
        Its path under the service (no leading ``/``).
    units : int or str
        Units per call, or the name of the list parameter counted per item.
    request_model : type of BaseModel
        The JSON body: one field per parameter (required unless it has a default);
        unknown fields are refused.
    result : TypeAdapter
        Checks (strictly) and dumps the method's return value.
    result_type : object
        The return annotation (``Any`` when none is given).
    summary : str
        The first line of the method's docstring (the OpenAPI summary).
    description : str
        The method's whole docstring.
    """

    method: str
    path: str
    units: int | str
    request_model: type[BaseModel]
    result: TypeAdapter[Any]
    result_type: Any
    summary: str
    description: str

    def units_of(self, body: BaseModel) -> int:
        """Return the units a call with ``body`` costs (``>= 0``)."""
        if isinstance(self.units, int):
            return self.units
        return len(getattr(body, self.units))


def service_name(cls: type[Service]) -> str:
    """Return ``cls``'s service name (its ``name``, else its class name in lower case).

    Raises
    ------
    InvalidInput
        Code ``invalid_service`` for a name that does not match
        :data:`SERVICE_NAME_PATTERN`.
    """
    name = cls.name if cls.name is not None else cls.__name__.lower()
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidInput(
            f"service name {name!r} must be 1-64 lower-case letters, digits, '_' or '-' "
            "(set the class attribute name)",
            code="invalid_service",
        )
    return name


def service_endpoints(cls: type[Service]) -> list[Endpoint]:
    """Return the endpoints ``cls`` declares, in the order of their definition.

    Parameters
    ----------
    cls : type of Service

    Returns
    -------
    list of Endpoint

    Raises
    ------
    InvalidInput
        Code ``invalid_service``: not a :class:`Service` subclass, no endpoint, two
        endpoints on one path, a parameter without a type hint, a ``*args`` or
        ``**kwargs`` parameter, an ``async def`` method, a ``units`` naming no list
        parameter, or a type pydantic cannot check.
    """
    if not (isinstance(cls, type) and issubclass(cls, Service)):
        raise InvalidInput(f"{cls!r} is not a baryon.Service subclass", code="invalid_service")
    found: list[Endpoint] = []
    seen: set[str] = set()
    for attr, func in _members(cls):
        path, units = getattr(func, _MARK)
        spec = _endpoint_of(cls, attr, func, path or attr, units)
        if spec.path in seen:
            raise InvalidInput(
                f"{cls.__name__} has two endpoints on path {spec.path!r}", code="invalid_service"
            )
        seen.add(spec.path)
        found.append(spec)
    if not found:
        raise InvalidInput(
            f"{cls.__name__} declares no endpoint (mark methods with @baryon.endpoint)",
            code="invalid_service",
        )
    return found


def _members(cls: type[Service]) -> list[tuple[str, Callable[..., Any]]]:
    out: dict[str, Callable[..., Any]] = {}
    for klass in reversed(cls.__mro__):
        for attr, value in vars(klass).items():
            if callable(value) and hasattr(value, _MARK):
                out[attr] = value
            elif attr in out:
                del out[attr]  # overridden by something that is not an endpoint
    return list(out.items())


def _endpoint_of(
    cls: type[Service], attr: str, func: Callable[..., Any], path: str, units: int | str
) -> Endpoint:
    where = f"{cls.__name__}.{attr}"
    if inspect.iscoroutinefunction(func):
        raise InvalidInput(
            f"{where}: endpoints are plain methods (def, not async def); Baryon runs them "
            "in its thread pool",
            code="invalid_service",
        )
    try:
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # a hint naming something undefined
        raise InvalidInput(
            f"{where}: cannot read its type hints ({exc})", code="invalid_service"
        ) from None
    fields: dict[str, Any] = {}
    params = list(inspect.signature(func).parameters.values())[1:]  # without self
    for param in params:
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD, param.POSITIONAL_ONLY):
            raise InvalidInput(
                f"{where}: parameter {param.name!r} must be a plain or keyword parameter",
                code="invalid_service",
            )
        if param.name not in hints:
            raise InvalidInput(
                f"{where}: parameter {param.name!r} needs a type hint", code="invalid_service"
            )
        default = ... if param.default is param.empty else param.default
        fields[param.name] = (hints[param.name], default)
    if isinstance(units, str):
        origin = typing.get_origin(fields.get(units, (None,))[0])
        if units not in fields or origin not in (list, tuple, set, frozenset):
            raise InvalidInput(
                f"{where}: units={units!r} must name a list parameter", code="invalid_service"
            )
    result_type = hints.get("return", Any)
    model_name = f"service_{service_name(cls)}_{attr}_request"  # service names are unique
    try:
        request_model = create_model(model_name, __config__=ConfigDict(extra="forbid"), **fields)
        result: TypeAdapter[Any] = TypeAdapter(result_type, config=None)
        result.json_schema()
        request_model.model_json_schema()
    except Exception as exc:  # pydantic cannot check this type
        raise InvalidInput(f"{where}: {exc}", code="invalid_service") from None
    doc = inspect.getdoc(func) or ""
    return Endpoint(
        method=attr,
        path=path.strip("/"),
        units=units,
        request_model=request_model,
        result=result,
        result_type=result_type,
        summary=doc.splitlines()[0] if doc else attr,
        description=doc,
    )
