"""Neuron view drawing, tested without an app."""
from rich.cells import cell_len
from rich.color import Color
from rich.console import Console

from tuirnn.tui.neuron_render import (
    SCALE,
    activation_style,
    glyph,
    line_of,
    render_html,
    render_line,
    render_prediction_row,
    render_prediction_strip,
    render_text,
    scale_step,
    wrap,
)

CONSOLE = Console()


def test_scale_is_diverging_and_256_exact():
    assert scale_step(-1) == 0 and scale_step(0) == 5 and scale_step(1) == 10
    assert scale_step(-7) == 0 and scale_step(float("nan")) == 5
    neg, zero, pos = (activation_style(v).bgcolor.get_truecolor() for v in (-1, 0, 1))
    assert neg.blue > neg.red and pos.red > pos.blue and min(zero) > 200
    for hexcode in SCALE:                                # each step has its own 256 colour
        near = Color.parse(hexcode).downgrade(2).get_truecolor()
        assert max(abs(a - b) for a, b in zip(near, Color.parse(hexcode).get_truecolor())) <= 10
    assert len({Color.parse(h).downgrade(2).number for h in SCALE}) == len(SCALE)
    # text stays readable: light text on the dark ends, black in the middle
    assert activation_style(1).color.get_truecolor() == (255, 255, 255)
    assert activation_style(0.1).color.get_truecolor() == (0, 0, 0)


def test_no_color_uses_attributes():
    assert activation_style(1, no_color=True).reverse
    assert activation_style(-1, no_color=True).underline
    assert activation_style(0, no_color=True) == activation_style(0.05, no_color=True)
    assert all(activation_style(v, no_color=True).bgcolor is None for v in (-1, 0, 1))


def test_newline_and_tab_visible_and_wrap_breaks_after_newline():
    assert glyph("\n") == "↵" and glyph("\t") == "→" and glyph("\x07") == "·"
    assert wrap("ab\ncd", 10) == [(0, 3), (3, 5)]
    assert wrap("abcdefg", 3) == [(0, 3), (3, 6), (6, 7)]
    assert wrap("", 5) == [(0, 0)]
    assert line_of(wrap("abcdefg", 3), 4) == 1 and line_of(wrap("abcdefg", 3), 6) == 2


def test_wide_characters_keep_columns():
    text = "ab漢字cd"
    lines = wrap(text, 5)                               # a b 漢(2) = 4 cells; 字 would be 6
    assert lines == [(0, 3), (3, 6)]
    rendered = [render_line(text, s, e, [0.0] * 6) for s, e in lines]
    assert [cell_len(r.plain) for r in rendered] == [4, 4]
    row = render_prediction_row(text, 0, 6, [[0]] * 6, [[0.5]] * 6, "x")
    assert cell_len(row.plain) == cell_len(render_line(text, 0, 6, [0] * 6).plain)
    assert row.plain == "xxx x xx"                     # guesses padded under wide chars


def test_line_colours_follow_values_and_cursor_marked():
    line = render_line("ab\n", 0, 3, [-1.0, 1.0, 0.0], cursor=1)
    assert line.plain == "ab↵"
    styles = [line.get_style_at_offset(CONSOLE, i) for i in range(3)]
    assert styles[0].bgcolor.get_truecolor() == Color.parse(SCALE[0]).get_truecolor()
    assert styles[1].reverse and styles[1].bold
    assert styles[2].bgcolor.get_truecolor() == Color.parse(SCALE[5]).get_truecolor()


def test_prediction_strip_shows_top_k_with_probabilities():
    strip = render_prediction_strip([1, 0, 2], [0.7, 0.2, 0.1], "a\nb")
    assert strip.plain == " ↵  70%   a  20%   b  10% "
    first = strip.get_style_at_offset(CONSOLE, 1).bgcolor.get_truecolor()
    last = strip.get_style_at_offset(CONSOLE, len(strip.plain) - 2).bgcolor.get_truecolor()
    assert first != last                                # shaded by probability


def test_render_text_with_prediction_rows():
    lines = render_text("hello\nworld", [0.5] * 11, 20, predictions=([[0]] * 11, [[1.0]] * 11, "o"))
    assert [line.plain for line in lines] == ["hello↵", "oooooo", "world", "ooooo"]


def test_html_page_is_self_contained_and_escaped():
    page = render_html('<a> "x"\n', [0.0, 1.0, -1.0, 0, 0, 0, 0, 0], "layer 0 unit 3",
                       predictions=([[0]] * 8, [[0.9]] * 8, "x"))
    assert page.startswith("<!DOCTYPE html>") and "<script" not in page and "http" not in page
    assert "&lt;" in page and "<a>" not in page
    assert "↵</span>" not in page and "↵<br></span>" in page
    assert SCALE[10] in page and SCALE[0] in page and "next: x 90%" in page


def test_predicted_space_is_visible():
    assert render_prediction_strip([0], [0.5], " ").plain == " ␣  50% "
    assert render_prediction_row("ab", 0, 2, [[0], [0]], [[0.5], [0.5]], " ").plain == "␣␣"
