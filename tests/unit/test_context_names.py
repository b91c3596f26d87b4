from togul_monitor.config.entry import DEFAULT_CONTEXT_NAME, Profile
from togul_monitor.domain.values import DEFAULT_CONTEXT


def test_the_config_and_the_domain_name_the_single_context_alike() -> None:
    assert DEFAULT_CONTEXT_NAME == DEFAULT_CONTEXT


def _profile(**kwargs: object) -> Profile:
    return Profile(name="p", base_url="http://x", environment_key="production", **kwargs)  # type: ignore[arg-type]


def test_a_single_context_is_the_default_one() -> None:
    assert _profile(context={"user_id": "u"}).evaluation_contexts == {"default": {"user_id": "u"}}
    assert _profile().evaluation_contexts == {"default": {}}


def test_named_contexts_follow_a_non_empty_single_context() -> None:
    named = {"premium": {"plan": "premium"}, "free": {"plan": "free"}}
    assert list(_profile(contexts=named).evaluation_contexts) == ["premium", "free"]
    both = _profile(context={"user_id": "u"}, contexts=named).evaluation_contexts
    assert list(both) == ["default", "premium", "free"]
