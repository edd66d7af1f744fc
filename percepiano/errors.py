"""The exception types the command line turns into one line on stderr and a non-zero exit."""


class UserError(Exception):
    """Bad input from the user (a file, an option, a missing tool); the message says what to do."""


class DataError(UserError):
    """The data is missing, incomplete or malformed; the message says what and what to do."""
