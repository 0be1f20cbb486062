"""The core never imports the UI stack (DESIGN: core without UI imports)."""
import subprocess
import sys

CORE = ["config", "data", "model", "train", "sample", "probe", "checkpoint", "events", "runlog",
        "control", "corpus", "errors"]


def test_core_modules_do_not_import_textual_or_rich():
    code = ("import sys\n"
            + "".join(f"import tuirnn.{m}\n" for m in CORE)
            + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
