"""The ``notifier`` command: accounts, API keys, sending, scheduling, serving."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
import redis
from flask import Flask
from flask.cli import AppGroup, ScriptInfo, with_appcontext

from notifier.backend import backend
from notifier.core.ids import is_user_id
from notifier.core.origins import MAX_KEY_ORIGINS, parse_origins
from notifier.model.requests import PRIORITIES, SendRequest
from notifier.stores.api_keys import SCOPES, parse_scopes
from notifier.web.forms import MIN_PASSWORD


def _create_app():
    from notifier import create_app

    return create_app()


class NotifierGroup(click.Group):
    """notifier's own commands, without Flask's (``run``, ``shell``, ``routes``, plugins)
    or its options; a command that needs the app loads it through the context's
    :class:`~flask.cli.ScriptInfo` (``with_appcontext``), so ``serve`` and ``worker``
    never build one."""

    def make_context(self, info_name, args, parent=None, **extra):
        extra.setdefault("obj", ScriptInfo(create_app=_create_app, set_debug_flag=False,
                                           load_dotenv_defaults=False))
        return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        """Run the command; an unreachable Redis is one line, not a traceback."""
        try:
            return super().invoke(ctx)
        except redis.ConnectionError as exc:
            raise click.ClickException(f"cannot reach Redis: {exc}") from None


@click.group(cls=NotifierGroup)
@click.version_option(package_name="notifier", prog_name="notifier",
                      message="%(prog)s %(version)s")
def main() -> None:
    """Manage and run the notifier service."""


# AppGroup runs each of its commands inside the app's context.
users = AppGroup("users", help="Manage user accounts.")
api_keys = AppGroup("api-keys", help="Manage API keys for sending services.")


def _username(username: str) -> str:
    if not is_user_id(username):
        raise click.BadParameter("1-64 letters, digits or _ . : @ -", param_hint="USERNAME")
    return username


def _password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise click.BadParameter(f"use at least {MIN_PASSWORD} characters",
                                 param_hint="password")
    return password


def _unknown(username: str) -> click.ClickException:
    return click.ClickException(f"no account named {username!r}")


@users.command("create")
@click.argument("username")
@click.option("--admin", is_flag=True, help="Make the account an admin.")
@click.password_option(help="The password (asked for when not given).")
def create_user(username: str, admin: bool, password: str) -> None:
    """Create an account."""
    accounts = backend().accounts
    if accounts.exists_in_any_case(_username(username)):
        raise click.ClickException(f"an account named {username!r} exists already "
                                   "(in some letter case)")
    if not accounts.create(username, _password(password), admin=admin):
        raise click.ClickException(f"an account named {username!r} exists already")
    click.echo(f"created {'admin ' if admin else ''}account {username}")


@users.command("reset-password")
@click.argument("username")
@click.password_option("--password", help="The new password (asked for when not given).")
def reset_password(username: str, password: str) -> None:
    """Set a new password for USERNAME and sign it out everywhere."""
    accounts = backend().accounts
    if accounts.get(_username(username)) is None:
        raise _unknown(username)
    accounts.set_password(username, _password(password))
    click.echo(f"new password set for {username}; its sessions were signed out")


@users.command("disable")
@click.argument("username")
def disable_user(username: str) -> None:
    """Disable USERNAME: it cannot sign in, and is signed out everywhere."""
    if not backend().accounts.set_disabled(_username(username), True):
        raise _unknown(username)
    click.echo(f"disabled {username} and signed it out everywhere")


@users.command("enable")
@click.argument("username")
def enable_user(username: str) -> None:
    """Let a disabled USERNAME sign in again."""
    if not backend().accounts.set_disabled(_username(username), False):
        raise _unknown(username)
    click.echo(f"enabled {username}")


@users.command("set-admin")
@click.argument("username")
@click.option("--revoke", is_flag=True, help="Take the admin rights away instead.")
def set_admin(username: str, revoke: bool) -> None:
    """Make USERNAME an admin (or, with --revoke, no longer one)."""
    if not backend().accounts.set_admin(_username(username), not revoke):
        raise _unknown(username)
    click.echo(f"{username} is {'no longer' if revoke else 'now'} an admin")


def _origins(values: tuple[str, ...], hint: str) -> list[str]:
    try:
        return parse_origins(list(values), limit=MAX_KEY_ORIGINS)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


def _scopes(values: tuple[str, ...], hint: str) -> tuple[str, ...]:
    try:
        return parse_scopes(list(values))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint=hint) from None


@api_keys.command("create")
@click.argument("name")
@click.option("--origin", "origins", multiple=True, metavar="ORIGIN",
              help="A site (https://host[:port]) whose pages may use the widget tokens "
                   "this key mints; repeat for more.")
@click.option("--scope", "scopes", multiple=True, type=click.Choice(SCOPES),
              help="What the key may do; repeat for more (default: every scope).")
def create_api_key(name: str, origins: tuple[str, ...], scopes: tuple[str, ...]) -> None:
    """Create an API key and print it (only this once)."""
    key, secret = backend().api_keys.create(name, origins=_origins(origins, "--origin"),
                                            scopes=_scopes(scopes or SCOPES, "--scope"))
    click.echo(secret)
    click.echo(f"key id {key.key_id} ({name}): store it now, it is not shown again", err=True)


@api_keys.command("list")
def list_api_keys() -> None:
    """List API keys (never their secrets) and the origins each allows."""
    for key in backend().api_keys.list():
        state = "revoked" if key.revoked else "active"
        origins = " ".join(key.origins) or "-"
        click.echo(f"{key.key_id}  {state:8}  {key.name}  scopes: {','.join(key.scopes)}  "
                   f"origins: {origins}")


@api_keys.command("set-scopes")
@click.argument("key_id")
@click.argument("scopes", nargs=-1, required=True, type=click.Choice(SCOPES))
def set_api_key_scopes(key_id: str, scopes: tuple[str, ...]) -> None:
    """Replace what KEY_ID may do (send, read, manage, widget); every server applies it
    at once."""
    parsed = _scopes(scopes, "SCOPES")
    if not backend().api_keys.set_scopes(key_id, parsed):
        raise click.ClickException(f"no API key with id {key_id!r}")
    click.echo(f"{key_id}: {' '.join(parsed)}")


@api_keys.command("set-origins")
@click.argument("key_id")
@click.argument("origins", nargs=-1)
def set_api_key_origins(key_id: str, origins: tuple[str, ...]) -> None:
    """Replace the origins whose pages may use KEY_ID's widget tokens (none: clear them)."""
    parsed = _origins(origins, "ORIGINS")
    if not backend().api_keys.set_origins(key_id, parsed):
        raise click.ClickException(f"no API key with id {key_id!r}")
    click.echo(f"{key_id}: " + (" ".join(parsed) or "no origins (this site only)"))


