"""Identity: passwords, MFA, browser sessions, API tokens and the request principal."""
