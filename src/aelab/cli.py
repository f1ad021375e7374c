"""The ``aelab`` command line.

Each area contributes its commands through a ``register(app)`` function in its own ``cli``
module (``aelab.shallow.cli``, ``aelab.data.cli``, ...). Errors derived from
:class:`aelab.errors.AelabError` are printed as one line; exit codes are 0 (success),
1 (the run failed) and 2 (bad input).
"""

from __future__ import annotations

import importlib
import sys
import traceback

import click
import typer

from aelab import __version__
from aelab.errors import AelabError

try:  # typer ships its own copy of click; its exceptions are those raised
    from typer._click import exceptions as _typer_click
except ImportError:  # pragma: no cover - an older typer on click itself
    _typer_click = click.exceptions

_EXIT = tuple({typer.Exit, click.exceptions.Exit, _typer_click.__dict__.get("Exit", click.exceptions.Exit)})
_USAGE = tuple({click.exceptions.UsageError, _typer_click.UsageError})
_NO_ARGS = tuple({click.exceptions.NoArgsIsHelpError, _typer_click.NoArgsIsHelpError})
_CLICK = tuple({click.exceptions.ClickException, _typer_click.ClickException})
_ABORT = tuple({typer.Abort, click.exceptions.Abort, _typer_click.__dict__.get("Abort", click.exceptions.Abort)})

__all__ = ["app", "main", "is_quiet"]

app = typer.Typer(
    name="aelab",
    help="Exact theory and practice of autoencoders: shallow ODEs next to SGD, random deep "
    "weight-tied autoencoders, reversible random-like nets.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)

_AREAS = (
    "aelab.shallow.cli",
    "aelab.data.cli",
    "aelab.deep.cli",
    "aelab.reversible.cli",
    "aelab.train.cli",
    "aelab.sweep.cli",
    "aelab.experiments.cli",
)


def _version_callback(value: bool) -> None:
    if value:
        typer.echo(f"aelab {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bars or chatter; errors still go to stderr."),
    version: bool = typer.Option(False, "--version", callback=_version_callback, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    ctx.obj = {"quiet": quiet}


def is_quiet(ctx: click.Context | None, local: bool = False) -> bool:
    """True when ``--quiet`` was given globally (``aelab --quiet ...``) or to the command itself."""
    while ctx is not None:
        if isinstance(ctx.obj, dict) and ctx.obj.get("quiet"):
            return True
        ctx = ctx.parent
    return local


def _register_areas() -> None:
    for name in _AREAS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
                continue  # the area is not part of this build
            raise
        module.register(app)


_register_areas()


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _usage_error(exc) -> str:
    """A usage error as one line: what is wrong, naming the option, and where to find help."""
    message = _one_line(exc.format_message())
    if exc.ctx is not None:
        message += f" (see {exc.ctx.command_path} --help)"
    return message


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return its exit code.

    Every error is reported as one line on stderr (``error: ...``) without a traceback, except
    a bug (an unexpected exception), whose traceback is printed with exit code 1.
    """
    try:
        rv = app(args=argv, prog_name="aelab", standalone_mode=False)
    except _EXIT as exc:  # --help, --version, typer.Exit
        return exc.exit_code
    except _NO_ARGS as exc:  # a group without a command: its help
        text = exc.format_message()
        if text.strip():
            click.echo(text, err=True)
        return exc.exit_code
    except _USAGE as exc:  # unknown option, bad value, missing argument
        click.echo(f"error: {_usage_error(exc)}", err=True)
        return 2
    except _CLICK as exc:  # e.g. a file typer could not open
        click.echo(f"error: {_one_line(exc.format_message())}", err=True)
        return exc.exit_code
    except _ABORT:  # Ctrl-C (click turns KeyboardInterrupt into Abort)
        click.echo("interrupted", err=True)
        return 130
    except SystemExit as exc:
        code = exc.code
        return code if isinstance(code, int) else (0 if code is None else 1)
    except AelabError as exc:
        click.echo(f"error: {_one_line(exc)}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    except Exception:  # a bug: show the traceback, fail with 1
        traceback.print_exc()
        return 1
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
