"""The `twin` command line (typer).

Sub-commands: run, validate, ephemeris, tle fetch, paper isac|pnt, report.
Each command is a thin wrapper: parsing and printing here, work in the library.
"""

from __future__ import annotations

import typer

app = typer.Typer(no_args_is_help=True, add_completion=False, help="leo-twin: a digital twin of LEO constellations that communicate, sense and position.")
tle_app = typer.Typer(no_args_is_help=True, help="Two-line element sets: fetch and check.")
paper_app = typer.Typer(no_args_is_help=True, help="Reproduce the seed papers' figures and tables.")
app.add_typer(tle_app, name="tle")
app.add_typer(paper_app, name="paper")


def _register_paper_apps() -> None:
    """Attach `twin paper isac` and `twin paper pnt` where those modules exist."""
    import importlib

    for name in ("isac", "pnt"):
        try:
            module = importlib.import_module(f"twin.{name}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"twin.{name}.cli":
                raise
            continue
        paper_app.add_typer(module.app, name=name)


_register_paper_apps()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
