"""Escalations to departmental referents (domain code; knows nothing of Telegram)."""
