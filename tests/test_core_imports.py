"""The core never imports the UI stack (DESIGN: core without UI imports): every module of
tuirnn.core, found by walking the package, is imported in a fresh interpreter."""
import pkgutil
import subprocess
import sys

import tuirnn.core


def core_modules() -> list[str]:
    return sorted(m.name for m in pkgutil.iter_modules(tuirnn.core.__path__, "tuirnn.core."))


def test_core_package_is_walked():
    names = core_modules()
    assert "tuirnn.core.train" in names and "tuirnn.core.config" in names and len(names) >= 12


def test_core_modules_do_not_import_textual_or_rich():
    code = ("import sys\n"
            + "".join(f"import {m}\n" for m in core_modules())
            + "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))\n"
            + "print(','.join(bad))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
