"""The schema class of the API: every operation lists the errors it really answers."""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from rest_framework.permissions import AllowAny

from clm.api import ErrorOutput


class ClmAutoSchema(AutoSchema):
    """Adds the error answers every operation can really give, in the one error shape.

    401 (no or bad credentials), 403 (role or read-only token), 429 (token throttled) on every
    authenticated operation; 400 where a body or query is validated; 404 on a detail path or a
    paginated list (a page past the end). Views declare the rest (409 ...) with extend_schema.
    """

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        for code in self._error_codes():
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorOutput, code)
        return dict(sorted(responses.items()))

    def _error_codes(self) -> list[str]:
        public = any(isinstance(p, AllowAny) for p in self.view.get_permissions())
        codes = [] if public else ["401", "403", "429"]
        validated = self.method in ("POST", "PUT", "PATCH") or bool(
            self._get_filter_parameters() or self._get_pagination_parameters()
        )
        if validated:
            codes.append("400")
        has_path_args = "{" in self.path
        if has_path_args or self._get_pagination_parameters():
            codes.append("404")
        return codes
