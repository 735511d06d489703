"""WebSocket transports only: they translate frames to calls on a live session and back."""
