"""One base class for the errors a user can cause and fix, so every face shows them as a message, not a traceback.

A `RagError` carries a one-line `message`, an optional `hint` (what to do about it), a stable `code` and the
HTTP status the API answers it with. The CLI prints `error: <message>` (and `hint: <hint>`) and exits 2; the
API answers `{"error": {"code", "message", "hint"?}}` with `status`. Anything else is a bug and keeps its
traceback.
"""

from __future__ import annotations


class RagError(RuntimeError):
    """An error the user can act on: a message for people, a code for programs, an HTTP status for the API."""

    code = "error"
    status = 400

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message if not hint else f"{message}; {hint}")
        self.message = message
        self.hint = hint

    def to_dict(self) -> dict[str, str]:
        out = {"code": self.code, "message": self.message}
        if self.hint:
            out["hint"] = self.hint
        return out


class SettingsError(RagError):
    """The settings file or an environment variable is unreadable, unknown or out of range."""

    code = "bad_settings"
    status = 500  # a server only meets it at start; a 500 then says "the operator's file is wrong"


class UnknownDataset(RagError):
    """An evaluation dataset that is neither a known name nor an existing file (or is not downloaded)."""

    code = "unknown_dataset"
    status = 404


class ServiceUnavailable(RagError):
    """A store the service needs does not answer right now (retry later)."""

    code = "unavailable"
    status = 503


__all__ = ["RagError", "ServiceUnavailable", "SettingsError", "UnknownDataset"]
