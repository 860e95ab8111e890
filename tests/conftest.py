"""Settings every test starts from.

The replica is encrypted at rest by default (docs/security.md); the suite runs with
`STANDBY_DB_ENCRYPTION=off` so that tests can open the files they make without a key. The
encrypted engine has its own tests (tests/store/test_store_encryption.py) and runs the
store contract suite (the `sqlcipher` engine of support/store_engines.py).
"""

import os

os.environ.setdefault("STANDBY_DB_ENCRYPTION", "off")
