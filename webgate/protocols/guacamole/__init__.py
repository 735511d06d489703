"""The Guacamole protocol: instruction codec, the guacd handshake, client filters and the relay.

Only this package knows the wire format; the WebSocket endpoint (``webgate.ws.guacamole``)
and the graphical session (``webgate.sessions.graphical``) use it through these modules.
"""
