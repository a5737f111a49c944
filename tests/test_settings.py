"""Settings: checked when made, read from ASSISTANT_* variables with one-line errors."""
import dataclasses

import pytest

from assistant.errors import AssistantError, SettingsError
from assistant.settings import Settings, settings_from_env


def test_environment_values_are_parsed_by_the_field_type():
    s = settings_from_env({"ASSISTANT_K": " 8 ", "ASSISTANT_SECOND_SENTENCE_RATIO": "0.3", "ASSISTANT_RETRIEVER": "bm25",
                           "ASSISTANT_CHUNK_TOKENS": "200", "ASSISTANT_UNRELATED": "x", "ASSISTANT_HNSW_M": ""})
    assert (s.k, s.second_sentence_ratio, s.retriever, s.chunk_tokens) == (8, 0.3, "bm25", 200)
    assert s.hnsw_m == Settings().hnsw_m  # empty means unset


def test_overrides_win_over_the_environment_and_none_keeps_it():
    assert settings_from_env({"ASSISTANT_K": "8"}, k=3).k == 3
    assert settings_from_env({"ASSISTANT_K": "8"}, k=None).k == 8


@pytest.mark.parametrize("env, message", [
    ({"ASSISTANT_K": "abc"}, "ASSISTANT_K='abc' is not a whole number"),
    ({"ASSISTANT_K": "2.5"}, "ASSISTANT_K='2.5' is not a whole number"),
    ({"ASSISTANT_SECOND_SENTENCE_RATIO": "heavy"}, "is not a number"),
    ({"ASSISTANT_K": "0"}, "k must be between 1 and 50"),
    ({"ASSISTANT_RETRIEVER": "grep"}, "Unknown retriever 'grep'"),
    ({"ASSISTANT_CONCURRENCY": "0"}, "concurrency must be between 1 and 64"),
    ({"ASSISTANT_OVERLAP_TOKENS": "100"}, "overlap_tokens below half"),
])
def test_bad_environment_values_are_one_line_settings_errors(env, message):
    with pytest.raises(SettingsError) as info:
        settings_from_env(env)
    assert message in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, AssistantError)


@pytest.mark.parametrize("field, value", [
    ("k", 0), ("k", 51), ("k", True), ("k", "5"), ("candidates", 0), ("batch_size", -1),
    ("second_sentence_ratio", float("nan")), ("second_sentence_ratio", float("inf")), ("model", None),
    ("index_type", "ivf-unknown"), ("max_history_turns", -1),
])
def test_settings_are_checked_on_construction_and_replace(field, value):
    with pytest.raises(SettingsError):
        Settings(**{field: value})
    with pytest.raises(SettingsError):
        dataclasses.replace(Settings(), **{field: value})


def test_defaults_are_valid_and_ints_are_accepted_for_floats():
    assert Settings().k == 5
    assert Settings(second_sentence_ratio=0).second_sentence_ratio == 0


@pytest.mark.parametrize("alias", ["sentence-transformers/all-MiniLM-L6-v2", "all-minilm-l6-v2", "all-MiniLM-L6-v2"])
def test_model_aliases_become_the_canonical_name_before_anything_is_written(alias):
    assert Settings(model=alias).model == "all-MiniLM-L6-v2"
    assert settings_from_env({}, model=alias).model == "all-MiniLM-L6-v2"
    assert settings_from_env({"ASSISTANT_MODEL": alias}).model == "all-MiniLM-L6-v2"
    assert Settings(model="/models/other").model == "/models/other"


def test_answer_threshold_is_an_optional_probability():
    from assistant.errors import SettingsError

    assert Settings().answer_threshold is None
    assert settings_from_env({"ASSISTANT_ANSWER_THRESHOLD": "0.4"}).answer_threshold == 0.4
    with pytest.raises(SettingsError, match="answer_threshold"):
        Settings(answer_threshold=1.5)
    with pytest.raises(SettingsError, match="is not a number"):
        settings_from_env({"ASSISTANT_ANSWER_THRESHOLD": "high"})
