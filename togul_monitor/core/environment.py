"""What a monitor knows of environments: the profile's own (its id, once known) and the names
of every environment it has seen, for the `env:` filter and every view.

- With a token, the management API names the profile's environment before the stream starts
  (`lookup`), and every environment the token can see.
- With an API key only, the stream is the key's environment (the server scopes it), so the
  first event's id is the profile's environment (`relevant` learns it).
- On an organisation-wide stream, only events of the profile's environment are relevant to its
  values; the others are shown, not evaluated.
"""

from __future__ import annotations

from collections.abc import Callable

from togul_monitor.client.management import EnvironmentInfo, ManagementError, lookup_environment
from togul_monitor.config.entry import Profile
from togul_monitor.core.plan import StreamPlan
from togul_monitor.domain.events import FlagEvent


async def look_up(profile: Profile) -> EnvironmentInfo | str:
    """The management API's answer for the profile's environment, or why there is none."""
    assert profile.token is not None
    try:
        return await lookup_environment(profile.base_url, profile.token, profile.environment_key)
    except ManagementError as exc:
        return str(exc)


class Environments:
    def __init__(self, environment_key: str) -> None:
        self.environment_key = environment_key
        self.environment_id: str | None = None  # the profile's environment, once known
        self.names: dict[str, str] = {}  # id → key
        self.scoped_stream = True  # the stream carries the profile's environment only
        #: Told of names learnt from the stream (the journal keeps them for `export --filter`).
        self.on_learnt: Callable[[dict[str, str]], None] | None = None

    def apply(self, plan: StreamPlan) -> None:
        self.scoped_stream = plan.credentials.environment_scoped
        self.environment_id = plan.environment_id
        self.names = dict(plan.environment_names)

    def relevant(self, batch: list[FlagEvent]) -> list[FlagEvent]:
        """The events of `batch` that concern the profile's environment."""
        if self.scoped_stream:
            if self.environment_id is None:
                self._learn(batch[-1].environment_id)
            return batch
        env_id = self.environment_id
        if env_id is None:  # an org-wide stream whose environment is unknown: not evaluated
            return []
        return [e for e in batch if e.environment_id == env_id]

    def _learn(self, environment_id: str) -> None:
        """An API-key stream is the key's environment: its id names the profile's one."""
        self.environment_id = environment_id
        if environment_id not in self.names:
            self.names[environment_id] = self.environment_key
            if self.on_learnt is not None:
                self.on_learnt({environment_id: self.environment_key})
