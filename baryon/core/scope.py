"""Organization scope: the one place that applies the caller's organization to queries.

Every dataset, dataset version, run, registered model (and its versions, aliases and
alias history), endpoint, prediction, feedback, labeling task, hand-off, sentiment
item/alert and recommender event belongs to one organization: its table mixes in
:class:`OrgOwned` (an ``org_id`` column). A session opened with a :class:`Scope`
(``Database.session(scope=...)``) then applies that scope to **every** ORM statement
by itself, so no store or route filters by hand and none can forget to:

- ``SELECT`` sees the scope's own rows and the rows another organization granted it
  (``read`` or ``predict``, see :mod:`baryon.tenancy.grants`);
- ``UPDATE`` and ``DELETE`` reach the scope's own rows only;
- a flush that inserts, changes or deletes a row of another organization raises
  :class:`~baryon.core.errors.NotFound` (an insert with no ``org_id`` gets the
  scope's).

A session opened **without** a scope refuses any statement on an owned table
(``ScopeRequired``): forgetting the scope fails closed. Maintenance that really
spans organizations (migrations, the readiness probe, the job reaper) says so with
:data:`SYSTEM`.

The mechanism is SQLAlchemy's ``do_orm_execute`` event with
:func:`~sqlalchemy.orm.with_loader_criteria` (the "multi-tenancy" recipe of the
SQLAlchemy ORM documentation, *ORM Querying Guide → ORM Events → Adding global WHERE /
ON criteria*). Core statements run on a raw ``Connection`` are outside it; the few
hot-path writes that use one insert rows with an explicit ``org_id``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, ClassVar

from sqlalchemy import ForeignKey, String, event, or_
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from baryon.core.errors import BaryonError, InvalidInput, NotFound

__all__ = [
    "OPERATOR_ORG_ID",
    "SYSTEM",
    "OrgOwned",
    "Scope",
    "ScopeRequired",
    "install_scope_guard",
    "own_rows",
    "pick_by_owner",
]

#: Id of the operator organization every workspace has (migration ``0007``): it owns
#: what the CLI and the bundled solutions create, and every row that existed before
#: organizations owned objects.
OPERATOR_ORG_ID = "org_00000000000000000000000000"


class ScopeRequired(BaryonError):
    """An owned table was queried without an organization scope (a programming error)."""

    code = "scope_required"
    http_status = 500


@dataclass(frozen=True)
class Scope:
    """Whose rows a session may see and change.

    Attributes
    ----------
    org_id : str or None
        The acting organization; ``None`` only for :data:`SYSTEM`.
    org_name : str
        Its name (what ``OWNER/NAME`` references are written with).
    readable : mapping of str to frozenset of str
        ``{"model": {model ids}, "dataset": {dataset ids}}`` that other
        organizations granted this one (``read`` or ``predict``).
    predictable : frozenset of str
        Model ids granted with ``predict``.
    owners : mapping of str to str
        ``{organization name: organization id}`` of this organization and every
        organization that granted it something (resolves ``OWNER/NAME``).
    system : bool
        Spans every organization (maintenance only).
    """

    org_id: str | None
    org_name: str = ""
    readable: Mapping[str, frozenset[str]] = field(default_factory=dict)
    predictable: frozenset[str] = frozenset()
    owners: Mapping[str, str] = field(default_factory=dict)
    system: bool = False

    @classmethod
    def own(cls, org_id: str, org_name: str = "") -> Scope:
        """A scope that sees only ``org_id``'s own rows (no grants)."""
        return cls(org_id=org_id, org_name=org_name, owners={org_name: org_id} if org_name else {})

    def granted(self, kind: str) -> frozenset[str]:
        """Ids of objects of ``kind`` (``model``, ``dataset``) granted to this scope."""
        return self.readable.get(kind, frozenset())

    def owns(self, org_id: str | None) -> bool:
        """Whether a row of ``org_id`` is this scope's own (always, for :data:`SYSTEM`)."""
        return self.system or (org_id is not None and org_id == self.org_id)


#: Spans every organization: migrations, readiness, the job reaper, operator tools.
SYSTEM = Scope(org_id=None, org_name="*", system=True)


class OrgOwned:
    """Mixin of every table whose rows belong to one organization.

    Subclasses may set ``__grant__ = (kind, column)`` when rows become readable to
    another organization through a grant on object ``kind`` whose id is in
    ``column`` (a registered model's versions: ``("model", "model_id")``).
    """

    __grant__: ClassVar[tuple[str, str] | None] = None

    org_id: Mapped[str] = mapped_column(
        String(40), ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )


def _owned_classes() -> list[type]:
    from baryon.core.db import Base

    return [m.class_ for m in Base.registry.mappers if issubclass(m.class_, OrgOwned)]


#: Where :func:`_on_execute` keeps a session's scope criteria once built.
_CACHED_OPTIONS = ("scope_read_options", "scope_write_options")


