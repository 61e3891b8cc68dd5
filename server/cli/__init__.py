"""The ``partnerflow`` command line.

Subcommands are imported lazily: ``partnerflow simulate`` must start fast and must not
build the web application, while ``partnerflow demo`` or ``partnerflow worker`` need it.
Each entry of :data:`COMMANDS` names the module and the click command object inside it.
"""

from __future__ import annotations

import importlib

import click

#: command name -> "module:attribute" of a click command
COMMANDS: dict[str, str] = {
    "simulate": "server.cli.simulate:simulate",
    "programs": "server.cli.programs:programs",
    "db": "server.cli.app_commands:db_group",
    "demo": "server.cli.app_commands:demo",
    "init": "server.cli.app_commands:init",
    "worker": "server.cli.app_commands:worker",
    "check-config": "server.cli.app_commands:check_config",
    "run": "server.cli.run:run",
    "partners": "server.cli.operations:partners",
    "api-key": "server.cli.operations:api_key",
    "ledger": "server.cli.operations:ledger",
    "evaluate": "server.cli.operations:evaluate",
    "sweeper": "server.cli.operations:sweeper",
    "import-sales": "server.cli.operations:import_sales_command",
    "create-user": "server.cli.app_commands:create_user_command",
}


class LazyGroup(click.Group):
    """A click group that imports a subcommand's module only when it is invoked."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        command = getattr(importlib.import_module(module_name), attribute)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup)
def main() -> None:
    """Partnerflow: partner programs, rules, ledger and documents."""
