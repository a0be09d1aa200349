"""referkit for Python: the referkit C++ engine through its C ABI (ctypes, standard library only).

    import referkit
    with referkit.Tracker(endpoint="https://ingest.example.com", write_key="wk") as tracker:
        tracker.track({"event": "Order Completed", "userId": "u-1", "properties": {"total": 19.99}})
        tracker.order_completed(user_id="u-1", order_id="o-1", total=referkit.Money(1999, "USD"))

track() never does network I/O: a background thread of the library batches and uploads. A
forked child (a prefork server's worker) gets a working tracker that never resends the parent's
events. Every failure raises a ReferkitError subclass named after the status (MalformedError,
ExpiredError...), carrying .status (the rk_status number), .code (its name) and the message.
"""
import ctypes
import json
from dataclasses import dataclass
from typing import NamedTuple, Optional

from . import _native
from ._native import arg, lib, out_string

__all__ = ["Tracker", "LinkSigner", "WebhookVerifier", "Link", "Claims", "Money", "ReferkitError",
           "sign_webhook", "version", "CONVERSIONS", "ENGAGEMENT"]


class ReferkitError(Exception):
    """A non-OK rk_status. .status is its number, .code its name ("bad_signature")."""

    status = -1
    code = "unknown"

    def __init__(self, message: str, status: Optional[int] = None):
        super().__init__(message)
        if status is not None:
            self.status = status
            self.code = _native.STATUS_NAMES[status] if 0 <= status < len(_native.STATUS_NAMES) else "unknown"


# One subclass per status: InvalidArgumentError, MalformedError, BadSignatureError, ExpiredError...
_ERRORS = {}
for _status, _name in enumerate(_native.STATUS_NAMES[1:], start=1):
    _cls_name = "".join(part.capitalize() for part in _name.split("_")) + "Error"
    _ERRORS[_status] = type(_cls_name, (ReferkitError,), {"status": _status, "code": _name})
    globals()[_cls_name] = _ERRORS[_status]
    __all__.append(_cls_name)


def _check(status: int, **extra) -> None:
    if status != 0:
        err = _ERRORS.get(status, ReferkitError)(f"{_native.STATUS_NAMES[status] if status < len(_native.STATUS_NAMES) else status}: {_native.last_error()}", status)
        for k, v in extra.items():
            setattr(err, k, v)
        raise err


def version() -> str:
    return lib.rk_version().decode()


class Money(NamedTuple):
    """Exact money: integer minor units of an ISO 4217 currency (Money(1999, "USD") is 19.99 USD)."""
    minor_units: int
    currency: str


CONVERSIONS = 0
ENGAGEMENT = 1
_LANES = {"conversions": CONVERSIONS, "engagement": ENGAGEMENT, CONVERSIONS: CONVERSIONS, ENGAGEMENT: ENGAGEMENT}

# rk_event_kind values, by method name.
_EVENT_KINDS = {
    "referral_link_created": 1, "referral_link_shared": 2, "referral_link_clicked": 3,
    "referee_signed_up": 4, "order_completed": 5, "order_refunded": 6, "order_cancelled": 7,
    "reward_issued": 8,
}


# One encoder for every track(dict): json.dumps with arguments builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)
_track_json = lib.rk_tracker_track_json


def _ms(seconds: float) -> int:
    return max(0, min(int(seconds * 1000), 0xFFFFFFFF))


