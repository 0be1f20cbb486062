"""The README's key tables, built from the bindings of the attached monitor (which binds every
key the monitor has, `d` included). Nothing in the package imports this module: it is the one
place that reads the finished app, so keys.py need not.

    python -m tuirnn.tui.readme_keys      # prints the tables to paste into the README
"""
from __future__ import annotations

from .attach import AttachedApp
from .keys import markdown_table, sections
from .monitor import MonitorScreen


def readme_tables() -> list[str]:
    """The key tables as the README must hold them (the monitor's, then the Neurons tab's)."""
    (_, monitor), (_, neurons) = sections(MonitorScreen, AttachedApp)
    return [markdown_table(monitor, palette=True), markdown_table(neurons)]


if __name__ == "__main__":
    print("\n\n".join(readme_tables()))
