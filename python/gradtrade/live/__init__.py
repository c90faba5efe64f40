"""The live trader: ``gradtrade trade`` and what runs around the engine while it trades."""
