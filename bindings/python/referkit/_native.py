"""Loads libreferkit_c and declares the C ABI (include/referkit/referkit.h) for ctypes.

Only the standard library is needed. The library is found, in this order, at the path in the
REFERKIT_LIBRARY environment variable, under the install prefix this package was installed into
(<prefix>/share/referkit/python/referkit -> <prefix>/lib*/libreferkit_c.so), and on the system's
library path.
"""
import ctypes
import ctypes.util
import os
from pathlib import Path

c_char_pp = ctypes.POINTER(ctypes.c_char_p)
c_size_p = ctypes.POINTER(ctypes.c_size_t)
c_int64_p = ctypes.POINTER(ctypes.c_int64)

# rk_status values, by name (referkit.h).
STATUS_NAMES = (
    "ok", "invalid_argument", "malformed", "bad_signature", "unknown_key", "expired", "not_found",
    "permission_denied", "unauthenticated", "resource_exhausted", "unavailable",
    "deadline_exceeded", "failed_precondition", "data_loss", "internal",
)


def _candidates():
    explicit = os.environ.get("REFERKIT_LIBRARY")
    if explicit:
        yield explicit
        return  # an explicit choice must not silently fall back to another copy
    here = Path(__file__).resolve().parent
    for prefix in list(here.parents)[:5]:
        for libdir in ("lib", "lib64", "lib/x86_64-linux-gnu", "lib/aarch64-linux-gnu"):
            for name in sorted((prefix / libdir).glob("libreferkit_c.so*")):
                yield str(name)
    found = ctypes.util.find_library("referkit_c")
    if found:
        yield found


def _load():
    tried = []
    for path in _candidates():
        try:
            return ctypes.CDLL(path)
        except OSError as e:
            tried.append(f"{path}: {e}")
    raise ImportError("referkit: cannot load libreferkit_c (set REFERKIT_LIBRARY to its path); tried: "
                      + ("; ".join(tried) or "nothing found"))


lib = _load()

# (name, restype, argtypes). ctypes.CDLL releases the GIL around every call, so a flush() that
# waits does not stall the interpreter's other threads.
_S = ctypes.c_int  # rk_status
_P = ctypes.c_void_p
_PP = ctypes.POINTER(ctypes.c_void_p)
_STR = (ctypes.c_char_p, ctypes.c_size_t)
LOG_FN = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_char), ctypes.c_size_t)

