"""Open311 GeoReport v2 on the gateway: the mapping on plain data, then the routes with the services faked."""
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from gateway import open311, proxy
from gateway.open311 import (Open311Error, errors_from_upstream, filter_requests, normalise_phone,
                             report_from_open311, reporter_name, request_from_track, requested_ids,
                             services_from_categories, to_xml)
from servicekit import identity as ident
from servicekit.config import load_settings
from servicekit.errors import ApiError
from servicekit.spec import ServiceSpec
from servicekit.web import create_app

CATEGORIES = [
    {"code": "catering_fumes", "name": "餐饮油烟", "name_en": "Catering fumes", "group": "campaign",
     "first_level": 4, "department_code": "urban_management", "active": True},
    {"code": "garbage_dumping", "name": "乱倒垃圾", "name_en": "Garbage dumped", "group": "field",
     "first_level": 4, "department_code": "urban_management", "active": True},
    {"code": "old_thing", "name": "旧类别", "name_en": "Retired", "group": "field", "active": False},
    {"code": "emergency_order", "name": "应急指令", "name_en": "Emergency order", "group": "city", "active": True},
]


def track_page(status="processing", answer=None, updates=None):
    return {"tracking_code": "7K3M-Q9TX-2BRD", "status": status, "category": "catering_fumes",
            "category_name": "餐饮油烟", "reported_at": "2026-05-01T02:03:04.123456+00:00", "answer": answer,
            "updates": updates if updates is not None else [
                {"status": "received", "note": None, "at": "2026-05-01T02:03:04.123456+00:00"},
                {"status": "processing", "note": None, "at": "2026-05-01T03:00:00.5+00:00"}]}


# -- services ----------------------------------------------------------------------------------
def test_active_public_categories_become_services():
    services = services_from_categories(CATEGORIES)
    assert [s["service_code"] for s in services] == ["catering_fumes", "garbage_dumping"]
    assert services[0] == {"service_code": "catering_fumes", "service_name": "餐饮油烟",
                           "description": "Catering fumes", "metadata": False, "type": "realtime",
                           "keywords": "catering, fumes", "group": "campaign"}


# -- a report from an Open311 POST ---------------------------------------------------------------
def test_a_form_post_becomes_a_public_web_report_with_a_wgs84_position():
    body, notes = report_from_open311({"service_code": "catering_fumes", "lat": "35.42", "long": "112.82",
                                       "description": " 饭店油烟直排 ", "api_key": "ignored", "device_id": "x"})
    assert body == {"channel": "public_web", "category": "catering_fumes", "description": "饭店油烟直排",
                    "location": {"lon": 112.82, "lat": 35.42, "datum": "wgs84"}}
    assert notes == []


def test_an_address_alone_is_enough_and_json_numbers_are_taken():
    body, _ = report_from_open311({"service_code": "garbage_dumping", "description": "x",
                                   "address_string": "凤台街12号"})
    assert body["address"] == "凤台街12号" and "location" not in body
    body, _ = report_from_open311({"service_code": "garbage_dumping", "description": "x", "lat": 35.4,
                                   "long": 112, "address_string": "路口"})
    assert body["location"] == {"lon": 112.0, "lat": 35.4, "datum": "wgs84"} and body["address"] == "路口"


@pytest.mark.parametrize("fields,says", [
    ({"description": "x", "address_string": "a"}, "service_code is required"),
    ({"service_code": "catering_fumes", "address_string": "a"}, "description is required"),
    ({"service_code": "catering_fumes", "description": " ", "address_string": "a"}, "description is required"),
    ({"service_code": "catering_fumes", "description": "x", "lat": "35.4"}, "lat and long go together"),
    ({"service_code": "catering_fumes", "description": "x", "lat": "north", "long": "112"}, "lat is not a number"),
    ({"service_code": "catering_fumes", "description": "x", "lat": "nan", "long": "112"}, "lat must be"),
    ({"service_code": "catering_fumes", "description": "x", "lat": "35", "long": "200"}, "long must be"),
    ({"service_code": "catering_fumes", "description": "x", "lat": True, "long": "112"}, "lat is not a number"),
    ({"service_code": "catering_fumes", "description": "x"}, "lat and long, or an address_string"),
    ({"service_code": "catering_fumes", "description": "x", "address_id": "17"}, "address_id is not supported"),
])
def test_what_cannot_make_a_report_is_a_400_naming_the_open311_field(fields, says):
    with pytest.raises(Open311Error) as caught:
        report_from_open311(fields)
    assert caught.value.status == 400 and says in caught.value.errors[0]["description"]


