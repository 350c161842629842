"""No memoized function has a side effect.

One server process serves the whole room: a function under functools.lru_cache / functools.cache /
st.cache_data / st.cache_resource runs once per argument tuple for EVERYONE. If such a function writes
session state or starts work (a job, thread or process), the first click does it and every later click
(by anyone) is silently swallowed. This AST check walks every memoized function of the app's code.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([ROOT / "app.py"] + [p for d in ("pages", "ui", "dl_core", "benchmarks") for p in (ROOT / d).rglob("*.py")])
CACHE_NAMES = {"lru_cache", "cache", "cache_data", "cache_resource", "memoize", "experimental_memo",
               "experimental_singleton"}
# Calls that start work or change what a session sees: flagged inside a memoized function.
SIDE_EFFECT_CALLS = {"start", "set_state", "Thread", "Process", "Popen", "run_job", "submit", "rerun",
                     "switch_page", "Timer"}
SESSION_MUTATORS = {"update", "setdefault", "pop", "clear", "popitem", "__setitem__", "__delitem__"}


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Call):
        node = node.func
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
    return ".".join(reversed(parts))


def is_memoized(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    return any(_dotted(d).split(".")[-1] in CACHE_NAMES for d in fn.decorator_list)


def _is_session_state(node: ast.AST) -> bool:
    """st.session_state, session_state, st.session_state[...] (any depth of subscripts/attributes on it)."""
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        if isinstance(node, ast.Attribute) and node.attr == "session_state":
            return True
        node = node.value
    return isinstance(node, ast.Name) and node.id == "session_state"


def side_effects(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    """What in this function's body writes session state or starts work."""
    found = []
    for node in ast.walk(fn):
        targets = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        found += [f"line {node.lineno}: writes session state" for t in targets if _is_session_state(t)]
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            last = name.split(".")[-1]
            if last in SIDE_EFFECT_CALLS:
                found.append(f"line {node.lineno}: calls {name}()")
            elif last in SESSION_MUTATORS and isinstance(node.func, ast.Attribute) and _is_session_state(node.func.value):
                found.append(f"line {node.lineno}: {name}() changes session state")
    return found


def memo_side_effects(tree: ast.AST) -> list[str]:
    return [f"{fn.name}: {what}" for fn in ast.walk(tree)
            if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_memoized(fn)
            for what in side_effects(fn)]


def test_sources_found():
    names = {p.relative_to(ROOT).as_posix() for p in SOURCES}
    assert {"app.py", "ui/common.py", "ui/jobs.py", "pages/diffusion.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_memoized_functions_have_no_side_effects(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert memo_side_effects(tree) == [], f"{path.name}: a memoized function has a side effect (runs once for everyone)"


# The checker itself must be able to fail, and must leave pure cached functions alone.
@pytest.mark.parametrize("src", [
    "@functools.lru_cache(maxsize=256)\ndef f(key, value=True):\n    st.session_state[key] = value",
    "@lru_cache\ndef f(k):\n    session_state[k] = 1",
    "@functools.cache\ndef f():\n    st.session_state.flag = True",
    "@st.cache_data\ndef f():\n    st.session_state.update(a=1)",
    "@st.cache_data(max_entries=4)\ndef f():\n    st.session_state.setdefault('a', 1)",
    "@st.cache_resource\ndef f():\n    threading.Thread(target=g).start()",
    "@st.cache_data\ndef f(key):\n    jobs.registry().start(key, g)",
    "@st.cache_data\ndef f():\n    set_state('x')",
    "@st.cache_resource\ndef f():\n    return subprocess.Popen(['x'])",
    "@st.cache_data\ndef f():\n    st.session_state['a'] += 1",
    "@st.cache_data\ndef f():\n    del st.session_state['a']",
])
def test_checker_catches_side_effects(src):
    assert memo_side_effects(ast.parse(src))


@pytest.mark.parametrize("src", [
    "@st.cache_data\ndef f(x):\n    return x * 2",
    "@st.cache_resource\ndef f():\n    torch.set_num_threads(1)\n    return pick_device()",
    "def f(key):\n    st.session_state[key] = True",  # not memoized: fine
    "@functools.lru_cache(maxsize=8)\ndef f(n):\n    d = {}\n    d['a'] = n\n    return d",
    "@st.cache_data\ndef f():\n    return st.session_state.get('a')",  # reads are not writes (still unwise, not flagged)
])
def test_checker_allows_pure_functions(src):
    assert memo_side_effects(ast.parse(src)) == []
