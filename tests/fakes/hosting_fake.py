"""A stateful fake of the hosting platform's API (migrations_notify.hosting) on pytest-httpserver, 127.0.0.1.

Teams with emails; instances with the server they run on and a state. Since T-90 every restart lands on the new
server: a customer's own restart (`customer_restarts`) moves an instance at once; a restart asked through the API
takes `boot_polls` status reads to come back, unless the instance is one that fails: it ends "crashed", or with
`hang=True` stays "starting" until the client gives up.
"""

from __future__ import annotations

import json
import re
import threading
from collections import Counter
from dataclasses import dataclass

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class FakeInstance:
    id: str
    name: str
    team_id: str
    server: str
    state: str = "running"
    fails: bool = False
    hang: bool = False
    polls_left: int = 0


class HostingFake:
    def __init__(self, server: HTTPServer, *, token: str, old_server: str, new_server: str, boot_polls: int = 2):
        self.server = server
        self.token = token
        self.old_server = old_server
        self.new_server = new_server
        self.boot_polls = boot_polls
        self.teams: dict[str, dict] = {}
        self.instances: dict[str, FakeInstance] = {}
        self.requests: Counter[str] = Counter()
        self.down = False  # answer 503 to everything
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def install(self) -> HostingFake:
        self.server.expect_request(re.compile(r"^/api/v1/.*")).respond_with_handler(self.handle)
        return self

    # --------------------------------------------------------------- the test's hands

    def add_team(self, team_id: str, name: str, emails: list[str]) -> None:
        self.teams[team_id] = {"id": team_id, "name": name, "emails": emails}

    def add_instance(self, instance_id: str, name: str, team_id: str, *, fails: bool = False, hang: bool = False):
        self.instances[instance_id] = FakeInstance(instance_id, name, team_id, self.old_server, fails=fails, hang=hang)

    def customer_restarts(self, instance_id: str) -> None:
        """The customer restarted it themselves: since T-90 it lands on the new server."""
        instance = self.instances[instance_id]
        instance.server, instance.state = self.new_server, "running"

    # --------------------------------------------------------------- serving

    def _json(self, payload: dict, status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, content_type="application/json")

    def handle(self, request: Request) -> Response:
        with self._lock:
            if request.headers.get("Authorization") != f"Bearer {self.token}":
                return self._json({"error": "unauthorized"}, 401)
            if self.down:
                return self._json({"error": "maintenance"}, 503)
            path, method = request.path, request.method
            self.requests[f"{method} {path}"] += 1
            if method == "GET" and path == "/api/v1/teams":
                return self._json({"teams": list(self.teams.values())})
            if match := re.fullmatch(r"/api/v1/teams/([^/]+)/instances", path):
                team_id = match.group(1)
                if team_id not in self.teams:
                    return self._json({"error": "no such team"}, 404)
                return self._json(
                    {"instances": [self._view(i) for i in self.instances.values() if i.team_id == team_id]}
                )
            if match := re.fullmatch(r"/api/v1/instances/([^/]+)/restart", path):
                instance = self.instances.get(match.group(1))
                if instance is None or method != "POST":
                    return self._json({"error": "not found"}, 404)
                instance.server, instance.state, instance.polls_left = self.new_server, "restarting", self.boot_polls
                return self._json({"id": instance.id, "state": instance.state}, 202)
            if match := re.fullmatch(r"/api/v1/instances/([^/]+)", path):
                instance = self.instances.get(match.group(1))
                if instance is None:
                    return self._json({"error": "not found"}, 404)
                self._tick(instance)
                return self._json(self._view(instance))
            return self._json({"error": "not found"}, 404)

    def _tick(self, instance: FakeInstance) -> None:
        if instance.state not in ("restarting", "starting"):
            return
        if instance.polls_left > 0:
            instance.polls_left -= 1
            instance.state = "starting"
            return
        if instance.hang:
            return
        instance.state = "crashed" if instance.fails else "running"

    @staticmethod
    def _view(instance: FakeInstance) -> dict:
        return {"id": instance.id, "name": instance.name, "server": instance.server, "state": instance.state}
