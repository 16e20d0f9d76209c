"""Service-to-service HTTP: httpx with a short-lived service token and the trace context."""

import time

import httpx

from carekit.auth.principal import Role
from carekit.auth.tokens import TokenIssuer
from carekit.tracing import inject_headers


class ServiceTokenSource:
    """Mints and caches this service's own token (`sub=service:<name>`, role `service`), with the
    permissions (`scope` claim) the called service asks for, e.g. `pii:read` for the registry's
    identifiers."""

    def __init__(
        self,
        issuer: TokenIssuer,
        *,
        service_name: str,
        audience: str,
        ttl_seconds: int = 300,
        scopes: tuple[str, ...] = (),
    ) -> None:
        self._issuer = issuer
        self._extra = {"scope": " ".join(scopes)} if scopes else None
        self._service = service_name
        self._audience = audience
        self._ttl = ttl_seconds
        self._token = ""
        self._expires = 0.0

    def token(self) -> str:
        if time.time() > self._expires - 60:
            self._token = self._issuer.mint(
                sub=f"service:{self._service}",
                roles=[Role.SERVICE],
                audience=self._audience,
                ttl_seconds=self._ttl,
                extra=self._extra,
            )
            self._expires = time.time() + self._ttl
        return self._token


def service_http_client(
    base_url: str,
    tokens: ServiceTokenSource,
    *,
    timeout: float = 5.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    async def authorise(request: httpx.Request) -> None:
        request.headers["Authorization"] = f"Bearer {tokens.token()}"
        carrier: dict[str, str] = {}
        inject_headers(carrier)
        request.headers.update(carrier)

    return httpx.AsyncClient(
        base_url=base_url, timeout=timeout, transport=transport, event_hooks={"request": [authorise]}
    )
