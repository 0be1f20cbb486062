"""The page `tuirnn serve` sends: textual-serve's template with no font from the internet and an
ended tab that says the run goes on and how to come back."""
from pathlib import Path

import pytest

from tuirnn.remote.web_page import ENDED, page_template, textual_serve_template


@pytest.fixture
def original() -> str:
    textual_serve = pytest.importorskip("textual_serve")
    return textual_serve_template(Path(textual_serve.__file__).parent / "templates")


def test_the_page_asks_no_other_host_and_says_the_run_goes_on(original):
    assert "fonts.googleapis.com" in original and ENDED in original   # what is rewritten
    page = page_template(original, "tiny-1", "./tuirnn.sh attach /home/me/runs/tiny-1")
    assert "googleapis" not in page and "https://" not in page.split("<body")[0]
    assert "fonts/RobotoMono-VariableFont_wght.ttf" in page and ENDED not in page
    assert "goes on training" in page and "./tuirnn.sh attach /home/me/runs/tiny-1" in page


def test_a_run_name_cannot_inject_markup_or_template_code(original):
    import jinja2
    page = page_template(original, "<script>x</script>{{ 7*7 }}", "tuirnn attach '{% x %}'")
    assert "<script>x</script>" not in page and "{{ 7*7 }}" not in page
    env = jinja2.Environment(loader=jinja2.DictLoader({"p": page}))
    out = env.get_template("p").render(config={"static": {"url": "/static/"}},
                                       application={"name": "t"})
    assert "49" not in out.split("The monitor of")[1][:40]
