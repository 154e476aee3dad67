"""``corepool --version``, ``--help`` and the console script."""

from __future__ import annotations

import importlib.metadata

import corepool
from corepool.cli.main import main


def test_version_prints_the_package_version(corepool_command):
    done = corepool_command("--version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"corepool {corepool.__version__}"


def test_help_lists_the_bench_command(corepool_command):
    done = corepool_command("--help")
    assert done.returncode == 0, done.stderr
    assert "usage: corepool" in done.stdout
    assert "bench" in done.stdout


def test_no_command_prints_help_and_fails(corepool_command):
    done = corepool_command()
    assert done.returncode == 2
    assert "usage: corepool" in done.stdout


def test_unknown_command_is_named_in_the_error(corepool_command):
    done = corepool_command("benchh")
    assert done.returncode == 2
    assert "invalid choice: 'benchh'" in done.stderr


def test_console_script_points_at_main():
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="corepool")
    assert script.load() is main
