"""webex-xml-lint: a protocol-aware proxy and linter for the Cisco Webex XML API."""

__version__ = "0.1.0"
