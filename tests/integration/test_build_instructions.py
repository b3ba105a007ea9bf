"""Every Dockerfile instruction end to end on the busybox image: what `hull build` leaves in the
image's file tree and config is what Docker (BuildKit) would leave. COPY corner cases, the cache,
mounts and multi-stage scheduling have files of their own (test_build_*.py)."""

import os

import pytest

from buildfix import build, container_config, env_map, image_config, image_files, image_tree, \
    write_context

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="hull build runs RUN steps as root")

SECOND = 1_000_000_000  # Healthcheck durations are nanoseconds


def built(store, tmp_path, dockerfile, tag="t:1", files=None, name="ctx"):
    ctx = write_context(tmp_path / name, {"Dockerfile": dockerfile, **(files or {})})
    return build(store, ctx, tag=tag)


# --- RUN and SHELL ---

def test_run_shell_exec_and_heredoc(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "RUN echo shell > /shell.txt && echo \"$0\" > /arg0\n"
        'RUN ["/bin/sh", "-c", "echo exec > /exec.txt"]\n'
        'RUN ["/bin/busybox", "touch", "/direct"]\n'
        "RUN <<EOF\n"
        "echo one > /heredoc.txt\n"
        "echo two >> /heredoc.txt\n"
        "EOF\n"
        "RUN cat <<EOT > /heredoc-arg.txt\n"
        "body line\n"
        "EOT\n"))
    files = image_files(store, "t:1")
    assert files["shell.txt"] == b"shell\n"
    assert files["arg0"] == b"/bin/sh\n", "the shell form runs under /bin/sh -c"
    assert files["exec.txt"] == b"exec\n"
    assert files["direct"] == b""
    assert files["heredoc.txt"] == b"one\ntwo\n"
    assert files["heredoc-arg.txt"] == b"body line\n"


def test_run_sees_env_and_args(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "ARG A=from-arg\n"
        "ENV E=from-env\n"
        "RUN echo \"$A $E\" > /seen && env > /env\n"))
    assert image_files(store, "t:1")["seen"] == b"from-arg from-env\n"
    assert "A" not in env_map(store, "t:1"), "an ARG is never in the image's Env"


def test_run_failure_status_does_not_commit(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN false\n"})
    res = build(store, ctx, tag="bad:1", expect_ok=False).result
    assert res.rc == 1
    assert "bad:1" not in store.names()


def test_shell_instruction(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        'SHELL ["/bin/sh", "-c", "echo via-shell > /marker; eval \\"$1\\"", "wrap"]\n'
        "RUN echo hi > /hi\n"
        "CMD echo from-cmd\n"))
    files = image_files(store, "t:1")
    assert files["marker"] == b"via-shell\n"
    assert files["hi"] == b"hi\n"
    cfg = container_config(store, "t:1")
    assert cfg["Cmd"] == ["/bin/sh", "-c", 'echo via-shell > /marker; eval "$1"', "wrap",
                          "echo from-cmd"], "the shell form of CMD uses SHELL"


# --- ENV and ARG ---

def test_env_forms_and_expansion(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "ENV E1=e1 E2=\"two words\"\n"
        "ENV E3=${E1}-x E4=$E2\n"
        "ENV OLD old style value\n"
        "ENV E5=${UNSET:-dflt} E6=${E1:+set}\n"))
    env = env_map(store, "t:1")
    assert env["E1"] == "e1"
    assert env["E2"] == "two words"
    assert env["E3"] == "e1-x"
    assert env["E4"] == "two words"
    assert env["OLD"] == "old style value"
    assert env["E5"] == "dflt" and env["E6"] == "set"


def test_env_path_extends_the_base_images(store, tmp_path):
    built(store, tmp_path, "FROM busybox\nENV PATH=/usr/sbin:/usr/bin:/sbin:/bin\n",
          tag="parent:1", name="parent")
    built(store, tmp_path, "FROM parent:1\nENV PATH=/x:$PATH\nRUN echo \"$PATH\" > /path\n",
          tag="child:1", name="child")
    assert env_map(store, "child:1")["PATH"] == "/x:/usr/sbin:/usr/bin:/sbin:/bin"
    assert image_files(store, "child:1")["path"] == b"/x:/usr/sbin:/usr/bin:/sbin:/bin\n"


def test_arg_scoping(store, tmp_path):
    built(store, tmp_path, (
        "ARG BASE=busybox\n"
        "ARG GLOBAL=g1\n"
        "FROM ${BASE} AS first\n"
        "RUN echo \"[$GLOBAL]\" > /before\n"
        "ARG GLOBAL\n"
        "RUN echo \"[$GLOBAL]\" > /after\n"
        "ARG LOCAL=l1\n"
        "FROM busybox\n"
        "COPY --from=first /before /after /\n"
        "RUN echo \"[$LOCAL][$GLOBAL]\" > /other-stage\n"))
    files = image_files(store, "t:1")
    assert files["before"] == b"[]\n", "a global ARG is not seen before it is declared in a stage"
    assert files["after"] == b"[g1]\n"
    assert files["other-stage"] == b"[][]\n", "ARGs end with their stage"


