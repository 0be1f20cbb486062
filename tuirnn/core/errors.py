"""The one exception type that means "the user gave us something we cannot use".

The CLI turns it into a single line on stderr and exit status 2, never a traceback.
"""


class UserError(Exception):
    """Bad input: the message names the problem and the fix."""

    exit_code = 2


class StorageError(Exception):
    """The disk refused a write (full, read-only, gone): one line naming the file, the space
    needed and the fix; the previous files are intact. The CLI exits 1: the input was fine."""

    exit_code = 1