def test_a_service_not_offered_is_refused_when_the_list_is_known():
    fields = {"service_code": "emergency_order", "description": "x", "address_string": "a"}
    with pytest.raises(Open311Error, match="not offered"):
        report_from_open311(fields, {"catering_fumes"})
    assert report_from_open311(fields, None)[0]["category"] == "emergency_order"  # incidents decides


def test_the_reporter_is_kept_only_with_a_name_and_a_valid_phone():
    base = {"service_code": "catering_fumes", "description": "x", "address_string": "a"}
    body, notes = report_from_open311({**base, "first_name": "娜", "last_name": "李", "phone": "+86 138 0000 0001"})
    assert body["reporter"] == {"name": "李娜", "phone": "13800000001"} and notes == []
    body, notes = report_from_open311({**base, "first_name": "Anna", "last_name": "Li", "phone": "0356-2021234"})
    assert body["reporter"] == {"name": "Anna Li", "phone": "0356-2021234"}
    body, notes = report_from_open311({**base, "first_name": "娜", "phone": "12345"})
    assert "reporter" not in body and "匿名" in notes[0]
    body, notes = report_from_open311({**base, "phone": "13800000001"})
    assert "reporter" not in body and len(notes) == 1


def test_media_and_email_are_not_kept_and_the_reporter_is_told():
    _, notes = report_from_open311({"service_code": "catering_fumes", "description": "x", "address_string": "a",
                                    "media_url": "http://example.org/p.jpg", "email": "a@example.org"})
    assert len(notes) == 2 and "media" in notes[0] and "e-mail" in notes[1]
    _, notes = report_from_open311({"service_code": "catering_fumes", "description": "x", "address_string": "a"},
                                   has_media=True)
    assert "media" in notes[0]


@pytest.mark.parametrize("typed,phone", [("13800000001", "13800000001"), ("+8613800000001", "13800000001"),
                                         ("138-0000-0001", "13800000001"), ("0086 138 0000 0001", "13800000001"),
                                         ("03562021234", "03562021234"), ("1380000000", None), ("", None),
                                         ("call me", None)])
def test_phones_as_people_type_them(typed, phone):
    assert normalise_phone(typed) == phone


def test_names_in_either_order():
    assert reporter_name("娜", "李") == "李娜"
    assert reporter_name("Anna", "Li") == "Anna Li"
    assert reporter_name(None, "李") == "李"
    assert reporter_name(None, None) is None


# -- incidents' answers ------------------------------------------------------------------------
def test_field_errors_of_incidents_name_the_open311_fields():
    error = errors_from_upstream(422, {"error": {"status": 422, "message": "the request does not pass validation",
                                                 "fields": {"category": ["not in the district's category list"],
                                                            "location": {"lat": ["Must be between -90 and 90."]},
                                                            "address": ["Length must be between 1 and 200."]}}})
    assert error.status == 400
    assert [e["description"] for e in error.errors] == [
        "service_code: not in the district's category list", "lat/long: lat: Must be between -90 and 90.",
        "address_string: Length must be between 1 and 200."]
    assert all(e["code"] == 400 for e in error.errors)


def test_other_upstream_errors_keep_their_status_and_message():
    error = errors_from_upstream(503, {"error": {"status": 503, "message": "incidents is unavailable"}})
    assert error.errors == [{"code": 503, "description": "incidents is unavailable"}]
    assert errors_from_upstream(500, {}).errors == [{"code": 500, "description": "the service answered 500"}]


@pytest.mark.parametrize("status,open311_status", [("received", "open"), ("processing", "open"),
                                                   ("closed", "closed"), ("rejected", "closed"),
                                                   ("duplicate", "closed")])
def test_public_statuses_become_open_or_closed(status, open311_status):
    assert request_from_track(track_page(status))["status"] == open311_status


def test_a_tracking_page_becomes_an_open311_request():
    closed = track_page("closed", answer="经核查属实,已责令整改。", updates=[
        {"status": "received", "note": None, "at": "2026-05-01T02:03:04.123456+00:00"},
        {"status": "closed", "note": "经核查属实,已责令整改。", "at": "2026-05-03T09:30:00+00:00"},
        {"status": "processing", "note": None, "at": "2026-05-02T01:00:00+00:00"}])
    assert request_from_track(closed) == {
        "service_request_id": "7K3M-Q9TX-2BRD", "status": "closed", "status_notes": "经核查属实,已责令整改。",
        "service_name": "餐饮油烟", "service_code": "catering_fumes",
        "requested_datetime": "2026-05-01T02:03:04+00:00", "updated_datetime": "2026-05-03T09:30:00+00:00"}
    assert request_from_track(track_page("duplicate"))["status_notes"].startswith("与先前")
    assert request_from_track(track_page(updates=[]))["updated_datetime"] == "2026-05-01T02:03:04+00:00"


