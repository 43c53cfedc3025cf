"""HTTP routes: ``plans`` (jobs), ``routes`` (synchronous VRP) and ``health``."""
