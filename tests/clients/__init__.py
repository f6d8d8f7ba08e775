"""Contract tests: the public clients' exact requests, and their models over every answer."""
