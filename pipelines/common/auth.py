"""Bearer tokens for the HTTP surfaces: who is asking, and for whom they may ask.

``STREAMWISE_AUTH_TOKENS_FILE`` holds one line per token, ``NAME SCOPE SHA256`` (``#``
starts a comment), where ``SHA256`` is the hex SHA-256 of the token: the file never
holds a token, so reading it (a backup, a leaked config map) lets nobody in. ``SCOPE``
is ``staff`` (may ask for any customer) or ``customer:<customer_id>`` (may ask only for
itself, or for no one). ``streamwise token new`` prints a fresh token once and appends
its line. The parsing here is pure; the Starlette authentication backend at the end
turns an ``Authorization: Bearer`` header into the token's ``Principal``.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from starlette.authentication import (
    AuthCredentials,
    AuthenticationBackend,
    AuthenticationError,
    BaseUser,
)
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response

STAFF = "staff"
CUSTOMER_PREFIX = "customer:"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


class TokensFileInvalid(ValueError):
    """A line of the tokens file is not ``NAME SCOPE SHA256``."""


@dataclass(frozen=True)
class Principal(BaseUser):
    """The holder of one token: its name (for the audit log) and its scope."""

    name: str
    scope: str

    @property
    def customer_id(self) -> str | None:
        """The one customer a ``customer:`` token speaks for; None for staff."""
        return self.scope.removeprefix(CUSTOMER_PREFIX) if self.scope != STAFF else None

    def may_ask_for(self, customer_id: str | None) -> bool:
        """Staff may ask for anyone; a customer only for no one or for itself."""
        return self.scope == STAFF or customer_id in (None, self.customer_id)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def display_name(self) -> str:
        return self.name


def is_loopback(host: str) -> bool:
    """True for an address only this machine reaches (``127.0.0.1``, ``::1``, ``localhost``)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def digest(token: str) -> str:
    """The hex SHA-256 the tokens file keeps instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def check_scope(scope: str) -> str:
    """``scope`` if it is ``staff`` or ``customer:<id>``, else a ``TokensFileInvalid``."""
    if scope == STAFF or (scope.startswith(CUSTOMER_PREFIX) and len(scope) > len(CUSTOMER_PREFIX)):
        return scope
    msg = f"scope {scope!r} is neither 'staff' nor 'customer:<customer_id>'"
    raise TokensFileInvalid(msg)


def parse_tokens(text: str, source: str) -> dict[str, Principal]:
    """Principals by token digest; every bad line is an error naming ``source`` and its number."""
    principals: dict[str, Principal] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        try:
            name, scope, sha256 = line.split()
            if not _NAME.match(name):
                msg = f"name {name!r} may hold only letters, digits and ._@- (at most 64)"
                raise TokensFileInvalid(msg)
            check_scope(scope)
            if not _DIGEST.match(sha256):
                msg = "the third field must be the token's hex SHA-256 (64 hex digits)"
                raise TokensFileInvalid(msg)
        except ValueError as exc:
            reason = str(exc) if isinstance(exc, TokensFileInvalid) else "want NAME SCOPE SHA256"
            msg = f"{source}:{number}: {reason}"
            raise TokensFileInvalid(msg) from None
        principals[sha256] = Principal(name, scope)
    return principals


def load_tokens(path: Path) -> dict[str, Principal]:
    try:
        text = path.read_text()
    except OSError as exc:
        msg = f"cannot read STREAMWISE_AUTH_TOKENS_FILE {path}: {exc.strerror}"
        raise TokensFileInvalid(msg) from exc
    return parse_tokens(text, str(path))


def new_token(name: str, scope: str) -> tuple[str, str]:
    """A fresh random token and the line of the tokens file that admits it."""
    if not _NAME.match(name):
        msg = f"name {name!r} may hold only letters, digits and ._@- (at most 64)"
        raise TokensFileInvalid(msg)
    token = secrets.token_urlsafe(32)
    return token, f"{name} {check_scope(scope)} {digest(token)}\n"


class BearerTokens(AuthenticationBackend):
    """Starlette's authentication backend over the tokens file's principals.

    No ``Authorization`` header leaves the request unauthenticated (routes decide:
    ``/healthz`` stays open); a malformed header or an unknown token is an error,
    which the middleware answers with ``401``.
    """

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._principals = principals

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        header = conn.headers.get("authorization")
        if header is None:
            return None
        kind, _, token = header.partition(" ")
        if kind.lower() != "bearer" or not token.strip():
            msg = "use 'Authorization: Bearer <token>'"
            raise AuthenticationError(msg)
        principal = self._principals.get(digest(token.strip()))
        if principal is None:
            msg = "unknown token"
            raise AuthenticationError(msg)
        kinds = [STAFF] if principal.scope == STAFF else ["customer"]
        return AuthCredentials(kinds), principal


def unauthorized(reason: str) -> Response:
    """``401`` with the scheme to use, in the surfaces' ``{"error": ...}`` form."""
    return JSONResponse({"error": reason}, 401, {"WWW-Authenticate": "Bearer"})


def bearer_middleware(principals: Mapping[str, Principal]) -> Middleware:
    """Starlette's authentication middleware over ``principals``; bad tokens get ``401``."""
    return Middleware(
        AuthenticationMiddleware,
        backend=BearerTokens(principals),
        on_error=lambda conn, exc: unauthorized(str(exc)),
    )


def staff_only(conn: HTTPConnection) -> Response | None:
    """None for a staff token; ``401`` without a token, ``403`` for a customer's."""
    if not isinstance(conn.user, Principal):
        return unauthorized("a staff bearer token is required")
    if conn.user.scope != STAFF:
        return JSONResponse({"error": f"token {conn.user.name!r} is not staff"}, 403)
    return None