def test_build_arg_overrides_default_and_env_wins_over_arg(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "ARG V=default\n"
        "ARG W=w-default\n"
        "ARG FROMENV\n"
        "RUN echo \"$V $W\" > /args && echo \"$FROMENV\" > /fromenv\n"
        "ENV W=env-value\n"
        "ARG W=ignored\n"
        "RUN echo \"$W\" > /w\n")})
    build(store, ctx, "--build-arg", "V=given", "--build-arg", "W=given-w",
          "--build-arg", "FROMENV", tag="t:1", env={"FROMENV": "host-value"})
    files = image_files(store, "t:1")
    assert files["args"] == b"given given-w\n"
    assert files["fromenv"] == b"host-value\n", "--build-arg NAME takes the environment's value"
    assert files["w"] == b"env-value\n", "ENV wins over an ARG of the same name"


# --- WORKDIR, USER ---

def test_workdir_relative_chain_is_created(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "WORKDIR /a\n"
        "WORKDIR b\n"
        "ENV SUB=c\n"
        "WORKDIR $SUB\n"
        "RUN pwd > /pwd\n"
        "WORKDIR /never/used\n"))
    tree = image_tree(store, "t:1")
    assert tree["a/b/c"].kind == "dir"
    assert tree["never/used"].kind == "dir", "WORKDIR creates the directory even without RUN"
    assert image_files(store, "t:1")["pwd"] == b"/a/b/c\n"
    assert container_config(store, "t:1")["WorkingDir"] == "/never/used"


def test_user(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "USER app\n"
        "RUN id -u > /tmp/uid && id -g > /tmp/gid && touch /tmp/owned\n"
        "USER 65534:65534\n"
        "RUN id -u > /tmp/uid2\n"
        "USER root\n"
        "RUN id -u > /uid3\n"
        "USER app\n"))
    files = image_files(store, "t:1")
    assert files["tmp/uid"] == b"1000\n" and files["tmp/gid"] == b"1000\n"
    assert files["tmp/uid2"] == b"65534\n"
    assert files["uid3"] == b"0\n"
    owned = image_tree(store, "t:1")["tmp/owned"]
    assert (owned.uid, owned.gid) == (1000, 1000)
    assert container_config(store, "t:1")["User"] == "app"


# --- metadata ---

def test_label_expose_volume_stopsignal(store, tmp_path):
    ctx = write_context(tmp_path / "ctx", {"Dockerfile": (
        "FROM busybox\n"
        "ARG VERSION=1.2\n"
        "LABEL org.example.version=$VERSION \"multi word\"=\"a b\"\n"
        "LABEL old=1\n"
        "LABEL old=2\n"
        "EXPOSE 80 53/udp 8080/tcp\n"
        "VOLUME [\"/cache\", \"/logs\"]\n"
        "VOLUME /data /more\n"
        "STOPSIGNAL SIGUSR1\n")})
    build(store, ctx, "--label", "from-cli=yes", tag="t:1")
    cfg = container_config(store, "t:1")
    assert cfg["Labels"] == {"org.example.version": "1.2", "multi word": "a b", "old": "2",
                             "from-cli": "yes"}
    assert cfg["ExposedPorts"] == {"80/tcp": {}, "53/udp": {}, "8080/tcp": {}}
    assert cfg["Volumes"] == {"/data": {}, "/cache": {}, "/logs": {}, "/more": {}}
    assert cfg["StopSignal"] == "SIGUSR1"


def test_labels_merge_with_the_base_images(store, tmp_path):
    built(store, tmp_path, "FROM busybox\nLABEL a=1 b=1\n", tag="parent:1", name="parent")
    built(store, tmp_path, "FROM parent:1\nLABEL b=2 c=2\n", tag="child:1", name="child")
    assert container_config(store, "child:1")["Labels"] == {"a": "1", "b": "2", "c": "2"}


def test_healthcheck(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=4 "
        "CMD wget -q -O- http://localhost/ || exit 1\n"), tag="hc:1")
    hc = container_config(store, "hc:1")["Healthcheck"]
    assert hc["Test"] == ["CMD-SHELL", "wget -q -O- http://localhost/ || exit 1"]
    assert hc["Interval"] == 5 * SECOND and hc["Timeout"] == 3 * SECOND
    assert hc["StartPeriod"] == 10 * SECOND and hc["Retries"] == 4

    built(store, tmp_path, 'FROM hc:1\nHEALTHCHECK CMD ["/bin/true"]\n', tag="hc:2", name="c2")
    assert container_config(store, "hc:2")["Healthcheck"]["Test"] == ["CMD", "/bin/true"]
    built(store, tmp_path, "FROM hc:1\nHEALTHCHECK NONE\n", tag="hc:3", name="c3")
    assert container_config(store, "hc:3")["Healthcheck"]["Test"] == ["NONE"]


