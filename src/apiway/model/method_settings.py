"""A stage's `methodSettings` (spec §1.7.1) as they apply to one method — the method's own entry, keyed
`{resource path without the leading '/'}/{VERB}` (`pets/{id}/GET`, `/GET` for the root), over the
stage-wide `*/*` entry, field by field — and as the project file declares them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from apiway.model.rest import METHOD_VERBS, PATH_PART_RE, Stage

ALL_METHODS = "*/*"


def method_key(resource_path: str, verb: str) -> str:
    return f"{resource_path.lstrip('/')}/{verb}"


def normalised_key(key: str) -> str:
    """Patch paths escape '/' inside the resource path as '~1' (`~1pets~1{id}/GET`); both spellings, with
    or without the leading '/', name the same method."""
    if key == ALL_METHODS:
        return key
    resource, _, verb = key.rpartition("/")
    return method_key(resource.replace("~1", "/").replace("~0", "~"), verb)


@dataclass(slots=True, frozen=True)
class MethodSettings:
    """One method's settings as typed values, resolved once at deploy time: its own entry over the stage's
    `*/*`, field by field. None where neither sets a field: each check applies AWS's default for it."""

    throttling_rate_limit: float | None = None
    throttling_burst_limit: int | None = None
    caching_enabled: bool | None = None
    own_caching_enabled: bool | None = None  # the method's own entry alone: only GET inherits caching from `*/*`
    cache_ttl_in_seconds: int | None = None
    require_authorization_for_cache_control: bool | None = None
    unauthorized_cache_control_header_strategy: str | None = None
    logging_level: str | None = None
    data_trace_enabled: bool | None = None
    metrics_enabled: bool | None = None


def settings_for(stage: Stage, resource_path: str, verb: str) -> MethodSettings:
    settings = stage.get("methodSettings") or {}
    wanted = method_key(resource_path, verb)
    own: dict[str, Any] = next((entry for key, entry in settings.items()
                                if key != ALL_METHODS and normalised_key(key) == wanted), {})
    stage_wide: dict[str, Any] = settings.get(ALL_METHODS) or {}

    def field(name: str, kind: Callable[[Any], Any]) -> Any:
        value = own.get(name)
        if value is None:
            value = stage_wide.get(name)
        return None if value is None else kind(value)

    own_caching = own.get("cachingEnabled")
    return MethodSettings(
        throttling_rate_limit=field("throttlingRateLimit", float),
        throttling_burst_limit=field("throttlingBurstLimit", int),
        caching_enabled=field("cachingEnabled", bool),
        own_caching_enabled=None if own_caching is None else bool(own_caching),
        cache_ttl_in_seconds=field("cacheTtlInSeconds", int),
        require_authorization_for_cache_control=field("requireAuthorizationForCacheControl", bool),
        unauthorized_cache_control_header_strategy=field("unauthorizedCacheControlHeaderStrategy", str),
        logging_level=field("loggingLevel", str),
        data_trace_enabled=field("dataTraceEnabled", bool),
        metrics_enabled=field("metricsEnabled", bool),
    )


# -- the project file's stage settings --------------------------------------------------------------------

CACHE_SIZES = ("0.5", "1.6", "6.1", "13.5", "28.4", "58.2", "118", "237")
_BOOLEAN = "true or false"
_FIELDS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "metricsEnabled": (lambda v: isinstance(v, bool), _BOOLEAN),
    "loggingLevel": (lambda v: v in ("OFF", "ERROR", "INFO"), "OFF, ERROR or INFO"),
    "dataTraceEnabled": (lambda v: isinstance(v, bool), _BOOLEAN),
    "throttlingBurstLimit": (lambda v: _integer(v) and v >= 0, "requests, an integer from 0 (0 admits none)"),
    "throttlingRateLimit": (lambda v: _number(v) and v >= 0, "requests per second, a number from 0 (0 admits none)"),
    "cachingEnabled": (lambda v: isinstance(v, bool), _BOOLEAN),
    "cacheTtlInSeconds": (lambda v: _integer(v) and 0 <= v <= 3600, "seconds, an integer from 0 to 3600"),
    "cacheDataEncrypted": (lambda v: isinstance(v, bool), _BOOLEAN),
    "requireAuthorizationForCacheControl": (lambda v: isinstance(v, bool), _BOOLEAN),
    "unauthorizedCacheControlHeaderStrategy": (
        lambda v: v in ("FAIL_WITH_403", "SUCCEED_WITH_RESPONSE_HEADER", "SUCCEED_WITHOUT_RESPONSE_HEADER"),
        "FAIL_WITH_403, SUCCEED_WITH_RESPONSE_HEADER or SUCCEED_WITHOUT_RESPONSE_HEADER"),
}
_THROTTLING = {"rateLimit": "throttlingRateLimit", "burstLimit": "throttlingBurstLimit"}


