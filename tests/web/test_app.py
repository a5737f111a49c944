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
