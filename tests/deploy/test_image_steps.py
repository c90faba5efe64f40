"""The Dockerfile's build and runtime steps, performed on this machine (there is no Docker engine).

What runs is read from the Dockerfile (tests/deploy/dockerspec.py), never copied here:

1. builder: the build context is staged in a temporary folder exactly as the builder's COPY
   lines take it, with .dockerignore honoured (so a host-built ``_core*.so`` cannot leak into
   the wheel), and the builder's ``maturin build`` RUN runs there verbatim with WHEEL_DIR set;
2. runtime: a fresh virtual environment, in which the runtime's wheel-install RUN runs verbatim
   with the runtime stage's ENV; the installed ``gradtrade`` must be the wheel's, and
   ``gradtrade selfcheck`` must pass through the console script the ENTRYPOINT names;
3. entrypoint: ENTRYPOINT + CMD start the trader against ``gradtrade exchange serve`` (the
   installed wheel's, in its own process), with the config compose mounts at
   /config/trader.yaml (configs/trader_compose.yaml) pointed at that exchange; the HEALTHCHECK
   command must fail before the trader answers, pass within the HEALTHCHECK's start period,
   and the trader must stop cleanly on SIGTERM (what ``docker stop`` sends).

What differs from the image, plainly:

- the base images: this machine's Python 3.11 and Rust toolchain stand in for
  python:3.11-slim-bookworm and rust:1.95-slim-bookworm; the apt-get, venv/maturin install
  and useradd RUNs are not performed (the tools are here; the tests run as the current user);
- dependencies: the CPU-torch RUN is not performed and pip does not download the wheel's
  requirements. The venv sees this test environment's installed packages (a .pth to a folder
  of links to them, without this environment's own gradtrade), PIP_NO_DEPS=1 stops pip from
  resolving, and ``pip check`` then proves every requirement of the wheel is met;
- cargo builds into the repository's target/ folder (CARGO_TARGET_DIR) so compiled crates are
  reused; the image builds from scratch;
- the trader's config and journal are in a temporary folder instead of /config and /data, its
  metrics port is a free one instead of 9108, and it binds 127.0.0.1 instead of 0.0.0.0.
"""

from __future__ import annotations

import http.server
import os
import signal
import site
import socket
import subprocess
import sys
import threading
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from dockerspec import Dockerfile, DockerIgnore, copy_context


@dataclass(frozen=True)
class Installed:
    venv: Path
    wheel: Path
    env: dict[str, str]  # the runtime stage's ENV, PATH with the venv first

    def run(self, *argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            list(argv), env=self.env, capture_output=True, text=True, timeout=timeout
        )


def _base_env() -> dict[str, str]:
    """This process' environment without what would make the worktree's package win."""
    return {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}


def _dependency_links(folder: Path) -> Path:
    """A folder of links to this environment's installed packages, except gradtrade itself."""
    folder.mkdir()
    for packages in site.getsitepackages():
        for entry in Path(packages).iterdir():
            name = entry.name.lower()
            if (
                name.startswith(("gradtrade", "__editable__", "_gradtrade"))
                or entry.suffix == ".pth"
            ):
                continue
            if not (folder / entry.name).exists():
                (folder / entry.name).symlink_to(entry)
    return folder


