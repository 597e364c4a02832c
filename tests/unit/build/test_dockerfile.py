"""The Dockerfile parser and the typed meaning of every instruction (pure: no files, no root)."""

from __future__ import annotations

import pytest

from runtime.errors import BuildError
from runtime.images.build.dockerfile import DockerfileError, parse, parse_words
from runtime.images.build.expand import Expander
from runtime.images.build.instructions import (
    ArgCommand,
    CopyCommand,
    ExecOrShell,
    HealthcheckCommand,
    KeyValues,
    RunCommand,
    ShellCommand,
    Value,
    Words,
    interpret,
    parse_duration,
)


def one(text: str, env: dict[str, str] | None = None):
    """The typed command of the single instruction after FROM."""
    df = parse("FROM scratch\n" + text)
    (inst,) = df.stages[0].instructions
    return interpret(inst, Expander(env or {}, df.escape))


# ------------------------------------------------------------------------------------------ structure


def test_stages_names_platform_and_global_args() -> None:
    df = parse("ARG V=1\nARG BASE\nFROM --platform=linux/amd64 busybox:${V} AS Build\nRUN true\n"
               "from build as final\ncmd [\"sh\"]\n")
    assert [i.args for i in df.global_args] == ["V=1", "BASE"]
    assert [(s.base, s.name, s.platform, s.line) for s in df.stages] == [
        ("busybox:${V}", "build", "linux/amd64", 3), ("build", "final", None, 5)]
    assert df.stages[1].instructions[0].keyword == "CMD"
    assert df.stage_index("BUILD") == 0 and df.stage_index("1") == 1 and df.stage_index("nope") is None


def test_line_continuations_comments_and_blank_lines() -> None:
    df = parse("FROM scratch\n\n# a comment\nRUN echo a \\\n  # comment inside\n    && echo b \\  \n"
               "    && echo c\nENV X=1\n")
    run, env = df.stages[0].instructions
    assert run.args == "echo a     && echo b     && echo c"
    assert (run.line, run.end_line) == (4, 7)
    assert env.line == 8


def test_empty_continuation_line_is_a_warning_not_an_error() -> None:
    df = parse("FROM scratch\nRUN echo a \\\n\n  b\n")
    assert df.stages[0].instructions[0].args == "echo a   b"
    assert df.warnings and "empty continuation" in df.warnings[0]


def test_escape_directive_backtick() -> None:
    df = parse("# escape=`\nFROM scratch\nRUN echo a `\n  b\nCOPY C:\\src `\n  C:\\dst\\\n")
    assert df.escape == "`"
    run, copy = df.stages[0].instructions
    assert run.args == "echo a   b"
    cmd = interpret(copy, Expander({}, "`"))
    assert isinstance(cmd, CopyCommand) and cmd.sources[0].path == "C:\\src" and cmd.dest == "C:\\dst\\"


def test_directives_only_at_the_top() -> None:
    # After a comment, "# escape=`" is just a comment: the backslash stays the escape character.
    df = parse("# hello\n# escape=`\nFROM scratch\nRUN a \\\n b\n")
    assert df.escape == "\\"
    assert df.stages[0].instructions[0].args == "a  b"
    # syntax and check are accepted and ignored, in any case.
    assert parse("# syntax=docker/dockerfile:1\n#ESCAPE = `\nFROM scratch\n").escape == "`"


@pytest.mark.parametrize("text, line, fragment", [
    ("FROM scratch\nFROOM x\n", 2, "unknown instruction: FROOM"),
    ("RUN true\nFROM scratch\n", 1, "before the first FROM"),
    ("# escape=x\nFROM scratch\n", 1, "invalid escape token"),
    ("# escape=`\n# escape=\\\nFROM scratch\n", 2, "only one escape parser directive"),
    ("FROM a AS b c\n", 1, "FROM requires either one argument, or three"),
    ("FROM a AS x\nFROM b AS X\n", 2, "duplicate stage name"),
    ("FROM --foo=1 a\n", 1, "unknown flag for FROM: --foo"),
    ("FROM scratch\nENV\n", 2, "ENV requires at least one argument"),
    ("FROM scratch\n\nRUN <<EOF\necho\n", 3, "unterminated heredoc"),
])
def test_parse_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(DockerfileError) as err:
        df = parse(text, "my.Dockerfile")
        for stage in df.stages:
            for inst in stage.instructions:
                interpret(inst, Expander({}), "my.Dockerfile")
    assert isinstance(err.value, BuildError)
    assert err.value.line == line
    assert fragment in str(err.value)
    assert str(err.value).startswith(f"my.Dockerfile:{line}: ")


def test_no_from_at_all() -> None:
    with pytest.raises(DockerfileError, match="no FROM instruction"):
        parse("# only a comment\nARG X\n")