# --- CMD and ENTRYPOINT ---

def test_cmd_forms_and_last_one_wins(store, tmp_path):
    built(store, tmp_path, 'FROM busybox\nCMD ["first"]\nCMD echo "$HOME"\n')
    cfg = container_config(store, "t:1")
    assert cfg["Cmd"] == ["/bin/sh", "-c", 'echo "$HOME"']
    assert not cfg.get("Entrypoint")


def test_entrypoint_resets_an_inherited_cmd(store, tmp_path):
    built(store, tmp_path, 'FROM busybox\nCMD ["parent-cmd"]\n', tag="parent:1", name="parent")
    built(store, tmp_path, 'FROM parent:1\nENTRYPOINT ["/bin/echo"]\n', tag="child:1",
          name="child")
    cfg = container_config(store, "child:1")
    assert cfg["Entrypoint"] == ["/bin/echo"]
    assert not cfg.get("Cmd"), "ENTRYPOINT clears the CMD the base image set"
    built(store, tmp_path, 'FROM parent:1\nCMD ["x"]\nENTRYPOINT ["/bin/echo"]\n',
          tag="child:2", name="child2")
    assert container_config(store, "child:2")["Cmd"] == ["x"], \
        "a CMD of the same stage survives a later ENTRYPOINT"
    built(store, tmp_path, "FROM busybox\nENTRYPOINT exec echo shell-form\n", tag="child:3",
          name="child3")
    assert container_config(store, "child:3")["Entrypoint"] == \
        ["/bin/sh", "-c", "exec echo shell-form"]


# --- ONBUILD ---

def test_onbuild_triggers_run_in_the_child(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "ONBUILD RUN echo triggered > /onbuild.txt\n"
        "ONBUILD ENV FROM_TRIGGER=1\n"), tag="parent:1", name="parent")
    assert container_config(store, "parent:1")["OnBuild"] == [
        "RUN echo triggered > /onbuild.txt", "ENV FROM_TRIGGER=1"]
    assert "onbuild.txt" not in image_tree(store, "parent:1"), "triggers wait for a child"
    built(store, tmp_path, "FROM parent:1\nRUN cat /onbuild.txt > /seen\n", tag="child:1",
          name="child")
    assert image_files(store, "child:1")["seen"] == b"triggered\n"
    assert env_map(store, "child:1")["FROM_TRIGGER"] == "1"
    assert not container_config(store, "child:1").get("OnBuild"), \
        "triggers run once: the child does not pass them on"


# --- COPY basics ---

def test_copy_basics(store, tmp_path):
    built(store, tmp_path, (
        "FROM busybox\n"
        "COPY hello.txt /hello.txt\n"
        "COPY dir /copied/\n"
        "COPY hello.txt dir/sub/deep.txt /multi/\n"
        "COPY --chown=app:app --chmod=0750 hello.txt /owned\n"
        "WORKDIR /w\n"
        "COPY hello.txt rel.txt\n"), files={
            "hello.txt": "hello\n",
            "dir/a.txt": "a\n",
            "dir/sub/deep.txt": "deep\n"})
    files = image_files(store, "t:1")
    tree = image_tree(store, "t:1")
    assert files["hello.txt"] == b"hello\n"
    assert files["copied/a.txt"] == b"a\n" and files["copied/sub/deep.txt"] == b"deep\n"
    assert "copied/dir" not in tree, "COPY of a directory copies its contents"
    assert files["multi/hello.txt"] == b"hello\n" and files["multi/deep.txt"] == b"deep\n"
    owned = tree["owned"]
    assert (owned.uid, owned.gid, owned.mode) == (1000, 1000, 0o750)
    assert files["w/rel.txt"] == b"hello\n", "a relative destination is under WORKDIR"


# --- history ---

def test_history_marks_empty_layers(store, tmp_path):
    built(store, tmp_path, "FROM busybox\nENV A=1\nRUN echo x > /x\nCMD [\"sh\"]\n")
    cfg = image_config(store, "t:1")
    history = cfg["history"]
    layers = [h for h in history if not h.get("empty_layer")]
    assert len(layers) == len(cfg["rootfs"]["diff_ids"])
    mine = history[-3:]
    assert [bool(h.get("empty_layer")) for h in mine] == [True, False, True]
    assert "ENV A=1" in mine[0]["created_by"]
    assert "echo x > /x" in mine[1]["created_by"]
