"""Who may use a running app and who may change its library. No UI code: ``app.py`` reads
the flags, ``ui.py`` asks ``can_edit`` before an upload or a removal.

On 127.0.0.1 (the default) the app is one person's: no sign-in, the library editable.
Bound to any other address it must be protected: a users file (``--users FILE``: one
``name:password`` per line, ``name:password:editor`` for those who may add and remove
articles) puts Gradio's sign-in in front of the page and its API, or the operator says
explicitly that something else protects it (``--allow-unprotected``). ``--read-only``
turns library editing off for everyone."""
from __future__ import annotations

import hmac
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping

from ..errors import SettingsError

ROLES = ("reader", "editor")


@dataclass(frozen=True)
class Access:
    users: Mapping[str, str] = field(default_factory=dict)  # name -> password
    editors: frozenset[str] = frozenset()
    read_only: bool = False

    @property
    def protected(self) -> bool:
        return bool(self.users)

    def check(self, name: str, password: str) -> bool:
        """True for a known name with its password (compared in constant time)."""
        expected = self.users.get(name) if isinstance(name, str) else None
        if expected is None or not isinstance(password, str):
            hmac.compare_digest("x", "y")  # the same work for an unknown name
            return False
        return hmac.compare_digest(expected.encode("utf-8"), password.encode("utf-8"))

    def can_edit(self, name: str | None) -> bool:
        """May this signed-in user (None: nobody signed in) add and remove articles?"""
        if self.read_only:
            return False
        if not self.protected:
            return True
        return name in self.editors

    def edit_refusal(self, name: str | None) -> str:
        """Why ``name`` may not change the library (shown on the page)."""
        if self.read_only:
            return "the library is read-only on this server (started with --read-only)."
        return (f"{name or 'this user'} may ask questions but not change the library: "
                "sign in as an editor (the operator marks editors in the users file).")


def load_users(path: str | Path, read_only: bool = False) -> Access:
    """Access from a users file: ``name:password`` or ``name:password:editor`` per line;
    blank lines and lines starting with # are skipped. SettingsError names a bad line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SettingsError(f"Cannot read the users file {path} ({getattr(e, 'strerror', None) or type(e).__name__}): "
                            "pass --users with a UTF-8 file of name:password[:editor] lines.") from e
    users: dict[str, str] = {}
    editors = set()
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, rest = line.partition(":")
        password, role = rest, "reader"
        if rest.rsplit(":", 1)[-1] in ROLES and ":" in rest:
            password, role = rest.rsplit(":", 1)
        name = name.strip()
        if not sep or not name or not password:
            raise SettingsError(f"{path} line {lineno}: expected name:password or name:password:editor.")
        if name in users:
            raise SettingsError(f"{path} line {lineno}: user {name!r} is listed twice; keep one line per user.")
        users[name] = password
        if role == "editor":
            editors.add(name)
    if not users:
        raise SettingsError(f"The users file {path} lists nobody: add name:password lines (name:password:editor "
                            "for those who may add and remove articles).")
    return Access(users, frozenset(editors), read_only)


def is_local(host: str) -> bool:
    """True when ``host`` is reachable from this machine only (a loopback address)."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a host name: it may resolve to anything
        return False


def check_exposure(host: str, access: Access, allow_unprotected: bool = False) -> None:
    """SettingsError when the app would listen beyond this machine with nobody signing in
    and the operator has not said that something else protects it."""
    if is_local(host) or access.protected or allow_unprotected:
        return
    raise SettingsError(
        f"Refusing to listen on {host} without protection: anyone who can reach it could ask questions and "
        "change the library. Pass --users FILE (name:password[:editor] lines; only editors may add and remove "
        "articles; --read-only turns that off for everyone), or --allow-unprotected if a proxy in front of the "
        "app signs people in. See docs/operating.md."
    )
