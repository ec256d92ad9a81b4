"""The `mqtt:` section: defaults derived from the hall id, bad values named, no password inline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hallctl.mqtt.settings import MqttSettings


def test_defaults_come_from_the_hall_id() -> None:
    s = MqttSettings()
    assert (s.host, s.port, s.use_tls) == ("localhost", 1883, False)
    assert s.topic_base("xa-zwfw") == "hallctl/xa-zwfw"
    assert s.client_id_for("xa-zwfw") == "hallctl-xa-zwfw"
    assert s.password() is None


def test_mqtts_defaults_to_port_8883() -> None:
    s = MqttSettings(url="mqtts://broker.gov.example")
    assert (s.host, s.port, s.use_tls) == ("broker.gov.example", 8883, True)


@pytest.mark.parametrize(
    ("values", "complaint"),
    [
        ({"url": "tcp://broker:1883"}, "mqtt:// or mqtts://"),
        ({"url": "mqtt://:1883"}, "no host"),
        ({"url": "mqtt://broker:99999"}, "bad port"),
        ({"url": "mqtt://hall:secret@broker"}, "not in the url"),
        ({"password": "secret"}, "Extra inputs are not permitted"),
        ({"base_topic": "hallctl/#"}, "no wildcards"),
        ({"username": "u", "password_env": "A", "password_file": "/x"}, "not both"),
        ({"password_env": "A"}, "needs a username"),
        ({"tls": {"insecure": True}}, "need an mqtts:// url"),
        ({"reconnect_min_s": 10, "reconnect_max_s": 1}, "larger than"),
        ({"max_inflight": 0}, "greater than or equal to 1"),
    ],
)
def test_bad_values_are_refused_with_a_reason(values: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValidationError, match=complaint):
        MqttSettings(**values)


def test_tls_files_must_exist_and_cert_needs_key(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="ca_file"):
        MqttSettings(url="mqtts://b", tls={"ca_file": str(tmp_path / "missing.pem")})
    cert = tmp_path / "c.pem"
    cert.write_text("x")
    with pytest.raises(ValidationError, match="go together"):
        MqttSettings(url="mqtts://b", tls={"cert_file": str(cert)})


def test_the_password_is_read_from_the_environment_at_use(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    s = MqttSettings(username="hall", password_env="HALL_MQTT_PW")
    with pytest.raises(ValueError, match="HALL_MQTT_PW is not set"):
        s.password()
    monkeypatch.setenv("HALL_MQTT_PW", "s3cret")
    assert s.password() == "s3cret"


def test_the_password_file_loses_its_trailing_newline(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text("s3cret\n")
    assert MqttSettings(username="hall", password_file=secret).password() == "s3cret"
    with pytest.raises(ValueError, match="cannot read"):
        MqttSettings(username="hall", password_file=tmp_path / "nope").password()