@api_keys.command("revoke")
@click.argument("key_id")
def revoke_api_key(key_id: str) -> None:
    """Revoke an API key by its id."""
    if not backend().api_keys.revoke(key_id):
        raise click.ClickException(f"no API key with id {key_id!r}")
    click.echo(f"revoked {key_id}")


@click.command("send")
@with_appcontext
@click.argument("user_id")
@click.option("--title", required=True)
@click.option("--body", default="")
@click.option("--type", "type_", default="general", show_default=True)
@click.option("--priority", type=click.Choice(PRIORITIES), default="normal", show_default=True)
@click.option("--link", default=None)
@click.option("--thread", default=None, help="Group it with the user's others of this thread.")
def send(user_id: str, title: str, body: str, type_: str, priority: str, link: str | None,
         thread: str | None):
    """Send a notification to USER_ID and print its id."""
    from pydantic import ValidationError

    try:
        request = SendRequest(user_id=user_id, title=title, body=body, type=type_,
                              priority=priority, link=link, thread=thread)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        field = ".".join(str(p) for p in first["loc"]) or "user_id"
        raise click.BadParameter(first["msg"], param_hint=field) from None
    outcome = backend().inbox.send([request], [(user_id, 0)])
    click.echo(outcome.ids[0])


@click.command("scheduler")
@with_appcontext
def run_scheduler() -> None:
    """Fire scheduled sends when they are due, until SIGTERM or Ctrl-C.

    Run as many as you like beside the server (or instead of the workers' own
    schedulers, with NOTIFIER_SCHEDULER=false): each item fires once.
    """
    from flask import current_app

    from notifier.core.log_format import configure_process_logging, log_format_from_env
    from notifier.scheduling.scheduler import Runner, StopSignal

    embedded = backend().embedded
    if embedded is not None and embedded.owner:
        # It would own the embedded Redis and shut it down on exit, under the server.
        raise click.ClickException("the embedded Redis is not running: start the server "
                                   "first (make run), or set REDIS_URL")
    configure_process_logging(log_format_from_env())
    _require_known_format()
    stop = StopSignal()
    Runner(current_app._get_current_object()).run(stop)


