"""The viewer's pages, one small module per page or group of pages. Each module has
`routes() -> list[BaseRoute]` and may have `NAV` (menu links) — see standby.web.app."""
