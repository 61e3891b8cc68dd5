"""``partnerflow programs``: check a program file without the web application."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from server.rules.program import Program, ProgramError, dump_program_yaml, load_program_file
from server.rules.templates import TemplateCatalogue, TemplateError, load_catalogue


def _load(path: str, templates_dir: str | None) -> tuple[TemplateCatalogue, Program]:
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
