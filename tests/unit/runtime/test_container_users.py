"""User and group resolution against an image's /etc/passwd and /etc/group (Docker's -u forms)."""

from __future__ import annotations

import pytest

from runtime.containers.users import UserError, resolve_user

PASSWD = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000:app:/home/app:/bin/sh\n# comment\nbroken-line\n"
GROUP = "root:x:0:\nusers:x:100:app\nstaff:x:50:\napp:x:1000:\n"


@pytest.mark.parametrize("user,uid,gid,groups,home", [
    ("", 0, 0, (), "/root"),
    ("root", 0, 0, (), "/root"),
    ("app", 1000, 1000, (100,), "/home/app"),
    ("1000", 1000, 1000, (100,), "/home/app"),
    ("app:staff", 1000, 50, (), "/home/app"),
    ("1000:50", 1000, 50, (), "/home/app"),
    ("4242", 4242, 0, (), "/"),  # numeric ids need no entry
    ("4242:4243", 4242, 4243, (), "/"),
])
def test_user_forms(user, uid, gid, groups, home):
    u = resolve_user(user, PASSWD, GROUP)
    assert (u.uid, u.gid, u.groups, u.home) == (uid, gid, groups, home)


def test_group_add_by_name_and_id():
    assert resolve_user("app", PASSWD, GROUP, ["staff", "777"]).groups == (100, 50, 777)


@pytest.mark.parametrize("user", ["nobody", "app:nogroup"])
def test_unknown_names_are_errors(user):
    with pytest.raises(UserError):
        resolve_user(user, PASSWD, GROUP)
