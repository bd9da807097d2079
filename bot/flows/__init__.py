"""Guided reporting flows: flow files as data, a pure engine, validating loader, PDF drafts."""
