"""`python -m proxy_addon.cli`: the same as the `webex-xml-lint` command."""

import sys

from proxy_addon.cli import main

sys.exit(main())
