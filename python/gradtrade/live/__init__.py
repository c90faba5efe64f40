"""The live trader: the service, its configuration and reconciliation with the exchange."""
