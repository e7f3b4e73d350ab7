"""One settings model for every command: configuration file, then flags, then `--set webexlint_*`."""

from proxy_addon.settings.file import KNOWN_KEYS, config_path, find_config, read_config
from proxy_addon.settings.model import (
           Layer,
           Settings,
           SettingsError,
           check_selectors,
           make_linter,
)
from proxy_addon.settings.sources import (
           LINT_OPTIONS,
           flags_layer,
           options_layer,
           settings_from_args,
)

__all__ = ["KNOWN_KEYS", "LINT_OPTIONS", "Layer", "Settings", "SettingsError", "check_selectors", "config_path", "find_config",
           "flags_layer", "make_linter", "options_layer", "read_config", "settings_from_args"]
