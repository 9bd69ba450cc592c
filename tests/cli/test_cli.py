"""The command line, run as a user runs it: a separate process on a real database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import av

from settings import BASE_DIR
from tests.conftest import TEST_DATABASE_URL, sample


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": TEST_DATABASE_URL,
        "FAL_KEY": "",
        "SENDGRID_API_KEY": "",
        **(env or {}),
    }
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "main.py"), *args],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_generate_writes_a_decodable_mp4(tmp_path: Path):
    out = tmp_path / "dance.mp4"
    result = run_cli(
        tmp_path,
        "generate",
        "--feature",
        "ai-dance",
        "--image",
        str(sample("rocket.jpg")),
        "--out",
        str(out),
    )
    assert result.returncode == 0, result.stderr
    assert f"wrote {out}" in result.stdout
    with av.open(io.BytesIO(out.read_bytes()), mode="r") as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        assert stream.codec_context.name == "h264"
        assert frames >= 72


def test_generate_with_an_unknown_feature_fails_clearly(tmp_path: Path):
    result = run_cli(
        tmp_path, "generate", "--feature", "ai-nothing", "--image", str(sample("cat.png"))
    )
    assert result.returncode == 1
    assert "VALIDATION_FAILED: unknown feature 'ai-nothing'" in result.stderr


def test_generate_with_a_broken_image_fails_clearly(tmp_path: Path):
    result = run_cli(
        tmp_path, "generate", "--feature", "ai-dance", "--image", str(sample("truncated.jpg"))
    )
    assert result.returncode == 1
    assert "BAD_REQUEST" in result.stderr


def test_create_user_then_duplicate(tmp_path: Path):
    email = f"cli-{os.getpid()}-{tmp_path.name}@example.com"
    first = run_cli(tmp_path, "create-user", "--email", email, "--password", "long enough pw")
    assert first.returncode == 0, first.stderr
    assert f"created user {email}" in first.stdout
    again = run_cli(tmp_path, "create-user", "--email", email, "--password", "long enough pw")
    assert again.returncode == 1
    assert "already exists" in again.stderr


def test_a_wrong_database_url_fails_at_once_with_a_clear_message(tmp_path: Path):
    env = {"DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere"}
    result = run_cli(
        tmp_path, "create-user", "--email", "a@b.cd", "--password", "long enough pw", env=env
    )
    assert result.returncode == 2
    assert "cannot reach the database at 127.0.0.1:1/nowhere" in result.stderr
    assert "Traceback" not in result.stderr


def test_export_schema_writes_the_sdl(tmp_path: Path):
    out = tmp_path / "schema.graphql"
    result = run_cli(tmp_path, "export-schema", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_text(encoding="utf-8") == (BASE_DIR / "schema.graphql").read_text("utf-8")


def test_a_malformed_setting_fails_clearly(tmp_path: Path):
    env = {"MAX_UPLOAD_BYTES": "lots"}
    result = run_cli(tmp_path, "export-schema", "--out", "x.graphql", env=env)
    assert result.returncode == 2
    assert "max_upload_bytes" in result.stderr
    assert "Traceback" not in result.stderr
