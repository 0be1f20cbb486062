"""The page `tuirnn serve` sends: textual-serve's own template, changed in two places.

- Its font comes from fonts.googleapis.com, which an offline server (or a browser that cannot
  reach Google) never gets: the same Roboto Mono that textual-serve ships in its static folder
  is named by an @font-face instead, so the page asks nothing of any other host.
- When the monitor in a tab ends (d, or a closed connection) the page said only "Session
  ended. Restart": it now says that the run goes on training and how to come back.

Rewritten rather than copied, so a newer textual-serve keeps its own page; a change that
finds nothing to replace leaves that part as it was.
"""
from __future__ import annotations

import html
import re
from pathlib import Path

TEMPLATE = "app_index.html"
REMOTE_FONT = re.compile(r"<link\b[^>]*fonts\.googleapis\.com[^>]*>", re.S)
LOCAL_FONT = """<style>
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-VariableFont_wght.ttf") format("truetype");
        font-style: normal;
      }
      @font-face {
        font-family: "Roboto Mono";
        src: url("{{ config.static.url }}fonts/RobotoMono-Italic-VariableFont_wght.ttf") format("truetype");
        font-style: italic;
      }
      .closed-dialog .intro { height: auto; padding: 24px; flex-direction: column; }
      .closed-dialog p { margin: 6px 0; }
      .closed-dialog code { color: #e0c8ff; }
    </style>"""
ENDED = '<div class="message">Session ended.</div>'


def ended_message(run_name: str, attach: str) -> str:
    """What the page shows once its monitor has closed (the run is another process)."""
    name, cmd = html.escape(run_name), html.escape(attach)
    return (f'<div class="message"><p>The monitor of {name} in this tab has closed.</p>'
            "<p>d and closing a tab only detach: the run goes on training (q would have stopped "
            "it, saving checkpoints/last.pt).</p>"
            "<p>Restart (or reload this page) opens the monitor again; in a terminal: "
            f"<code>{cmd}</code></p></div>")


def page_template(original: str, run_name: str, attach: str) -> str:
    """textual-serve's app_index.html with the local font and the ended-page message.
    The run name and command are escaped, and jinja's own braces in them neutralised."""
    text = REMOTE_FONT.sub(lambda _: LOCAL_FONT, original, count=1)
    message = ended_message(run_name, attach).replace("{", "&#123;").replace("}", "&#125;")
    return text.replace(ENDED, message, 1)


def textual_serve_template(templates_path: Path) -> str:
    return (Path(templates_path) / TEMPLATE).read_text(encoding="utf-8")
