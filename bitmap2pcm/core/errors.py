"""The one exception type the command-line doors turn into a one-line message and exit 1."""


class UserError(Exception):
    """A problem with the user's input or environment, explained in one line.

    Library code raises it with a message that names the file and the cause; the scripts
    print that message (no traceback) and exit with status 1.
    """
