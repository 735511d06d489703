"""Audit events: the login log, the operation log, and structured log lines for both."""
