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
        (_doc(dims=[1000, 10, 1000, 10]), "do not make a plan"),
        (_doc(dims=[1000, 0, 1000, 10, 1000]), "bad dims"),
        (_doc(steps=[["product", 1, 1, 2]]), "unfinished"),
        (
            _doc(steps=[["product", 1, 1, 2], ["product", 1, 1, 3], ["product", 1, 3, 4]]),
            "accumulated",
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


def test_structured_plans_round_trip_with_layers_and_memory_limit():
    chain = jc.Chain(
        [
            jc.Layer(3, 3, "diagonal"),
            jc.Layer(3, 4, "sparse", nnz=5),
            jc.Layer(4, 4, "identity"),
            jc.Layer(4, 6, "matrix-free", edges=11, tape=7),
            jc.Layer(6, 2, "matrix-free", jvp_cost=9, vjp_cost=13),
        ]
    )
    for limit in (None, 0, 7, 100):
        p = jc.plan(chain, memory_limit=limit)
        back = jc.Plan.from_json(p.to_json())
        assert back == p and back.memory_limit == limit and back.chain == chain
        assert back.largest_tape == p.largest_tape


def test_structured_json_is_checked():
    chain = jc.Chain(
        [jc.Layer(3, 3, "matrix-free", edges=4), jc.Layer(3, 2, "matrix-free", edges=5)]
    )
    doc = json.loads(jc.plan(chain).to_json())
    bad_layers = dict(doc, layers=[{"n_in": 3, "n_out": 3, "kind": "wobbly"}, doc["layers"][1]])
    with pytest.raises(jc.PlanFormatError, match="bad layers"):
        jc.Plan.from_json(json.dumps(bad_layers))
    extra = dict(doc, layers=[dict(doc["layers"][0], colour=1), doc["layers"][1]])
    with pytest.raises(jc.PlanFormatError, match="bad layer fields"):
        jc.Plan.from_json(json.dumps(extra))
    mismatch = dict(doc, dims=[3, 3, 3])
    with pytest.raises(jc.PlanFormatError, match="disagree"):
        jc.Plan.from_json(json.dumps(mismatch))
    no_accumulate = dict(doc, steps=[["product", 1, 1, 2]])
    with pytest.raises(jc.PlanFormatError, match="accumulated"):
        jc.Plan.from_json(json.dumps(no_accumulate))
    over_limit = dict(
        doc, memory_limit=0, steps=[["accumulate-adjoint", 2, 2, 2], ["adjoint", 1, 1, 2]]
    )
    over_limit.pop("cost"), over_limit.pop("mode"), over_limit.pop("largest_tape")
    over_limit.pop("largest_intermediate")
    with pytest.raises(jc.PlanFormatError, match="memory_limit"):
        jc.Plan.from_json(json.dumps(over_limit))
    with pytest.raises(jc.PlanFormatError, match="memory_limit"):
        jc.Plan.from_json(json.dumps(dict(doc, memory_limit=-3)))


def _tampered(old, new):
    text = jc.plan([2, 3, 4]).to_json()
    assert old in text
    return text.replace(old, new)


@pytest.mark.parametrize(
    "text, match",
    [
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ('{"a": ' * 50_000 + "1" + "}" * 50_000, "nested too deeply"),
        (_tampered('"dims": [2, 3, 4]', '"dims": [2, ' + "9" * 5000 + "]"), "digits"),
        (_tampered('"version": 1', '"version": true'), "unsupported version True"),
        (_tampered('"version": 1', '"version": 1.0'), "unsupported version 1.0"),
        (_tampered('"cost": 24', '"cost": 24.0'), "stored cost 24.0 must be an int"),
        (_tampered('"cost": 24', '"cost": true'), "stored cost True must be an int"),
        (_tampered('"cost": 24', '"cost": NaN'), "NaN is not a number"),
        (_tampered('"cost": 24', '"cost": Infinity'), "Infinity is not a number"),
        (_tampered('"mode": "forward"', '"mode": 1'), "stored mode 1 must be a string"),
        (_tampered('"method": "auto"', '"method": ""'), "'method' must be a non-empty string"),
        (_tampered('"format"', '"extra": 1, "format"'), "unknown field 'extra'"),
    ],
)
def test_hostile_json_is_a_plan_format_error(text, match):
    with pytest.raises(jc.PlanFormatError, match=match):
        jc.Plan.from_json(text)
