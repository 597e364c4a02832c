"""Spec defaults: entrypoint/cmd combination, env, capabilities, signals, sysctls (pure functions)."""

from __future__ import annotations

import pytest

from runtime.containers.defaults import (
    DEFAULT_CAPABILITIES,
    DEFAULT_PATH,
    combine_command,
    effective_capabilities,
    is_namespaced_sysctl,
    merge_env,
    signal_number,
)

# (image ENTRYPOINT, image CMD, spec entrypoint, spec command) -> argv, as Docker combines them.
COMBINATIONS = [
    (None, ["sh"], None, None, ["sh"]),
    (None, ["sh"], None, ["echo", "hi"], ["echo", "hi"]),
    (["/init"], ["serve"], None, None, ["/init", "serve"]),
    (["/init"], ["serve"], None, ["debug"], ["/init", "debug"]),
    (["/init"], ["serve"], ["/other"], None, ["/other"]),  # a new entrypoint drops the image's CMD
    (["/init"], ["serve"], ["/other"], ["x"], ["/other", "x"]),
    (["/init"], ["serve"], [], None, []),  # entrypoint reset, and the image's CMD goes with it
    (["/init"], ["serve"], [], ["ls"], ["ls"]),
    (None, None, None, None, []),
    (["/init"], None, None, [], ["/init"]),  # an explicit empty command
]


@pytest.mark.parametrize("image_ep,image_cmd,ep,cmd,expected", COMBINATIONS)
def test_entrypoint_and_command_combine_as_docker(image_ep, image_cmd, ep, cmd, expected):
    assert combine_command(image_ep, image_cmd, ep, cmd) == expected


def test_env_spec_overrides_image_and_path_defaults():
    env = merge_env(["A=1", "PATH=/img/bin", "B=x=y"], {"A": "2"}, hostname="h")
    assert env[0] == "HOSTNAME=h"
    assert "A=2" in env and "PATH=/img/bin" in env and "B=x=y" in env
    assert f"PATH={DEFAULT_PATH}" in merge_env([], {})


def test_env_term_with_a_tty_as_docker_sets_it():
    assert "TERM=xterm" in merge_env([], {}, tty=True)
    assert not any(e.startswith("TERM=") for e in merge_env([], {}))
    assert "TERM=vt100" in merge_env(["TERM=vt100"], {}, tty=True)  # the image's (or the user's) wins
    assert merge_env([], {"TERM": "dumb"}, tty=True).count("TERM=dumb") == 1


def test_capabilities_default_add_drop_all_and_privileged():
    assert effective_capabilities([], [], False) == sorted(DEFAULT_CAPABILITIES, key=lambda c: _num(c))
    caps = effective_capabilities(["net_admin"], ["CHOWN"], False)
    assert "CAP_NET_ADMIN" in caps and "CAP_CHOWN" not in caps
    assert effective_capabilities(["SYS_TIME"], ["ALL"], False) == ["CAP_SYS_TIME"]
    assert len(effective_capabilities([], [], True)) > 38
    with pytest.raises(ValueError):
        effective_capabilities(["NOT_A_CAP"], [], False)


def _num(cap: str) -> int:
    from runtime.containers.defaults import CAPABILITY_NUMBERS

    return CAPABILITY_NUMBERS[cap]


def test_signal_names_and_numbers():
    assert signal_number("SIGTERM") == 15 == signal_number("term") == signal_number("15")
    assert signal_number(None) == 15
    assert signal_number(None, default="SIGQUIT") == 3
    with pytest.raises(ValueError):
        signal_number("SIGNOPE")


def test_only_namespaced_sysctls_are_allowed():
    assert is_namespaced_sysctl("net.ipv4.ip_forward")
    assert is_namespaced_sysctl("kernel.shm_rmid_forced")
    assert not is_namespaced_sysctl("kernel.panic")
    assert not is_namespaced_sysctl("vm.swappiness")
