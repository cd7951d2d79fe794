"""Tests of baryon.core.refs: the one reference grammar for datasets and models."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from baryon.core.errors import InvalidInput
from baryon.core.refs import (
    ALIASES,
    DATASET_ALIASES,
    MAX_VERSION,
    MODEL_ALIASES,
    NAME_PATTERN,
    ORG_NAME_PATTERN,
    Ref,
    check_name,
    parse_ref,
)

VALID = [
    # (text, kind, parsed, canonical)
    ("tickets", "dataset", Ref("tickets"), "tickets"),
    ("tickets:3", "dataset", Ref("tickets", version=3), "tickets:3"),
    ("tickets@latest", "dataset", Ref("tickets", alias="latest"), "tickets@latest"),
    ("tickets:007", "dataset", Ref("tickets", version=7), "tickets:7"),
    ("tickets:" + "0" * 5000 + "5", "dataset", Ref("tickets", version=5), "tickets:5"),
    ("  tickets:2\n", "dataset", Ref("tickets", version=2), "tickets:2"),
    ("acme/tickets", "dataset", Ref("tickets", owner="acme"), "acme/tickets"),
    ("acme/tickets:4", "dataset", Ref("tickets", version=4, owner="acme"), "acme/tickets:4"),
    ("a.b_c-9/X.y_z-1@latest", "dataset", Ref("X.y_z-1", alias="latest", owner="a.b_c-9"), None),
    ("intents", "model", Ref("intents"), "intents"),
    ("intents:12", "model", Ref("intents", version=12), "intents:12"),
    ("intents@champion", "model", Ref("intents", alias="champion"), "intents@champion"),
    ("intents@challenger", "model", Ref("intents", alias="challenger"), "intents@challenger"),
    (
        "acme/support-intent@champion",
        "model",
        Ref("support-intent", alias="champion", owner="acme"),
        "acme/support-intent@champion",
    ),
    ("m:2147483647", "model", Ref("m", version=MAX_VERSION), "m:2147483647"),
    ("9", "model", Ref("9"), "9"),
    ("a" * 100, "dataset", Ref("a" * 100), "a" * 100),
    ("o" * 64 + "/n", "dataset", Ref("n", owner="o" * 64), "o" * 64 + "/n"),
]


@pytest.mark.parametrize(("text", "kind", "parsed", "canonical"), VALID)
def test_parse_ref_valid_forms_parse_and_render_canonically(
    text: str, kind: str, parsed: Ref, canonical: str | None
) -> None:
    ref = parse_ref(text, kind=kind)  # type: ignore[arg-type]
    assert ref == parsed
    assert str(ref) == (canonical or text)
    assert parse_ref(str(ref), kind=kind) == ref  # type: ignore[arg-type]


INVALID = [
    # (text, kind, a phrase the message must hold)
    ("", "dataset", "empty dataset reference"),
    ("   ", "model", "empty model reference"),
    ("tickets@3", "dataset", "use tickets:3"),  # the old dataset version form
    ("acme/tickets@3", "dataset", "use acme/tickets:3"),
    ("intents@2", "model", "use intents:2"),
    ("tickets:latest", "dataset", "use tickets@latest"),
    ("intents:champion", "model", "use intents@champion"),
    ("tickets@champion", "dataset", "dataset alias: latest"),
    ("intents@latest", "model", "model aliases: champion, challenger"),
    ("intents@staging", "model", "unknown model alias 'staging'"),
    ("tickets@Latest", "dataset", "unknown dataset alias"),
    ("tickets@", "dataset", "unknown dataset alias ''"),
    ("tickets:", "dataset", "whole number from 1 to 2147483647"),
    ("tickets:0", "dataset", "whole number from 1"),
    ("tickets:-1", "dataset", "whole number from 1"),
    ("tickets:x", "dataset", "whole number from 1"),
    ("tickets:1.5", "dataset", "whole number from 1"),
    ("tickets:2147483648", "dataset", "whole number from 1"),
    ("tickets:" + "9" * 5000, "dataset", "whole number from 1"),  # past int()'s digit limit
    ("tickets:" + "0" * 5000, "dataset", "whole number from 1"),
    ("tickets:\u0663", "dataset", "whole number from 1"),  # an Arabic-Indic 3: isdigit() is True
    ("tickets:\u00b2", "dataset", "whole number from 1"),  # a superscript 2: int() raised
    ("tickets: 3", "dataset", "whole number from 1"),
    ("tickets:3:4", "dataset", "whole number from 1"),
    ("tickets:3@latest", "dataset", "a version or an alias, not both"),
    ("m@champion:3", "model", "a version or an alias, not both"),
    ("@champion", "model", "'' is not a model name"),
    (":3", "model", "'' is not a model name"),
    ("a b", "dataset", "'a b' is not a dataset name"),
    ("-lead", "dataset", "is not a dataset name"),
    ("é", "model", "is not a model name"),
    ("a" * 101, "dataset", "is not a dataset name"),
    ("acme/", "dataset", "'' is not a dataset name"),
    ("/tickets", "dataset", "'' is not an organization name"),
    ("Acme/tickets", "dataset", "'Acme' is not an organization name"),
    ("o" * 65 + "/n", "dataset", "is not an organization name"),
    ("a/b/c", "dataset", "'b/c' is not a dataset name"),
]


@pytest.mark.parametrize(("text", "kind", "phrase"), INVALID)
def test_parse_ref_malformed_refused_with_one_code_and_a_hint(
    text: str, kind: str, phrase: str
) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_ref(text, kind=kind)  # type: ignore[arg-type]
    assert info.value.code == "invalid_ref"
    assert phrase in info.value.message
    assert info.value.details["kind"] == kind


@pytest.mark.parametrize("text", [None, 3, b"tickets", ["tickets"]])
def test_parse_ref_non_string_refused_as_invalid_ref(text: object) -> None:
    with pytest.raises(InvalidInput) as info:
        parse_ref(text, kind="dataset")
    assert info.value.code == "invalid_ref"


def test_parse_ref_huge_input_message_and_details_stay_short() -> None:
    with pytest.raises(InvalidInput) as info:
        parse_ref("x y" * 100_000, kind="dataset")
    assert len(info.value.message) < 1000
    assert len(info.value.details["ref"]) <= 120


def test_parse_ref_unknown_kind_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="kind must be one of"):
        parse_ref("x", kind="service")  # type: ignore[arg-type]


def test_aliases_per_kind_are_the_design_vocabulary() -> None:
    assert DATASET_ALIASES == ("latest",)
    assert MODEL_ALIASES == ("champion", "challenger")
    assert dict(ALIASES) == {"dataset": DATASET_ALIASES, "model": MODEL_ALIASES}


def test_registry_aliases_are_the_core_list() -> None:
    from baryon.training.model_versions import ALIASES as REGISTRY_ALIASES

    assert REGISTRY_ALIASES is MODEL_ALIASES


@pytest.mark.parametrize(
    ("kwargs", "phrase"),
    [
        ({"name": "a", "version": 1, "alias": "latest"}, "not both"),
        ({"name": "a", "version": 0}, "version 0"),
        ({"name": "a", "version": MAX_VERSION + 1}, "version"),
        ({"name": "a", "version": True}, "version True"),
        ({"name": "a:1"}, "name 'a:1'"),
        ({"name": "a", "owner": "Acme"}, "owner 'Acme'"),
        ({"name": "a", "alias": "staging"}, "alias 'staging'"),
    ],
)
def test_ref_parts_no_reference_can_spell_refused(kwargs: dict[str, object], phrase: str) -> None:
    with pytest.raises(InvalidInput) as info:
        Ref(**kwargs)  # type: ignore[arg-type]
    assert info.value.code == "invalid_ref"
    assert phrase in info.value.message


def test_ref_is_frozen_and_hashable() -> None:
    ref = Ref("t", version=2)
    assert {ref: 1}[Ref("t", 2)] == 1
    with pytest.raises(AttributeError):
        ref.name = "u"  # type: ignore[misc]


@pytest.mark.parametrize("name", ["intents", "support-intent", "m.v2", "A_1", "9", "a" * 100])
@pytest.mark.parametrize("kind", ["dataset", "model"])
def test_check_name_valid_names_pass(name: str, kind: str) -> None:
    assert check_name(name, kind=kind) == name  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["", "a b", "x@y", "v:1", "o/n", "-x", ".x", "a" * 101, "é", "t\n", None, 3]
)
@pytest.mark.parametrize(
    ("kind", "code"), [("dataset", "invalid_name"), ("model", "invalid_model_name")]
)
def test_check_name_invalid_names_refused_with_the_kinds_code(
    name: object, kind: str, code: str
) -> None:
    # "t\n" passed the old re.match(r"...$") checks: $ matches before a final newline.
    with pytest.raises(InvalidInput) as info:
        check_name(name, kind=kind)  # type: ignore[arg-type]
    assert info.value.code == code


# ----------------------------------------------------------------- properties
names = st.from_regex(rf"\A{NAME_PATTERN}\Z", fullmatch=True)
owners = st.none() | st.from_regex(rf"\A{ORG_NAME_PATTERN}\Z", fullmatch=True)
suffixes = st.one_of(
    st.just({}),
    st.integers(1, MAX_VERSION).map(lambda v: {"version": v}),
    st.sampled_from(MODEL_ALIASES).map(lambda a: {"alias": a}),
)


@settings(max_examples=300, deadline=None)
@given(name=names, owner=owners, suffix=suffixes)
def test_every_model_ref_round_trips_through_its_canonical_form(
    name: str, owner: str | None, suffix: dict[str, object]
) -> None:
    ref = Ref(name, owner=owner, **suffix)  # type: ignore[arg-type]
    text = str(ref)
    assert parse_ref(text, kind="model") == ref
    assert str(parse_ref(text, kind="model")) == text


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=40) | st.text(alphabet="aZ09._-:@/ \n\u0663é", max_size=12))
def test_any_text_parses_or_is_invalid_ref_and_parsed_is_canonical(text: str) -> None:
    for kind in ("dataset", "model"):
        try:
            ref = parse_ref(text, kind=kind)  # type: ignore[arg-type]
        except InvalidInput as exc:
            codes = {exc.code}
        else:
            codes = set()
        assert codes <= {"invalid_ref"}
        if codes:
            continue
        canonical = str(ref)
        assert parse_ref(canonical, kind=kind) == ref  # type: ignore[arg-type]
        assert str(parse_ref(canonical, kind=kind)) == canonical  # type: ignore[arg-type]
