"""Real peers (servers the gateway talks to) shared by several test layers."""