class SettingsError(ValueError):
    """A stage setting of the project file that cannot be used; `where` is the path below the stage."""

    def __init__(self, where: tuple[Any, ...], message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def stage_settings(spec: dict[str, Any]) -> tuple[dict[str, dict[str, Any]], str | None]:
    """(methodSettings, cacheClusterSize or None) from a stage entry's `method_settings`, `throttling`
    (`{rateLimit, burstLimit}`: the `*/*` limits) and `cache` (`{size}`: the cache cluster, GB)."""
    settings: dict[str, dict[str, Any]] = {}
    for key, entry in _mapping(spec.get("method_settings"), ("method_settings",)).items():
        where = ("method_settings", key)
        normal = _checked_key(key, where)
        if normal in settings:
            raise SettingsError(where, f"names the same method as another entry ({normal})")
        settings[normal] = _checked_entry(entry, where)
    throttling = _mapping(spec.get("throttling"), ("throttling",))
    for name, value in throttling.items():
        field = _THROTTLING.get(name)
        if field is None:
            raise SettingsError(("throttling", name), "unknown key (expected 'rateLimit' or 'burstLimit')")
        if field in settings.get(ALL_METHODS, {}):
            raise SettingsError(("throttling", name), f"also set as method_settings '*/*' {field}")
        settings.setdefault(ALL_METHODS, {})[field] = _checked_field(field, value, ("throttling", name))
    return settings, _cache_size(spec.get("cache"))


def _cache_size(raw: Any) -> str | None:
    if raw is None:
        return None
    cache = _mapping(raw, ("cache",))
    unknown = set(cache) - {"size"}
    if unknown:
        raise SettingsError(("cache", sorted(unknown)[0]), "unknown key (expected 'size')")
    size = str(cache.get("size", CACHE_SIZES[0]))
    if size not in CACHE_SIZES:
        raise SettingsError(("cache", "size"), f"the cache cluster size in GB, one of {', '.join(CACHE_SIZES)}")
    return size


def _checked_key(key: Any, where: tuple[Any, ...]) -> str:
    if not isinstance(key, str):
        raise SettingsError(where, "a method is named '{resource path}/{VERB}' (like 'pets/{id}/GET') or '*/*'")
    normal = normalised_key(key)
    resource, _, verb = normal.rpartition("/")
    parts = resource.split("/") if resource else []
    if normal != ALL_METHODS and (verb not in METHOD_VERBS or not all(PATH_PART_RE.match(p) for p in parts)):
        raise SettingsError(where, "a method is named '{resource path}/{VERB}' (like 'pets/{id}/GET', '/GET' for "
                                   "the root resource) or '*/*'")
    return normal


def _checked_entry(entry: Any, where: tuple[Any, ...]) -> dict[str, Any]:
    return {field: _checked_field(field, value, (*where, field))
            for field, value in _mapping(entry, where).items()}


def _checked_field(field: Any, value: Any, where: tuple[Any, ...]) -> Any:
    check = _FIELDS.get(field)
    if check is None:
        raise SettingsError(where, f"unknown method setting (expected one of {', '.join(_FIELDS)})")
    if not check[0](value):
        raise SettingsError(where, check[1])
    return float(value) if field == "throttlingRateLimit" else value


def _mapping(raw: Any, where: tuple[Any, ...]) -> dict[Any, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SettingsError(where, "must be a mapping")
    return raw


def _integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
