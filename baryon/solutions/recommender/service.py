"""Wine recommendations with names, and the interaction events kept as feedback.

- :class:`WineCatalogue` is the bundled X-Wines wine table (id, name, type,
  grapes, country, region, winery) read once.
- :class:`Recommender` answers ``recommend(user_id, n)`` with the champion
  recommender for users it knows. A user it does not know is a **cold start**:
  with stated preferences (wine type, grapes, country) or past events the answer is
  content-based (:meth:`WineCatalogue.content_scores`), otherwise the most popular
  wines of the training data.
- :func:`record_event`, :func:`user_events` and :func:`feedback_ratings` keep and
  read ``view`` / ``click`` / ``rate`` events; rated events are rows of the next
  training set, laid out like the ratings source.

X-Wines: Rogério Xavier de Azambuja, A. Jorge Morais and Vítor Filipe, "X-Wines:
A Wine Dataset for Recommender Systems and Machine Learning", *Big Data and
Cognitive Computing* 7(1):20, 2023 (CC0 1.0).
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from baryon.core.clock import Clock, SystemClock
from baryon.core.errors import InvalidInput
from baryon.core.ids import canonical_int, new_id
from baryon.ml.recommend._interactions import lookup_ids
from baryon.solutions.recommender.tables import MAX_ID_CHARS, RecommenderEventRow

__all__ = [
    "EVENT_TYPES",
    "RATING_RANGE",
    "Event",
    "Preferences",
    "Recommendation",
    "Recommender",
    "Wine",
    "WineCatalogue",
    "feedback_ratings",
    "record_event",
    "user_events",
]

#: Interaction kinds ``POST /v1/events`` accepts.
EVENT_TYPES = ("view", "click", "rate")
#: X-Wines ratings are 1 to 5 stars (in half steps).
RATING_RANGE = (1.0, 5.0)
#: Weight of each event kind in a cold user's content profile (a rating scales it).
_EVENT_WEIGHT = {"view": 0.5, "click": 1.0, "rate": 1.0}
#: Content similarity (Jaccard on type, country and grapes), weights.
_TYPE_W, _COUNTRY_W, _GRAPES_W = 1.0, 1.0, 2.0


@dataclass(frozen=True)
class Wine:
    """One catalogue wine.

    Attributes
    ----------
    id : int
        X-Wines ``WineID``.
    name, type, country, region, winery : str
    grapes : tuple of str
    """

    id: int
    name: str
    type: str
    country: str
    grapes: tuple[str, ...]
    region: str = ""
    winery: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict (``wine_name`` for ``name``)."""
        return {
            "wine_name": self.name,
            "type": self.type,
            "country": self.country,
            "grapes": list(self.grapes),
            "region": self.region,
            "winery": self.winery,
        }


def _as_list(value: Any) -> tuple[str, ...]:
    if not isinstance(value, str) or not value.strip():
        return ()
    try:
        parsed = ast.literal_eval(value)  # the source stores "['Merlot', 'Syrah']"
    except (ValueError, SyntaxError):
        return (value.strip(),)
    if isinstance(parsed, list | tuple):
        return tuple(str(v) for v in parsed)
    return (str(parsed),)


@dataclass(frozen=True)
class Preferences:
    """Stated tastes of a cold user (any field may be empty; matching ignores case).

    Attributes
    ----------
    types, countries, grapes : tuple of str
    """

    types: tuple[str, ...] = ()
    countries: tuple[str, ...] = ()
    grapes: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.types or self.countries or self.grapes)