class Tracker:
    """The event tracker (see referkit/tracker.hpp). Thread safety: any number of threads may call
    one Tracker at once; close() must be the last call."""

    def __init__(self, endpoint: str, write_key: str, spool_dir: Optional[str] = None,
                 flush_interval_s: Optional[float] = None, background_nice: Optional[int] = None):
        """background_nice (0-19): the nice value of the tracker's own threads, so that uploads
        give way to the application's threads when the CPU is short (TrackerOptions::background_nice)."""
        self._handle = None
        options = ctypes.c_void_p()
        _check(lib.rk_tracker_options_new(ctypes.byref(options)))
        try:
            _check(lib.rk_tracker_options_set_endpoint(options, *arg(endpoint)))
            _check(lib.rk_tracker_options_set_write_key(options, *arg(write_key)))
            if spool_dir is not None:
                _check(lib.rk_tracker_options_set_spool_dir(options, *arg(str(spool_dir))))
            if flush_interval_s is not None:
                _check(lib.rk_tracker_options_set_flush_interval_ms(options, max(1, _ms(flush_interval_s))))
            if background_nice is not None:
                _check(lib.rk_tracker_options_set_background_nice(options, int(background_nice)))
            handle = ctypes.c_void_p()
            _check(lib.rk_tracker_open(options, ctypes.byref(handle)))
            self._handle = handle
        finally:
            lib.rk_tracker_options_free(options)

    def _live(self) -> ctypes.c_void_p:
        if self._handle is None:
            raise FailedPreconditionError("failed_precondition: the tracker is closed", 12)  # noqa: F821
        return self._handle

    def track(self, event: dict) -> None:
        """Tracks one Segment-style event given as a dict ({"event", "userId" or "anonymousId",
        "properties", ...}), validated as referkit validates JSON events. "type" defaults to
        "track", written out because Segment-style collectors (referkit-ingest too) require it."""
        if "type" not in event:
            event = {"type": "track", **event}
        self.track_json(_ENCODER.encode(event))

    def track_json(self, text) -> None:
        """Tracks one event given as JSON text (str or UTF-8 bytes)."""
        # The hot path, kept to one ctypes call and no helper calls.
        if isinstance(text, str):
            text = text.encode("utf-8", "surrogatepass")
        status = _track_json(self._handle or self._live(), text, len(text))
        if status:
            _check(status)

    def track_event(self, kind: str, **fields) -> None:
        """A typed referral event by kind ("order_completed"...) and fields: str fields by name,
        Money for total/subtotal/amount, bool new_customer, and products as a list of dicts
        {"sku", "name", "quantity", "unit_price": Money, "category"}."""
        if kind not in _EVENT_KINDS:
            raise InvalidArgumentError(f"invalid_argument: no event kind {kind!r}", 1)  # noqa: F821
        event = ctypes.c_void_p()
        _check(lib.rk_event_new(_EVENT_KINDS[kind], ctypes.byref(event)))
        try:
            for name, value in fields.items():
                if value is None:
                    continue
                if name == "products":
                    for p in value:
                        price = Money(*p["unit_price"])
                        _check(lib.rk_event_add_product(event, *arg(p["sku"]), *arg(p.get("name", "")),
                                                        int(p.get("quantity", 1)), price.minor_units,
                                                        *arg(price.currency), *arg(p.get("category", ""))))
                elif isinstance(value, bool):
                    _check(lib.rk_event_set_bool(event, *arg(name), int(value)))
                elif isinstance(value, tuple):
                    money = Money(*value)
                    _check(lib.rk_event_set_money(event, *arg(name), money.minor_units, *arg(money.currency)))
                else:
                    _check(lib.rk_event_set_string(event, *arg(name), *arg(value)))
            _check(lib.rk_tracker_track_event(self._live(), event))
        finally:
            lib.rk_event_free(event)

    def flush(self, timeout_s: float) -> None:
        """Waits up to timeout_s until everything tracked so far is delivered; raises otherwise
        (DeadlineExceededError, DataLossError, FailedPreconditionError for a paused lane)."""
        _check(lib.rk_tracker_flush(self._live(), _ms(timeout_s)))

    def close(self, timeout_s: float = 5.0) -> None:
        """Sends what it can within timeout_s, then stops and frees the tracker (durable mode keeps
        the rest in the spool). Raises if something was left undelivered; closing twice is a no-op."""
        handle, self._handle = self._handle, None
        if handle is not None:
            _check(lib.rk_tracker_close(handle, _ms(timeout_s)))

    def pause(self, lane) -> None:
        _check(lib.rk_tracker_pause(self._live(), _LANES[lane]))

    def resume(self, lane) -> None:
        _check(lib.rk_tracker_resume(self._live(), _LANES[lane]))

    def stats(self) -> dict:
        text = ctypes.c_void_p()
        n = ctypes.c_size_t()
        _check(lib.rk_tracker_stats_json(self._live(), ctypes.byref(text), ctypes.byref(n)))
        try:
            return json.loads(ctypes.string_at(text.value, n.value))
        finally:
            lib.rk_string_free(text)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        try:
            self.close()
        except ReferkitError:
            if exc_type is None:
                raise  # an undelivered event is news, unless another error is already on its way

    def __del__(self):
        # A forgotten tracker still stops its thread; nothing may be raised from here.
        handle, self._handle = getattr(self, "_handle", None), None
        if handle is not None and lib is not None:
            lib.rk_tracker_close(handle, 0)


def _typed(kind):
    def method(self, **fields):
        self.track_event(kind, **fields)
    method.__name__ = kind
    method.__doc__ = f"Tracks a typed {kind!r} event; see track_event for the fields."
    return method


for _kind in _EVENT_KINDS:
    setattr(Tracker, _kind, _typed(_kind))


@dataclass(frozen=True)
class Link:
    url: str
    token: str
    share_code: str
    key_id: str


@dataclass(frozen=True)
class Claims:
    kind: str          # "token" or "share_code"
    key_id: str
    campaign: str
    referrer: str
    share_code: str
    name_prefix: str
    issued_at_ms: int
    expires_at_ms: int  # 0: never


