"""The script mitmproxy's tools load: `mitmdump -s proxy_addon/addon.py`, `mitmweb -s ...`.

It only names the addons; they live in proxy_addon.mitm. The package is imported by its name, so it
must be installed (`pip install webex-xml-lint`, or `pip install -e .` in a checkout).
"""

from proxy_addon.mitm.addons import make_addons

addons = make_addons()