class WineCatalogue:
    """The wines recommendations are joined with.

    Parameters
    ----------
    wines : iterable of Wine
    """

    def __init__(self, wines: Iterable[Wine]) -> None:
        self._wines: dict[int, Wine] = {w.id: w for w in wines}

    @classmethod
    def from_frame(cls, frame: pd.DataFrame) -> WineCatalogue:
        """Build from a frame laid out like ``XWines_*_wines.csv``."""
        wines = [
            Wine(
                id=int(row["WineID"]),
                name=str(row.get("WineName") or ""),
                type=str(row.get("Type") or ""),
                country=str(row.get("Country") or ""),
                grapes=_as_list(row.get("Grapes")),
                region=str(row.get("RegionName") or ""),
                winery=str(row.get("WineryName") or ""),
            )
            for row in frame.to_dict("records")
        ]
        return cls(wines)

    @classmethod
    def bundled(cls) -> WineCatalogue:
        """The bundled X-Wines Slim wines (1,007 wines)."""
        from baryon.solutions.bundled import open_bundled

        with open_bundled("xwines", "XWines_Slim_1K_wines.csv") as fh:
            return cls.from_frame(pd.read_csv(fh))

    def __len__(self) -> int:
        return len(self._wines)

    def __contains__(self, item_id: object) -> bool:
        return self.key(item_id) is not None

    def key(self, item_id: object) -> int | None:
        """Return the catalogue id of ``item_id`` (``"100001"`` → 100001), or None.

        Ids match exactly (:func:`baryon.core.ids.canonical_int`): ``" 100001"``,
        ``"0100001"`` or ``"+100001"`` name no wine. A float names the wine of its
        integer value (model outputs may hold ids as floats).
        """
        if isinstance(item_id, float | np.floating):
            item_id = int(item_id) if np.isfinite(item_id) and float(item_id).is_integer() else None
        elif isinstance(item_id, np.integer):
            item_id = item_id.item()
        key = canonical_int(item_id)
        return key if key in self._wines else None

    def get(self, item_id: object) -> Wine | None:
        """Return the wine, or None when it is not in the catalogue."""
        key = self.key(item_id)
        return None if key is None else self._wines[key]

    @property
    def ids(self) -> list[int]:
        """Every wine id, ascending."""
        return sorted(self._wines)

    def profile(self, weighted: Iterable[tuple[object, float]]) -> Preferences:
        """Tastes implied by wines a user touched (weights > 0 count; most frequent first)."""
        counts: dict[str, dict[str, float]] = {"type": {}, "country": {}, "grapes": {}}
        for item_id, weight in weighted:
            wine = self.get(item_id)
            if wine is None or weight <= 0:
                continue
            counts["type"][wine.type] = counts["type"].get(wine.type, 0.0) + weight
            counts["country"][wine.country] = counts["country"].get(wine.country, 0.0) + weight
            for grape in wine.grapes:
                counts["grapes"][grape] = counts["grapes"].get(grape, 0.0) + weight

        def top(d: dict[str, float]) -> tuple[str, ...]:
            return tuple(k for k, _ in sorted(d.items(), key=lambda kv: (-kv[1], kv[0])) if k)

        return Preferences(top(counts["type"]), top(counts["country"]), top(counts["grapes"]))

    def content_scores(self, prefs: Preferences) -> dict[int, float]:
        """Similarity of every wine to ``prefs``, in ``[0, 1]``.

        ``score = (1·[type matches] + 1·[country matches] + 2·J(grapes)) / W`` where
        ``J`` is the Jaccard index of the wine's grapes and the preferred grapes and
        ``W`` sums the weights of the fields ``prefs`` sets.
        """
        types = {t.lower() for t in prefs.types}
        countries = {c.lower() for c in prefs.countries}
        grapes = {g.lower() for g in prefs.grapes}
        total = (_TYPE_W if types else 0) + (_COUNTRY_W if countries else 0)
        total += _GRAPES_W if grapes else 0
        if total == 0:
            return dict.fromkeys(self._wines, 0.0)
        out = {}
        for key, wine in self._wines.items():
            score = _TYPE_W * (wine.type.lower() in types) if types else 0.0
            score += _COUNTRY_W * (wine.country.lower() in countries) if countries else 0.0
            if grapes:
                own = {g.lower() for g in wine.grapes}
                union = own | grapes
                score += _GRAPES_W * (len(own & grapes) / len(union) if union else 0.0)
            out[key] = score / total
        return out


@dataclass(frozen=True)
class Recommendation:
    """An answer for one user.

    Attributes
    ----------
    user_id : str
    items : list of dict
        ``{"item_id", "score", "wine_name", "type", "country", ...}``, best first.
    cold_start : bool
        The model does not know the user.
    strategy : str
        ``model``, ``content`` (cold start with preferences or events) or ``popularity``.
    """

    user_id: str
    items: list[dict[str, Any]]
    cold_start: bool
    strategy: str
    notes: list[str] = field(default_factory=list)


