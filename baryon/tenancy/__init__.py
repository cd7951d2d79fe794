"""Baryon tenancy layer: organizations' users, API keys, roles and permissions.

Everything here is domain code the HTTP API, the CLI and the console share; none of it
imports the serving layer.

- :mod:`baryon.tenancy.permissions`: the one role → permission table;
- :mod:`baryon.tenancy.keys`: API keys (stored as SHA-256, shown once);
- :mod:`baryon.tenancy.users`: users of an organization;
- :mod:`baryon.tenancy.sessions`: web console sessions (a key signed in from a browser).
"""

from __future__ import annotations

from baryon.tenancy.keys import ApiKey, CreatedKey, create_key, get_key, list_keys, revoke_key
from baryon.tenancy.permissions import PERMISSIONS, ROLES, check_role, permissions_for
from baryon.tenancy.users import User, create_user, disable_user, get_user, list_users

__all__ = [
    "PERMISSIONS",
    "ROLES",
    "ApiKey",
    "CreatedKey",
    "User",
    "check_role",
    "create_key",
    "create_user",
    "disable_user",
    "get_key",
    "get_user",
    "list_keys",
    "list_users",
    "permissions_for",
    "revoke_key",
]
