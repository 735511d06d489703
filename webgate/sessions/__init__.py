"""The choke point for interactive sessions: lifecycle (authorise → row → audit → register → taps → close)."""