class Recommender:
    """The champion recommender joined with the catalogue, with a cold-start fallback.

    Parameters
    ----------
    estimator : recommender
        Fitted Baryon recommender (``recommend``, ``is_cold``, ``items_``, ``popularity_``).
    catalogue : WineCatalogue
    """

    def __init__(self, estimator: Any, catalogue: WineCatalogue) -> None:
        self.estimator = estimator
        self.catalogue = catalogue
        items = np.asarray(getattr(estimator, "items_", np.array([], dtype=object)))
        popularity = np.asarray(getattr(estimator, "popularity_", np.zeros(len(items))))
        self._popularity: dict[int, float] = {}
        for item, count in zip(items.tolist(), popularity.tolist(), strict=True):
            key = catalogue.key(item)
            if key is not None:
                self._popularity[key] = float(count)

    def _item(self, item_id: object, score: float) -> dict[str, Any]:
        wine = self.catalogue.get(item_id)
        body: dict[str, Any] = {"item_id": item_id, "score": score}
        body.update(
            wine.to_dict()
            if wine is not None
            else {"wine_name": None, "type": None, "country": None, "grapes": [], "region": None,
                  "winery": None}
        )  # fmt: skip
        return body

    def recommend(
        self,
        user_id: str,
        n: int = 10,
        *,
        events: Sequence[Event] = (),
        preferences: Preferences | None = None,
    ) -> Recommendation:
        """Top-``n`` wines for ``user_id``.

        Parameters
        ----------
        user_id : str
        n : int
            1 to 100.
        events : sequence of Event
            The user's stored events: rated wines are left out of the answer; for a
            cold user they also make the content profile.
        preferences : Preferences, optional
            Stated tastes; they make a cold user's answer content-based.

        Raises
        ------
        InvalidInput
            ``n`` out of range (code ``invalid_n``).
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 100:
            raise InvalidInput("n must be an integer from 1 to 100", code="invalid_n")
        rated = {e.item_id for e in events if e.type == "rate"}
        cold = bool(self.estimator.is_cold([user_id])[0])
        if not cold:
            ids, scores = self.estimator.recommend([user_id], n=n + len(rated))
            pairs = [
                (i, float(s))
                for i, s in zip(ids[0].tolist(), scores[0].tolist(), strict=True)
                if i is not None and str(i) not in rated
            ]
            return Recommendation(user_id, [self._item(i, s) for i, s in pairs[:n]], False, "model")
        prefs = preferences or self.catalogue.profile(
            (
                e.item_id,
                _EVENT_WEIGHT[e.type] * ((e.value or 3.0) - 2.0 if e.type == "rate" else 1.0),
            )
            for e in events
        )
        seen = {k for e in events if (k := self.catalogue.key(e.item_id)) is not None}
        if prefs:
            content = self.catalogue.content_scores(prefs)
            # popularity only breaks ties between equally similar wines
            ranked = sorted(
                (k for k in content if k not in seen),
                key=lambda k: (-content[k], -self._popularity.get(k, 0.0), k),
            )
            items = [self._item(k, round(content[k], 6)) for k in ranked[:n]]
            return Recommendation(user_id, items, True, "content")
        ranked = sorted(
            (k for k in self._popularity if k not in seen),
            key=lambda k: (-self._popularity[k], k),
        )
        items = [self._item(k, self._popularity[k]) for k in ranked[:n]]
        return Recommendation(user_id, items, True, "popularity")

    def history(self, user_id: str, n: int = 10) -> list[dict[str, Any]]:
        """The wines ``user_id`` rated or chose in the model's training data, highest
        rating first (at most ``n``), with their details; empty for an unknown user.

        Each is ``{"item_id", "score", "rating", "wine_name", ...}`` (``score`` and
        ``rating`` are the stored rating, 1.0 without ratings).
        """
        matrix = getattr(self.estimator, "user_items_", None)
        if matrix is None:
            return []
        upos = int(lookup_ids(self.estimator.users_, [user_id])[0])
        if upos < 0:
            return []
        row = matrix[upos]
        order = np.argsort(-row.data, kind="stable")[:n]
        return [
            {**self._item(self.estimator.items_[row.indices[j]], float(row.data[j])),
             "rating": float(row.data[j])}
            for j in order
        ]  # fmt: skip

    def explain(
        self, user_id: str, item_ids: Sequence[Any], *, k: int = 3
    ) -> dict[Any, list[dict[str, Any]]]:
        """Why each of ``item_ids`` suits ``user_id``: the wines of the user's training
        history most similar to it.

        Similarity is the cosine between two wines' columns of the model's
        user-item matrix ``user_items_`` (who rated or chose both, weighted by
        rating): item-based collaborative filtering's similarity (Sarwar et al. 2001,
        "Item-based collaborative filtering recommendation algorithms", WWW, §3.1.1),
        whatever model ranked the items.

        Parameters
        ----------
        user_id : str
        item_ids : sequence of ids
            Recommended wines, length n_items.
        k : int
            Most similar history wines per item (1 to 10).

        Returns
        -------
        dict
            ``item_id → [{"item_id", "similarity", "rating", "wine_name", ...}]``, best
            first, leaving out wines of similarity 0; empty lists for a user the model
            does not know (their answer comes from events or popularity).

        Raises
        ------
        InvalidInput
            ``k`` out of range (``invalid_k``).
        """
        if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= 10:
            raise InvalidInput("k must be an integer from 1 to 10", code="invalid_k")
        out: dict[Any, list[dict[str, Any]]] = {item: [] for item in item_ids}
        matrix = getattr(self.estimator, "user_items_", None)
        if matrix is None or not len(item_ids):
            return out
        upos = int(lookup_ids(self.estimator.users_, [user_id])[0])
        if upos < 0:
            return out
        columns = matrix.tocsc()
        history = matrix[upos]
        seen, ratings = history.indices, history.data
        if not len(seen):
            return out
        norms = np.sqrt(np.asarray(columns.multiply(columns).sum(axis=0)).ravel())
        ipos = lookup_ids(self.estimator.items_, list(item_ids))
        for item, pos in zip(item_ids, ipos.tolist(), strict=True):
            if pos < 0 or norms[pos] == 0:
                continue
            dots = np.asarray((columns[:, seen].T @ columns[:, pos]).todense()).ravel()
            sims = dots / (norms[seen] * norms[pos])
            order = np.argsort(-sims, kind="stable")[:k]
            out[item] = [
                {
                    **self._item(self.estimator.items_[seen[j]], float(sims[j])),
                    "similarity": float(sims[j]),
                    "rating": float(ratings[j]),
                }
                for j in order
                if sims[j] > 0
            ]
        return out


# -------------------------------------------------------------------- events
@dataclass(frozen=True)
class Event:
    """One stored interaction.

    Attributes
    ----------
    id : str
    user_id, item_id : str
    type : str
        ``view``, ``click`` or ``rate``.
    value : float or None
        The rating of a ``rate`` event.
    """

    id: str
    user_id: str
    item_id: str
    type: str
    value: float | None
    at: Any

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready dict."""
        return {
            "id": self.id,
            "user_id": self.user_id,
            "item_id": self.item_id,
            "type": self.type,
            "value": self.value,
            "at": self.at.isoformat() if hasattr(self.at, "isoformat") else self.at,
        }


