"""Settings are read in a fresh interpreter, as a process starting up would."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_django(tmp_path, **env_overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"SECRET_KEY", "DEBUG", "ONEPING_ENCRYPTION_KEYS", "DJANGO_SETTINGS_MODULE"}
    }
    env.update(ONEPING_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="oneping.settings")
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); print('started')"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_debug_off_without_secret_key_refuses_to_start(tmp_path):
    result = start_django(tmp_path, DEBUG="false")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY is not set" in result.stderr


def test_debug_defaults_to_off(tmp_path):
    result = start_django(tmp_path)

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_a_bad_boolean_is_rejected(tmp_path):
    result = start_django(tmp_path, DEBUG="maybe", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_debug_on_starts_with_development_defaults(tmp_path):
    result = start_django(tmp_path, DEBUG="yes")

    assert result.returncode == 0, result.stderr
    assert "started" in result.stdout


def test_production_needs_encryption_keys(tmp_path):
    result = start_django(tmp_path, DEBUG="off", SECRET_KEY="x" * 50)

    assert result.returncode != 0
    assert "ONEPING_ENCRYPTION_KEYS is not set" in result.stderr


def test_unknown_email_verification_mode_is_rejected(tmp_path):
    result = start_django(tmp_path, DEBUG="on", ONEPING_EMAIL_VERIFICATION="sometimes")

    assert result.returncode != 0
    assert "ONEPING_EMAIL_VERIFICATION" in result.stderr


def email_verification_mode(tmp_path, **env_overrides: str) -> str:
    env = {key: value for key, value in os.environ.items() if key != "ONEPING_EMAIL_VERIFICATION"}
    env.update(ONEPING_DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="oneping.settings")
    env.pop("DEBUG", None)
    env.update(SECRET_KEY="x" * 50, ONEPING_ENCRYPTION_KEYS=ENCRYPTION_KEY, **env_overrides)
    code = "from django.conf import settings; print(settings.ACCOUNT_EMAIL_VERIFICATION)"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


ENCRYPTION_KEY = "dGVzdHMtb25seS1lbmNyeXB0aW9uLWtleS0zMmJ5dGU="


def test_email_verification_is_mandatory_in_production_and_configurable(tmp_path):
    assert email_verification_mode(tmp_path) == "mandatory"
    assert email_verification_mode(tmp_path, DEBUG="off") == "mandatory"
    assert email_verification_mode(tmp_path, DEBUG="on") == "optional"
    assert email_verification_mode(tmp_path, ONEPING_EMAIL_VERIFICATION="optional") == "optional"
