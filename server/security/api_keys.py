"""API keys for integrations: generated here, shown once, stored as SHA-256 only."""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l

from server.db.types import utcnow
from server.errors import CommandError
from server.extensions import db
from server.security.models import ApiKey

SOURCE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class IssuedKey:
    id: int
    source: str
    key: str  # the only time the plain key exists outside the caller


def create_api_key(name: str, source: str, actor_id: int | None = None) -> IssuedKey:
    """Create a key for one event source. The plain key is returned once, never stored.

    Raises:
        CommandError: the source name is not a short lowercase slug.
    """
    if not SOURCE_PATTERN.match(source):
        raise CommandError(
            _l(
                "Source %(source)r must be a lowercase slug (letters, digits, . _ -), "
                "e.g. pos-msk.",
                source=source,
            )
        )
    prefix = secrets.token_hex(4)
    key = f"pf_{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name or source,
        source=source,
        prefix=prefix,
        key_sha256=key_digest(key),
        created_by_id=actor_id,
    )
    db.session.add(row)
    db.session.commit()
    return IssuedKey(id=row.id, source=source, key=key)


def revoke_api_key(key_id: int) -> None:
    """Revoke a key for good. Raises CommandError for an unknown id."""
    row = db.session.get(ApiKey, key_id)
    if row is None:
        raise CommandError(f"No API key with id {key_id}.")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    db.session.commit()


def find_active_key(key: str) -> ApiKey | None:
    """The unrevoked key matching ``key``, or ``None``."""
    if not key or len(key) > 200:
        return None
    return db.session.scalar(
        sa.select(ApiKey).where(ApiKey.key_sha256 == key_digest(key), ApiKey.revoked_at.is_(None))
    )
