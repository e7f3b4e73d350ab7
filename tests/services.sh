#!/usr/bin/env bash
# Test services that live outside the virtualenv (started once per `make test`).
# Later issues add PostgreSQL and Chromium here; each step must work on a clean machine.
set -euo pipefail
exit 0
