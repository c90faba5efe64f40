"""Tests of the Rust core (gradtrade.core) and its data helpers."""
