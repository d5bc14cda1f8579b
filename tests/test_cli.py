"""The command line itself: every command and argument explains itself."""

from __future__ import annotations

import argparse
import re

from generator.cli import _parser


def _walk(parser: argparse.ArgumentParser, path: str) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {choice.dest: choice.help for choice in action._choices_actions}
            for name, sub in action.choices.items():
                if not helps.get(name):
                    missing.append(f"{path} {name}")
                missing += _walk(sub, f"{path} {name}")
        elif not action.help:
            missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_command_and_argument_has_a_help_line() -> None:
    assert _walk(_parser(), "sitegen") == []


def test_every_command_and_argument_is_described_in_one_metavar_style() -> None:
    """`sitegen <command> --help` explains everything: each subcommand has a one-line
    description, each argument a help line, and every value is named in capitals
    (FOLDER, N, SITE) or by its choices."""
    from generator.cli import _parser

    def problems(parser: argparse.ArgumentParser, path: str) -> list[str]:
        found = []
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                described = {choice.dest: choice.help for choice in action._choices_actions}
                for name, command in action.choices.items():
                    if not described.get(name) or "\n" in str(described[name]):
                        found.append(f"{path} {name}: no one-line description")
                    found += problems(command, f"{path} {name}")
            elif not isinstance(action, (argparse._HelpAction, argparse._VersionAction)):
                name = "/".join(action.option_strings) or action.dest
                if not action.help:
                    found.append(f"{path} {name}: no help line")
                takes_value = action.nargs != 0 and not action.choices
                if action.option_strings and takes_value and action.metavar is None:
                    found.append(f"{path} {name}: no metavar")
                metavar = action.metavar
                if isinstance(metavar, str) and not re.fullmatch(
                    r"[A-Z][A-Z0-9_]*([:=.][A-Z][A-Z0-9_]*)*", metavar
                ):
                    found.append(f"{path} {name}: metavar {metavar!r} is not in capitals")
        return found

    assert problems(_parser(), "sitegen") == []
