"""The `pachinko` command line: each command parses, calls one library function, prints, exits."""

from __future__ import annotations

import enum
import importlib.metadata
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Optional

import typer

from pachinko.errors import ManifestError
from pachinko.loader import CheckResult, examine
from pachinko.loader.plugins import discover
from pachinko.loader.table import routing_table, table_cells

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_USAGE = 2  # NOTE: typer/click already exit 2 on bad usage.

ENV_MANIFEST = "PACHINKO_MANIFEST"
DEFAULT_MANIFEST = "pachinko.toml"

app = typer.Typer(
    name="pachinko",
    help="Message routing, rooms and workers for Falcon WebSocket apps.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # NOTE: plain click help: flags read `--reload / --no-reload`, with no `<bool>` placeholder.
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(str, enum.Enum):
    """Text or JSON: `pachinko check --format`, `pachinko serve --log-format`."""

    text = "text"
    json = "json"


class DocumentFormat(str, enum.Enum):
    """Output formats of `pachinko asyncapi`."""

    json = "json"
    yaml = "yaml"


# NOTE: typer reads these annotations at runtime; `Optional` keeps 3.10 happy.
ManifestOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option(
        "--manifest",
        "-m",
        help=f"The manifest; default ${ENV_MANIFEST}, else ./{DEFAULT_MANIFEST}.",
        show_default=False,
    ),
]


def resolve_manifest_path(option: Path | None) -> Path:
    """Pick the manifest: `-m`, else `$PACHINKO_MANIFEST`, else `./pachinko.toml`.

    A folder stands for the `pachinko.toml` inside it.
    """
    path = option if option is not None else Path(os.environ.get(ENV_MANIFEST) or DEFAULT_MANIFEST)
    return path / DEFAULT_MANIFEST if path.is_dir() else path


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def summary(result: CheckResult) -> str:
    """Describe a check in one line: `✓ pachinko.toml: 3 routes, ...` or `✗ 2 errors, ...`."""
    warnings = _plural(result.warnings, "warning")
    if result.plan is None:
        return f"✗ {_plural(result.errors, 'error')}, {warnings}"
    routes = result.plan.routes
    # NOTE: counted as `pachinko routes` lists them: a resource's own handlers included.
    messages = len({(row.path, row.type) for row in routing_table(result.plan)})
    counts = f"{_plural(len(routes), 'route')}, {_plural(messages, 'message type')}"
    return f"✓ {result.path}: {counts}, {warnings}"


def report(result: CheckResult, fmt: Format = Format.text) -> int:
    """Print the diagnostics of a check (and, as text, a summary); return the exit code."""
    if fmt is Format.json:
        typer.echo(json.dumps([d.to_dict() for d in result.diagnostics], indent=2))
    else:
        for diagnostic in result.diagnostics:
            typer.echo(str(diagnostic))
        typer.echo(summary(result))
    return EXIT_OK if result.plan is not None else EXIT_INVALID


