"""Evidence through the API: upload, attach, read back byte for byte."""
import io
import json

from PIL import Image
from sqlalchemy import select

from servicekit.tables import outbox

API = "/api/v1/incidents"


def jpeg(colour=(200, 40, 40), size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def upload(client, headers, data: bytes, name="photo.jpg", mime="image/jpeg"):
    return client.post(f"{API}/evidence", headers=headers, content_type="multipart/form-data",
                       data={"file": (io.BytesIO(data), name, mime)})


def test_a_photo_is_kept_once_and_read_back_byte_for_byte(client, as_role):
    content = jpeg()
    first = upload(client, as_role("public"), content)
    assert first.status_code == 201 and first.get_json()["already_stored"] is False
    evidence_id = first.get_json()["evidence_id"]
    assert upload(client, as_role("public"), content).get_json() == {**first.get_json(), "already_stored": True}
    staff = as_role("district_ops")
    back = client.get(f"{API}/evidence/{evidence_id}", headers=staff)
    assert back.status_code == 200 and back.get_data() == content and back.mimetype == "image/jpeg"
    thumb = client.get(f"{API}/evidence/{evidence_id}/thumbnail", headers=staff)
    assert Image.open(io.BytesIO(thumb.get_data())).size[0] <= 320
    assert client.get(f"{API}/evidence/{evidence_id}", headers=as_role("public")).status_code == 403


def test_a_file_pretending_to_be_a_photo_is_refused(client, as_role):
    response = upload(client, as_role("public"), b"MZ\x90\x00" + b"\x00" * 500)
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]


def test_an_oversize_photo_is_413(client, as_role, monkeypatch):
    monkeypatch.setenv("EVIDENCE_MAX_IMAGE_BYTES", "2000")
    assert upload(client, as_role("public"), jpeg(size=(800, 800))).status_code == 413


def test_missing_file_field_is_422(client, as_role):
    response = client.post(f"{API}/evidence", headers=as_role("public"), content_type="multipart/form-data",
                           data={"other": (io.BytesIO(b"x"), "x.txt")})
    assert response.status_code == 422 and "file" in response.get_json()["error"]["fields"]


def test_a_reporter_adds_a_photo_with_the_tracking_code_and_staff_see_it(client, as_role):
    public = as_role("public")
    filed = client.post(f"{API}/reports", headers=public, json={
        "channel": "public_web", "category": "open_burning", "description": "焚烧垃圾",
        "location": {"lon": 112.82, "lat": 35.42}}).get_json()
    evidence_id = upload(client, public, jpeg()).get_json()["evidence_id"]
    url = f"{API}/reports/{filed['incident_id']}/evidence"
    assert client.post(url, headers={**public, "X-Tracking-Code": "0000-0000-0000"},
                       json={"evidence_id": evidence_id}).status_code == 403
    assert client.post(url, headers={**public, "X-Tracking-Code": filed["tracking_code"]},
                       json={"evidence_id": evidence_id}).status_code == 201
    view = client.get(f"{API}/reports/{filed['incident_id']}", headers=as_role("district_ops")).get_json()
    assert [e["evidence_id"] for e in view["evidence"]] == [evidence_id] and view["evidence"][0]["added_by"] == "reporter"


def test_evidence_referenced_at_filing_travels_in_the_event(client, as_role, db):
    public = as_role("public")
    evidence_id = upload(client, public, jpeg()).get_json()["evidence_id"]
    response = client.post(f"{API}/reports", headers=public, json={
        "channel": "public_web", "category": "open_burning", "description": "焚烧垃圾",
        "location": {"lon": 112.82, "lat": 35.42}, "evidence": [evidence_id]})
    assert response.status_code == 201
    with db.transaction() as session:
        payload = session.execute(select(outbox.c.payload).where(outbox.c.event_type == "incident.reported")).scalar_one()
    assert json.loads(payload)["data"]["evidence"] == [evidence_id]
