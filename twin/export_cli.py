"""`twin export ...`: a run in other tools' formats. Registered in `twin.cli` by one line.

``twin export czml RUN_DIR [-o FILE]``: the run as CZML for Cesium (`twin.export_czml`).
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

app = typer.Typer(no_args_is_help=True, help="Export a run for other tools (CZML for Cesium).")


@app.command("czml")
def czml(
    run_dir: Path = typer.Argument(..., help="A run directory written by `twin run`."),
    out: Path = typer.Option(
        None, "--out", "-o", help="CZML file to write (default: RUN_DIR/report/run.czml)."
    ),
) -> None:
    """Serving satellites' orbits, entities, serving links and ISLs as CZML (3-D, Cesium)."""
    from twin.export_czml import export_czml  # deferred: czml3 only for this command

    if not (run_dir / "run.json").exists() or not (run_dir / "tables").exists():
        Console(stderr=True).print(f"[bold red]refused[/]: {run_dir}: not a run directory")
        raise typer.Exit(2)
    path, facts = export_czml(run_dir, out)
    Console().print(
        f"wrote {path}: {facts['satellites']} satellites, {facts['entities']} entities, "
        f"{facts['serving_links']} serving links, {facts['isls']} ISLs, {facts['bytes']:,} bytes"
    )
