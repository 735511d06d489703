"""Recordings: recorders, storage (local or S3), and later the seek index and retention."""
