"""``partnerflow programs``: check a program file without the web application."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from server.rules.program import ProgramError, ProgramSpec, dump_program_yaml, load_program_file
from server.rules.templates import TemplateCatalogue, TemplateError, load_catalogue


def _load(path: str, templates_dir: str | None) -> tuple[TemplateCatalogue, ProgramSpec]:
    try:
        catalogue = load_catalogue(templates_dir)
        return catalogue, load_program_file(Path(path), catalogue)
    except ProgramError as exc:
        click.echo(f"{path}: invalid program", err=True)
        for issue in exc.issues:
            click.echo(f"  {issue}", err=True)
        sys.exit(1)
    except (TemplateError, OSError, UnicodeDecodeError) as exc:
        click.echo(f"{path}: {exc}", err=True)
        sys.exit(2)


_templates_option = click.option(
    "--templates",
    "templates_dir",
    envvar="RULE_TEMPLATES_DIR",
    default=None,
    help="Rule template directory (default: the repository's rule_templates/).",
)


@click.group("programs")
def programs() -> None:
    """Check, describe and normalise program YAML files."""


@programs.command("validate")
@click.argument("path")
@_templates_option
def validate(path: str, templates_dir: str | None) -> None:
    """Print OK, or every problem (exit status 1)."""
    _, program = _load(path, templates_dir)
    click.echo(f"OK: program {program.slug}, {len(program.rules)} rule(s), {program.currency}")


@programs.command("describe")
@click.argument("path")
@click.option("--lang", type=click.Choice(["ru", "en"]), default="ru", show_default=True)
@_templates_option
def describe(path: str, lang: str, templates_dir: str | None) -> None:
    """Print every rule in plain words."""
    from server.rules.plain_words import describe_rule  # Babel is needed only here

    catalogue, program = _load(path, templates_dir)
    for rule in program.rules:
        click.echo(f"{rule.id}: {describe_rule(rule, catalogue, lang, program.currency)}")


@programs.command("normalize")
@click.argument("path")
@_templates_option
def normalize(path: str, templates_dir: str | None) -> None:
    """Print the program as the exporter writes it (import → export round trip)."""
    _, program = _load(path, templates_dir)
    click.echo(dump_program_yaml(program), nl=False)


@programs.command("import")
@click.argument("path")
@click.option("--publish", is_flag=True, help="Publish the new version at once.")
@click.option(
    "--effective-from",
    "effective_from",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date the published version takes effect (YYYY-MM-DD).",
)
@click.option("--note", default=None, help="Why this version exists (shown in its history).")
@_templates_option
def import_program(
    path: str, publish: bool, effective_from: object, note: str | None, templates_dir: str | None
) -> None:
    """Store a program file as the next version of its program (a draft unless --publish)."""
    from datetime import datetime

    from server.cli.app_commands import make_app
    from server.errors import CommandError
    from server.programs.commands import add_program_version

    _, program = _load(path, templates_dir)
    day = effective_from.date() if isinstance(effective_from, datetime) else None
    if publish and day is None:
        click.echo("partnerflow: --publish needs --effective-from YYYY-MM-DD", err=True)
        sys.exit(2)
    with make_app().app_context():
        try:
            version = add_program_version(program, publish=publish, effective_from=day, note=note)
        except CommandError as error:
            click.echo(f"partnerflow: {error}", err=True)
            sys.exit(2)
        state = f"published from {day}" if publish else "draft"
        click.echo(f"{program.slug} v{version.number}: {len(program.rules)} rule(s), {state}")


@programs.command("export")
@click.argument("slug")
@click.option(
    "--version", "number", type=int, default=None, help="Version number (default: the newest)."
)
def export_program(slug: str, number: int | None) -> None:
    """Print a stored program version as the spec's YAML (the same format import reads)."""
    import sqlalchemy as sa

    from server.cli.app_commands import make_app
    from server.extensions import db
    from server.programs.models import Program, ProgramVersion
    from server.programs.queries import version_spec

    with make_app().app_context():
        query = (
            sa.select(ProgramVersion)
            .join(Program)
            .where(Program.slug == slug)
            .order_by(ProgramVersion.number.desc())
        )
        if number is not None:
            query = query.where(ProgramVersion.number == number)
        version = db.session.scalars(query.limit(1)).first()
        if version is None:
            click.echo(
                f"partnerflow: no program {slug!r}" + (f" v{number}" if number else ""), err=True
            )
            sys.exit(2)
        click.echo(dump_program_yaml(version_spec(version)), nl=False)
