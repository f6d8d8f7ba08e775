"""The legacy Orders API surface: routes, authentication, the error envelope."""