@pytest.mark.parametrize("text, line, fragment", [
    ("ENV X", 2, "has no value"),
    ("ENV A=1 B", 2, "can't find = in 'B'"),
    ("SHELL /bin/bash -c", 2, "SHELL requires the arguments to be in JSON form"),
    ("EXPOSE http", 2, "invalid port"),
    ("HEALTHCHECK --interval=soon CMD true", 2, "invalid HEALTHCHECK --interval=soon"),
    ("HEALTHCHECK --retries=x CMD true", 2, "invalid HEALTHCHECK --retries=x"),
    ("HEALTHCHECK NONE CMD x", 2, "HEALTHCHECK NONE takes no other arguments"),
    ("HEALTHCHECK true", 2, "HEALTHCHECK must be NONE or CMD"),
    ("COPY onlyone", 2, "requires at least two arguments"),
    ("COPY --chmod=abc a b", 2, "invalid --chmod=abc"),
    ("COPY --bogus a b", 2, "unknown flag for COPY: --bogus"),
    ("ADD --from=x a b", 2, "unknown flag for ADD: --from"),
    ("RUN --network=bridge true", 2, "invalid RUN --network=bridge"),
    ("ONBUILD FROM x", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("ARG 1x", 2, "invalid ARG name"),
    ("VOLUME [\"\"]", 2, "can not be an empty string"),
    ("STOPSIGNAL kill me", 2, "invalid STOPSIGNAL"),
    ("WORKDIR ${X", 2, "unexpected end of text"),
    ("USER ${X:?needs X}", 2, "X: needs X"),
    ("LABEL a=${X!}", 2, "unsupported modifier (!)"),
])
def test_instruction_errors_name_the_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(DockerfileError) as err:
        one(text)
    assert err.value.line == line
    assert fragment in err.value.reason


# ------------------------------------------------------------------------------------- instructions


def test_run_shell_and_exec_forms() -> None:
    shell = one("RUN echo $HOME")
    assert isinstance(shell, RunCommand) and shell.script == "echo $HOME" and shell.argv is None
    exec_form = one('RUN ["/bin/echo", "a b"]')
    assert isinstance(exec_form, RunCommand) and exec_form.argv == ["/bin/echo", "a b"]
    # Not valid JSON: the shell form, as Docker does it.
    broken = one("RUN [not json")
    assert isinstance(broken, RunCommand) and broken.script == "[not json"


def test_run_mounts_network_and_unsupported_mount_warning() -> None:
    cmd = one("RUN --mount=type=cache,target=/root/.cache,id=pip --mount=type=secret,id=tok "
              "--network=none pip install x")
    assert isinstance(cmd, RunCommand)
    assert [(m.type, m.target, m.options) for m in cmd.mounts] == [("cache", "/root/.cache", {"id": "pip"})]
    assert cmd.network == "none"
    assert any("type=secret" in w for w in cmd.warnings)
    assert cmd.script == "pip install x"


def test_cmd_entrypoint_forms() -> None:
    assert one('CMD ["a", "b"]') == ExecOrShell(argv=["a", "b"], script=None)
    assert one("ENTRYPOINT exec nginx -g 'daemon off;'") == ExecOrShell(argv=None,
                                                                        script="exec nginx -g 'daemon off;'")


def test_env_and_label_forms() -> None:
    assert one('ENV A=1 B="two words" C=three\\ words D=') == KeyValues(
        [("A", "1"), ("B", "two words"), ("C", "three words"), ("D", "")])
    assert one("ENV LEGACY the rest of the line") == KeyValues([("LEGACY", "the rest of the line")])
    assert one('LABEL "com.example.x"="v 1" other=\'$NOT\' sub=$X', {"X": "y"}) == KeyValues(
        [("com.example.x", "v 1"), ("other", "$NOT"), ("sub", "y")])


def test_arg_forms() -> None:
    assert one("ARG A") == ArgCommand([("A", None)])
    assert one("ARG A=1 B=${A:-x}") == ArgCommand([("A", "1"), ("B", "x")])


def test_expose_volume_workdir_user_stopsignal_shell() -> None:
    assert one("EXPOSE 80 443/tcp ${P}/udp 7000-7002", {"P": "53"}) == Words(["80", "443/tcp", "53/udp", "7000-7002"])
    assert one('VOLUME ["/data", "/logs"]') == Words(["/data", "/logs"])
    assert one("VOLUME /a $B", {"B": "/b"}) == Words(["/a", "/b"])
    assert one("WORKDIR $HOME/app", {"HOME": "/root"}) == Value("/root/app")
    assert one("USER ${U:-app}:grp") == Value("app:grp")
    assert one("STOPSIGNAL SIGQUIT") == Value("SIGQUIT")
    assert one('SHELL ["/bin/bash", "-eo", "pipefail", "-c"]') == ShellCommand(["/bin/bash", "-eo", "pipefail", "-c"])
    assert one("MAINTAINER someone <a@b>") == Value("someone <a@b>")


def test_healthcheck_options() -> None:
    cmd = one("HEALTHCHECK --interval=1m30s --timeout=5s --start-period=500ms --start-interval=2s --retries=4 "
              "CMD curl -f http://localhost/ || exit 1")
    assert cmd == HealthcheckCommand(test=["CMD-SHELL", "curl -f http://localhost/ || exit 1"], interval=90.0,
                                     timeout=5.0, start_period=0.5, start_interval=2.0, retries=4)
    assert one('HEALTHCHECK CMD ["/bin/check", "--fast"]').test == ["CMD", "/bin/check", "--fast"]
    assert one("HEALTHCHECK NONE") == HealthcheckCommand(test=["NONE"])


def test_onbuild_keeps_the_trigger_text() -> None:
    assert one("ONBUILD COPY --chown=1 . /app") == Value("COPY --chown=1 . /app")
    assert one("onbuild RUN echo ${NOT_EXPANDED}") == Value("RUN echo ${NOT_EXPANDED}")


def test_copy_and_add_flags_and_substitution() -> None:
    cmd = one("COPY --from=${STAGE} --chown=${U}:1 --chmod=0750 --link a*.txt $D/ /dst/",
              {"STAGE": "build", "U": "app", "D": "dir"})
    assert isinstance(cmd, CopyCommand)
    assert (cmd.from_, cmd.chown, cmd.chmod, cmd.link, cmd.add) == ("build", "app:1", 0o750, True, False)
    assert [s.path for s in cmd.sources] == ["a*.txt", "dir/"] and cmd.dest == "/dst/"
    add = one('ADD ["files.tar.gz", "/opt/"]')
    assert isinstance(add, CopyCommand) and add.add and [s.path for s in add.sources] == ["files.tar.gz"]
    assert one("COPY --link=false a b").link is False


def test_parse_durations() -> None:
    assert parse_duration("1h2m3.5s") == 3723.5
    assert parse_duration("250ms") == 0.25
    assert parse_duration("0") == 0.0
    for bad in ("5", "1x", "s", "1s2"):
        with pytest.raises(ValueError):
            parse_duration(bad)


# ------------------------------------------------------------------------------------------ heredocs


def test_run_heredoc_alone_is_the_script() -> None:
    df = parse("FROM scratch\nRUN <<EOF\nset -e\necho $HOME\nEOF\nENV X=1\n")
    run, env = df.stages[0].instructions
    assert (run.line, run.end_line, env.line) == (2, 5, 6)
    cmd = interpret(run, Expander({}))
    assert isinstance(cmd, RunCommand) and cmd.script == "set -e\necho $HOME\n"


def test_run_heredoc_with_shebang_runs_the_interpreter() -> None:
    cmd = one("RUN <<EOF\n#!/usr/bin/env python3\nprint('hi')\nEOF\n")
    assert isinstance(cmd, RunCommand) and cmd.script is not None
    first, *body, marker, run = cmd.script.split("\n")
    assert first.startswith("cat > /dev/shm/.hoist-heredoc-") and first.endswith(f"<<'{marker}'")
    assert body == ["#!/usr/bin/env python3", "print('hi')"]
    assert run == "/usr/bin/env python3 " + first.split()[2]


def test_run_heredoc_as_input_goes_to_the_shell() -> None:
    cmd = one("RUN python3 <<'PY' > /out\nprint('hi')\nPY\n")
    assert isinstance(cmd, RunCommand)
    assert cmd.script == "python3 <<'PY' > /out\nprint('hi')\nPY"


def test_heredoc_dash_strips_tabs_and_quoted_is_not_expanded() -> None:
    df = parse("FROM scratch\nCOPY <<-EOT /a\n\tindented $X\n\tEOT\nCOPY <<'RAW' /b\nkeep $X\nRAW\n")
    a, b = (interpret(i, Expander({"X": "v"})) for i in df.stages[0].instructions)
    assert isinstance(a, CopyCommand) and a.sources[0].heredoc is not None
    assert a.sources[0].heredoc.content == "indented v\n"
    assert isinstance(b, CopyCommand) and b.sources[0].heredoc is not None
    assert b.sources[0].heredoc.content == "keep $X\n"


def test_several_heredocs_on_one_copy() -> None:
    cmd = one("COPY <<one <<two /dir/\nfirst\none\nsecond\ntwo\n")
    assert isinstance(cmd, CopyCommand)
    assert [(s.path, s.heredoc.content if s.heredoc else None) for s in cmd.sources] == [
        ("one", "first\n"), ("two", "second\n")]


def test_here_string_is_not_a_heredoc() -> None:
    cmd = one("RUN cat <<< hello\n")
    assert isinstance(cmd, RunCommand) and cmd.script == "cat <<< hello"


# ------------------------------------------------------------------------------------------- words


def test_parse_words_keeps_quotes_for_later_expansion() -> None:
    assert parse_words('a="b c" d=\'e f\' g=h\\ i') == ['a="b c"', "d='e f'", "g=h\\ i"]
    assert parse_words('  x   ""  ') == ["x", '""']
