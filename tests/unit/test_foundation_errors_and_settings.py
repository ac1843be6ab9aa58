"""Errors name the bad value and the valid choices; settings come from ECOMLAB_* variables."""

from __future__ import annotations

import pytest

from ecomlab import validate
from ecomlab.config import KINDS, redact, settings
from ecomlab.errors import ConfigError, EcomlabError, InvalidInput, choices_text


def test_invalid_input_is_both_an_ecomlab_error_and_a_value_error() -> None:
    err = InvalidInput("x")
    assert isinstance(err, EcomlabError)
    assert isinstance(err, ValueError)


def test_choices_text_lists_every_choice_readably() -> None:
    assert choices_text(["a", "b", "c"]) == "'a', 'b' or 'c'"
    assert choices_text(["only"]) == "'only'"


@pytest.mark.parametrize("bad", [True, 1.5, "3", None])
def test_integer_refuses_non_integers_and_names_the_value(bad: object) -> None:
    with pytest.raises(InvalidInput, match="buyers must be a whole number") as info:
        validate.integer("buyers", bad, minimum=1)
    assert repr(bad) in str(info.value)


def test_integer_names_the_bound_it_broke() -> None:
    with pytest.raises(InvalidInput, match=r"stock must be >= 0, got -5"):
        validate.integer("stock", -5, minimum=0)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -0.1, 1.0])
def test_probability_refuses_nan_infinite_and_out_of_range(bad: float) -> None:
    with pytest.raises(InvalidInput, match="failure_rate"):
        validate.probability("failure_rate", bad)


def test_choice_names_the_value_and_the_choices() -> None:
    with pytest.raises(InvalidInput, match=r"unknown strategy 'lock'; choose 'a' or 'b'"):
        validate.choice("strategy", "lock", ["a", "b"])


def test_unset_variables_mean_embedded_stores() -> None:
    cfg = settings({})
    assert all(cfg.url(kind) is None for kind in KINDS)


def test_each_variable_selects_its_kind() -> None:
    cfg = settings({"ECOMLAB_REDIS_URL": "redis://127.0.0.1:6379/0",
                    "ECOMLAB_PG_URL": "postgresql://u@h/db", "ECOMLAB_SQL_URL": " "})
    assert cfg.kv == "redis://127.0.0.1:6379/0"
    assert cfg.pg == "postgresql://u@h/db"
    assert cfg.sql is None


def test_a_bogus_scheme_is_named_with_the_valid_ones() -> None:
    with pytest.raises(ConfigError, match=r"scheme 'bogus' is not valid here; choose 'redis'"):
        settings({"ECOMLAB_REDIS_URL": "bogus://x"})


def test_a_string_that_is_not_a_url_is_refused() -> None:
    with pytest.raises(ConfigError, match="is not a URL"):
        settings({"ECOMLAB_MONGO_URL": "localhost"})


def test_overrides_are_checked_like_the_environment() -> None:
    with pytest.raises(ConfigError, match="'http'"):
        settings({}, kv="http://x")
    assert settings({}, kv="redis://h:1/0").kv == "redis://h:1/0"


def test_passwords_never_appear_in_shown_urls() -> None:
    assert redact("redis://:s3cret@h:6379/0") == "redis://:***@h:6379/0"
    assert redact("amqp://guest:guest@127.0.0.1:5672//") == "amqp://guest:***@127.0.0.1:5672//"
    assert redact("postgresql://postgres@h/test") == "postgresql://postgres@h/test"


def test_unknown_store_kind_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown store kind 'cache'"):
        settings({}).url("cache")
