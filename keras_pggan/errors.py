"""The project's one error type for mistakes a user can fix (bad flags, paths, configs)."""


class UserError(Exception):
    """A problem with what the user asked for; CLIs print it as one line and exit with 2."""