class LinkSigner:
    """Mints and verifies referral links and share codes locally (referkit/links.hpp).
    keys: "key_id:hexsecret" entries, the first one the primary. Immutable: share it freely."""

    def __init__(self, keys: str, base_url: str, share_hosts=()):
        self._handle = None
        options = ctypes.c_void_p()
        _check(lib.rk_link_signer_options_new(ctypes.byref(options)))
        try:
            _check(lib.rk_link_signer_options_set_keys(options, *arg(keys)))
            _check(lib.rk_link_signer_options_set_base_url(options, *arg(base_url)))
            for host in share_hosts:
                _check(lib.rk_link_signer_options_add_share_host(options, *arg(host)))
            handle = ctypes.c_void_p()
            _check(lib.rk_link_signer_create(options, ctypes.byref(handle)))
            self._handle = handle
        finally:
            lib.rk_link_signer_options_free(options)

    def mint(self, campaign: str, referrer: str, name: str = "", issued_at_ms: int = 0,
             expires_at_ms: int = 0) -> Link:
        link = ctypes.c_void_p()
        _check(lib.rk_link_signer_mint(self._handle, *arg(campaign), *arg(referrer), *arg(name),
                                       issued_at_ms, expires_at_ms, ctypes.byref(link)))
        try:
            return Link(*(self._get(lib.rk_link_get, link, f) for f in range(4)))
        finally:
            lib.rk_link_free(link)

    def verify(self, text, now_ms: int = 0) -> Claims:
        """The claims of a link URL, token or share code; raises MalformedError, BadSignatureError,
        UnknownKeyError, or ExpiredError (whose .claims holds the authentic but stale claims)."""
        claims = ctypes.c_void_p()
        status = lib.rk_link_signer_verify(self._handle, *arg(text), now_ms, ctypes.byref(claims))
        result = None
        if claims.value:
            try:
                strings = [self._get(lib.rk_link_claims_get, claims, f) for f in range(6)]
                issued, expires = ctypes.c_int64(), ctypes.c_int64()
                _check(lib.rk_link_claims_times(claims, ctypes.byref(issued), ctypes.byref(expires)))
                result = Claims(*strings, issued.value, expires.value)
            finally:
                lib.rk_link_claims_free(claims)
        _check(status, claims=result)
        return result

    def share_code_matches(self, code: str, campaign: str, referrer: str) -> bool:
        matches = ctypes.c_int()
        _check(lib.rk_link_signer_share_code_matches(self._handle, *arg(code), *arg(campaign), *arg(referrer),
                                                     ctypes.byref(matches)))
        return matches.value == 1

    @staticmethod
    def _get(getter, handle, field) -> str:
        ptr, n = ctypes.c_void_p(), ctypes.c_size_t()
        _check(getter(handle, field, ctypes.byref(ptr), ctypes.byref(n)))
        return out_string(ptr, n)

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.rk_link_signer_free(handle)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class WebhookVerifier:
    """Verifies X-Referkit-Signature headers of webhooks (referkit/webhooks.hpp). Every secret
    verifies (rotation). Immutable: share it freely."""

    def __init__(self, secrets, tolerance_s: int = 300):
        self._handle = None
        if isinstance(secrets, (str, bytes)):
            secrets = [secrets]
        options = ctypes.c_void_p()
        _check(lib.rk_webhook_verifier_options_new(ctypes.byref(options)))
        try:
            for secret in secrets:
                _check(lib.rk_webhook_verifier_options_add_secret(options, *arg(secret)))
            _check(lib.rk_webhook_verifier_options_set_tolerance_s(options, int(tolerance_s)))
            handle = ctypes.c_void_p()
            _check(lib.rk_webhook_verifier_create(options, ctypes.byref(handle)))
            self._handle = handle
        finally:
            lib.rk_webhook_verifier_options_free(options)

    def verify(self, header, body, now_ms: int = 0) -> int:
        """The signed time (Unix ms) when header signs body (the raw bytes as received); raises
        MalformedError, BadSignatureError or ExpiredError otherwise."""
        signed_at = ctypes.c_int64()
        _check(lib.rk_webhook_verifier_verify(self._handle, *arg(header), *arg(body), now_ms,
                                              ctypes.byref(signed_at)))
        return signed_at.value

    def close(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None:
            lib.rk_webhook_verifier_free(handle)

    __del__ = close

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def sign_webhook(secret, unix_seconds: int, body) -> str:
    """The X-Referkit-Signature value the platform would send for body (for merchants' tests)."""
    out = ctypes.create_string_buffer(128)
    n = ctypes.c_size_t()
    _check(lib.rk_webhook_sign(*arg(secret), unix_seconds, *arg(body), out, len(out), ctypes.byref(n)))
    return out.raw[:n.value].decode()
