"""Base paths of custom-domain mappings, as the control plane and the project file write them."""

NO_BASE_PATH = "(none)"  # the control plane's name for the mapping of the whole path


def normalise_base_path(base_path: str) -> str:
    """The table's form of a base path: `(none)` and "" are the whole-path mapping."""
    base_path = base_path.strip("/")
    return "" if base_path == NO_BASE_PATH else base_path