def _require_known_format() -> None:
    from notifier.bootstrap import require_known_format
    from notifier.stores.data_format import DataFormatError

    try:
        require_known_format(backend())
    except DataFormatError as exc:
        raise click.ClickException(f"cannot start: {exc}") from None


@click.command("migrate")
@with_appcontext
def migrate() -> None:
    """Upgrade the data in Redis to this version's format (stop every server, worker and
    scheduler first)."""
    from notifier.stores.data_format import CURRENT, DataFormatError

    data_format = backend().data_format
    try:
        done = data_format.migrate(
            on_step=lambda version: click.echo(f"upgrading format {version} to {version + 1}"))
    except DataFormatError as exc:
        raise click.ClickException(str(exc)) from None
    if done:
        click.echo(f"the data is in format {CURRENT} now")
    else:
        click.echo(f"the data is in format {CURRENT} already: nothing to do")


@main.command("worker")
def run_worker() -> None:
    """Deliver queued notifications (web push, email, mobile push, SMS) until SIGTERM.

    Run any number beside the server: they share the queue. The first SIGTERM or
    Ctrl-C finishes the sends in progress, a second stops at once.
    """
    from notifier import PROJECT_ROOT

    # worker.py monkey-patches for gevent before anything else is imported, which
    # this process can no longer do: replace it.
    os.execv(sys.executable, [sys.executable, str(PROJECT_ROOT / "worker.py")])  # noqa: S606


@main.command("serve", context_settings={"ignore_unknown_options": True})
@click.argument("gunicorn_args", nargs=-1, type=click.UNPROCESSED)
def serve(gunicorn_args: tuple[str, ...]) -> None:
    """Serve the app under gunicorn with gevent workers (gunicorn.conf.py)."""
    from notifier import PROJECT_ROOT

    os.chdir(PROJECT_ROOT)
    argv = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", *gunicorn_args,
            "wsgi:app"]
    os.execv(sys.executable, argv)  # noqa: S606 (replaces this process by design)


@click.command("backup")
@with_appcontext
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
def backup_command(path: Path) -> None:
    """Copy this instance's Redis data (every key under its prefix) and its secret files
    (secret key, VAPID key) to the file PATH, readable by this user only."""
    from flask import current_app

    from notifier.backup import BackupError, write_backup

    state = backend()
    try:
        summary = write_backup(state.redis, state.keys, Path(current_app.instance_path), path)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"backed up {summary.keys} keys and {len(summary.secrets)} secret files "
               f"({', '.join(summary.secrets) or 'none'}) to {path}")


@click.command("restore")
@with_appcontext
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--replace", is_flag=True,
              help="Delete the instance's keys in Redis first (stop the servers before).")
def restore_command(path: Path, replace: bool) -> None:
    """Restore a backup made by ``notifier backup`` into this instance: its keys into
    Redis, its secret files into the instance folder."""
    from flask import current_app

    from notifier.backup import BackupError, restore_backup

    state = backend()
    try:
        summary = restore_backup(state.redis, state.keys, Path(current_app.instance_path),
                                 path, replace=replace)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    expired = f" ({summary.expired} had expired since)" if summary.expired else ""
    click.echo(f"restored {summary.keys} keys{expired} and {len(summary.secrets)} secret "
               f"files ({', '.join(summary.secrets) or 'none'}) from {path}")


def init_app(app: Flask) -> None:
    """Add the app's commands to ``flask`` (``notifier`` has them already)."""
    for command in _COMMANDS:
        app.cli.add_command(command)


_COMMANDS = (users, api_keys, send, run_scheduler, migrate, backup_command, restore_command)
for _command in _COMMANDS:
    main.add_command(_command)
