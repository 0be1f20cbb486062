"""The command line: `tuirnn run|sample|neurons|...` (rich for output, no Textual here)."""
from .main import main

__all__ = ["main"]
