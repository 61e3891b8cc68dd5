"""Operator commands: partners, API keys, the ledger, and the pending-event sweeper."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from server.cli.app_commands import clear_errors, make_app


@click.group("partners")
def partners() -> None:
    """Partners: import the spec's partners file."""


@partners.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@clear_errors
def partners_import(path: Path) -> None:
    """Create or update partners from a YAML file (the simulate format) or a CSV file."""
    from server.partners.commands import import_partners
    from server.rules.partners import PartnersError, load_partners_file

    if path.suffix.lower() == ".csv":
        from server.partners.imports import import_partners_csv

        with make_app().app_context():
            report = import_partners_csv(path.read_bytes())
        click.echo(report.summary())
        for error in report.errors:
            click.echo(f"  line {error.line}, column {error.column!r}: {error.reason}", err=True)
        return
    try:
        directory = load_partners_file(path)
    except PartnersError as error:
        click.echo(f"partnerflow: {path}: {error}", err=True)
        sys.exit(2)
    with make_app().app_context():
        click.echo(import_partners(directory).summary())


@click.group("api-key")
def api_key() -> None:
    """API keys for integrations (shown once, stored hashed)."""


@api_key.command("create")
@click.option("--source", required=True, help="The event source the key may report for.")
@click.option("--name", default="", help="A label for people.")
@clear_errors
def api_key_create(source: str, name: str) -> None:
    """Create a key; it is printed once and cannot be shown again."""
    from server.security.api_keys import create_api_key

    with make_app().app_context():
        issued = create_api_key(name, source)
    click.echo(f"API key #{issued.id} for source {issued.source} (shown once, keep it safe):")
    click.echo(issued.key)


@api_key.command("revoke")
@click.argument("key_id", type=int)
@clear_errors
def api_key_revoke(key_id: int) -> None:
    """Revoke a key by its number."""
    from server.security.api_keys import revoke_api_key

    with make_app().app_context():
        revoke_api_key(key_id)
    click.echo(f"API key #{key_id} revoked")


@click.group("ledger")
def ledger() -> None:
    """The accrual ledger."""


@ledger.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("--source", default=None, help="Only events of this source.")
@clear_errors
def ledger_export(fmt: str, source: str | None) -> None:
    """Print the ledger as the spec's JSON lines (compare with `partnerflow simulate`)."""
    from server.ledger.export import ledger_lines

    with make_app().app_context():
        for line in ledger_lines(source):
            click.echo(json.dumps(line, ensure_ascii=False))


@click.command("evaluate")
@clear_errors
def evaluate() -> None:
    """Evaluate every pending event now, in this process (no queue)."""
    from server.ledger.evaluation import evaluation_batches

    app = make_app()
    size = int(app.config["EVALUATION_BATCH_SIZE"])
    with app.app_context():
        for report in evaluation_batches(size):
            pending = f"{report.remaining}{'+' if report.remaining >= size else ''}"
            click.echo(
                f"{report.events} events, {report.accruals} accruals, "
                f"{report.rejected} rejected, {pending} pending"
            )


@click.command("sweeper")
@click.option("--interval", default=30, show_default=True, help="Seconds between sweeps.")
@click.option("--once", is_flag=True, help="Sweep once and exit.")
@clear_errors
def sweeper(interval: int, once: bool) -> None:
    """Re-queue evaluation of events left pending (lost job, killed worker)."""
    from server.tasks.events import sweep_pending

    app = make_app()
    while True:
        with app.app_context():
            stale = sweep_pending()
        if once:
            click.echo(f"{stale} events waited too long")
            return
        time.sleep(interval)


@click.command("import-sales")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="The POS source, e.g. pos-msk.")
@click.option(
    "--map",
    "pairs",
    multiple=True,
    metavar="FIELD=COLUMN",
    help="Map an event field to a column (saved for the source).",
)
@click.option("--timezone", default=None, help="Time zone of the file's times (saved).")
@click.option(
    "--errors",
    "errors_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the row errors to this CSV file.",
)
@clear_errors
def import_sales_command(
    path: Path, source: str, pairs: tuple[str, ...], timezone: str | None, errors_path: Path | None
) -> None:
    """Import offline sales from a CSV file; bad rows are reported, good ones go in."""
    from flask import current_app

    from server.errors import CommandError
    from server.ledger.imports import error_report_csv, import_sales
    from server.tasks.events import request_evaluation

    mapping = None
    if pairs:
        mapping = {}
        for pair in pairs:
            name, sep, column = pair.partition("=")
            if not sep:
                raise CommandError(f"--map takes FIELD=COLUMN, got {pair!r}.")
            mapping[name.strip()] = column.strip()
    data = path.read_bytes()
    rows = max(data.count(b"\n") - 1, 1)
    with (
        make_app().app_context(),
        click.progressbar(length=rows, label="Importing", file=sys.stderr) as bar,
    ):
        report = import_sales(
            data,
            source=source,
            filename=path.name,
            mapping=mapping,
            timezone=timezone,
            currency=current_app.config["DEFAULT_CURRENCY"],
            progress=bar.update,
        )
        if report.accepted:
            request_evaluation()
    click.echo(report.summary())
    for error in report.errors[:20]:
        click.echo(f"  line {error.line}, column {error.column!r}: {error.reason}", err=True)
    if len(report.errors) > 20:
        click.echo(f"  … {len(report.errors) - 20} more", err=True)
    if errors_path is not None:
        errors_path.write_text(
            error_report_csv([e.to_json() for e in report.errors]), encoding="utf-8"
        )
        click.echo(f"row errors written to {errors_path}")
