"""The live trader: ``gradtrade trade``, reconciliation with the exchange, and telemetry."""
