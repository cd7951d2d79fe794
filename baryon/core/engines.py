"""Where distributed work runs: on this machine, or on a Ray cluster.

``baryon tune`` and ``baryon score`` each pick their back end by one setting,
``BARYON_RAY_ADDRESS`` (:attr:`baryon.core.config.Settings.ray_address`): unset, the
work runs in this process (the local back ends of :mod:`baryon.training.tuning` and
:mod:`baryon.predictions.scoring`); set, it would go to Ray Tune / Ray Data. The Ray
back ends are not built yet, so a set address is refused with ``ray_not_available``
rather than silently running locally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baryon.core.config import redact_url
from baryon.core.errors import MissingDependency

if TYPE_CHECKING:
    from baryon.core.config import Settings

__all__ = ["LOCAL", "RAY", "engine_for"]

#: Work runs in this process.
LOCAL = "local"
#: Work runs on the Ray cluster at ``BARYON_RAY_ADDRESS``.
RAY = "ray"


def engine_for(settings: Settings | None, work: str) -> str:
    """Return the engine ``work`` runs on under ``settings``: :data:`LOCAL` today.

    Parameters
    ----------
    settings : Settings or None
        The workspace's settings (``None``: local).
    work : str
        What is asked for, for the message (``"baryon tune"``).

    Returns
    -------
    str
        :data:`LOCAL`.

    Raises
    ------
    MissingDependency
        Code ``ray_not_available``: ``BARYON_RAY_ADDRESS`` is set, and the Ray back end
        of ``work`` is not built yet (the message names the address; unset the setting
        to run locally).
    """
    address = None if settings is None else settings.ray_address
    if not address:
        return LOCAL
    raise MissingDependency(
        f"{work}: BARYON_RAY_ADDRESS is set ({redact_url(address)}) but the Ray back end "
        "is not built yet; unset BARYON_RAY_ADDRESS to run on this machine",
        code="ray_not_available",
        details={"address": redact_url(address)},
    )