def emit(text: str, output: Path | None) -> None:
    """Write a generated document to `output`, else to stdout."""
    if output is None:
        typer.echo(text, nl=False)
        return
    try:
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        typer.echo(f"cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


OutputOption = Annotated[
    Optional[Path],  # noqa: UP045
    typer.Option("--output", "-o", help="Write to this file instead of stdout.", dir_okay=False),
]


def _print_version(wanted: bool) -> None:
    if wanted:
        typer.echo(f"pachinko {importlib.metadata.version('falcon-pachinko')}")
        raise typer.Exit(EXIT_OK)


@app.callback()
def main_callback(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Message routing, rooms and workers for Falcon WebSocket apps."""


@app.command()
def check(
    manifest: ManifestOption = None,
    output: Annotated[
        Format, typer.Option("--format", help="Print diagnostics as text or as JSON.")
    ] = Format.text,
    against: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(
            "--against",
            help="Also report drift between the manifest and this AsyncAPI document.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Load, import and validate the manifest; report every problem at once."""
    result = examine(resolve_manifest_path(manifest))
    if against is not None and result.plan is not None:
        from pachinko.contract.drift import drift

        found = (*result.diagnostics, *drift(result.plan, against))
        is_valid = not any(d.is_error for d in found)
        result = CheckResult(result.path, found, result.plan if is_valid else None)
    raise typer.Exit(report(result, output))


def _table(rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@app.command()
def plugins() -> None:
    """List the installed plugins: group, name, object, distribution, version."""
    rows = [("GROUP", "NAME", "OBJECT", "DISTRIBUTION", "VERSION")]
    rows += [
        (info.group, info.name, info.value, info.distribution or "?", info.version or "?")
        for info in discover()
    ]
    typer.echo(_table(rows))
    raise typer.Exit(EXIT_OK)


class LogLevel(str, enum.Enum):
    """Log levels of `pachinko serve`."""

    critical = "critical"
    error = "error"
    warning = "warning"
    info = "info"
    debug = "debug"
    trace = "trace"


@app.command()
def serve(
    manifest: ManifestOption = None,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    reload: Annotated[
        bool, typer.Option(help="Reload when the manifest or the modules it names change.")
    ] = False,
    workers: Annotated[int, typer.Option(min=1, help="Server processes.")] = 1,
    log_level: Annotated[LogLevel, typer.Option(help="Log level.")] = LogLevel.info,
    proxy_headers: Annotated[
        bool, typer.Option(help="Trust X-Forwarded-For/-Proto from --forwarded-allow-ips.")
    ] = True,
    forwarded_allow_ips: Annotated[
        Optional[str],  # noqa: UP045
        typer.Option(help="Comma-separated proxy IPs to trust, or '*'. [default: 127.0.0.1]"),
    ] = None,
    root_path: Annotated[str, typer.Option(help="ASGI root_path, behind a path proxy.")] = "",
    ssl_keyfile: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="TLS private key file.", show_default=False),
    ] = None,
    ssl_certfile: Annotated[
        Optional[Path],  # noqa: UP045
        typer.Option(help="TLS certificate file.", show_default=False),
    ] = None,
    log_query_strings: Annotated[
        bool, typer.Option(help="Show query strings (often tokens) in access log lines.")
    ] = False,
    log_format: Annotated[
        Format, typer.Option(help="Log lines as text, or as JSON objects (one per line).")
    ] = Format.text,
) -> None:
    """Check the manifest (exit 1, port never bound, on errors), then serve it with uvicorn."""
    result = examine(resolve_manifest_path(manifest), processes=workers)
    if result.plan is None or result.warnings:
        code = report(result)
        if result.plan is None:
            raise typer.Exit(code)
    from pachinko.logs import log_config
    from pachinko.server import run

    options = {
        "proxy_headers": proxy_headers,
        "forwarded_allow_ips": forwarded_allow_ips,
        "root_path": root_path,
        "ssl_keyfile": None if ssl_keyfile is None else str(ssl_keyfile),
        "ssl_certfile": None if ssl_certfile is None else str(ssl_certfile),
        "log_config": log_config(
            redact_queries=not log_query_strings,
            log_format=log_format.value,
            level=log_level.value,
        ),
    }
    raise typer.Exit(
        run(
            result.plan,
            host=host,
            port=port,
            reload=reload,
            workers=workers,
            log_level=log_level.value,
            options=options,
        )
    )


@app.command()
def routes(manifest: ManifestOption = None) -> None:
    """Print the routing table: path, message type, handler, payload, reply, source."""
    result = examine(resolve_manifest_path(manifest))
    if result.plan is None:
        raise typer.Exit(report(result))
    typer.echo(_table(table_cells(routing_table(result.plan))))
    raise typer.Exit(EXIT_OK)


@app.command()
def asyncapi(
    manifest: ManifestOption = None,
    output: OutputOption = None,
    fmt: Annotated[
        Optional[DocumentFormat],  # noqa: UP045
        typer.Option("--format", help="json or yaml; default: from -o's suffix, else json."),
    ] = None,
    host: Annotated[str, typer.Option(help="Host of the document's server.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port of the document's server.")] = 8000,
) -> None:
    """Print an AsyncAPI 3.0 document of the manifest's WebSocket routes and messages."""
    from pachinko.contract.asyncapi import asyncapi_text

    chosen = fmt.value if fmt is not None else None
    try:
        text = asyncapi_text(resolve_manifest_path(manifest), output, chosen, host, port)
    except ManifestError as error:
        raise typer.Exit(report(CheckResult(Path(), error.diagnostics, None))) from None
    emit(text, output)
    raise typer.Exit(EXIT_OK)


@app.command()
def schema(output: OutputOption = None) -> None:
    """Print the JSON Schema (draft 2020-12) of pachinko.toml, for editors and CI."""
    from pachinko.contract.schema import manifest_schema

    emit(json.dumps(manifest_schema(), indent=2) + "\n", output)
    raise typer.Exit(EXIT_OK)


def main() -> None:
    """Run the `pachinko` command line."""
    app()


if __name__ == "__main__":
    main()