def _criteria(scope: Scope, *, writing: bool) -> tuple[Any, ...]:
    """One ``with_loader_criteria`` option per owned class (plain expressions, so the
    organization id is a bound parameter of the cached SQL, never a baked literal)."""
    options = []
    for cls in _owned_classes():
        rule = cls.org_id == scope.org_id  # type: ignore[attr-defined]
        grant = cls.__grant__  # type: ignore[attr-defined]
        if not writing and grant is not None and scope.granted(grant[0]):
            ids = sorted(scope.granted(grant[0]))
            rule = or_(rule, getattr(cls, grant[1]).in_(ids))
        options.append(with_loader_criteria(cls, rule, include_aliases=True))
    return tuple(options)


def _touches_owned(state: ORMExecuteState) -> bool:
    return any(issubclass(m.class_, OrgOwned) for m in state.all_mappers)


def _on_execute(state: ORMExecuteState) -> None:
    scope: Scope | None = state.session.info.get("scope")
    if state.is_insert:
        return
    if scope is None:
        if _touches_owned(state):
            raise ScopeRequired(
                "a query on an organization's objects ran without an organization scope"
            )
        return
    if scope.system or state.is_column_load or state.is_relationship_load:
        return
    writing = state.is_update or state.is_delete or _for_update(state)
    key = "scope_write_options" if writing else "scope_read_options"
    options = state.session.info.get(key)
    if options is None:
        options = state.session.info[key] = _criteria(scope, writing=writing)
    state.statement = state.statement.options(*options)


def _for_update(state: ORMExecuteState) -> bool:
    return getattr(state.statement, "_for_update_arg", None) is not None


def _on_flush(session: Session, _context: Any, _instances: Any) -> None:
    scope: Scope | None = session.info.get("scope")
    touched = [
        o for o in (*session.new, *session.dirty, *session.deleted) if isinstance(o, OrgOwned)
    ]
    if not touched:
        return
    if scope is None:
        raise ScopeRequired("an organization's object was written without an organization scope")
    if scope.system:
        return
    for obj in touched:
        if obj in session.new and getattr(obj, "org_id", None) is None:
            obj.org_id = scope.org_id  # type: ignore[assignment]
        if obj.org_id != scope.org_id:
            raise NotFound("no such object", code="not_found")


@contextmanager
def own_rows(session: Session, org_id: str) -> Iterator[Session]:
    """Within the block, a session opened without a scope reads as ``org_id``'s own.

    For a domain function that reads one organization's own objects for that
    organization (its billing period's charge, say) and is called from sessions of
    every kind: a scoped session keeps its scope (:data:`SYSTEM` sees everything; an
    organization's scope already has its own rows), and an unscoped one gets
    :meth:`Scope.own` of ``org_id`` until the block ends, instead of
    :class:`ScopeRequired`. Writes in the block follow the same scope.
    """
    if session.info.get("scope") is not None:
        yield session
        return
    session.info["scope"] = Scope.own(org_id)
    try:
        yield session
    finally:  # back to no scope, and no criteria built for this one left behind
        for key in ("scope", *_CACHED_OPTIONS):
            session.info.pop(key, None)


def install_scope_guard() -> None:
    """Attach the scope rules to every ORM :class:`~sqlalchemy.orm.Session` (idempotent).

    On the class, not one ``sessionmaker``: a session made any other way (bound to a
    connection by hand, say) is guarded too. Called by :class:`Database` when a
    database is opened, never at import.
    """
    if not event.contains(Session, "do_orm_execute", _on_execute):
        event.listen(Session, "do_orm_execute", _on_execute)
    if not event.contains(Session, "before_flush", _on_flush):
        event.listen(Session, "before_flush", _on_flush)


def pick_by_owner(rows: Iterable[Any], scope: Scope, *, owner: str | None, what: str) -> Any:
    """Choose the row a name means for ``scope`` among same-named rows of several owners.

    Own rows come first; otherwise the one granted row; with ``owner`` given
    (``OWNER/NAME``), that owner's row.

    Parameters
    ----------
    rows : iterable
        Rows with an ``org_id`` (already limited by the session's scope).
    owner : str or None
        The reference's ``OWNER`` part (an organization name or id).
    what : str
        What the name names, for the error message (``"model 'x'"``).

    Returns
    -------
    row or None
        ``None`` when nothing matches.

    Raises
    ------
    InvalidInput
        ``ambiguous_ref``: several organizations shared an object of that name and
        the reference names no owner. (An unknown ``owner`` is no match: ``None``.)
    """
    rows = list(rows)
    if owner is not None:
        # An owner that shares nothing with the scope is no different from no object.
        owner_id = scope.owners.get(owner, owner if owner in scope.owners.values() else None)
        rows = [r for r in rows if owner_id is not None and r.org_id == owner_id]
        return rows[0] if rows else None
    own = [r for r in rows if scope.owns(r.org_id)]
    if own or not rows:
        return own[0] if own else None
    if len(rows) > 1:
        names = sorted(n for n, i in scope.owners.items() if i in {r.org_id for r in rows})
        raise InvalidInput(
            f"{what} is shared with you by several organizations ({', '.join(names)}); "
            "write OWNER/NAME",
            code="ambiguous_ref",
        )
    return rows[0]