# -- lists -------------------------------------------------------------------------------------
def test_requested_ids_are_a_short_comma_list():
    assert requested_ids(" A, B,,A ") == ["A", "B"]
    with pytest.raises(Open311Error, match="private to their reporters"):
        requested_ids(None)
    with pytest.raises(Open311Error, match="at most 50"):
        requested_ids(",".join(str(i) for i in range(51)))


def test_lists_are_filtered_as_the_spec_says():
    a = request_from_track(track_page("processing"))
    b = {**request_from_track(track_page("closed")), "service_request_id": "B", "service_code": "garbage_dumping",
         "requested_datetime": "2026-05-04T00:00:00+00:00"}
    assert filter_requests([a, b], {}) == [a, b]
    assert filter_requests([a, b], {"status": "closed"}) == [b]
    assert filter_requests([a, b], {"status": "open,closed", "service_code": "catering_fumes"}) == [a]
    assert filter_requests([a, b], {"start_date": "2026-05-02T08:00:00+08:00"}) == [b]
    assert filter_requests([a, b], {"end_date": "2026-05-02T00:00:00Z"}) == [a]
    assert filter_requests([a, b], {"end_date": "2026-05-02T08:00:00 08:00"}) == [a]  # '+' decoded as a space
    for bad in ({"status": "pending"}, {"start_date": "yesterday"}, {"end_date": "2026-05-02T00:00:00"}):
        with pytest.raises(Open311Error):
            filter_requests([a], bad)


# -- XML ---------------------------------------------------------------------------------------
def test_xml_has_the_spec_element_names():
    root = ET.fromstring(to_xml("services", "service", services_from_categories(CATEGORIES)))
    assert root.tag == "services" and [s.findtext("service_code") for s in root] == ["catering_fumes",
                                                                                  "garbage_dumping"]
    assert root[0].findtext("metadata") == "false" and root[0].findtext("service_name") == "餐饮油烟"
    errors = ET.fromstring(to_xml("errors", "error", Open311Error(400, "bad\x01 one").errors))
    assert errors[0].findtext("code") == "400" and errors[0].findtext("description") == "bad one"
    found = ET.fromstring(to_xml("discovery", None, open311.discovery("http://h/open311/v2", False)))
    endpoint = found.find("endpoints/endpoint")
    assert endpoint.findtext("url") == "http://h/open311/v2" and endpoint.findtext("type") == "test"
    assert [f.text for f in endpoint.find("formats")] == ["application/json", "text/xml"]
    created = ET.fromstring(to_xml("service_requests", "request", [{"service_request_id": "X", "account_id": None}]))
    assert created.find("request/account_id").text is None


# -- the routes, with the services faked -------------------------------------------------------
class FakeServices:
    def __init__(self):
        self.calls = []
        self.answers = {}

    def __call__(self, service, method, path, who, *, body=None, params=None, timeout_s=10.0):
        self.calls.append((service, method, path, who, body))
        answer = self.answers.get((service, method, path))
        if answer is None:
            return 404, {"error": {"status": 404, "code": "not_found", "message": "nothing here"}}
        if isinstance(answer, Exception):
            raise answer
        return answer(body) if callable(answer) else answer

    def upstream_calls(self, service):
        return [c for c in self.calls if c[0] == service]


@pytest.fixture
def services(monkeypatch):
    fake = FakeServices()
    fake.answers[("grid-registry", "GET", "/api/v1/registry/categories")] = (200, {"items": CATEGORIES})
    monkeypatch.setattr(proxy, "call_upstream", fake)
    return fake


@pytest.fixture
def client(tmp_path, monkeypatch):
    monkeypatch.delenv("GATEWAY_REDIS_URL", raising=False)
    # Not named "gateway": from the repository root that name is also the folder gateway/ (a namespace
    # package), where Flask cannot find the application's root path.
    spec = ServiceSpec(name="gateway-open311", migrations=Path(open311.__file__).parent / "migrations",
                       blueprints=(open311.open311_blueprint,), uses_broker=False)
    return create_app(spec, load_settings("gateway", {"ENVGRID_DATA_DIR": str(tmp_path)})).test_client()


def test_services_come_from_the_registry_and_are_cached(client, services):
    first = client.get("/open311/v2/services.json")
    assert first.status_code == 200 and first.mimetype == "application/json"
    assert [s["service_code"] for s in first.get_json()] == ["catering_fumes", "garbage_dumping"]
    assert client.get("/open311/v2/services.json").get_json() == first.get_json()
    assert len(services.upstream_calls("grid-registry")) == 1
    assert services.calls[0][3] == proxy.ANONYMOUS


