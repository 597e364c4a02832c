"""--change instructions in Dockerfile syntax, as ``docker import --change`` applies them."""

from __future__ import annotations

import pytest

from runtime.errors import InvalidSpec
from runtime.images.changes import apply_changes


def test_exec_and_shell_forms() -> None:
    c = apply_changes({}, ['CMD ["echo", "hi"]', "ENTRYPOINT /bin/run --flag"])
    assert c["Entrypoint"] == ["/bin/sh", "-c", "/bin/run --flag"]
    assert c["Cmd"] == ["echo", "hi"]  # CMD given in the same changes survives a later ENTRYPOINT
    c = apply_changes({"Cmd": ["old"]}, ['ENTRYPOINT ["/e"]'])
    assert c["Entrypoint"] == ["/e"] and c["Cmd"] is None  # an inherited CMD is dropped, as Docker does
    assert apply_changes({}, ["CMD [not json"])["Cmd"] == ["/bin/sh", "-c", "[not json"]


def test_env_label_forms() -> None:
    c = apply_changes({"Env": ["A=old", "PATH=/bin"]}, ['ENV A=1 B="two words"', "ENV LEGACY value with spaces",
                                                       "LABEL org.x=y 'k 2'=v"])
    assert c["Env"] == ["PATH=/bin", "A=1", "B=two words", "LEGACY=value with spaces"]
    assert c["Labels"] == {"org.x": "y", "k 2": "v"}


def test_expose_volume_workdir_user_stopsignal() -> None:
    c = apply_changes({}, ["EXPOSE 80 53/udp 8000-8002/tcp", 'VOLUME ["/data", "/logs"]', "VOLUME /more",
                           "WORKDIR /app", "WORKDIR sub", "USER app:app", "STOPSIGNAL SIGINT",
                           "ONBUILD RUN true", "  "])
    assert set(c["ExposedPorts"]) == {"80/tcp", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"}
    assert set(c["Volumes"]) == {"/data", "/logs", "/more"}
    assert c["WorkingDir"] == "/app/sub"
    assert c["User"] == "app:app"
    assert c["StopSignal"] == "SIGINT"
    assert c["OnBuild"] == ["RUN true"]


def test_lowercase_instruction_and_original_untouched() -> None:
    original = {"Env": ["A=1"]}
    c = apply_changes(original, ["env A=2"])
    assert c["Env"] == ["A=2"] and original == {"Env": ["A=1"]}


@pytest.mark.parametrize("change", ["RUN echo hi", "FROM x", "EXPOSE 70000", "EXPOSE abc", "ENV", "ENV =x",
                                    "WORKDIR", "USER", "LABEL a", 'ENV A="unterminated', "STOPSIGNAL"])
def test_refused(change: str) -> None:
    with pytest.raises(InvalidSpec) as err:
        apply_changes({}, [change])
    assert "--change" in str(err.value)
