"""The web console: server-rendered pages under ``/console`` in the API's own app.

Jinja2 templates and htmx, with Pico CSS and uPlot vendored into the package
(``static/vendor/``, with their licences; nothing comes from a CDN). A browser signs
in with an API key into a server-side session (:mod:`baryon.tenancy.sessions`);
every page acts as that key, with its organization and role, and calls the same
domain functions as the ``/v1`` routes (never the API over HTTP).

- :func:`create_console` builds the app that :func:`baryon.serving.app.create_app`
  mounts at :data:`CONSOLE_PATH`;
- :data:`STREAMED`: the console's routes that stream their own request body (the
  dataset upload), for the request middleware.

Security model (details in ``docs/console.md``): session cookie HttpOnly,
SameSite=Strict, Secure under https; token hashed at rest; CSRF token on every form;
Content-Security-Policy without inline script; ``X-Frame-Options: DENY``;
``nosniff``; autoescaped templates; the API's permission check on every route.
"""

from __future__ import annotations

from baryon.serving.console._app import SECURITY_HEADERS, create_console
from baryon.serving.console._datasets import UPLOAD_PATH

__all__ = ["CONSOLE_PATH", "SECURITY_HEADERS", "STREAMED", "create_console"]

#: Where :func:`baryon.serving.app.create_app` mounts the console.
CONSOLE_PATH = "/console"

#: ``(method, path)`` of the console routes that read their own body (uploads).
STREAMED: frozenset[tuple[str, str]] = frozenset({("POST", CONSOLE_PATH + UPLOAD_PATH)})
