"""The core never imports the UI stack (DESIGN: core without UI imports): every module of
tuirnn.core, found by walking the package, is imported in a fresh interpreter."""
import ast
import pkgutil
import subprocess
import sys
from pathlib import Path

import tuirnn
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


def package_imports() -> dict[str, set[str]]:
    """{module: the tuirnn modules it imports}, every import statement counted wherever it
    stands (module level or inside a function: both make a cycle, the second one only later),
    relative imports resolved. `from . import x` names the submodule x when there is one."""
    root = Path(tuirnn.__file__).resolve().parent
    files = {".".join(("tuirnn", *p.relative_to(root).with_suffix("").parts)).removesuffix(
        ".__init__"): p for p in root.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    up = parts[:len(parts) - node.level + 1]
                    base = ".".join(up + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base
                           for a in node.names]
            else:
                continue
            found |= {t for t in targets if t in files and t != name}
        graph[name] = found
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_import_graph_is_read_whole():
    graph = package_imports()
    assert "tuirnn.core.events" in graph["tuirnn.core.runlog"]        # module level
    assert "tuirnn.core.responder" in graph["tuirnn.tui.attach"]      # inside a method
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycles():
    """A cycle means no module of it can be read (or tested) without the others; one held
    together by imports inside functions only shows when that function first runs."""
    found = cycles(package_imports())
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)