def test_a_registry_that_stops_answering_leaves_the_last_list(client, services, monkeypatch):
    client.get("/open311/v2/services.json")
    services.answers[("grid-registry", "GET", "/api/v1/registry/categories")] = ApiError(503, "down")
    monkeypatch.setattr(open311, "SERVICES_TTL_S", 0.0)
    again = client.get("/open311/v2/services.json")
    assert again.status_code == 200 and len(again.get_json()) == 2


def test_without_any_list_the_services_are_a_503_in_open311_form(client, services):
    services.answers[("grid-registry", "GET", "/api/v1/registry/categories")] = ApiError(503, "down")
    response = client.get("/open311/v2/services.json")
    assert response.status_code == 503 and response.get_json()[0]["code"] == 503


def test_a_service_definition_or_404(client, services):
    assert client.get("/open311/v2/services/catering_fumes.json").get_json() == {
        "service_code": "catering_fumes", "attributes": []}
    missing = client.get("/open311/v2/services/emergency_order.json")
    assert missing.status_code == 404 and missing.get_json() == [
        {"code": 404, "description": "no service emergency_order"}]


def _accept_report(body):
    return 201, {"incident_id": "R20260501ABCDEF", "tracking_code": "7K3M-Q9TX-2BRD", "status": "received",
                 "duplicate_of": None, "outside_district": False, "needs_operator": False}


def test_a_form_encoded_post_files_a_public_report(client, services):
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = _accept_report
    response = client.post("/open311/v2/requests.json", data={
        "service_code": "catering_fumes", "lat": "35.42", "long": "112.82", "description": "饭店油烟直排",
        "first_name": "娜", "last_name": "李", "phone": "13800000001", "api_key": "whatever"})
    assert response.status_code == 201, response.get_data(as_text=True)
    [created] = response.get_json()
    assert created["service_request_id"] == "7K3M-Q9TX-2BRD" and created["account_id"] is None
    assert "7K3M-Q9TX-2BRD" in created["service_notice"]
    [(_, _, _, who, body)] = services.upstream_calls("incidents")
    assert who == proxy.ANONYMOUS
    assert body == {"channel": "public_web", "category": "catering_fumes", "description": "饭店油烟直排",
                    "location": {"lon": 112.82, "lat": 35.42, "datum": "wgs84"},
                    "reporter": {"name": "李娜", "phone": "13800000001"}}


def test_a_json_post_and_an_xml_answer(client, services):
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = _accept_report
    response = client.post("/open311/v2/requests.xml", json={"service_code": "garbage_dumping",
                                                             "description": "x", "address_string": "路口"})
    assert response.status_code == 201 and response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "service_requests" and root.findtext("request/service_request_id") == "7K3M-Q9TX-2BRD"


def test_a_multipart_post_with_a_photo_is_filed_without_it(client, services):
    import io
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = _accept_report
    response = client.post("/open311/v2/requests.json", content_type="multipart/form-data", data={
        "service_code": "garbage_dumping", "description": "x", "address_string": "路口",
        "media": (io.BytesIO(b"\xff\xd8\xff"), "p.jpg")})
    assert response.status_code == 201 and "media" in response.get_json()[0]["service_notice"]


def test_incidents_field_errors_come_back_as_open311_400s(client, services):
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = (422, {"error": {
        "status": 422, "message": "unknown category garbage_dumping",
        "fields": {"category": ["not in the district's category list"]}}})
    response = client.post("/open311/v2/requests.json", data={"service_code": "garbage_dumping",
                                                              "description": "x", "address_string": "a"})
    assert response.status_code == 400
    assert response.get_json() == [{"code": 400, "description": "service_code: not in the district's category list"}]


def test_a_post_that_cannot_be_a_report_never_reaches_incidents(client, services):
    response = client.post("/open311/v2/requests.json", data={"service_code": "catering_fumes", "lat": "35.4"})
    assert response.status_code == 400 and response.get_json()[0]["code"] == 400
    refused = client.post("/open311/v2/requests.json", data={"service_code": "emergency_order",
                                                             "description": "x", "address_string": "a"})
    assert refused.status_code == 400 and "not offered" in refused.get_json()[0]["description"]
    bad_json = client.post("/open311/v2/requests.json", data="[1]", content_type="application/json")
    assert bad_json.status_code == 400
    assert services.upstream_calls("incidents") == []


