"""The clinician viewer: an ASGI app (Starlette) with login, roles, audit and the pages
of docs/web.md. Build it with `standby.web.app.create_app(settings, store)`."""
