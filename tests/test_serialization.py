import json

import pytest
from hypothesis import given

import jacchain as jc
from jacchain.testing import dims_lists


@given(dims_lists(max_layers=10, max_dim=10**8))
def test_json_round_trip_is_exact(dims):
    for method in ("auto", "forward", "reverse"):
        p = jc.plan(dims, method)
        back = jc.Plan.from_json(p.to_json())
        assert back == p
        assert (back.cost, back.mode, back.method) == (p.cost, p.mode, p.method)
        assert back.to_json() == p.to_json()


def _doc(**changes):
    doc = json.loads(jc.plan([1000, 10, 1000, 10, 1000]).to_json())
    doc.update(changes)
    return json.dumps(doc)


@pytest.mark.parametrize(
    "text, match",
    [
        ("not json", "malformed JSON"),
        ("[1, 2]", "JSON object"),
        (_doc(format="other"), "format"),
        (_doc(version=2), "version"),
        (_doc(dims=[1000, 10, 1000, 10]), "do not bracket"),
        (_doc(dims=[1000, 0, 1000, 10, 1000]), "bad dims"),
        (_doc(steps=[["product", 1, 1, 2]]), "needs 3 steps"),
        (
            _doc(steps=[["product", 1, 1, 2], ["product", 1, 1, 3], ["product", 1, 3, 4]]),
            "not available",
        ),
        (
            _doc(steps=[["magic", 2, 2, 3], ["product", 2, 3, 4], ["product", 1, 1, 4]]),
            "unknown operation",
        ),
        (_doc(steps=[["product", 2, 2.5, 3]]), "must be ints"),
        (_doc(steps=[["product", 2, 2, 3, 4]]), "must be"),
        (_doc(cost=1), "stored cost"),
        (_doc(mode="forward"), "stored mode"),
        (_doc(method=3), "method"),
        (json.dumps({"format": "jacchain.plan", "version": 1, "dims": [2, 3]}), "missing"),
    ],
)
def test_malformed_or_inconsistent_json_is_a_clear_error(text, match):
    with pytest.raises(jc.PlanFormatError, match=match):
        jc.Plan.from_json(text)


def test_from_json_rejects_non_text():
    with pytest.raises(jc.PlanFormatError):
        jc.Plan.from_json(None)


def test_derived_fields_are_optional_when_reading():
    doc = {
        "format": "jacchain.plan",
        "version": 1,
        "method": "mine",
        "dims": [2, 3, 4],
        "steps": [["product", 1, 1, 2]],
    }
    p = jc.Plan.from_json(json.dumps(doc))
    assert p.cost == 24 and p.method == "mine"
