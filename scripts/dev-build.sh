#!/usr/bin/env bash
# Fast in-tree build of the extension for development: compiles the Rust crate in release mode
# and drops it next to the Python sources, so `PYTHONPATH=python python -m pytest` uses it without
# installing anything. Users and CI install with pip (see README).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --lib --features extension-module
cp target/release/lib_core.so python/gradtrade/_core.abi3.so
echo "built python/gradtrade/_core.abi3.so"
