"""Integrations with other frameworks, one subpackage each."""