def _check_id(value: Any, name: str) -> str:
    """The id as stored: exactly the text given (an integer as its decimal spelling).

    Ids are opaque and never trimmed or re-spelled (:mod:`baryon.core.ids`): ``" 42"``
    is stored as ``" 42"`` and is not user ``"42"``.
    """
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InvalidInput(f"{name} must be a string or an integer", code="invalid_event")
    text = str(value)
    if not text.strip() or len(text) > MAX_ID_CHARS:
        raise InvalidInput(
            f"{name} must have 1 to {MAX_ID_CHARS} characters, not only blanks",
            code="invalid_event",
        )
    return text


def record_event(
    session: Session,
    *,
    org_id: str,
    user_id: Any,
    item_id: Any,
    type: str,
    value: float | None = None,
    catalogue: WineCatalogue | None = None,
    key_id: str | None = None,
    clock: Clock | None = None,
) -> Event:
    """Validate and store one interaction in the caller's transaction.

    Parameters
    ----------
    type : str
        ``view``, ``click`` or ``rate``.
    value : float, optional
        Required for ``rate`` (1 to 5); not allowed for ``view`` and ``click``.
    catalogue : WineCatalogue, optional
        When given, ``item_id`` must be one of its wines.

    Raises
    ------
    InvalidInput
        ``invalid_event_type``, ``missing_value``, ``value_out_of_range``,
        ``value_not_allowed``, ``unknown_item``, ``invalid_event``.
    """
    if type not in EVENT_TYPES:
        raise InvalidInput(
            f"unknown event type {type!r}; one of {', '.join(EVENT_TYPES)}",
            code="invalid_event_type",
        )
    user, item = _check_id(user_id, "user_id"), _check_id(item_id, "item_id")
    if type == "rate":
        if value is None:
            raise InvalidInput("a rate event needs a value (1 to 5)", code="missing_value")
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise InvalidInput("value must be a number", code="value_out_of_range")
        low, high = RATING_RANGE
        if not low <= float(value) <= high:
            raise InvalidInput(
                f"value must be between {low:g} and {high:g}, got {value}",
                code="value_out_of_range",
            )
    elif value is not None:
        raise InvalidInput(f"a {type} event takes no value", code="value_not_allowed")
    if catalogue is not None and item not in catalogue:
        raise InvalidInput(f"no wine with id {item!r} in the catalogue", code="unknown_item")
    clock = clock or SystemClock()
    row = RecommenderEventRow(
        id=new_id("evt", clock),
        org_id=org_id,
        user_id=user,
        item_id=item,
        type=type,
        value=None if value is None else float(value),
        key_id=key_id,
        at=clock.now(),
    )
    session.add(row)
    session.flush()
    return _event(row)


