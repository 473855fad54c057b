"""twin.config.toml: the TOML line locator, syntax errors and unreadable files with file:line."""

from __future__ import annotations

import pytest

from config.refusals import (
    BASE,
    line_of,
    refused,
)
from twin.config.loader import load_scenario
from twin.config.toml import TomlLocator
from twin.errors import InputError


def test_toml_syntax_error_gives_file_and_line(tmp_path):
    text = BASE.replace("planes = 6", "planes = = 6")
    problems = refused(tmp_path, text)
    assert len(problems) == 1
    assert problems[0].where == f"{tmp_path / 's.toml'}:{line_of(text, 'planes = = 6')}"
    assert problems[0].reason.startswith("TOML syntax error")


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(InputError, match="scenario file not found"):
        load_scenario(tmp_path / "absent.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[run]\nname = "caf\xe9"\n')
    with pytest.raises(InputError, match="not UTF-8"):
        load_scenario(path)


def test_locator_follows_tables_arrays_and_inline_values():
    text = """\
# header comment with [brackets] and key = value
title = "a # not a comment [x]"   # trailing
note = '''
fake = 1
[fake.table]
'''
[run]
name = "x"
run2.dotted = 1
[[a.b]]
k = 1
[[a.b]]
k = 2
[[a.b.c]]
z = 3
[[a.b]]
arr = [
  1,   # first
  "two, with comma",
  { p = 1, q = [1, 2] },
]
inl = { u = "}", v = { w = 1 } }
after = 5
"""
    loc = TomlLocator(text)
    assert loc.line_of(("title",)) == 2
    assert loc.line_of(("note",)) == 3
    assert ("fake",) not in loc.lines and ("fake", "table") not in loc.lines
    assert loc.line_of(("run",)) == 7 and loc.line_of(("run", "name")) == 8
    assert loc.line_of(("run", "run2", "dotted")) == 9
    assert loc.line_of(("a", "b", 0, "k")) == 11
    assert loc.line_of(("a", "b", 1, "k")) == 13
    assert loc.line_of(("a", "b", 1, "c", 0, "z")) == 15
    assert loc.line_of(("a", "b", 2)) == 16
    assert loc.line_of(("a", "b", 2, "arr", 0)) == 18
    assert loc.line_of(("a", "b", 2, "arr", 1)) == 19
    assert loc.line_of(("a", "b", 2, "arr", 2, "q", 1)) == 20
    assert loc.line_of(("a", "b", 2, "inl", "v", "w")) == 22
    assert loc.line_of(("a", "b", 2, "after")) == 23
    assert loc.line_of(("a", "b", 2, "missing")) == 16  # falls back to the table header
    assert loc.line_of(("nothing",)) is None
