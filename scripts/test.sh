#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs the package with its test dependencies into
# .venv (building the Rust extension), then runs the Rust tests, the linters and the Python tests.
# This is the README's test command and exactly what CI runs (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."
export GRADTRADE_TEST_DATA="${GRADTRADE_TEST_DATA:-$(cd .. && pwd)/shared/data}"

if [ ! -x .venv/bin/python ]; then
    python3 -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet -e '.[test]'

echo "== rust: fmt, clippy, tests"
cargo fmt --all --check
cargo clippy --all-targets -- -D warnings
cargo clippy --all-targets --features python -- -D warnings
cargo test --quiet

echo "== python: ruff, mypy, import layers"
ruff check python tests benches
ruff format --check python tests benches
mypy
lint-imports

echo "== python: tests"
# The journal tests start a real redis-server (Debian package) on loopback; the monitoring tests
# a real Prometheus (and promtool) from the Debian prometheus package; tests/deploy validate
# compose.yaml with Debian's docker-compose (no Docker engine needed).
missing=()
command -v redis-server >/dev/null || missing+=(redis-server)
{ command -v prometheus >/dev/null && command -v promtool >/dev/null; } || missing+=(prometheus)
command -v docker-compose >/dev/null || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
python -m pytest "$@"
