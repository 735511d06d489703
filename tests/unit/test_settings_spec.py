"""The settings validator: every default has a rule, and bad values are named precisely."""

from __future__ import annotations

import pytest

from webgate.api.settings import SPEC, apply, validate
from webgate.errors import ValidationFailed
from webgate.policy.defaults import DEFAULTS


def test_every_default_has_a_rule_and_every_rule_accepts_its_default():
    assert {s: set(v) for s, v in SPEC.items()} == {s: set(v) for s, v in DEFAULTS.items()}
    for section, values in DEFAULTS.items():
        for key, value in values.items():
            assert SPEC[section][key].error(value) is None, f"{section}.{key}"


@pytest.mark.parametrize(("patch", "field"), [
    ({"password_policy": {"min_length": 3}}, "password_policy.min_length"),
    ({"password_policy": {"min_length": "12"}}, "password_policy.min_length"),
    ({"password_policy": {"require_upper": 1}}, "password_policy.require_upper"),
    ({"login": {"max_failures_user": True}}, "login.max_failures_user"),
    ({"mfa": {"required": "some"}}, "mfa.required"),
    ({"watermark": {"content": "x" * 201}}, "watermark.content"),
    ({"mfa": {"colour": "red"}}, "mfa.colour"),
    ({"nonsense": {}}, "nonsense"),
    ({"session": 5}, "session"),
])
def test_bad_values_name_the_key(patch, field):
    with pytest.raises(ValidationFailed) as err:
        validate(patch, global_layer=True)
    assert field in err.value.details["fields"]


def test_lockout_is_global_only():
    with pytest.raises(ValidationFailed) as err:
        validate({"login": {"lock_minutes": 5}}, global_layer=False)
    assert "global" in err.value.details["fields"]["login.lock_minutes"]
    assert validate({"login": {"lock_minutes": 5}}, global_layer=True) == {"login": {"lock_minutes": 5}}


def test_apply_sets_changes_and_none_inherits_again():
    data, changes = apply({"mfa": {"required": "none"}}, {"mfa": {"required": "all"}, "session": {"idle_minutes": 5}})
    assert data == {"mfa": {"required": "all"}, "session": {"idle_minutes": 5}}
    assert changes == {"mfa.required": "all", "session.idle_minutes": 5}
    data, changes = apply(data, {"mfa": {"required": None}, "session": {"idle_minutes": 5}})
    assert data == {"session": {"idle_minutes": 5}} and changes == {"mfa.required": None}