_DECLARATIONS = [
    ("rk_status_name", ctypes.c_char_p, [ctypes.c_int]),
    ("rk_last_error_message", ctypes.c_void_p, [c_size_p]),
    ("rk_version", ctypes.c_char_p, []),
    ("rk_abi_version", ctypes.c_uint32, []),
    ("rk_string_free", None, [ctypes.c_void_p]),
    ("rk_tracker_options_new", _S, [_PP]),
    ("rk_tracker_options_free", None, [_P]),
    ("rk_tracker_options_set_endpoint", _S, [_P, *_STR]),
    ("rk_tracker_options_set_write_key", _S, [_P, *_STR]),
    ("rk_tracker_options_set_spool_dir", _S, [_P, *_STR]),
    ("rk_tracker_options_set_flush_interval_ms", _S, [_P, ctypes.c_uint32]),
    ("rk_tracker_options_set_background_nice", _S, [_P, ctypes.c_int]),
    ("rk_tracker_options_set_logger", _S, [_P, LOG_FN, ctypes.c_void_p]),
    ("rk_tracker_open", _S, [_P, _PP]),
    ("rk_tracker_track_json", _S, [_P, *_STR]),
    ("rk_tracker_flush", _S, [_P, ctypes.c_uint32]),
    ("rk_tracker_close", _S, [_P, ctypes.c_uint32]),
    ("rk_tracker_pause", _S, [_P, ctypes.c_int]),
    ("rk_tracker_resume", _S, [_P, ctypes.c_int]),
    ("rk_tracker_stats_json", _S, [_P, ctypes.POINTER(ctypes.c_void_p), c_size_p]),
    ("rk_event_new", _S, [ctypes.c_int, _PP]),
    ("rk_event_free", None, [_P]),
    ("rk_event_set_string", _S, [_P, *_STR, *_STR]),
    ("rk_event_set_money", _S, [_P, *_STR, ctypes.c_int64, *_STR]),
    ("rk_event_set_bool", _S, [_P, *_STR, ctypes.c_int]),
    ("rk_event_add_product", _S, [_P, *_STR, *_STR, ctypes.c_int64, ctypes.c_int64, *_STR, *_STR]),
    ("rk_tracker_track_event", _S, [_P, _P]),
    ("rk_link_signer_options_new", _S, [_PP]),
    ("rk_link_signer_options_free", None, [_P]),
    ("rk_link_signer_options_set_keys", _S, [_P, *_STR]),
    ("rk_link_signer_options_set_base_url", _S, [_P, *_STR]),
    ("rk_link_signer_options_add_share_host", _S, [_P, *_STR]),
    ("rk_link_signer_create", _S, [_P, _PP]),
    ("rk_link_signer_free", None, [_P]),
    ("rk_link_signer_mint", _S, [_P, *_STR, *_STR, *_STR, ctypes.c_int64, ctypes.c_int64, _PP]),
    ("rk_link_free", None, [_P]),
    ("rk_link_get", _S, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), c_size_p]),
    ("rk_link_signer_verify", _S, [_P, *_STR, ctypes.c_int64, _PP]),
    ("rk_link_claims_free", None, [_P]),
    ("rk_link_claims_get", _S, [_P, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p), c_size_p]),
    ("rk_link_claims_times", _S, [_P, c_int64_p, c_int64_p]),
    ("rk_link_signer_share_code_matches", _S, [_P, *_STR, *_STR, *_STR, ctypes.POINTER(ctypes.c_int)]),
    ("rk_webhook_verifier_options_new", _S, [_PP]),
    ("rk_webhook_verifier_options_free", None, [_P]),
    ("rk_webhook_verifier_options_add_secret", _S, [_P, *_STR]),
    ("rk_webhook_verifier_options_set_tolerance_s", _S, [_P, ctypes.c_uint32]),
    ("rk_webhook_verifier_create", _S, [_P, _PP]),
    ("rk_webhook_verifier_free", None, [_P]),
    ("rk_webhook_verifier_verify", _S, [_P, *_STR, *_STR, ctypes.c_int64, c_int64_p]),
    ("rk_webhook_sign", _S, [*_STR, ctypes.c_int64, *_STR, ctypes.c_char_p, ctypes.c_size_t, c_size_p]),
]
for _name, _restype, _argtypes in _DECLARATIONS:
    _fn = getattr(lib, _name)
    _fn.restype = _restype
    _fn.argtypes = _argtypes

ABI_VERSION = 1
if lib.rk_abi_version() != ABI_VERSION:
    raise ImportError(f"referkit: libreferkit_c has C ABI {lib.rk_abi_version()}, this binding needs {ABI_VERSION}")


def last_error() -> str:
    n = ctypes.c_size_t()
    p = lib.rk_last_error_message(ctypes.byref(n))
    return ctypes.string_at(p, n.value).decode("utf-8", "replace")


def out_string(ptr: ctypes.c_void_p, n: ctypes.c_size_t) -> str:
    """A (pointer, length) string the library handed out, copied into a str."""
    return ctypes.string_at(ptr.value, n.value).decode("utf-8") if ptr.value else ""


def arg(value) -> tuple:
    """A (pointer, length) argument from a str (encoded as UTF-8), bytes or None."""
    if value is None:
        return (None, 0)
    if isinstance(value, str):
        value = value.encode("utf-8", "surrogatepass")
    return (value, len(value))
