"""notifier-client against the served OpenAPI document: every route it calls, the
bodies it sends and the models it reads, so a route change it does not follow fails."""

import copy
import dataclasses
import inspect
import typing
from datetime import datetime

import pytest

from notifier_client import AsyncNotifier, Notifier, models
from notifier_client.operations import API_ROOT, OPERATIONS
from notifier_client.surface import Methods

MODELS = [m for m in vars(models).values()
          if dataclasses.is_dataclass(m) and isinstance(getattr(m, "SCHEMA", None), str)]


def resolve(doc: dict, schema: dict) -> dict:
    """``schema`` with its ``$ref`` followed."""
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def schema_at(doc: dict, path: str) -> dict:
    """A model's ``SCHEMA`` path: ``Name``, then properties (``[]``: an array's items)."""
    name, *steps = path.split("/")
    schema = resolve(doc, doc["components"]["schemas"][name])
    for step in steps:
        schema = resolve(doc, schema["properties"][step.removesuffix("[]")])
        if step.endswith("[]"):
            schema = resolve(doc, schema["items"])
    return schema


def ref_name(schema: dict) -> str | None:
    ref = schema.get("$ref")
    return ref.rsplit("/", 1)[1] if ref else None


def json_schema_of(content: dict | None) -> dict | None:
    return None if content is None else content["application/json"]["schema"]


def model_problems(doc: dict, model: type) -> list[str]:
    """How ``model``'s fields differ from its schema's properties."""
    schema = schema_at(doc, model.SCHEMA)
    headers = models.header_fields(model)
    fields = {f.name for f in dataclasses.fields(model) if f.name not in headers}
    properties = schema.get("properties", {})
    problems = []
    if fields != set(properties):
        problems.append(f"{model.__name__}: fields {sorted(fields)} but {model.SCHEMA} has "
                        f"{sorted(properties)}")
    hints = typing.get_type_hints(model)
    for name in fields & set(properties):
        prop = properties[name]
        hint = hints[name]
        found = {*typing.get_args(hint), hint}
        nested = {a for h in found for a in typing.get_args(h)} | found
        if prop.get("format") == "date-time" and datetime not in found:
            problems.append(f"{model.__name__}.{name}: a date-time, typed {hint}")
        item = ref_name(prop.get("items", {})) or ref_name(prop)
        if item and not any(getattr(n, "SCHEMA", None) == item for n in nested):
            problems.append(f"{model.__name__}.{name}: {item} in the document, {hint} here")
    return problems


def contract_problems(doc: dict) -> list[str]:
    """Everything the client calls or reads that the document does not say."""
    assert doc["servers"] == [{"url": API_ROOT}]
    problems = []
    for name, op in OPERATIONS.items():
        where = f"{name} ({op.method} {op.path})"
        served = doc["paths"].get(op.path, {}).get(op.method.lower())
        if served is None:
            problems.append(f"{where}: no such route")
            continue
        params = served.get("parameters", [])
        path_params = {p["name"] for p in params if p["in"] == "path"}
        if path_params != set(op.params):
            problems.append(f"{where}: path parameters {sorted(path_params)}")
        query = {p["name"] for p in params if p["in"] == "query"}
        if not set(op.query) <= query:
            problems.append(f"{where}: query {sorted(set(op.query) - query)} not taken")
        body = json_schema_of(served.get("requestBody", {}).get("content"))
        if (body and ref_name(body)) != op.body:
            problems.append(f"{where}: body {body} but the client sends {op.body}")
        elif body:
            properties = resolve(doc, body).get("properties", {})
            if not set(op.body_fields) <= set(properties):
                problems.append(f"{where}: sends {sorted(set(op.body_fields) - set(properties))}"
                                f" not in {op.body}")
            if ("idempotency_key" in properties) != op.idempotent_key:
                problems.append(f"{where}: takes idempotency_key: "
                                f"{'idempotency_key' in properties}")
        answers = {int(s): r for s, r in served["responses"].items() if s.startswith("2")}
        if set(answers) != set(op.answers):
            problems.append(f"{where}: answers {sorted(answers)}, the client reads "
                            f"{sorted(op.answers)}")
            continue
        for status, answer in op.answers.items():
            schema = json_schema_of(answers[status].get("content"))
            if answer is None:
                if schema is not None:
                    problems.append(f"{where}: {status} has a body")
                continue
            if schema is None or ref_name(schema) != answer.schema:
                problems.append(f"{where}: {status} is {schema}, not {answer.schema}")
                continue
            inner = resolve(doc, schema)
            if answer.unwrap:
                inner = resolve(doc, inner["properties"].get(answer.unwrap, {}))
            if inner != schema_at(doc, answer.model.SCHEMA):
                problems.append(f"{where}: {status} does not hold {answer.model.__name__}")
    for model in MODELS:
        problems += model_problems(doc, model)
    return problems


@pytest.fixture(scope="module")
def served(live_server):
    import httpx

    return httpx.get(f"{live_server.url}{API_ROOT}/openapi.json", timeout=10).json()


def test_the_client_follows_the_served_document(served):
    assert contract_problems(served) == []


def test_every_model_is_checked_and_every_operation_has_a_method():
    assert {m.__name__ for m in MODELS} >= {"Notification", "SendResult", "Scheduled",
                                            "Broadcast", "WidgetToken", "SignInLink"}
    for answer in (a for op in OPERATIONS.values() for a in op.answers.values() if a):
        assert answer.model in MODELS
    methods = {n for n, v in vars(Methods).items() if callable(v) and not n.startswith("_")}
    assert set(OPERATIONS) <= methods
    assert {"send_many", "schedule"} <= methods
    for client in (Notifier, AsyncNotifier):
        assert issubclass(client, Methods) and client._call is not Methods._call
    assert inspect.iscoroutinefunction(AsyncNotifier._call)


@pytest.mark.parametrize("change", [
    "route renamed", "method changed", "status changed", "property added",
    "property renamed in a nested model", "body schema renamed", "idempotency added",
    "date-time added",
])
def test_a_change_the_client_does_not_follow_is_caught(served, change):
    doc = copy.deepcopy(served)
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    if change == "route renamed":
        paths["/users/{user_id}/unread"] = paths.pop("/users/{user_id}/unread-count")
    elif change == "method changed":
        paths["/users/{user_id}/notifications/read"]["put"] = \
            paths["/users/{user_id}/notifications/read"].pop("post")
    elif change == "status changed":
        responses = paths["/widget-tokens"]["post"]["responses"]
        responses["200"] = responses.pop("201")
    elif change == "property added":
        schemas["UnreadCount"]["properties"]["unseen"] = {"type": "integer"}
    elif change == "property renamed in a nested model":
        inner = schemas["Scheduled"]["properties"]["scheduled"]["properties"]
        inner["at"] = inner.pop("send_at")
    elif change == "body schema renamed":
        content = paths["/sign-in-links"]["post"]["requestBody"]["content"]
        content["application/json"]["schema"] = {"$ref": "#/components/schemas/LinkRequest"}
    elif change == "idempotency added":
        schemas["WidgetTokenRequest"]["properties"]["idempotency_key"] = {"type": "string"}
    elif change == "date-time added":
        schemas["SignInLink"]["properties"]["url"]["format"] = "date-time"
    assert contract_problems(doc) != []
