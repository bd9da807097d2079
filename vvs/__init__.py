"""Platform primitives shared by every feature; nothing here knows Telegram."""
