"""The kit's OpenAPI check catches each kind of drift, on a small description of its own."""

from __future__ import annotations

import gzip
import json

import pytest
import requests
import responses

from tracker_mail_plugin.testing.openapi import (
    ABSENT,
    ApiDescription,
    Exchange,
    SpecDrift,
    exchanges,
)

ISSUE = {
    "type": "object",
    "required": ["key"],
    "additionalProperties": False,
    "properties": {
        "key": {"type": "string"},
        "state": {"type": "string", "nullable": True, "enum": ["open", "done"]},
        "secret": {"type": "string", "readOnly": True},
    },
}
DOCUMENT = {
    "openapi": "3.0.1",
    "info": {"title": "tracker", "version": "1"},
    "paths": {
        "/api/3/issue": {
            "post": {
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Issue"}}
                    },
                },
                "responses": {
                    "201": {
                        "description": "made",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Issue"}}
                        },
                    }
                },
            }
        },
        "/api/3/issue/{key}": {
            "parameters": [
                {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}}
            ],
            "get": {
                "parameters": [
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 50}},
                    {
                        "name": "old",
                        "in": "query",
                        "deprecated": True,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "it",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Issue"}}
                        },
                    }
                },
            },
        },
        "/api/3/issue/createmeta": {"get": {"responses": {"200": {"description": "meta"}}}},
        "/api/3/files/{path}": {
            "put": {
                "parameters": [
                    {
                        "name": "path",
                        "in": "path",
                        "required": True,
                        "x-multi-segment": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {"201": {"description": "stored"}},
            }
        },
    },
    "components": {"schemas": {"Issue": ISSUE}},
}


@pytest.fixture
def described():
    return ApiDescription(DOCUMENT, "tracker description", aliases={"/api/2/": "/api/3/"})


def test_a_path_the_description_lacks_is_named(described):
    assert described.problems(Exchange("GET", "/api/2/foo")) == [
        "GET /api/2/foo is not in the tracker description"
    ]
    assert described.problems(Exchange("DELETE", "/api/3/issue/SD-1")) == [
        "DELETE /api/3/issue/SD-1 is not in the tracker description"
    ]


def test_literal_segments_win_and_aliases_and_slashes_are_followed(described):
    assert (
        described.operation("GET", "/api/3/issue/createmeta").template == "/api/3/issue/createmeta"
    )
    found = described.operation("GET", "/api/2/issue/SD-1")
    assert (found.template, dict(found.params)) == ("/api/3/issue/{key}", {"key": "SD-1"})
    stored = described.operation("PUT", "/api/3/files/a/b%7Cc.png")
    assert stored.params == {"path": "a/b|c.png"}


def test_a_request_body_that_drifted_is_caught(described):
    sent = Exchange("POST", "/api/2/issue", body={"key": 7}, content_type="application/json")
    [problem] = described.problems(sent)
    assert problem.startswith("POST /api/2/issue: request body at $.key: 7 is not of type 'string'")
    unknown = Exchange(
        "POST", "/api/3/issue", body={"key": "a", "x": 1}, content_type="application/json"
    )
    assert "'x' was unexpected" in described.problems(unknown)[0]
    assert described.problems(Exchange("POST", "/api/3/issue")) == [
        "POST /api/3/issue: the request has no body; the operation requires one"
    ]
    read_only = Exchange(
        "POST", "/api/3/issue", body={"key": "a", "secret": "s"}, content_type="application/json"
    )
    assert "read-only" in described.problems(read_only)[0]


def test_query_parameters_are_typed_declared_and_not_deprecated(described):
    def problems(*query, **options):
        return described.problems(Exchange("GET", "/api/3/issue/SD-1", query=query), **options)

    assert problems(("limit", "50")) == []
    assert (
        "query 'limit' at $: 51 is greater than the maximum of 50" in problems(("limit", "51"))[0]
    )
    assert "'abc' is not of type 'integer'" in problems(("limit", "abc"))[0]
    assert problems(("expand", "x")) == [
        "GET /api/3/issue/SD-1: the query parameter 'expand' is not described"
    ]
    assert problems(("old", "1")) == [
        "GET /api/3/issue/SD-1: the query parameter 'old' is deprecated"
    ]
    assert problems(("old", "1"), deprecated=True) == []


def test_an_answer_that_drifted_is_caught(described):
    def answered(status, answer):
        return described.problems(
            Exchange("GET", "/api/3/issue/SD-1", status=status, answer=answer)
        )

    assert answered(200, {"key": "SD-1", "state": None}) == []  # nullable passes the enum
    assert "'key' is a required property" in answered(200, {"state": "open"})[0]
    assert "'gone' is not one of" in answered(200, {"key": "SD-1", "state": "gone"})[0]
    assert answered(201, {"key": "SD-1"}) == [
        "GET /api/3/issue/SD-1: answered 201; the description answers 200"
    ]
    assert answered(503, {"anything": True}) == []  # errors no operation describes
    assert answered(200, ABSENT) == []
    sent = Exchange("GET", "/api/3/issue/SD-1", status=200, answer={"key": 1})
    assert described.problems(sent, answer=False) == []


def test_check_raises_one_error_naming_every_problem(described):
    with pytest.raises(
        SpecDrift, match=r"(?s)against the tracker description:\nGET /x is not.*\nGET /y is not"
    ):
        described.check([Exchange("GET", "/x"), Exchange("GET", "/y")])


def test_the_exchanges_of_a_responses_mock(described):
    with responses.RequestsMock() as mock:
        mock.post("https://tracker.example/root/api/3/issue", json={"key": 5}, status=201)
        requests.post("https://tracker.example/root/api/3/issue?x=1", json={"key": "A"}, timeout=5)
        [sent] = exchanges(mock.calls, root="/root")
    assert (sent.method, sent.path, list(sent.query), sent.host) == (
        "POST",
        "/api/3/issue",
        [("x", "1")],
        "tracker.example",
    )
    assert (sent.body, sent.content_type, sent.status, sent.answer) == (
        {"key": "A"},
        "application/json",
        201,
        {"key": 5},
    )
    assert described.problems(sent) == [
        "POST /api/3/issue: the query parameter 'x' is not described",
        "POST /api/3/issue: the 201 answer at $.key: 5 is not of type 'string'",
    ]


def test_a_compressed_description_is_read_once(tmp_path):
    path = tmp_path / "tracker.json.gz"
    with gzip.open(path, "wt", encoding="utf-8") as stream:
        json.dump(DOCUMENT, stream)
    first = ApiDescription.load(path, "tracker description")
    assert ApiDescription.load(path, "tracker description") is first
    assert first.operation("GET", "/api/3/issue/SD-1").template == "/api/3/issue/{key}"
