"""How a monitor will stream and what it knows of its environment, decided before it starts.

A pure function of the profile and the management API's answer (`Monitor.start` makes the
call), so every combination of credentials is testable without a server:
- With an API key only, the stream is the key's environment (the server scopes it).
- With a Bearer token and an environment key, the management API names the environment's id and
  lists its flags. The token streams (organisation-wide) only when the key cannot, and only
  once the id is known: guessing it from events would be unsound, since the same flag key
  exists in every environment. A failed lookup with an API key streams with the key.
- Evaluate takes an API key and an environment key; without them values are not evaluated.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import msgspec

from togul_monitor.client.credentials import (
    StreamCredentials,
    key_may_evaluate,
    key_may_stream,
    stream_credentials,
)
from togul_monitor.config.profiles import Profile
from togul_monitor.support.text import mask_secret

if TYPE_CHECKING:
    from togul_monitor.client.management import EnvironmentInfo


#: Where an API key is added: to the profile, or, for a command's --url (no profile), as the
#: command's own option or variable.
PROFILE_KEY = "to the profile (api_key_env)"
COMMAND_KEY = "(--api-key-file PATH or TOGUL_API_KEY)"
#: The notes say what is missing and how to fix it, in the profile's own terms.
NO_API_KEY = (
    f"no API key: values are not evaluated; add an API key of scope sdk or server {PROFILE_KEY}"
)
NO_ENVIRONMENT_KEY = "no environment key: values are not evaluated"
STREAM_SCOPE_KEY = (
    "an API key of scope stream: values are not evaluated (it cannot evaluate); add an API key "
    f"of scope sdk or server {PROFILE_KEY}"
)


def not_evaluated(profile: Profile) -> str | None:
    """Why the profile's values are not evaluated, with the fix; None when they are: evaluate
    takes an API key that may evaluate (sdk or server scope) and an environment key."""
    if not profile.api_key:
        note = NO_API_KEY
    elif not key_may_evaluate(profile.api_key):
        note = STREAM_SCOPE_KEY  # asked anyway, every answer would be a 403
    else:
        return None if profile.environment_key else NO_ENVIRONMENT_KEY
    return note.replace(PROFILE_KEY, COMMAND_KEY) if profile.adhoc else note


class StreamPlan(msgspec.Struct, frozen=True):
    credentials: StreamCredentials
    environment_id: str | None = None  # the profile's environment, when known before any event
    environment_names: dict[str, str] = msgspec.field(default_factory=dict)  # id → key
    listed: tuple[str, ...] = ()  # flags the management API lists in the environment
    project_id: str | None = None  # the environment's project (a token's lookup found it)
    flag_ids: dict[str, str] = msgspec.field(default_factory=dict)  # listed flag key → id
    evaluate: bool = False  # values can be evaluated (`not_evaluated` says why not)
    notes: tuple[str, ...] = ()  # one-line facts for the status area


def plan_stream(
    profile: Profile, lookup: EnvironmentInfo | dict[str, str] | str | None
) -> StreamPlan:
    """`lookup`: the management API's answer (for a profile without an environment, the names
    of every environment), its error message, or None when not asked."""
    notes: list[str] = []
    environment_id: str | None = None
    names: dict[str, str] = {}
    listed: tuple[str, ...] = ()
    project_id: str | None = None
    flag_ids: dict[str, str] = {}
    if isinstance(lookup, str):
        if profile.environment_key:
            fallback = "streaming with the API key" if profile.api_key else "not evaluating"
            notes.append(f"environment lookup failed ({lookup}); {fallback}")
        else:
            notes.append(f"environment names not known ({lookup}): events show their ids")
    elif isinstance(lookup, dict):
        names = dict(lookup)
    elif lookup is not None:
        environment_id = lookup.environment_id
        names = dict(lookup.names)
        listed = lookup.flag_keys
        project_id, flag_ids = lookup.project_id, dict(lookup.flag_ids)
    credentials = stream_credentials(
        profile, token_allowed=environment_id is not None or not profile.api_key
    )
    reason = not_evaluated(profile)
    if reason is not None:
        notes.append(reason)
    for env_id, env_key in profile.environment_names.items():
        names.setdefault(env_id, env_key)
    if environment_id is None and credentials.environment_scoped:
        # The profile may already know its environment's id (the demo does).
        known = [i for i, k in profile.environment_names.items() if k == profile.environment_key]
        if len(known) == 1:
            environment_id = known[0]
    return StreamPlan(
        credentials=credentials,
        environment_id=environment_id,
        environment_names=names,
        listed=listed,
        project_id=project_id,
        flag_ids=flag_ids,
        evaluate=reason is None,
        notes=tuple(notes),
    )


def evaluate_problem(profile: Profile, command: str) -> str | None:
    """Why `command` (which evaluates a flag) cannot run on `profile`, a configuration error
    said before anything connects; None when it can."""
    if not profile.api_key:
        return (
            f"no API key: {command} evaluates the flag, which takes an API key of scope sdk or "
            "server (a token alone cannot evaluate); set api_key_env in the profile, or give "
            "--api-key-file or TOGUL_API_KEY"
        )
    if not key_may_evaluate(profile.api_key):
        return (
            f"the API key {mask_secret(profile.api_key)} is of scope stream, which cannot "
            "evaluate: use a key of scope sdk or server"
        )
    if not profile.environment_key:
        return "no environment key: evaluate needs one; give --environment KEY"
    return None


def stream_problem(profile: Profile) -> str | None:
    """Why `profile` cannot open the change stream at all (a key of scope server and no
    token), a configuration error said before anything connects; None when it may."""
    if profile.api_key and not key_may_stream(profile.api_key) and not profile.token:
        return (
            f"the API key {mask_secret(profile.api_key)} is of scope server, which cannot open "
            "the change stream: use a key of scope sdk or stream, or add a token"
        )
    return None