@pytest.fixture(scope="module")
def wheel(
    dockerfile: Dockerfile,
    dockerignore: DockerIgnore,
    repo_root: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    builder = dockerfile.stage("builder")
    workdir = builder.last("WORKDIR")
    assert workdir is not None
    context = tmp_path_factory.mktemp("builder") / workdir.args.lstrip("/")
    for copy in builder.all("COPY"):
        _, sources, dest = copy.copy_parts()
        copy_context(sources, repo_root, context / dest, dockerignore)
    out = tmp_path_factory.mktemp("wheels")
    env = {
        **_base_env(),
        **builder.env(),
        "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
        "WHEEL_DIR": str(out),
        "CARGO_TARGET_DIR": str(repo_root / "target"),
    }
    build = subprocess.run(
        ["bash", "-c", builder.run_with("maturin build")],
        cwd=context,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert build.returncode == 0, build.stderr[-4000:]
    (built,) = out.glob("gradtrade-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(
    wheel: Path, dockerfile: Dockerfile, tmp_path_factory: pytest.TempPathFactory
) -> Installed:
    root = tmp_path_factory.mktemp("runtime")
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    (purelib,) = venv.glob("lib/python3*/site-packages")
    links = _dependency_links(root / "deps")
    (purelib / "_image_test_deps.pth").write_text(f"{links}\n")
    # the RUN deletes WHEEL_DIR afterwards, as in the image: give it a copy
    wheels = root / "wheels"
    wheels.mkdir()
    (wheels / wheel.name).write_bytes(wheel.read_bytes())
    runtime = dockerfile.stage("runtime")
    env = {
        **_base_env(),
        **runtime.env(),
        "PATH": f"{venv / 'bin'}:{os.environ['PATH']}",
        "WHEEL_DIR": str(wheels),
        "PIP_NO_DEPS": "1",
    }
    install = subprocess.run(
        ["bash", "-c", runtime.run_with("gradtrade-*.whl")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert not wheels.exists(), "the RUN removes the wheels after installing them"
    del env["WHEEL_DIR"], env["PIP_NO_DEPS"]
    return Installed(venv, wheel, env)


def test_the_wheel_holds_one_freshly_built_extension(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    assert [n for n in names if n.endswith(".so")] == ["gradtrade/_core.abi3.so"]
    assert "gradtrade/py.typed" in names and "gradtrade/_core.pyi" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def test_runtime_install_is_the_wheel_and_meets_its_requirements(installed: Installed) -> None:
    where = installed.run("python", "-c", "import gradtrade, sys; print(gradtrade.__file__)")
    assert where.returncode == 0, where.stderr
    assert where.stdout.strip().startswith(str(installed.venv)), where.stdout
    check = installed.run("python", "-m", "pip", "check")
    unmet = [line for line in check.stdout.splitlines() if line.lower().startswith("gradtrade ")]
    assert not unmet, unmet


def test_entrypoint_binary_runs_selfcheck(installed: Installed, dockerfile: Dockerfile) -> None:
    entry = dockerfile.effective("trader", "ENTRYPOINT")
    assert entry is not None
    argv = entry.exec_form()
    assert argv is not None
    found = installed.run("bash", "-c", f"command -v {argv[0]}")
    assert found.stdout.strip() == str(installed.venv / "bin" / argv[0])
    check = installed.run(*argv, "selfcheck")
    assert check.returncode == 0 and "Rust core 0.1.0 OK" in check.stdout, check.stderr


class _Status(http.server.BaseHTTPRequestHandler):
    status = 200

    def do_GET(self) -> None:
        self.send_response(self.status)
        self.end_headers()
        self.wfile.write(b"ok" if self.status == 200 else b"market_data_stale")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def status_server() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def healthcheck(installed: Installed, dockerfile: Dockerfile, port: int) -> int:
    check = dockerfile.stage("runtime").healthcheck()
    assert check is not None
    env = {**installed.env, "GRADTRADE_HEALTH_URL": f"http://127.0.0.1:{port}/healthz"}
    return subprocess.run(check.command, env=env, capture_output=True, timeout=30).returncode


def test_healthcheck_passes_on_200_only(
    installed: Installed, dockerfile: Dockerfile, status_server: http.server.HTTPServer
) -> None:
    port = status_server.server_address[1]
    assert isinstance(port, int)
    _Status.status = 200
    assert healthcheck(installed, dockerfile, port) == 0
    _Status.status = 503  # /healthz with a reason: stale data, journal, HALTED
    assert healthcheck(installed, dockerfile, port) == 1
    status_server.shutdown()
    status_server.server_close()
    assert healthcheck(installed, dockerfile, port) == 1  # nothing listening


def _start_exchange(installed: Installed) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        ["gradtrade", "exchange", "serve", "--synthetic", "--seed", "7", "--port", "0"],
        env=installed.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def _stop(process: subprocess.Popen[str]) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode


def test_entrypoint_trades_against_the_local_exchange_and_turns_healthy(
    installed: Installed, dockerfile: Dockerfile, repo_root: Path, tmp_path: Path
) -> None:
    exchange, url = _start_exchange(installed)
    trader: subprocess.Popen[str] | None = None
    try:
        config = yaml.safe_load((repo_root / "configs/trader_compose.yaml").read_text())
        port = _free_port()
        config["venue"]["url"] = url
        config["journal"]["url"] = str(tmp_path / "journal.db")
        config["monitoring"] = {"host": "127.0.0.1", "port": port}
        path = tmp_path / "trader.yaml"
        path.write_text(yaml.safe_dump(config))
        entry, cmd = (
            dockerfile.effective("trader", "ENTRYPOINT"),
            dockerfile.effective("trader", "CMD"),
        )
        assert entry is not None and cmd is not None
        argv = [*(entry.exec_form() or []), *(cmd.exec_form() or [])]
        assert argv.count("/config/trader.yaml") == 1
        argv[argv.index("/config/trader.yaml")] = str(path)
        assert healthcheck(installed, dockerfile, port) != 0
        log = (tmp_path / "trader.log").open("w")
        trader = subprocess.Popen(
            argv, env=installed.env, stdout=log, stderr=subprocess.STDOUT, text=True
        )
        check = dockerfile.stage("runtime").healthcheck()
        assert check is not None
        deadline = time.monotonic() + float(check.options["start-period"].rstrip("s"))
        healthy = False
        while not healthy and time.monotonic() < deadline and trader.poll() is None:
            time.sleep(2)
            healthy = healthcheck(installed, dockerfile, port) == 0
        assert healthy, (tmp_path / "trader.log").read_text()[-4000:]
        assert _stop(trader) == 0, (tmp_path / "trader.log").read_text()[-4000:]
        assert healthcheck(installed, dockerfile, port) != 0
        assert (tmp_path / "journal.db").exists()
    finally:
        if trader is not None:
            _stop(trader)
        _stop(exchange)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
