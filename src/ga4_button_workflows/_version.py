"""The version, kept in one place."""

__version__ = "0.1.0.dev0"
"""The library's version; ``pyproject.toml`` reads it from here."""
