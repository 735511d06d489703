"""Cross-node state: the bus (in-process or Redis) and, later, session rooms."""
