"""`pachinko check --against`: drift between a manifest and a hand-written AsyncAPI document.

Both sides are read as the same shape (`pachinko.contract.document.received`): the
manifest's through the document `pachinko asyncapi` would generate. Each item found
on one side only is reported where it is written: a key of the manifest, a field of
a payload Struct in its Python file, or a key of the document.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import msgspec

from pachinko.contract.asyncapi import address_of, asyncapi_document
from pachinko.contract.document import Channel, Received, address_key, received
from pachinko.contract.locate import DocumentError, Located, read_located
from pachinko.contract.routes import AppInfo, MessageInfo, describe
from pachinko.errors import Diagnostic
from pachinko.loader.records import Plan
from pachinko.manifest.diagnostics import (
    ASYNCAPI_SYNTAX,
    ASYNCAPI_UNREADABLE,
    ASYNCAPI_VERSION,
    DRIFT_CHANNEL,
    DRIFT_FIELD,
    DRIFT_FIELD_TYPE,
    DRIFT_MESSAGE,
    DRIFT_REPLY,
)


def drift(plan: Plan, document: Path) -> tuple[Diagnostic, ...]:
    """Compare a resolved manifest with an AsyncAPI document; return the differences."""
    document = document.absolute()
    try:
        doc = read_located(document, ASYNCAPI_UNREADABLE, ASYNCAPI_SYNTAX)
    except DocumentError as error:
        return (error.diagnostic,)
    version = doc.data.get("asyncapi") if isinstance(doc.data, dict) else None
    if not (isinstance(version, str) and version.startswith("3.")):
        line, column = doc.locate(("asyncapi",))
        message = f"expected an AsyncAPI 3 document, got asyncapi: {version!r}"
        return (Diagnostic(document, line, column, ASYNCAPI_VERSION, message),)
    app = describe(plan)
    return tuple(_Comparison(app, doc).run())


class _Comparison:
    """One comparison; `found` collects diagnostics in both files."""

    def __init__(self, app: AppInfo, doc: Located) -> None:
        self.app = app
        self.doc = doc
        self.found: list[Diagnostic] = []
        self.name = doc.path.name

    def in_doc(self, at: tuple, code: str, message: str, hint: str | None = None) -> None:
        line, column = self.doc.locate(at)
        self.found.append(Diagnostic(self.doc.path, line, column, code, message, hint))

    def in_manifest(self, key: tuple, code: str, message: str, hint: str | None = None) -> None:
        line, column = self.app.locate(key)
        self.found.append(Diagnostic(self.app.path, line, column, code, message, hint))

    def run(self) -> list[Diagnostic]:
        ours = received(asyncapi_document(self.app), self.app.envelope)
        theirs = received(self.doc.data, self.app.envelope)
        routes = {address_key(address_of(route.path)): route for route in self.app.routes}
        for key, route in routes.items():
            if key not in theirs:
                message = f"route {route.path!r} has no channel with its address in {self.name}"
                self.in_manifest((*route.key, "path"), DRIFT_CHANNEL, message)
                continue
            infos = {info.type: info for info in route.messages}
            self.channel(ours[key], theirs[key], infos)
        for key, channel in theirs.items():
            if key not in routes:
                message = f"channel {channel.address!r} matches no route of the manifest"
                self.in_doc(channel.at, DRIFT_CHANNEL, message)
        return sorted(self.found, key=lambda d: (str(d.path), d.line, d.column, d.message))

    def channel(self, ours: Channel, theirs: Channel, infos: dict[str, MessageInfo]) -> None:
        for type_ in ours.messages:
            if type_ not in theirs.messages:
                message = f"message {type_!r} of {ours.address!r} is not in {self.name}"
                self.in_manifest(infos[type_].key, DRIFT_MESSAGE, message)
        for type_, their in theirs.messages.items():
            if type_ not in ours.messages:
                message = f"message {type_!r} of {ours.address!r} has no handler in the manifest"
                self.in_doc(their.at, DRIFT_MESSAGE, message)
            else:
                self.message(infos[type_], ours.messages[type_], their)

    def message(self, info: MessageInfo, mine: Received, their: Received) -> None:
        what = f"payload of {info.type!r}"
        if (mine.fields is None) != (their.fields is None) and "any" not in (mine.kind, their.kind):
            message = f"the {what} is {their.kind} here, {mine.kind} in the code"
            self.in_doc(their.payload_at, DRIFT_FIELD_TYPE, message, _source_hint(info, None))
        if mine.fields is not None and their.fields is not None:
            for name, (kind, _) in mine.fields.items():
                if name not in their.fields:
                    self.in_code(info, name, f"field {name!r} of the {what} is not in {self.name}")
                elif their.fields[name][0] != kind:
                    other, at = their.fields[name]
                    message = f"field {name!r} of the {what} is {other} here, {kind} in the code"
                    self.in_doc(at, DRIFT_FIELD_TYPE, message, _source_hint(info, name))
            for name, (_, at) in their.fields.items():
                if name not in mine.fields:
                    message = f"field {name!r} of the {what} is not in the code"
                    self.in_doc(at, DRIFT_FIELD, message, _source_hint(info, None))
        if their.replies and info.reply not in their.replies:
            for reply, at in their.replies.items():
                message = f"reply {reply!r} of {info.type!r}: the manifest replies {info.reply!r}"
                hint = f"set reply = {reply!r} in the manifest" if info.is_declared else None
                self.in_doc(at, DRIFT_REPLY, message, hint)
        if info.has_explicit_reply and info.reply not in their.replies:
            message = f"reply {info.reply!r} of {info.type!r} is not in {self.name}"
            self.in_manifest((*info.key, "reply"), DRIFT_REPLY, message)

    def in_code(self, info: MessageInfo, name: str, message: str) -> None:
        where = _field_source(info.payload, name)
        if where is None:
            self.in_manifest((*info.key, "payload"), DRIFT_FIELD, message)
        else:
            self.found.append(Diagnostic(where[0], where[1], where[2], DRIFT_FIELD, message))


def _field_source(payload: object, name: str) -> tuple[Path, int, int] | None:
    """Where a Struct declares the field encoded as `name`: file, line, column."""
    if not (isinstance(payload, type) and issubclass(payload, msgspec.Struct)):
        return None
    attribute = next(
        (f.name for f in msgspec.structs.fields(payload) if f.encode_name == name), name
    )
    pattern = re.compile(rf"^(\s+){re.escape(attribute)}\s*:")
    for klass in payload.__mro__:
        try:
            lines, start = inspect.getsourcelines(klass)
            file = Path(inspect.getsourcefile(klass) or "")
        except (OSError, TypeError):
            continue
        for offset, line in enumerate(lines):
            match = pattern.match(line)
            if match:
                return file, start + offset, len(match[1]) + 1
    return None


def _source_hint(info: MessageInfo, name: str | None) -> str | None:
    if not isinstance(info.payload, type):
        return None
    where = _field_source(info.payload, name) if name else None
    if where is not None:
        return f"the code declares it at {where[0]}:{where[1]}"
    return f"the code's payload type is {info.payload.__module__}:{info.payload.__qualname__}"
