"""Placeholder: filled in by the resource work."""

routes: list = []
