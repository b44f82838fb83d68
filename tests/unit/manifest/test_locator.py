"""`Locator` finds where each key of a TOML document is written."""

from __future__ import annotations

from pachinko.manifest import Locator

TEXT = """\
version = 1            # line 1

[app]
name = "chat"

[[routes]]
path = "/a"

[[routes]]
path = "/b"
hooks.before_receive = ["x:y", "x:z"]
  "quoted key" = 1

[routes.messages."send.msg"]
handler = "app:send"

[[routes.workers]]
target = "app:poll"
args = { limit = 20, inner = { deep = true } }

[[routes.workers]]
target = '''
multi ] [ line
'''
every = [
  "not # a comment",  # a comment
  { x = 1 },
]

[[routes]]
name = "third"

[routes.messages.ping]
handlr = "app:ping"
"""


def test_top_level_and_table_keys() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("version",)) == (1, 1)
    assert locator.locate(("app",)) == (3, 1)
    assert locator.locate(("app", "name")) == (4, 1)


def test_arrays_of_tables_are_counted_per_array() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 0, "path")) == (7, 1)
    assert locator.locate(("routes", 1, "path")) == (10, 1)
    assert locator.locate(("routes", 2, "name")) == (31, 1)
    assert locator.locate(("routes", 1, "workers", 0, "target")) == (18, 1)
    assert locator.locate(("routes", 1, "workers", 1, "target")) == (22, 1)


def test_dotted_and_quoted_keys() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 1, "hooks", "before_receive")) == (11, 7)
    assert locator.locate(("routes", 1, "hooks")) == (11, 1)
    assert locator.locate(("routes", 1, "quoted key")) == (12, 3)
    assert locator.locate(("routes", 1, "messages", "send.msg", "handler")) == (15, 1)


def test_sub_tables_of_array_elements() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 2, "messages", "ping", "handlr")) == (34, 1)
    assert locator.locate(("routes", 2, "messages", "ping")) == (33, 1)


def test_inline_tables_and_array_elements() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 1, "workers", 0, "args", "limit")) == (19, 10)
    assert locator.locate(("routes", 1, "workers", 0, "args", "inner", "deep")) == (19, 32)
    assert locator.locate(("routes", 1, "hooks", "before_receive", 1)) == (11, 32)
    assert locator.locate(("routes", 1, "workers", 1, "every", 1, "x")) == (27, 5)
    assert locator.locate_value(("routes", 1, "workers", 0, "args", "limit")) == (19, 18)


def test_multi_line_strings_and_arrays_hide_no_keys() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 1, "workers", 1, "every")) == (25, 1)


def test_absent_keys_fall_back_to_their_table_header() -> None:
    locator = Locator(TEXT)
    assert locator.locate(("routes", 2, "path")) == (30, 1)
    assert locator.locate(("routes", 1, "messages", "send.msg", "payload")) == (14, 1)
    assert locator.locate(("limits", "burst")) == (1, 1)
    assert locator.locate(()) == (1, 1)


def test_crlf_and_unfollowable_text_do_not_raise() -> None:
    locator = Locator('a = 1\r\n[b]\r\nc = "x"\r\n')
    assert locator.locate(("b", "c")) == (3, 1)
    assert Locator("[[[ nonsense").locate(("x", 1, "y")) == (1, 1)
