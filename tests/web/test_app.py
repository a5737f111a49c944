"""app.py: bad settings and ports are one line and exit 2, before any model is loaded."""
import pytest

import app


def test_bad_port_is_an_argparse_error(capsys):
    with pytest.raises(SystemExit) as info:
        app.main(["--port", "abc"], environ={})
    assert info.value.code == 2
    assert "'abc' is not a port number" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        app.main([], environ={"ASSISTANT_PORT": "99999"})


def test_bad_setting_in_the_environment_is_one_line(tmp_path, capsys):
    code = app.main(["--index", str(tmp_path / "ix"), "--corpus", str(tmp_path / "none")], environ={"ASSISTANT_K": "abc"})
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["error: ASSISTANT_K='abc' is not a whole number: set it to a whole number like 5, or unset it."]


@pytest.fixture
def prepared(monkeypatch):
    """app.main up to launch: no index is built, the launch options are recorded."""
    from types import SimpleNamespace

    import gradio as gr

    seen = {}

    def prepare(args, environ):
        from assistant.settings import settings_from_env

        seen["prepared"] = True
        settings = settings_from_env(environ)
        return SimpleNamespace(articles={}, ask=lambda *a, **k: None, settings=settings), settings

    monkeypatch.setattr(app, "_prepare", prepare)
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **kw: seen.update(launch=kw))
    return seen


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "news.example.org"])
def test_refuses_to_listen_beyond_this_machine_without_protection(prepared, capsys, host):
    assert app.main(["--host", host], environ={}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"error: Refusing to listen on {host} without protection"), err
    assert "--users FILE" in err[0] and "--read-only" in err[0]
    assert "prepared" not in prepared  # refused before the index is touched


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
def test_this_machine_needs_no_sign_in(prepared, host):
    assert app.main(["--host", host], environ={}) == 0
    assert "auth" not in prepared["launch"]


def test_users_file_signs_in_and_limits_uploads(prepared, tmp_path):
    users = tmp_path / "users"
    users.write_text("# newsroom\nann:s3cret\ned:pa:ss:editor\n", encoding="utf-8")
    assert app.main(["--host", "0.0.0.0", "--users", str(users), "--read-only"], environ={}) == 0
    launch = prepared["launch"]
    assert launch["server_name"] == "0.0.0.0" and launch["max_file_size"] == 5_000_000
    assert launch["auth"]("ann", "s3cret") and launch["auth"]("ed", "pa:ss")
    assert not launch["auth"]("ann", "wrong") and not launch["auth"]("nobody", "s3cret")


def test_allow_unprotected_is_explicit(prepared, monkeypatch):
    assert app.main(["--host", "0.0.0.0", "--allow-unprotected"], environ={}) == 0
    assert app.main(["--host", "0.0.0.0", "--read-only"], environ={"ASSISTANT_MAX_UPLOAD_BYTES": "1000"}) == 2
    assert app.main(["--host", "0.0.0.0", "--allow-unprotected"], environ={"ASSISTANT_MAX_UPLOAD_BYTES": "1000"}) == 0
    assert prepared["launch"]["max_file_size"] == 1000


@pytest.mark.parametrize("content, expected", [
    ("", "lists nobody"), ("ann\n", "line 1: expected name:password"), ("a:1\na:2\n", "line 2: user 'a' is listed twice"),
])
def test_bad_users_file_is_one_line(prepared, tmp_path, capsys, content, expected):
    users = tmp_path / "users"
    users.write_text(content, encoding="utf-8")
    assert app.main(["--host", "0.0.0.0", "--users", str(users)], environ={}) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and expected in err[0], err
