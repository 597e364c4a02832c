"""User and group resolution against the container's own /etc/passwd and /etc/group, as runc does it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class UserError(ValueError):
    """A user or group the image does not define (by name) or a malformed user string."""


@dataclass(frozen=True)
class ExecUser:
    uid: int
    gid: int
    groups: tuple[int, ...]  # supplementary groups
    home: str


@dataclass(frozen=True)
class _PasswdEntry:
    name: str
    uid: int
    gid: int
    home: str


@dataclass(frozen=True)
class _GroupEntry:
    name: str
    gid: int
    members: tuple[str, ...]


def parse_passwd(text: str) -> list[_PasswdEntry]:
    entries = []
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) < 7 or line.startswith("#"):
            continue
        try:
            entries.append(_PasswdEntry(parts[0], int(parts[2]), int(parts[3]), parts[5]))
        except ValueError:
            continue
    return entries


def parse_group(text: str) -> list[_GroupEntry]:
    entries = []
    for line in text.splitlines():
        parts = line.split(":")
        if len(parts) < 4 or line.startswith("#"):
            continue
        try:
            members = tuple(m for m in parts[3].split(",") if m)
            entries.append(_GroupEntry(parts[0], int(parts[2]), members))
        except ValueError:
            continue
    return entries


def _find_group(groups: Sequence[_GroupEntry], ref: str) -> int:
    for g in groups:
        if g.name == ref:
            return g.gid
    if ref.isdigit():
        return int(ref)
    raise UserError(f"unable to find group {ref}: no matching entries in group file")


def resolve_user(user: str | None, passwd_text: str, group_text: str,
                 group_add: Sequence[str] = ()) -> ExecUser:
    """``user`` is "", "name", "uid", "uid:gid", "name:group" (Docker's -u). Numeric ids need no entry."""
    passwd = parse_passwd(passwd_text)
    groups = parse_group(group_text)
    spec = (user or "").strip() or "0"
    user_ref, _, group_ref = spec.partition(":")
    if not user_ref:
        raise UserError(f"invalid user {user!r}")
    entry = next((p for p in passwd if p.name == user_ref), None)
    if entry is None and user_ref.isdigit():
        entry = next((p for p in passwd if p.uid == int(user_ref)), None)
        if entry is None:
            entry = _PasswdEntry("", int(user_ref), 0, "/")
    if entry is None:
        raise UserError(f"unable to find user {user_ref}: no matching entries in passwd file")
    gid = _find_group(groups, group_ref) if group_ref else entry.gid
    supplementary: list[int] = []
    if not group_ref and entry.name:
        supplementary = [g.gid for g in groups if entry.name in g.members]
    for extra in group_add:
        gid_extra = _find_group(groups, extra)
        if gid_extra not in supplementary:
            supplementary.append(gid_extra)
    return ExecUser(uid=entry.uid, gid=gid, groups=tuple(supplementary), home=entry.home or "/")


def read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return ""
