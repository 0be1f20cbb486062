"""The command line: `tuirnn run|sample|neurons|...` (rich for output, no Textual here)."""
from .main import console, main

__all__ = ["console", "main"]