def test_a_post_goes_on_while_the_registry_is_down(client, services):
    services.answers[("grid-registry", "GET", "/api/v1/registry/categories")] = ApiError(503, "down")
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = _accept_report
    response = client.post("/open311/v2/requests.json", data={"service_code": "catering_fumes",
                                                              "description": "x", "address_string": "a"})
    assert response.status_code == 201
    client.post("/open311/v2/requests.json", data={"service_code": "catering_fumes", "description": "x",
                                                   "address_string": "a"})
    assert len(services.upstream_calls("grid-registry")) == 1  # a failure is remembered, not retried per post


def test_incidents_down_is_an_open311_503(client, services):
    services.answers[("incidents", "POST", "/api/v1/incidents/reports")] = ApiError(503, "incidents is unavailable")
    response = client.post("/open311/v2/requests.json", data={"service_code": "catering_fumes",
                                                              "description": "x", "address_string": "a"})
    assert response.status_code == 503
    assert response.get_json() == [{"code": 503, "description": "incidents is unavailable"}]


def test_one_request_by_its_id(client, services):
    services.answers[("incidents", "GET", "/api/v1/incidents/track/7K3M-Q9TX-2BRD")] = (200, track_page())
    response = client.get("/open311/v2/requests/7K3M-Q9TX-2BRD.json")
    assert response.status_code == 200
    [found] = response.get_json()
    assert found["service_request_id"] == "7K3M-Q9TX-2BRD" and found["status"] == "open"
    missing = client.get("/open311/v2/requests/AAAA-BBBB-CCCC.json")
    assert missing.status_code == 404 and missing.get_json()[0]["code"] == 404
    odd = client.get("/open311/v2/requests/a%3Fb%2Fc.json")
    assert odd.status_code == 404
    assert all("?" not in c[2] for c in services.calls)


def test_one_request_in_xml(client, services):
    services.answers[("incidents", "GET", "/api/v1/incidents/track/7K3M-Q9TX-2BRD")] = (
        200, track_page("closed", answer="已办结"))
    root = ET.fromstring(client.get("/open311/v2/requests/7K3M-Q9TX-2BRD.xml").data)
    assert root.findtext("request/status") == "closed" and root.findtext("request/status_notes") == "已办结"


def test_several_requests_by_id_and_never_all_of_them(client, services):
    services.answers[("incidents", "GET", "/api/v1/incidents/track/7K3M-Q9TX-2BRD")] = (200, track_page())
    response = client.get("/open311/v2/requests.json?service_request_id=7K3M-Q9TX-2BRD,AAAA-BBBB-CCCC")
    assert [r["service_request_id"] for r in response.get_json()] == ["7K3M-Q9TX-2BRD"]
    assert client.get("/open311/v2/requests.json?service_request_id=7K3M-Q9TX-2BRD&status=closed").get_json() == []
    everything = client.get("/open311/v2/requests.json")
    assert everything.status_code == 400 and "private" in everything.get_json()[0]["description"]


def test_discovery_names_this_endpoint(client, services):
    found = client.get("/open311/v2/discovery.json", base_url="https://envgrid.example.cn").get_json()
    [endpoint] = found["endpoints"]
    assert endpoint["url"] == "https://envgrid.example.cn/open311/v2" and endpoint["type"] == "test"
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "private" in found["key_service"]


def test_everything_else_answers_in_open311_form(client, services):
    csv = client.get("/open311/v2/services.csv")
    assert csv.status_code == 404 and "use .json or .xml" in csv.get_json()[0]["description"]
    put = client.put("/open311/v2/requests.json", data={})
    assert put.status_code == 405 and put.headers["Allow"] == "GET, HEAD, POST"
    assert client.post("/open311/v2/services.json").status_code == 405
    nothing = client.get("/open311/v2/tokens/1.xml")
    assert nothing.status_code == 404 and ET.fromstring(nothing.data).tag == "errors"


def test_identity_headers_from_a_client_are_refused_in_open311_form(client, services):
    forged = ident.sign(ident.Identity("mallory", frozenset({"admin"})), "not-the-real-secret-at-all")
    response = client.get("/open311/v2/services.json", headers=forged)
    assert response.status_code == 401 and response.get_json()[0]["code"] == 401


def test_open311_callers_share_the_public_rate_limit(client, services, monkeypatch):
    monkeypatch.setenv("GATEWAY_RATE_PUBLIC", "2")
    fresh = client.application.test_client()
    client.application.extensions.pop("gateway", None)
    codes = [fresh.get("/open311/v2/services.json").status_code for _ in range(3)]
    assert codes[:2] == [200, 200] and codes[2] == 429
