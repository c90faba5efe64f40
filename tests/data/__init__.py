"""Tests of the data layer (gradtrade.data)."""
