"""URI templates checked by Falcon's router, and room patterns."""

from __future__ import annotations

import pytest

from pachinko.loader.paths import Templates, fields, placeholders, room_matches
from pachinko.manifest.diagnostics import Problem


def test_fields_of_a_template_include_converted_ones() -> None:
    assert fields("/chat/{room}/{n:int(min=1)}") == ["room", "n"]
    assert placeholders("chat:{room}:{user}") == ["room", "user"]


@pytest.mark.parametrize(
    ("pattern", "name", "matches"),
    [
        ("chat:{room}", "chat:{room}", True),
        ("chat:{room}", "chat:lobby", True),
        ("chat:{room}", "chat:{id}", True),
        ("chat:{room}", "chat:", False),
        ("chat:{room}", "news:lobby", False),
        ("lobby", "lobby", True),
        ("lobby", "lobby2", False),
        ("a.{x}", "aXb", False),
    ],
)
def test_room_patterns_match_names(pattern: str, name: str, matches: bool) -> None:
    assert room_matches(pattern, name) is matches


@pytest.mark.parametrize(
    "template", ["chat", "/chat/{room", "/chat/{1x}", "/a/{x:nope}", "/a/ {x}", "/a/{x}/{x}"]
)
def test_bad_templates_are_rejected(template: str) -> None:
    with pytest.raises(Problem) as caught:
        Templates().add(template)
    assert caught.value.code == "bad-path"


def test_conflicting_templates_are_rejected_and_later_ones_still_checked() -> None:
    templates = Templates()
    templates.add("/a/{id}")
    with pytest.raises(Problem):
        templates.add("/a/{name}/b")
    templates.add("/a/{id}/c")
    templates.add("/b/{x:int}")
