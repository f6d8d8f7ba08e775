"""The serving process: health and metrics routes, the graceful stop, several workers on one
port, and the start-up error boundary."""
