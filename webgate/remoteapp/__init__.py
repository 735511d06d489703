"""RemoteApp: single programs (a kiosk browser for a website, a SQL tool for a database) as one window.

``host.py`` is the app-host seam (``AppHost.start(spec) -> AppDisplay``, ``stop(id)``),
``local.py`` runs displays on this machine, ``remote.py`` asks an agent (``agent.py``) on
another machine, ``browser.py`` injects web logins, ``templates.py`` renders argv templates,
``applets.py`` decides which applet a session may run.
"""
