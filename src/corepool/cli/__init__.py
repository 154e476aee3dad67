"""The ``corepool`` command.

``main.py`` parses the command line and hands each subcommand to its module (``bench.py``).
"""
