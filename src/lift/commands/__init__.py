"""The ``lift`` subcommands that take more than a few lines, one module each.

Each module has ``register(commands, ...)``, which adds its subparser and sets
``run``; :mod:`lift.cli` calls them.
"""
