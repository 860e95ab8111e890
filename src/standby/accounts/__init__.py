"""Who may use Standby: local accounts and their roles, login with lockout, sessions, the
audit log and break-the-glass grants, in the replica database.

* `users` — accounts (argon2 password hashes), the password policy, login, the demo
  accounts;
* `lockout` — when a login may be tried (per account and address, per account, per
  address, each with a doubling wait), and the once-per-interval audit of refusals;
* `roles` — the permission table every page and command checks (docs/roles.md);
* `repository` — all the SQL: accounts, sessions, failed logins, the audit log,
  break-the-glass accesses, the key that signs session cookies;
* `audit_chain` — the audit's hash chain (its canonical form, the one way lines are
  appended); `audit_verify` — checking it; `audit_anchors` — copies of its head outside the
  database; `audit_archive` — signed archives of old lines (docs/security.md#the-audit-log);
* `records` — the plain records they exchange; `schema` — the tables and their migrations
  (`login_migrations` — those of login and sessions).

The viewer (`standby.web`: cookies, CSRF, pages) and the command line (`standby user`) use
this package, and so will the documentation and review queues; it imports only
`standby.store` (docs/architecture.md).
"""
