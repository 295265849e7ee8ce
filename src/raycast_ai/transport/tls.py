"""The TLS context of connections to Raycast: verified by default, against a CA bundle when one
is configured (a corporate proxy's), unverified only when asked for by name."""

from __future__ import annotations

import functools
import ssl

import httpx2

from raycast_ai.protocol.errors import InvalidRequestError


@functools.cache
def ssl_context(verify: bool = True, ca_bundle: str | None = None) -> ssl.SSLContext:
    """One context per setting and process: building one costs tens of milliseconds."""
    if not verify:
        return httpx2.create_ssl_context(verify=False, trust_env=False)
    if ca_bundle is None:
        return httpx2.create_ssl_context(trust_env=False)
    try:
        return ssl.create_default_context(cafile=ca_bundle)
    except (OSError, ssl.SSLError) as exc:
        raise InvalidRequestError(
            f"Cannot use the CA bundle {ca_bundle!r} ({exc}). Point RAYCAST_CA_BUNDLE (or "
            "SSL_CERT_FILE) at a PEM file of trusted certificates."
        ) from None
