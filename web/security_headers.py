"""What every response tells the browser: run only our scripts, sniff nothing, be framed only by us.

The Content-Security-Policy allows scripts only from this site's own files: no inline script,
no ``eval``. bpmn-js, dmn-js, form-js, ECharts and htmx all run under it (htmx with
``allowEval`` off, see base.html). Styles allow ``'unsafe-inline'`` because the diagram and
form editors position their canvases, palettes and overlays through ``style`` attributes in
the markup they build; a style cannot run code, so the policy still stops script injection.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'self'",
    )
)


def install(app: Flask, *, proxy_hops: int = 0, hsts_seconds: int = 0) -> None:
    """Add the secure headers to every response and trust ``proxy_hops`` reverse proxies."""
    if proxy_hops > 0:
        # Behind nginx or a load balancer the client's address and scheme arrive in
        # X-Forwarded-* headers; only as many hops as are configured are believed, so a client
        # cannot forge its address (login throttling counts per address) by adding its own.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxy_hops, x_proto=proxy_hops, x_host=proxy_hops, x_port=proxy_hops
        )

    @app.after_request
    def secure_headers(response: Any) -> Any:
        headers = response.headers
        headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        headers.setdefault("Referrer-Policy", "same-origin")
        headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        if hsts_seconds > 0:
            headers.setdefault("Strict-Transport-Security", f"max-age={hsts_seconds}; includeSubDomains")
        return response
