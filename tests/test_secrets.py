import pytest
from pydantic import BaseModel, ConfigDict

from tracker_mail_plugin.config.secrets import Secret, SecretError


class Holder(BaseModel):
    model_config = ConfigDict(hide_input_in_errors=True)  # as every config model does

    password: Secret


def test_env_reference_is_read_when_revealed(monkeypatch):
    holder = Holder.model_validate({"password": {"env": "TM_TEST_PW"}})
    monkeypatch.setenv("TM_TEST_PW", "s3cret-value")
    assert holder.password.reveal() == "s3cret-value"
    for text in (
        repr(holder),
        str(holder),
        repr(holder.password),
        str(holder.password),
        f"{holder.password}",
    ):
        assert "s3cret-value" not in text
    assert repr(holder.password) == "Secret(env:TM_TEST_PW, ***)"


def test_file_reference(tmp_path):
    path = tmp_path / "pw"
    path.write_text("from-file\n")
    assert Holder.model_validate({"password": {"file": str(path)}}).password.reveal() == "from-file"


def test_missing_sources_say_which():
    with pytest.raises(SecretError, match="environment variable TM_NOT_SET_ANYWHERE is not set"):
        Holder.model_validate({"password": {"env": "TM_NOT_SET_ANYWHERE"}}).password.reveal()
    with pytest.raises(SecretError, match="cannot read secret file /nonexistent/pw"):
        Holder.model_validate({"password": {"file": "/nonexistent/pw"}}).password.reveal()


@pytest.mark.parametrize("value", ["hunter2", {"vault": "x"}, {"env": ""}, 42])
def test_anything_but_a_reference_is_refused(value):
    with pytest.raises(ValueError, match="secret") as exc:
        Holder.model_validate({"password": value})
    assert "hunter2" not in str(exc.value)


def test_dumping_a_model_keeps_the_reference_not_the_value(monkeypatch):
    monkeypatch.setenv("TM_TEST_PW", "s3cret-value")
    holder = Holder.model_validate({"password": {"env": "TM_TEST_PW"}})
    assert holder.model_dump() == {"password": {"env": "TM_TEST_PW"}}
