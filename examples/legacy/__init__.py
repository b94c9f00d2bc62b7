"""The same small chat in the legacy ``handle("CONNECT", ...)`` pattern and migrated."""
