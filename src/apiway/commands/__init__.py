"""CLI commands that run without a server."""
