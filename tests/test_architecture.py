"""dl_core is the PyTorch-only library: no UI imports and no print() anywhere in it."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

DL_CORE = Path(__file__).resolve().parent.parent / "dl_core"
FORBIDDEN = {"streamlit", "altair"}
SOURCES = sorted(DL_CORE.rglob("*.py"))


def forbidden_imports(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [f"line {node.lineno}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    return found


def print_calls(tree: ast.AST) -> list[int]:
    return [node.lineno for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print"]


def test_dl_core_has_sources():
    names = {p.name for p in SOURCES}
    assert {"cnn.py", "cnn_train.py", "data.py", "device.py", "digits.py"} <= names


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DL_CORE)))
def test_no_ui_imports(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert forbidden_imports(tree) == [], f"{path.name} imports a UI library"


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(DL_CORE)))
def test_no_print_calls(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    assert print_calls(tree) == [], f"{path.name} calls print()"


# The checkers themselves must be able to fail.
@pytest.mark.parametrize("src", ["import streamlit as st", "import altair", "from streamlit import session_state",
                                 "from altair.vegalite import v5", "import os, streamlit.components.v1"])
def test_checker_catches_imports(src):
    assert forbidden_imports(ast.parse(src))


@pytest.mark.parametrize("src", ["import streamlit_drawable_canvas", "from . import streamlit", "import torch",
                                 "x = 'import streamlit'"])
def test_checker_allows_other_imports(src):
    assert forbidden_imports(ast.parse(src)) == []


def test_checker_catches_print():
    assert print_calls(ast.parse("def f():\n    print('x')\n")) == [2]
    assert print_calls(ast.parse("import sys\nsys.stdout.write('x')\nlog.print('y')\n")) == []
