"""The annual review of the partnership: the report built from pseudonymous events."""
