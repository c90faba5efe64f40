"""compose.yaml, validated and normalized by Debian's docker-compose (1.29) without an engine.

`docker-compose config` resolves every ${...} from the environment given here (never from a
developer's .env: --env-file points at an empty file), checks the schema and prints the stack
as compose will run it; the tests read that output, with and without the profiles.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml
from dockerspec import Dockerfile

from gradtrade.errors import JournalDurabilityError
from gradtrade.persistence import open_journal

SECRET_NAME = re.compile(r"key|secret|password|passwd|token", re.IGNORECASE)
ENV = {"GRAFANA_ADMIN_PASSWORD": "pw-from-env", "GRADTRADE_API_KEY": "key-from-env"}


def compose(
    repo_root: Path, tmp_path: Path, *args: str, env: dict[str, str] = ENV
) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("docker-compose")
    assert binary, "docker-compose not found (Debian package docker-compose; scripts/test.sh)"
    empty = tmp_path / "empty.env"
    empty.write_text("")
    clean = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env}
    return subprocess.run(
        [binary, "--env-file", str(empty), "-f", "compose.yaml", *args, "config"],
        cwd=repo_root,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def config(repo_root: Path, tmp_path: Path, *args: str) -> dict[str, Any]:
    run = compose(repo_root, tmp_path, *args)
    assert run.returncode == 0, run.stderr
    parsed = yaml.safe_load(run.stdout)
    assert isinstance(parsed, dict)
    return parsed


@pytest.mark.parametrize("profiles", [(), ("redis",), ("jupyter",), ("redis", "jupyter")])
def test_config_is_valid_with_and_without_profiles(
    repo_root: Path, tmp_path: Path, profiles: tuple[str, ...]
) -> None:
    args = [a for p in profiles for a in ("--profile", p)]
    services = config(repo_root, tmp_path, *args)["services"]
    assert {"trader", "prometheus", "grafana", "redis", "jupyter"} == set(services)
    always = {n for n, s in services.items() if not s.get("profiles")}
    assert always == {"trader", "prometheus", "grafana"}
    assert services["redis"]["profiles"] == ["redis"]
    assert services["jupyter"]["profiles"] == ["jupyter"]


def test_every_published_port_is_on_loopback(repo_root: Path, tmp_path: Path) -> None:
    services = config(repo_root, tmp_path)["services"]
    published = {name: port for name, s in services.items() for port in s.get("ports", []) if port}
    assert set(published) == {"trader", "redis", "prometheus", "grafana", "jupyter"}
    for name, port in published.items():
        assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"


def test_trader_journal_volume_config_and_keys_from_the_environment(
    repo_root: Path, tmp_path: Path, dockerfile: Dockerfile
) -> None:
    out = config(repo_root, tmp_path)
    trader = out["services"]["trader"]
    assert trader["build"]["target"] == "trader"
    assert "journal:/data:rw" in trader["volumes"]
    assert "journal" in out["volumes"]
    mounts = {v.split(":")[1]: v for v in trader["volumes"]}
    assert mounts["/config/trader.yaml"].startswith(f"{repo_root}/configs/trader_compose.yaml")
    assert mounts["/config/trader.yaml"].endswith(":ro") and mounts["/models"].endswith(":ro")
    cmd = dockerfile.effective("trader", "CMD")
    assert cmd is not None and trader["command"] == cmd.exec_form()
    assert trader["environment"]["GRADTRADE_API_KEY"] == "key-from-env"
    assert trader["environment"]["GRADTRADE_API_SECRET"] == ""  # unset: paper needs none


def test_the_trader_config_can_be_switched_from_the_environment(
    repo_root: Path, tmp_path: Path
) -> None:
    env = {**ENV, "GRADTRADE_TRADER_CONFIG": "./configs/trader_testnet.yaml"}
    run = compose(repo_root, tmp_path, env=env)
    assert run.returncode == 0, run.stderr
    trader = yaml.safe_load(run.stdout)["services"]["trader"]
    assert f"{repo_root}/configs/trader_testnet.yaml:/config/trader.yaml:ro" in trader["volumes"]


def test_no_secret_is_written_in_the_file(repo_root: Path) -> None:
    raw = yaml.safe_load((repo_root / "compose.yaml").read_text())
    for name, service in raw["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if SECRET_NAME.search(key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:[-?][^}]*)?\}", str(value)), (name, key)


def test_grafana_refuses_to_start_without_an_admin_password(
    repo_root: Path, tmp_path: Path
) -> None:
    run = compose(repo_root, tmp_path, env={})
    assert run.returncode != 0
    assert "GRAFANA_ADMIN_PASSWORD" in run.stderr


def test_redis_journal_is_durable(repo_root: Path, tmp_path: Path) -> None:
    redis = config(repo_root, tmp_path, "--profile", "redis")["services"]["redis"]
    command = redis["command"]
    assert command[command.index("--appendonly") + 1] == "yes"
    assert command[command.index("--appendfsync") + 1] == "always"
    assert "redis:/data:rw" in redis["volumes"]
    redis_config = yaml.safe_load((repo_root / "configs/trader_compose_redis.yaml").read_text())
    assert redis_config["journal"]["url"].startswith("redis://redis:6379/")


def test_jupyter_is_the_image_plus_jupyterlab_with_the_notebooks_mounted(
    repo_root: Path, tmp_path: Path, dockerfile: Dockerfile
) -> None:
    jupyter = config(repo_root, tmp_path, "--profile", "jupyter")["services"]["jupyter"]
    assert jupyter["build"]["target"] == "jupyter"
    assert dockerfile.stage("jupyter").base == dockerfile.stage("trader").base == "runtime"
    assert f"{repo_root}/notebooks:/app/notebooks:rw" in jupyter["volumes"]
    assert jupyter["environment"]["GRADTRADE_TEST_DATA"] == "/app/data"
    assert any(v.split(":")[1:] == ["/app/data", "ro"] for v in jupyter["volumes"])


def test_prometheus_and_grafana_mount_the_repository_files(repo_root: Path, tmp_path: Path) -> None:
    services = config(repo_root, tmp_path)["services"]
    prom = services["prometheus"]["volumes"]
    assert f"{repo_root}/deploy/prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in prom
    assert f"{repo_root}/deploy/prometheus/alerts.yml:/etc/prometheus/alerts.yml:ro" in prom
    graf = services["grafana"]["volumes"]
    assert f"{repo_root}/deploy/grafana/provisioning:/etc/grafana/provisioning:ro" in graf
    assert f"{repo_root}/deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro" in graf
    assert services["grafana"]["environment"]["GF_SECURITY_ADMIN_PASSWORD"] == "pw-from-env"


def test_mounted_monitoring_files_exist_and_point_at_the_compose_services(
    repo_root: Path,
) -> None:
    """Prometheus scrapes the trader service by its compose name and loads the mounted rules;
    Grafana's dashboard provider reads the folder compose mounts; its datasource is the
    prometheus service."""
    deploy = repo_root / "deploy"
    prom = yaml.safe_load((deploy / "prometheus/prometheus.yml").read_text())
    targets = [
        t for job in prom["scrape_configs"] for s in job["static_configs"] for t in s["targets"]
    ]
    assert "trader:9108" in targets
    # Prometheus resolves relative rule files against its config file's folder
    rules = {str(PurePosixPath("/etc/prometheus") / r) for r in prom["rule_files"]}
    assert "/etc/prometheus/alerts.yml" in rules
    assert (deploy / "prometheus/alerts.yml").is_file()
    provisioning = deploy / "grafana/provisioning"
    texts = [p.read_text() for p in provisioning.rglob("*.y*ml")]
    assert any("/var/lib/grafana/dashboards" in t for t in texts)
    assert any("http://prometheus:9090" in t for t in texts)
    assert list((deploy / "grafana/dashboards").glob("*.json"))


def _redis(directory: Path, args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    binary = shutil.which("redis-server")
    assert binary, "redis-server is not installed (scripts/test.sh installs it with apt-get)"
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    process = subprocess.Popen(
        [binary, *args, "--port", str(port), "--bind", "127.0.0.1", "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process, port
        except OSError:
            assert process.poll() is None and time.monotonic() < deadline, "redis did not start"
            time.sleep(0.05)


@pytest.mark.parametrize("as_composed", [True, False])
def test_the_journal_accepts_the_composed_redis_and_refuses_one_without_fsync(
    repo_root: Path, tmp_path: Path, as_composed: bool
) -> None:
    """redis-server with the compose service's own arguments satisfies the journal's durability
    check (Durability.REQUIRE, the default); the same server without them is refused."""
    command = config(repo_root, tmp_path, "--profile", "redis")["services"]["redis"]["command"]
    assert command[0] == "redis-server"
    args = command[1:] if as_composed else ["--save", ""]
    process, port = _redis(tmp_path, args)
    url = f"redis://127.0.0.1:{port}/0?trader=compose-redis"
    try:
        if as_composed:
            with open_journal(url) as journal:
                assert journal.last_seq() == 0
        else:
            with pytest.raises(JournalDurabilityError, match="appendfsync"):
                open_journal(url).close()
    finally:
        process.terminate()
        process.wait(timeout=10)
