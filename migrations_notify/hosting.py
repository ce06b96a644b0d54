"""The hosting platform's API, as the campaign needs it: the teams, each team's instances with the server they run
on, a restart, and an instance's state. A small HTTP client with timeouts; the base URL is the campaign's.

    GET  {base}/api/v1/teams                       {"teams": [{"id", "name", "emails": [...]}]}
    GET  {base}/api/v1/teams/{id}/instances        {"instances": [{"id", "name", "server", "state"}]}
    POST {base}/api/v1/instances/{id}/restart      202 {"id", "state": "restarting"}
    GET  {base}/api/v1/instances/{id}              {"id", "name", "server", "state"}

States: "running", "restarting", "starting", "stopped", "crashed". Authentication: a Bearer token.
"""

from dataclasses import dataclass

import requests

DOWN_STATES = frozenset({"crashed", "error", "failed", "stopped"})


class HostingError(Exception):
    """The platform did not answer, or answered with an error; the message says which, for the campaign page."""


@dataclass(frozen=True)
class HostedTeam:
    id: str
    name: str
    emails: tuple[str, ...]


@dataclass(frozen=True)
class HostedInstance:
    id: str
    name: str
    server: str
    state: str


class HostingClient:
    def __init__(self, *, base_url: str, token: str, timeout: float = 10.0) -> None:
        if not base_url:
            raise HostingError("The campaign has no hosting platform address.")
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.session.headers["Accept"] = "application/json"

    def _call(self, method: str, path: str) -> dict:
        try:
            response = self.session.request(method, f"{self.base_url}{path}", timeout=self.timeout)
        except requests.RequestException as exc:
            raise HostingError(f"The hosting platform did not answer ({exc.__class__.__name__}).") from exc
        if response.status_code == 401:
            raise HostingError("The hosting platform refused the token (401): enter it again on the campaign.")
        if response.status_code >= 400:
            raise HostingError(f"The hosting platform answered {response.status_code} to {method} {path}.")
        try:
            return response.json()
        except ValueError as exc:
            raise HostingError(f"The hosting platform's answer to {method} {path} is not JSON.") from exc

    def teams(self) -> list[HostedTeam]:
        return [
            HostedTeam(id=str(t["id"]), name=t.get("name") or str(t["id"]), emails=tuple(t.get("emails") or ()))
            for t in self._call("GET", "/api/v1/teams").get("teams", [])
        ]

    def instances(self, team_id: str) -> list[HostedInstance]:
        return [_instance(i) for i in self._call("GET", f"/api/v1/teams/{team_id}/instances").get("instances", [])]

    def restart(self, instance_id: str) -> str:
        return self._call("POST", f"/api/v1/instances/{instance_id}/restart").get("state", "restarting")

    def instance(self, instance_id: str) -> HostedInstance:
        return _instance(self._call("GET", f"/api/v1/instances/{instance_id}"))


def _instance(raw: dict) -> HostedInstance:
    return HostedInstance(
        id=str(raw["id"]),
        name=raw.get("name") or str(raw["id"]),
        server=raw.get("server") or "",
        state=raw.get("state") or "",
    )
