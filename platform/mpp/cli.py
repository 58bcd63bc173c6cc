"""The ``mpp`` command: SatuAtap's verbs plus every Django management command.

With no ``DATABASE_URL`` every verb uses the embedded PostgreSQL under ``.data/`` (the same
one ``mpp up`` serves from); a verb run beside a running ``mpp up`` shares that server.
"""

from __future__ import annotations

import os
import sys

# Verbs whose Django command name differs from the word people type.
ALIASES = {"migrate": "migrate_all"}

OVERVIEW = """\
usage: mpp <verb> [options]     (mpp <verb> --help for each verb)

SatuAtap verbs:
  up                 migrate, load the demo and serve on http://localhost:8000
  migrate            migrate the public, template and every tenant schema, with progress
  demo load          load the Kepulauan Riau demo (idempotent)
  catalogue          publish | releases | diff A B | sync | import | export
  provinces          create | list | add-admin
  tenants            create | list | show | suspend | resume | archive | rename | add-domain
  users              invite-operator | token
  mall               profile SLUG [--set f=v] | closures SLUG [add DATE NAME | remove DATE]
  queue              counters SLUG | counter SLUG … | settings SLUG [SERVICE …] | stats SLUG
  stats              rebuild | show   (the province statistics rollup)
  worker             run background tasks (`mpp up` runs one too)
  web                serve with gunicorn, the production web role (the container's default)
  db shell           psql on the platform database (embedded or DATABASE_URL)
  db url             print the database URL in use

Every Django command works too, e.g. `mpp check`, `mpp shell`, `mpp createsuperuser`.
"""


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mpp`` console script."""
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mpp.settings")
    args = list(sys.argv if argv is None else argv)
    if len(args) == 1 or args[1] in {"-h", "--help"}:
        sys.stdout.write(OVERVIEW)
        if len(args) == 1:
            return
    if len(args) > 1:
        args[1] = ALIASES.get(args[1], args[1])
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
