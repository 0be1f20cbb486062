"""One table of keys: the README, the help screen and the palette come from the bindings;
run phases are one enum; the footer says Resume while paused."""
from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from ui_fakes import fake_run, sync

from tuirnn.core.events import Paused, Resumed
from tuirnn.core.runstate import RunStatus
from tuirnn.tui.app import make_app
from tuirnn.tui.attach import AttachedApp
from tuirnn.tui.keys import key_rows, keys_label, sections
from tuirnn.tui.monitor import MonitorScreen
from tuirnn.tui.readme_keys import readme_tables
from tuirnn.tui.render import STATE_STYLES, header_lines
from tuirnn.tui.state import Activity, RunState
from tuirnn.tui.widgets.footer import MonitorFooter

README = Path(__file__).resolve().parents[1] / "README.md"


def test_the_readme_key_tables_are_the_bindings():
    text = README.read_text(encoding="utf-8")
    for table in readme_tables():
        assert table in text, ("the README's key table differs from the bindings; paste the "
                               "output of `python -m tuirnn.tui.readme_keys`:\n" + table)


def test_every_bound_key_with_a_description_is_documented_once():
    for title, rows in sections(MonitorScreen, AttachedApp):
        keys = [k for row in rows for k in row.keys]
        assert len(keys) == len(set(keys)) or title.startswith("Monitor"), title
    (_, monitor), (_, neurons) = sections(MonitorScreen, AttachedApp)
    shown = {k for row in monitor for k in row.keys}
    assert {"space", "s", "c", "[", "]", "?", "q", "d", "4"} <= shown
    assert {">", "<", "+", "-", "u", "/"} <= {k for row in neurons for k in row.keys}


def test_rows_merge_a_group_and_list_alternative_keys():
    group = Binding.Group("Layer")
    rows = key_rows([Binding("plus,greater_than_sign", "layer(1)", "Next", group=group,
                             tooltip="next / previous layer"),
                     Binding("minus,less_than_sign", "layer(-1)", "Prev", group=group),
                     Binding("k", "nothing", "Hidden")])          # no tooltip: not listed
    assert len(rows) == 1 and rows[0].help == "next / previous layer"
    assert rows[0].shown == "+ - (> <)"
    assert keys_label(rows[0].bindings, code="`") == "`+` `-` (`>` `<`)"


def test_every_status_and_activity_has_a_badge_and_a_bad_name_fails_loudly():
    assert set(STATE_STYLES) == set(Activity) | set(RunStatus)
    assert not {a.value for a in Activity} & {r.value for r in RunStatus}   # no overlap
    st = RunState()
    st.set_state("pausing")                    # a name is taken as the activity it names
    assert st.state is Activity.PAUSING and st.pausing_or_paused
    assert header_lines(st, 80)[0].plain.startswith(" PAUSING ")
    st.apply(Paused(3))
    assert st.state is RunStatus.PAUSED and st.pausing_or_paused
    try:
        st.set_state("snoozing")
    except ValueError:
        pass
    else:
        raise AssertionError("an unknown phase was accepted")


def footer_text(app) -> str:
    footer = app.monitor.query_one(MonitorFooter)
    return " ".join(f"{k.key_display} {k.description}" for k in footer.query("FooterKey"))


@sync
async def test_the_footer_says_resume_while_paused():
    app = make_app(events=fake_run())
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        assert "space Pause" in footer_text(app) and "Resume" not in footer_text(app)
        await pilot.press("space")                 # asks the trainer to pause
        assert app.control.paused
        await pilot.pause()
        assert "space Resume" in footer_text(app)  # pausing: space takes it back
        app.feed(Paused(iteration=500))
        await pilot.pause()
        assert "space Resume" in footer_text(app)
        await pilot.press("space")                 # space resumes
        assert not app.control.paused
        app.feed(Resumed(iteration=500))
        await pilot.pause()
        assert "space Pause" in footer_text(app)
        commands = [c.title for c in app.get_system_commands(app.screen)]
        assert "Pause" in commands and "Resume" not in commands