def _event(row: RecommenderEventRow) -> Event:
    return Event(row.id, row.user_id, row.item_id, row.type, row.value, row.at)


def user_events(session: Session, *, org_id: str, user_id: str, limit: int = 500) -> list[Event]:
    """The user's latest events in the organization, newest first."""
    rows = session.scalars(
        select(RecommenderEventRow)
        .where(RecommenderEventRow.org_id == org_id, RecommenderEventRow.user_id == str(user_id))
        .order_by(RecommenderEventRow.at.desc(), RecommenderEventRow.id.desc())
        .limit(limit)
    ).all()
    return [_event(r) for r in rows]


def feedback_ratings(session: Session, *, org_id: str | None = None) -> pd.DataFrame:
    """Rated events as rows laid out like the X-Wines ratings source.

    Only events whose user and item ids are canonical integers fit that layout (X-Wines
    ids are integers; :func:`baryon.core.ids.canonical_int`: ``"042"`` or ``"٤٢"`` is
    not user 42 and is left out, like any other non-integer id). The last rating of a
    (user, item) wins.

    Returns
    -------
    pandas.DataFrame
        Columns ``UserID`` (int), ``WineID`` (int), ``Rating`` (float), ``Date``
        (``YYYY-MM-DD HH:MM:SS``, UTC), oldest first.
    """
    query = select(RecommenderEventRow).where(RecommenderEventRow.type == "rate")
    if org_id is not None:
        query = query.where(RecommenderEventRow.org_id == org_id)
    rows = session.scalars(query.order_by(RecommenderEventRow.at, RecommenderEventRow.id)).all()
    records = []
    for r in rows:
        user, item = canonical_int(r.user_id), canonical_int(r.item_id)
        if user is not None and item is not None and item >= 0 and r.value is not None:
            records.append(
                {
                    "UserID": user,
                    "WineID": item,
                    "Rating": float(r.value),
                    "Date": r.at.strftime("%Y-%m-%d %H:%M:%S"),
                }
            )
    frame = pd.DataFrame(records, columns=["UserID", "WineID", "Rating", "Date"])
    return frame.drop_duplicates(["UserID", "WineID"], keep="last").reset_index(drop=True)
