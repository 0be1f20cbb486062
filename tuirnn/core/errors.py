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


def shown(value, limit: int = 80) -> str:
    """How a message quotes a value: a repr of at most about `limit` characters, however big
    or deep the value (a 10 MB string, an alias bomb's nested lists), so no error line is huge.
    Text keeps its start (a path's beginning says where it is); other values go through reprlib.
    """
    if isinstance(value, str):
        if len(value) <= limit:
            return repr(value)
        return repr(value[:limit]) + f"... ({len(value):,} characters)"
    import reprlib
    short = reprlib.Repr()
    short.maxstring = short.maxother = short.maxlong = limit
    short.maxlevel, short.maxlist, short.maxdict = 2, 4, 4
    text = short.repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


class RankLost(Exception):
    """A rank of a multi-process run has gone (killed, crashed, unreachable): one line naming
    it; the run cannot go on, its last checkpoint is what resumes. The CLI exits 1."""

    exit_code = 1

    def __init__(self, message: str, ranks: list[int] | None = None):
        super().__init__(message)
        self.ranks = list(ranks or [])
