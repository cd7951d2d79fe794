"""Services at run time: loading them from files or modules, ``setup()`` once, calls.

:func:`load_services` turns the specs ``baryon serve`` was given (``my_service.py``,
``my_service.py:Class``, ``package.module`` or ``package.module:Class``) into
:class:`ServedService` objects, one per class. A :class:`ServedService` owns the one
instance of its class in this process, calls its ``setup()`` once (thread-safe: the
first caller runs it, the others wait), remembers a failure (logged with its
traceback; every later call is 503 ``service_setup_failed`` without running ``setup``
again), runs endpoint methods and checks what they return against their type hints.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import logging
import math
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticSerializationError

from baryon.core.errors import BaryonError, InvalidInput, ModelNotReady
from baryon.services._declare import Endpoint, Service, service_endpoints, service_name

__all__ = ["ServedService", "check_result", "load_services"]

logger = logging.getLogger("baryon.services")


class ServedService:
    """One service class served by this process.

    Parameters
    ----------
    cls : type of Service
    owner_org_id : str, optional
        The organization that owns the service: only its keys may call it (another
        organization's get the 404 of a route that does not exist). ``None``: the operator's
        service, offered to every organization (as the bundled solutions are).
    source : str
        Where the class came from (the spec), for messages.

    Raises
    ------
    InvalidInput
        Code ``invalid_service`` for a class whose declarations are wrong
        (:func:`~baryon.services._declare.service_endpoints`), or whose ``version`` is
        not an int ``>= 1``.
    """

    def __init__(
        self, cls: type[Service], *, owner_org_id: str | None = None, source: str = ""
    ) -> None:
        self.cls = cls
        self.name = service_name(cls)
        version = cls.version
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise InvalidInput(
                f"{cls.__name__}.version must be an int >= 1, got {version!r}",
                code="invalid_service",
            )
        self.version = version
        self.endpoints = service_endpoints(cls)
        self.owner_org_id = owner_org_id
        self.source = source or f"{cls.__module__}:{cls.__qualname__}"
        self._lock = threading.Lock()
        self._instance: Service | None = None
        self._failure: BaryonError | None = None

    def visible_to(self, org_id: str) -> bool:
        """Whether keys of organization ``org_id`` may call the service."""
        return self.owner_org_id is None or self.owner_org_id == org_id

    def ready(self) -> Service:
        """Return the set-up instance, running ``setup()`` first if no call did yet.

        Raises
        ------
        ModelNotReady
            Code ``service_setup_failed`` (503): the class could not be made or its
            ``setup()`` raised (now or before); the traceback is in the server's log.
        """
        instance = self._instance
        if instance is not None:
            return instance
        with self._lock:
            if self._instance is not None:
                return self._instance
            if self._failure is not None:
                raise self._failure
            try:
                made = self.cls()
                made.setup()
            except Exception as exc:
                logger.exception("service %s (%s): setup() failed", self.name, self.source)
                self._failure = ModelNotReady(
                    f"service {self.name!r} is unavailable: its setup failed "
                    "(the operator's log has the cause)",
                    code="service_setup_failed",
                    details={"service": self.name, "error": type(exc).__name__},
                )
                raise self._failure from None
            self._instance = made
            return made

    def call(self, spec: Endpoint, body: BaseModel) -> Any:
        """Run endpoint ``spec`` on ``body`` and return its checked, JSON-ready result.

        Parameters
        ----------
        spec : Endpoint
            One of :attr:`endpoints`.
        body : BaseModel
            An instance of ``spec.request_model``.

        Returns
        -------
        object
            The method's return value, checked strictly against its return type and
            dumped to JSON values.

        Raises
        ------
        ModelNotReady
            ``service_setup_failed`` (see :meth:`ready`).
        BaryonError
            What the method raised, if a :class:`BaryonError`; else code
            ``service_error`` (500, the traceback logged); code
            ``invalid_service_output`` (500) when the result breaks the type hints,
            with the offending ``field`` in ``details``.
        """
        instance = self.ready()
        kwargs = {name: getattr(body, name) for name in type(body).model_fields}
        try:
            value = getattr(instance, spec.method)(**kwargs)
        except BaryonError:
            raise
        except Exception as exc:
            logger.exception("service %s: endpoint %s raised", self.name, spec.path)
            raise BaryonError(
                f"service {self.name!r} failed on {spec.path!r}",
                code="service_error",
                details={"service": self.name, "endpoint": spec.path, "error": type(exc).__name__},
            ) from None
        return check_result(self.name, spec, value)


def check_result(service: str, spec: Endpoint, value: Any) -> Any:
    """Check ``value`` strictly against ``spec``'s return type; return it as JSON values.

    Raises
    ------
    BaryonError
        Code ``invalid_service_output`` (500): ``details`` name the first offending
        ``field`` (``result``, ``result.0.score``) and what is wrong with it.
    """
    try:
        checked = spec.result.validate_python(value, strict=True)
        dumped = spec.result.dump_python(checked, mode="json")
    except PydanticSerializationError as exc:  # e.g. an object() inside a dict result
        why = str(exc)
        raise _invalid_output(service, spec, "result", "value_not_serializable", why) from None
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        field = ".".join(["result", *(str(part) for part in first["loc"])])
        logger.error(
            "service %s: endpoint %s returned a value its type hints forbid at %s: %s",
            service, spec.path, field, first["msg"],
        )  # fmt: skip
        raise BaryonError(
            f"service {service!r} returned an invalid {field} from {spec.path!r}: {first['msg']}",
            code="invalid_service_output",
            details={"service": service, "endpoint": spec.path, "field": field,
                     "error": first["type"]},
        ) from None  # fmt: skip
    bad = _non_finite(spec.result.dump_python(checked), "result")  # before JSON makes null
    if bad is not None:  # JSON has no NaN or infinity: never sent as null
        raise _invalid_output(service, spec, bad, "non_finite_number", "not a finite number")
    return dumped


def _non_finite(value: Any, where: str) -> str | None:
    """The path of the first NaN or infinity in ``value`` (plain values), else ``None``."""
    if isinstance(value, float):
        return None if math.isfinite(value) else where
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _non_finite(item, f"{where}.{key}")
        if found is not None:
            return found
    return None


def _invalid_output(service: str, spec: Endpoint, field: str, error: str, why: str) -> BaryonError:
    logger.error(
        "service %s: endpoint %s returned a value its type hints forbid at %s: %s",
        service, spec.path, field, why,
    )  # fmt: skip
    return BaryonError(
        f"service {service!r} returned an invalid {field} from {spec.path!r}: {why}",
        code="invalid_service_output",
        details={"service": service, "endpoint": spec.path, "field": field, "error": error},
    )


def load_services(specs: Sequence[str], *, owner_org_id: str | None = None) -> list[ServedService]:
    """Import the service classes ``specs`` name.

    Parameters
    ----------
    specs : sequence of str
        Each ``path/to/file.py`` (every Service subclass the file defines),
        ``path/to/file.py:Class``, ``package.module`` or ``package.module:Class``.
    owner_org_id : str, optional
        The organization owning every service loaded (see :class:`ServedService`).

    Returns
    -------
    list of ServedService
        In the order of ``specs`` (then of definition in each module).

    Raises
    ------
    InvalidInput
        Code ``invalid_service``: no such file or module, a module that fails to
        import (the cause chained), no Service subclass where one was expected, wrong
        declarations, or two services of one name.
    """
    served: list[ServedService] = []
    names: dict[str, str] = {}
    for spec in specs:
        for cls in _classes(spec):
            one = ServedService(cls, owner_org_id=owner_org_id, source=spec)
            if one.name in names:
                raise InvalidInput(
                    f"two services are named {one.name!r} ({names[one.name]} and {spec})",
                    code="invalid_service",
                )
            names[one.name] = spec
            served.append(one)
    return served


def _classes(spec: str) -> list[type[Service]]:
    target, _, attr = spec.rpartition(":") if ":" in spec else (spec, "", "")
    module = _import(target)
    if attr:
        found = getattr(module, attr, None)
        if not (isinstance(found, type) and issubclass(found, Service)):
            raise InvalidInput(
                f"{spec}: {attr} is not a baryon.Service subclass", code="invalid_service"
            )
        return [found]
    classes = [
        value
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Service)
        and value is not Service
        and value.__module__ == module.__name__
    ]
    if not classes:
        raise InvalidInput(f"{spec} defines no baryon.Service subclass", code="invalid_service")
    return classes


def _import(target: str) -> ModuleType:
    if target.endswith(".py") or "/" in target or "\\" in target:
        path = Path(target).expanduser().resolve()
        if not path.is_file():
            raise InvalidInput(f"no service file {target}", code="invalid_service")
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:12]
        name = f"baryon_service_{path.stem}_{digest}"
        if name in sys.modules:
            return sys.modules[name]
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise InvalidInput(f"{target} is not a Python file", code="invalid_service")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # type hints and pydantic look the module up by name
        try:
            spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[name]
            raise InvalidInput(
                f"importing {target} failed: {type(exc).__name__}: {exc}", code="invalid_service"
            ) from exc
        return module
    try:
        return importlib.import_module(target)
    except Exception as exc:
        raise InvalidInput(
            f"importing {target} failed: {type(exc).__name__}: {exc}", code="invalid_service"
        ) from exc
