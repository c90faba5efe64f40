"""Candle backtests: config, runner, report and the `gradtrade backtest` command."""
