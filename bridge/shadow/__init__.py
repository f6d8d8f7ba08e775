"""Shadow traffic: repeat calls on a second target off the request path, diff, report."""
