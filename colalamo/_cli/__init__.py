"""The `colalamo` command."""
