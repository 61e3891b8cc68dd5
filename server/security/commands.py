"""Commands over users and roles. Each owns its transaction."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from server.errors import CommandError
from server.extensions import db
from server.partners.models import Partner, PartnerUser
from server.security.login_throttle import NewLock, lift
from server.security.roles import Role


def sync_roles() -> list[str]:
    """Create the role rows of :data:`ROLE_PERMISSIONS` that are missing; idempotent.

    What each role may do is checked from code (FAB built-in roles), so only the rows
    need to exist. Returns the names of the roles that now exist.
    """
    sm = current_app.extensions["appbuilder"].sm
    names = [role.value for role in Role] + [current_app.config["AUTH_ROLE_PUBLIC"]]
    for name in names:
        if sm.find_role(name) is None:
            sm.add_role(name)
    db.session.commit()
    return names


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    role: Role
    first_name: str
    last_name: str
    email: str
    partner_code: str | None = None


def create_user(new: NewUser) -> int:
    """Create a login with one role; a Partner login is linked to its partner.

    Raises:
        CommandError: the username exists, or the partner code is unknown.
    """
    sm = current_app.extensions["appbuilder"].sm
    if sm.find_user(username=new.username) is not None:
        raise CommandError(f"User {new.username!r} already exists.")
    role = sm.find_role(new.role.value)
    if role is None:
        raise CommandError(f"Role {new.role.value!r} does not exist: run `partnerflow init`.")
    partner = None
    if new.role is Role.PARTNER:
        if not new.partner_code:
            raise CommandError("A Partner login needs the partner it acts for.")
        partner = db.session.query(Partner).filter_by(code=new.partner_code).one_or_none()
        if partner is None:
            raise CommandError(f"Unknown partner {new.partner_code!r}.")
    user = sm.add_user(
        username=new.username,
        first_name=new.first_name,
        last_name=new.last_name,
        email=new.email,
        role=role,
        password=new.password,
    )
    if not user:
        db.session.rollback()
        raise CommandError(f"Could not create user {new.username!r}.")
    if partner is not None:
        db.session.add(PartnerUser(user_id=user.id, partner_id=partner.id))
    db.session.commit()
    return int(user.id)


def record_login_locks(locks: list[NewLock], address: str) -> None:
    """Write an audit entry for each lock a failed login set (and commit them)."""
    from server.audit.commands import record

    for lock in locks:
        record(
            None,
            "login_locked",
            f"login_{lock.scope}",
            lock.label,
            after={"failures": lock.failures, "seconds": lock.seconds, "address": address},
        )
    db.session.commit()


def unlock_login(scope: str, key: str, actor_id: int | None) -> str:
    """Lift a login lock (an administrator's action), with an audit entry; return its
    account or address.

    Raises:
        CommandError: no such lock holds (it may have just expired).
    """
    from server.audit.commands import record

    label = lift(scope, key)
    if label is None:
        raise CommandError("This lock no longer holds.")
    record(actor_id, "login_unlocked", f"login_{scope}", label)
    db.session.commit()
    return label
