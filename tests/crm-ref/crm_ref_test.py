#!/usr/bin/python3
"""The reference CRM (tools/crm-ref) end to end over real HTTP and HTTPS, and the contract docs.

Run by ctest (tests/CMakeLists.txt) with Debian's python3:
  crm_ref_test.py --crm-ref BUILD/bin/deskline-crm-ref --source-dir SOURCE [unittest args]

The signer below is written from proto/crm.md, not taken from the server, so a
mistake shared by both would have to be made twice; the docs' worked example is
checked against it too.
"""

import argparse
import base64
import datetime
import hashlib
import hmac
import http.client
import json
import os
import pathlib
import re
import select
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time
import unittest
import uuid

import jsonschema
import yaml

CRM_REF = None  # set from the command line
SOURCE = None
TOKEN = "test-token-0123456789"
SECRET = "whsec_" + base64.b64encode(b"crm-ref test secret, 32 bytes!!").decode()


# --- the test's own Standard Webhooks signer and digest ------------------------------------------
def sign(secret, webhook_id, timestamp, body):
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[6:])
    digest = hmac.new(key, webhook_id.encode() + b"." + str(timestamp).encode() + b"." + body,
                      hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def repr_digest_of(data):
    return "sha-256=:" + base64.b64encode(hashlib.sha256(data).digest()).decode() + ":"


def digest_from_header(value):
    match = re.fullmatch(r"sha-256=:([A-Za-z0-9+/=]+):", value or "")
    return base64.b64decode(match.group(1)).hex() if match else None


def call_entry(call_id, revision=1, customer="c-101", started="2026-11-27T09:00:01.500+08:00", recording=None):
    entry = {"version": 1, "revision": revision, "id": call_id, "line": "Sales 1", "user": "Li Na",
             "box": "X800-0001", "port": 1, "direction": "inbound", "outcome": "answered",
             "end_reason": "on_hook",
             "number": {"heard": "13812345678", "e164": "+8613812345678", "display": "138 1234 5678",
                        "absence": None},
             "customers": [{"id": customer, "name": "张伟", "company": "艾克美贸易（上海）有限公司"}] if customer else [],
             "started_at": started, "answered_at": started, "ended_at": started,
             "ring_s": 4.2, "talk_s": 61.3, "duration_s": 65.5, "recording": recording, "transcript": None,
             "a_field_of_a_later_version": {"ignored": True}}
    return entry


def recording_meta(call_id, data):
    return {"state": "complete", "sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data),
            "duration_s": 61.3, "codec": "opus", "container": "ogg", "mime": "audio/ogg",
            "upload": f"/v1/calls/{call_id}/recording"}


# --- OpenAPI 3.0 schemas as JSON Schema (nullable -> a "null" type) -------------------------------
def json_schema_of(node):
    if isinstance(node, list):
        return [json_schema_of(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: json_schema_of(value) for key, value in node.items() if key not in ("nullable", "example")}
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


def openapi():
    with open(SOURCE / "proto" / "crm.openapi.yaml", encoding="utf-8") as source:
        return yaml.safe_load(source)


def validator(schema_name):
    document = json_schema_of(openapi())
    return jsonschema.Draft7Validator({"$ref": f"#/components/schemas/{schema_name}"},
                                      resolver=jsonschema.RefResolver.from_schema(document))


# --- a running reference CRM --------------------------------------------------------------------
class CrmRef:
    def __init__(self, workdir, seed=True, tls=None):
        self.workdir = pathlib.Path(workdir)
        self.data = self.workdir / "data"
        (self.workdir / "token").write_text(TOKEN + "\n")
        (self.workdir / "secret").write_text(SECRET + "\n")
        self.tls = tls
        self.client_context = ssl.create_default_context(cafile=tls["ca"]) if tls else None
        self.start(seed)

    def start(self, seed=False):
        command = [str(CRM_REF), "--data", str(self.data), "--token-file", str(self.workdir / "token"),
                   "--signing-secret-file", str(self.workdir / "secret"), "--port", "0"]
        if seed:
            command.append("--seed")
        if self.tls:
            command += ["--tls-cert", self.tls["cert"], "--tls-key", self.tls["key"]]
        with open(self.workdir / "stderr", "ab") as stderr:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=stderr)
        ready, _, _ = select.select([self.process.stdout], [], [], 15)
        line = self.process.stdout.readline().decode() if ready else ""
        match = re.fullmatch(r"listening on (https?)://127\.0\.0\.1:(\d+)\n", line)
        if not match:
            self.process.kill()
            raise AssertionError(f"crm-ref did not say where it listens: {line!r}, stderr: "
                                 f"{(self.workdir / 'stderr').read_text()}")
        self.scheme, self.port = match.group(1), int(match.group(2))

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()  # leave nothing running; the test fails on the status
            self.process.wait()
            return "still running 10 s after SIGTERM"
        finally:
            self.process.stdout.close()

    def connection(self, context=None, timeout=30):
        if self.scheme == "https":
            return http.client.HTTPSConnection("127.0.0.1", self.port, timeout=timeout,
                                               context=context or self.client_context)
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=b"", headers=None, token=TOKEN, secret=SECRET, webhook_id=None,
                timestamp=None, signed=True, connection=None, digest_of=None, content_type=None):
        """One request as Deskline sends it: token, Standard Webhooks headers, maybe Repr-Digest."""
        all_headers = {"User-Agent": "deskline-test/1"}
        if token is not None:
            all_headers["Authorization"] = f"Bearer {token}"
        if signed:
            webhook_id = webhook_id or f"test-{uuid.uuid4()}"
            timestamp = int(time.time()) if timestamp is None else timestamp
            signed_body = body if isinstance(body, bytes) else digest_of
            all_headers.update({"webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
                                "webhook-signature": sign(secret, webhook_id, timestamp, signed_body)})
        if content_type:
            all_headers["Content-Type"] = content_type
        all_headers.update(headers or {})
        own = connection is None
        connection = connection or self.connection()
        try:
            if not isinstance(body, bytes):
                all_headers.setdefault("Content-Length", str(len(digest_of)))
            elif method in ("PUT", "POST") or body:
                all_headers.setdefault("Content-Length", str(len(body)))
            connection.request(method, path, body=body, headers=all_headers)
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        finally:
            if own:
                connection.close()

    def put_entry(self, entry, **kwargs):
        body = json.dumps(entry, ensure_ascii=False).encode()
        kwargs.setdefault("webhook_id", f"call-{entry['id']}-r{entry['revision']}")
        return self.request("PUT", f"/v1/calls/{entry['id']}", body, content_type="application/json", **kwargs)

    def put_recording(self, call_id, data, digest=None, **kwargs):
        kwargs.setdefault("webhook_id", f"rec-{call_id}-{hashlib.sha256(data).hexdigest()[:16]}")
        headers = {"Repr-Digest": digest or repr_digest_of(data)}
        headers.update(kwargs.pop("headers", {}))
        return self.request("PUT", f"/v1/calls/{call_id}/recording", data, content_type="audio/ogg",
                            headers=headers, **kwargs)

    def admin(self, method, path, value=None):
        body = json.dumps(value, ensure_ascii=False).encode() if value is not None else b""
        status, _, answer = self.request(method, path, body, token=None, signed=False,
                                         content_type="application/json" if value is not None else None)
        return status, json.loads(answer) if answer else None

    def calls(self):
        return {call["id"]: call for call in self.admin("GET", "/_ref/calls")[1]}

    def recording_files(self):
        return sorted(path.name for path in (self.data / "recordings").iterdir())


def need_tools(test, *names):
    """Skips when a tool is missing, or fails under DESKLINE_REQUIRE_TOOLS (tests/require_tools.hpp)."""
    missing = [name for name in names if not shutil.which(name)]
    if missing:
        message = f"not installed: {', '.join(missing)}"
        if os.environ.get("DESKLINE_REQUIRE_TOOLS", "0") not in ("", "0"):
            test.fail(f"DESKLINE_REQUIRE_TOOLS is set, so a missing tool fails: {message}")
        test.skipTest(message)


def error_word(body):
    return json.loads(body)["error"]


class Fixture(unittest.TestCase):
    tls = None

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="crm-ref-test-")
        self.crm = CrmRef(self.tmp.name, tls=self.tls_files() if self.tls else None)

    def tearDown(self):
        self.assertEqual(self.crm.stop(), 0, "crm-ref must stop cleanly on SIGTERM")
        self.tmp.cleanup()

    def tls_files(self):
        return None


class ContractDocs(unittest.TestCase):
    def test_worked_signature_example_in_crm_md_is_right(self):
        text = (SOURCE / "proto" / "crm.md").read_text(encoding="utf-8")
        example = text[text.index("### Worked example"):]
        secret = re.search(r"secret: `(whsec_[^`]+)`", example).group(1)
        key_hex = re.search(r"key \(hex\): `([0-9a-f]+)`", example).group(1)
        webhook_id = re.search(r"webhook-id: `([^`]+)`", example).group(1)
        timestamp = re.search(r"webhook-timestamp: `(\d+)`", example).group(1)
        body = re.search(r"```json\n(.*?)\n```", example, re.S).group(1).encode()
        size = int(re.search(r"(\d+) bytes of UTF-8", example).group(1))
        body_sha = re.search(r"its SHA-256: `([0-9a-f]{64})`", example).group(1)
        signature = re.search(r"webhook-signature: `(v1,[^`]+)`", example).group(1)
        self.assertEqual(base64.b64decode(secret[6:]).hex(), key_hex)
        self.assertEqual(len(body), size)
        self.assertEqual(hashlib.sha256(body).hexdigest(), body_sha)
        self.assertEqual(sign(secret, webhook_id, timestamp, body), signature)
        self.assertIn(f"# {signature[3:]}", example, "the shell example prints the same signature")
        # the example body is a valid call entry of the OpenAPI file
        validator("CallEntry").validate(json.loads(body))
        self.assertEqual(webhook_id, f"call-{json.loads(body)['id']}-r{json.loads(body)['revision']}")

    def test_repr_digest_example_in_crm_md_is_right(self):
        text = (SOURCE / "proto" / "crm.md").read_text(encoding="utf-8")
        match = re.search(r"4-byte body `OggS` has SHA-256\n`([0-9a-f]{64})`, so\n`Repr-Digest: ([^`]+)`", text)
        self.assertEqual(match.group(1), hashlib.sha256(b"OggS").hexdigest())
        self.assertEqual(match.group(2), repr_digest_of(b"OggS"))

    def test_openapi_file_is_a_consistent_openapi_3_document(self):
        document = openapi()
        self.assertEqual(document["openapi"], "3.0.3")
        self.assertEqual(document["info"]["version"], "1")
        self.assertEqual(set(document["paths"]), {"/v1/calls/{call_id}", "/v1/calls/{call_id}/recording",
                                                   "/v1/customers"})

        def resolve(reference):
            self.assertTrue(reference.startswith("#/"), reference)
            node = document
            for part in reference[2:].split("/"):
                self.assertIn(part, node, f"$ref {reference} does not resolve")
                node = node[part]
            return node

        def walk(node):
            if isinstance(node, dict):
                if "$ref" in node:
                    resolve(node["$ref"])
                for value in node.values():
                    walk(value)
            elif isinstance(node, list):
                for value in node:
                    walk(value)
        walk(document)
        operation_ids = []
        for path, item in document["paths"].items():
            for method, operation in item.items():
                self.assertIn(method, ("get", "put"))
                operation_ids.append(operation["operationId"])
                self.assertTrue(operation["responses"])
                for status, answer in operation["responses"].items():
                    self.assertRegex(status, r"^[1-5][0-9][0-9]$")
                    self.assertIn("description", resolve(answer["$ref"]) if "$ref" in answer else answer)
                parameters = [resolve(p["$ref"]) if "$ref" in p else p for p in operation.get("parameters", [])]
                for name in re.findall(r"{(\w+)}", path):
                    self.assertIn((name, "path", True),
                                  [(p["name"], p["in"], p.get("required")) for p in parameters])
                headers = {p["name"].lower() for p in parameters if p["in"] == "header"}
                self.assertLessEqual({"webhook-id", "webhook-timestamp", "webhook-signature"}, headers)
        self.assertEqual(len(operation_ids), len(set(operation_ids)))
        for schema in document["components"]["schemas"].values():
            jsonschema.Draft7Validator.check_schema(json_schema_of(schema))


class Contract(Fixture):
    def test_signed_entry_is_upserted_by_revision(self):
        call_id = str(uuid.uuid4())
        first = call_entry(call_id, 1)
        validator("CallEntry").validate(first)
        status, _, body = self.crm.put_entry(first)
        self.assertEqual(status, 201, body)
        validator("EntryAnswer").validate(json.loads(body))
        # a retry of the same delivery (same webhook-id, same body, newly signed): success, no change
        status, _, body = self.crm.put_entry(first, timestamp=int(time.time()) + 1)
        self.assertEqual((status, json.loads(body)["result"]), (200, "unchanged"))
        second = call_entry(call_id, 2, recording=recording_meta(call_id, b"OggS"))
        validator("CallEntry").validate(second)
        status, _, body = self.crm.put_entry(second)
        self.assertEqual((status, json.loads(body)["result"]), (200, "updated"))
        # revision 1 arriving late is ignored but answered 200
        status, _, body = self.crm.put_entry(first)
        self.assertEqual((status, json.loads(body)), (200, {"id": call_id, "revision": 2,
                                                            "result": "ignored_older_revision"}))
        stored = self.crm.calls()[call_id]
        self.assertEqual((stored["revision"], stored["entry_puts"], stored["entry_writes"]), (2, 4, 2))
        self.assertEqual(stored["entry"], second)
        self.assertEqual(stored["customer_id"], "c-101")
        log = [r for r in self.crm.admin("GET", "/_ref/requests")[1] if r["path"] == f"/v1/calls/{call_id}"]
        self.assertEqual([(r["method"], r["webhook_id"], r["status"]) for r in log],
                         [("PUT", f"call-{call_id}-r1", 201), ("PUT", f"call-{call_id}-r1", 200),
                          ("PUT", f"call-{call_id}-r2", 200), ("PUT", f"call-{call_id}-r1", 200)])

    def test_entry_refusals(self):
        call_id = str(uuid.uuid4())
        entry = call_entry(call_id)
        status, _, body = self.crm.request("PUT", f"/v1/calls/{call_id}", b"{not json",
                                           content_type="application/json")
        self.assertEqual((status, error_word(body)), (400, "bad_json"))
        status, _, body = self.crm.put_entry(dict(entry, version=2))
        self.assertEqual((status, error_word(body)), (400, "unsupported_version"))
        status, _, body = self.crm.request("PUT", f"/v1/calls/{uuid.uuid4()}", json.dumps(entry).encode(),
                                           content_type="application/json")
        self.assertEqual((status, error_word(body)), (400, "bad_entry"))
        status, _, body = self.crm.request("PUT", f"/v1/calls/{call_id}", json.dumps(entry).encode(),
                                           content_type="text/plain")
        self.assertEqual((status, error_word(body)), (415, "unsupported_media_type"))
        self.assertEqual(self.crm.calls(), {})

    def test_signed_upload_is_streamed_to_disk_byte_identical(self):
        call_id = str(uuid.uuid4())
        self.assertEqual(self.crm.put_entry(call_entry(call_id))[0], 201)
        size = 64 << 20
        path = pathlib.Path(self.tmp.name) / "big.ogg"
        sha = hashlib.sha256()
        with open(path, "wb") as out:
            for _ in range(size // (1 << 20)):
                chunk = os.urandom(1 << 20)
                sha.update(chunk)
                out.write(chunk)
        webhook_id = f"rec-{call_id}-{sha.hexdigest()[:16]}"
        timestamp = int(time.time())
        mac = hmac.new(base64.b64decode(SECRET[6:]), f"{webhook_id}.{timestamp}.".encode(), hashlib.sha256)
        with open(path, "rb") as source:
            for chunk in iter(lambda: source.read(1 << 20), b""):
                mac.update(chunk)
        headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "audio/ogg", "Content-Length": str(size),
                   "Repr-Digest": "sha-256=:" + base64.b64encode(sha.digest()).decode() + ":",
                   "webhook-id": webhook_id, "webhook-timestamp": str(timestamp),
                   "webhook-signature": "v1," + base64.b64encode(mac.digest()).decode()}
        connection = self.crm.connection()
        with open(path, "rb") as source:  # http.client streams a file body in blocks
            connection.request("PUT", f"/v1/calls/{call_id}/recording", body=source, headers=headers)
            response = connection.getresponse()
            body = response.read()
        connection.close()
        self.assertEqual(response.status, 201, body)
        self.assertEqual(digest_from_header(response.getheader("Repr-Digest")), sha.hexdigest())
        self.assertEqual(json.loads(body), {"sha256": sha.hexdigest(), "bytes": size})
        validator("RecordingAnswer").validate(json.loads(body))
        stored = self.crm.data / "recordings" / f"{call_id}.ogg"
        self.assertEqual(stored.stat().st_size, size)
        with open(stored, "rb") as copy:
            stored_sha = hashlib.sha256()
            for chunk in iter(lambda: copy.read(1 << 20), b""):
                stored_sha.update(chunk)
        self.assertEqual(stored_sha.hexdigest(), sha.hexdigest())
        self.assertEqual(self.crm.calls()[call_id]["recording"],
                         {"sha256": sha.hexdigest(), "bytes": size, "puts": 1, "writes": 1,
                          "url": f"/recordings/{call_id}"})
        # streamed, not held: the server's peak memory stays far below the 64 MiB it received
        peak_kib = int(re.search(r"VmHWM:\s+(\d+) kB", pathlib.Path(f"/proc/{self.crm.process.pid}/status")
                                 .read_text()).group(1))
        self.assertLess(peak_kib, 48 * 1024, "the upload must not be held in memory")

    def test_upload_for_an_unknown_call_is_404_and_not_kept(self):
        status, _, body = self.crm.put_recording(str(uuid.uuid4()), b"OggS" * 1000)
        self.assertEqual((status, error_word(body)), (404, "unknown_call"))
        self.assertEqual(self.crm.recording_files(), [])

    def test_digest_mismatch_is_400_and_nothing_is_stored(self):
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id))
        data = os.urandom(100_000)
        status, headers, body = self.crm.put_recording(call_id, data, digest=repr_digest_of(data + b"x"))
        self.assertEqual((status, error_word(body)), (400, "digest_mismatch"))
        self.assertNotIn("repr-digest", headers)
        status, _, body = self.crm.put_recording(call_id, data, digest="sha-512=:AAAA:")
        self.assertEqual((status, error_word(body)), (400, "missing_digest"))
        self.assertIsNone(self.crm.calls()[call_id]["recording"])
        self.assertEqual(self.crm.recording_files(), [])
        # the Repr-Digest field may list several algorithms: the sha-256 member counts
        status, headers, _ = self.crm.put_recording(call_id, data,
                                                    digest=f"sha-512=:AAAA:, {repr_digest_of(data)}")
        self.assertEqual(status, 201)
        self.assertEqual(headers["repr-digest"], repr_digest_of(data))

    def test_bad_signatures_and_timestamps_are_401(self):
        call_id = str(uuid.uuid4())
        entry = call_entry(call_id)
        other_secret = "whsec_" + base64.b64encode(b"another secret of thirty-two b!!").decode()
        status, _, body = self.crm.put_entry(entry, secret=other_secret)
        self.assertEqual((status, error_word(body)), (401, "bad_signature"))
        stale = int(time.time()) - 301
        status, _, body = self.crm.put_entry(entry, timestamp=stale)
        self.assertEqual((status, error_word(body)), (401, "bad_timestamp"))
        status, _, body = self.crm.put_entry(entry, timestamp=int(time.time()) + 400)
        self.assertEqual((status, error_word(body)), (401, "bad_timestamp"))
        status, _, body = self.crm.put_entry(entry, signed=False)
        self.assertEqual((status, error_word(body)), (401, "missing_signature"))
        # a signature over other bytes than those sent
        webhook_id, now = f"call-{call_id}-r1", int(time.time())
        status, _, body = self.crm.put_entry(entry, headers={
            "webhook-signature": sign(SECRET, webhook_id, now, b"{}")}, timestamp=now)
        self.assertEqual((status, error_word(body)), (401, "bad_signature"))
        # several signatures (key rotation): one valid v1 is enough
        body_bytes = json.dumps(entry, ensure_ascii=False).encode()
        status, _, _ = self.crm.put_entry(entry, timestamp=now, headers={"webhook-signature": " ".join(
            [sign(other_secret, webhook_id, now, body_bytes), "v1a,AAAA", sign(SECRET, webhook_id, now, body_bytes)])})
        self.assertEqual(status, 201)
        # an upload signed with the wrong secret is refused after streaming, and not kept
        status, _, body = self.crm.put_recording(call_id, b"OggS" * 50_000, secret=other_secret)
        self.assertEqual((status, error_word(body)), (401, "bad_signature"))
        self.assertEqual(self.crm.recording_files(), [])
        # a timestamp far from now (proto/crm.md's example's) is refused
        status, _, body = self.crm.request("GET", "/v1/customers", timestamp=1795741272)
        self.assertEqual((status, error_word(body)), (401, "bad_timestamp"))

    def test_bad_token_is_401(self):
        call_id = str(uuid.uuid4())
        for token in ("wrong-token", None, ""):
            status, headers, body = self.crm.put_entry(call_entry(call_id), token=token)
            self.assertEqual((status, error_word(body)), (401, "unauthorized"))
            self.assertIn("bearer", headers["www-authenticate"].lower())
        status, _, body = self.crm.request("GET", "/v1/customers", token="x")
        self.assertEqual(status, 401)
        self.assertEqual(self.crm.calls(), {})
        # the scheme is case-insensitive
        status, _, _ = self.crm.put_entry(call_entry(call_id), token=None,
                                          headers={"Authorization": f"bearer {TOKEN}"})
        self.assertEqual(status, 201)

    def test_replayed_webhook_id_is_idempotent_with_the_same_content_and_refused_with_other(self):
        call_id = str(uuid.uuid4())
        entry = call_entry(call_id)
        self.assertEqual(self.crm.put_entry(entry)[0], 201)
        self.assertEqual(self.crm.put_entry(entry)[0], 200)
        status, _, body = self.crm.put_entry(dict(entry, line="Sales 9"))  # same webhook-id call-ID-r1
        self.assertEqual((status, error_word(body)), (409, "webhook_id_reused"))
        self.assertEqual(self.crm.calls()[call_id]["entry"]["line"], "Sales 1")
        data = os.urandom(50_000)
        self.assertEqual(self.crm.put_recording(call_id, data)[0], 201)
        status, headers, _ = self.crm.put_recording(call_id, data)
        self.assertEqual((status, digest_from_header(headers["repr-digest"])), (200, hashlib.sha256(data).hexdigest()))
        status, _, body = self.crm.put_recording(call_id, os.urandom(50_000),
                                                 webhook_id=f"rec-{call_id}-{hashlib.sha256(data).hexdigest()[:16]}")
        self.assertEqual((status, error_word(body)), (409, "webhook_id_reused"))
        recording = self.crm.calls()[call_id]["recording"]
        self.assertEqual((recording["sha256"], recording["puts"], recording["writes"]),
                         (hashlib.sha256(data).hexdigest(), 2, 1))

    def test_customers_are_paged_by_cursor_with_changes_and_deletions(self):
        page_schema = validator("CustomersPage")

        def page(cursor=None, limit=None):
            query = "&".join(f"{k}={v}" for k, v in (("cursor", cursor), ("limit", limit)) if v is not None)
            status, _, body = self.crm.request("GET", "/v1/customers" + (f"?{query}" if query else ""),
                                               webhook_id=f"customers-{uuid.uuid4()}")
            self.assertEqual(status, 200, body)
            value = json.loads(body)
            page_schema.validate(value)
            return value

        first = page(limit=4)
        self.assertEqual([c["id"] for c in first["customers"]], ["c-101", "c-102", "c-103", "c-104"])
        self.assertTrue(first["more"])
        zhang = first["customers"][0]
        self.assertEqual((zhang["name"], zhang["numbers"]), ("张伟", ["+86 138 1234 5678"]))
        self.assertEqual(zhang["url"], f"http://127.0.0.1:{self.crm.port}/customers/c-101")
        second = page(first["next_cursor"], 4)
        self.assertEqual(([c["id"] for c in second["customers"]], second["deleted"], second["more"]),
                         (["c-105", "c-106"], [], False))
        idle = page(second["next_cursor"])
        self.assertEqual((idle["customers"], idle["deleted"], idle["more"], idle["next_cursor"]),
                         ([], [], False, second["next_cursor"]))

        self.assertEqual(self.crm.admin("POST", "/_ref/customers", [
            {"id": "c-102", "name": "王芳", "company": "上海钢铁集团", "numbers": ["021-6123 4567", "139 0000 1111"]},
            {"id": "c-200", "name": "New Customer", "company": "新客户有限公司", "numbers": ["010 8888 1234"],
             "url": "https://crm.example/c/200"}])[0], 200)
        self.assertEqual(self.crm.admin("DELETE", "/_ref/customers/c-101")[0], 200)
        self.assertEqual(self.crm.admin("DELETE", "/_ref/customers/c-101")[0], 404)
        changes = page(second["next_cursor"])
        self.assertEqual(([c["id"] for c in changes["customers"]], changes["deleted"], changes["more"]),
                         (["c-102", "c-200"], ["c-101"], False))
        self.assertEqual(changes["customers"][0]["numbers"], ["021-6123 4567", "139 0000 1111"])
        self.assertEqual(changes["customers"][1]["url"], "https://crm.example/c/200")
        # one change per page: the deletion comes last, in change order
        one = page(second["next_cursor"], 1)
        two = page(one["next_cursor"], 1)
        three = page(two["next_cursor"], 1)
        self.assertEqual([(p["customers"] and p["customers"][0]["id"], p["deleted"], p["more"])
                          for p in (one, two, three)],
                         [("c-102", [], True), ("c-200", [], True), ([], ["c-101"], False)])
        # from the beginning: the current directory (the deleted customer as a deletion)
        everything = page(limit=1000)
        self.assertEqual(sorted(c["id"] for c in everything["customers"]),
                         ["c-102", "c-103", "c-104", "c-105", "c-106", "c-200"])
        self.assertEqual(everything["deleted"], ["c-101"])
        # a restarted CRM continues from the same cursors
        self.assertEqual(self.crm.stop(), 0)
        self.crm.start()
        self.assertEqual(page(second["next_cursor"])["deleted"], ["c-101"])
        for query, word in (("cursor=bogus", "bad_cursor"), ("limit=0", "bad_limit"), ("limit=1001", "bad_limit"),
                            ("limit=x", "bad_limit")):
            status, _, body = self.crm.request("GET", f"/v1/customers?{query}")
            self.assertEqual((status, error_word(body)), (400, word))


class Faults(Fixture):
    def fault(self, **spec):
        status, answer = self.crm.admin("POST", "/_ref/faults", spec)
        self.assertEqual(status, 201, answer)

    def test_status_faults_hit_the_given_number_of_matching_requests(self):
        call_id = str(uuid.uuid4())
        entry = call_entry(call_id)
        self.fault(path_prefix="/v1/calls/", method="PUT", fault="status", status=503, times=2)
        self.fault(path_prefix="/v1/calls/", method="PUT", fault="status", status=500)
        self.fault(path_prefix="/v1/customers", fault="status", status=401)
        self.assertEqual([error_word(self.crm.put_entry(entry)[2]) for _ in range(3)],
                         ["unavailable", "unavailable", "internal_error"])
        self.assertEqual(self.crm.put_entry(entry)[0], 201)
        status, _, body = self.crm.request("GET", "/v1/customers")
        self.assertEqual((status, error_word(body)), (401, "unauthorized"))
        self.assertEqual(self.crm.request("GET", "/v1/customers")[0], 200)
        log = self.crm.admin("GET", "/_ref/requests")[1]
        self.assertEqual([(r["status"], r["fault"]) for r in log],
                         [(503, "status"), (503, "status"), (500, "status"), (201, None), (401, "status"),
                          (200, None)])
        self.assertEqual(self.crm.calls()[call_id]["entry_puts"], 1)

    def test_413_on_an_upload_answered_early(self):
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id))
        self.fault(path_prefix=f"/v1/calls/{call_id}/recording", fault="status", status=413, early=True)
        data = os.urandom(2 << 20)
        status, headers, body = self.crm.put_recording(call_id, data)
        self.assertEqual((status, error_word(body), headers.get("connection")), (413, "too_large", "close"))
        self.assertEqual(self.crm.recording_files(), [])
        self.assertEqual(self.crm.put_recording(call_id, data)[0], 201)

    def test_429_carries_retry_after_in_seconds_or_as_a_date(self):
        self.fault(fault="429", retry_after=7)
        self.fault(fault="429", retry_after=120, retry_after_http_date=True)
        status, headers, body = self.crm.request("GET", "/v1/customers")
        self.assertEqual((status, headers["retry-after"], error_word(body)), (429, "7", "rate_limited"))
        status, headers, _ = self.crm.request("GET", "/v1/customers")
        self.assertEqual(status, 429)
        when = datetime.datetime.strptime(headers["retry-after"], "%a, %d %b %Y %H:%M:%S GMT")
        delay = when.replace(tzinfo=datetime.timezone.utc).timestamp() - time.time()
        self.assertTrue(100 < delay <= 121, delay)
        self.assertEqual(self.crm.request("GET", "/v1/customers")[0], 200)

    def test_slow_answers_after_the_delay_and_still_stores(self):
        call_id = str(uuid.uuid4())
        self.fault(path_prefix="/v1/calls/", fault="slow", delay=0.6)
        began = time.monotonic()
        status, _, _ = self.crm.put_entry(call_entry(call_id))
        self.assertGreaterEqual(time.monotonic() - began, 0.6)
        self.assertEqual(status, 201)
        # a client that gave up waiting retries: the same delivery is a success again
        self.assertEqual(self.crm.put_entry(call_entry(call_id))[0], 200)
        self.assertEqual(self.crm.calls()[call_id]["entry_writes"], 1)

    def test_reset_mid_upload_closes_with_an_rst_and_keeps_nothing(self):
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id))
        self.fault(path_prefix=f"/v1/calls/{call_id}/recording", method="PUT", fault="reset_mid_upload",
                   after_bytes=300_000)
        data = os.urandom(4 << 20)
        with self.assertRaises((ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected)):
            self.crm.put_recording(call_id, data)
        self.assertEqual(self.crm.recording_files(), [])
        self.assertIsNone(self.crm.calls()[call_id]["recording"])
        log = self.crm.admin("GET", "/_ref/requests")[1][-1]
        self.assertEqual((log["fault"], log["error"]), ("reset_mid_upload", "reset"))
        self.assertGreaterEqual(log["body_bytes"], 300_000)
        self.assertLess(log["body_bytes"], len(data))
        status, headers, _ = self.crm.put_recording(call_id, data)
        self.assertEqual((status, headers["repr-digest"]), (201, repr_digest_of(data)))

    def test_wrong_digest_stores_the_upload_but_answers_another_digest(self):
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id))
        self.fault(fault="wrong_digest")
        data = os.urandom(300_000)
        status, headers, body = self.crm.put_recording(call_id, data)
        self.assertEqual(status, 201)
        self.assertNotEqual(headers["repr-digest"], repr_digest_of(data))
        self.assertNotEqual(json.loads(body)["sha256"], hashlib.sha256(data).hexdigest())
        # Deskline retries the same delivery: now the true digest, and the file was stored once
        status, headers, _ = self.crm.put_recording(call_id, data)
        self.assertEqual((status, headers["repr-digest"]), (200, repr_digest_of(data)))
        recording = self.crm.calls()[call_id]["recording"]
        self.assertEqual((recording["sha256"], recording["puts"], recording["writes"]),
                         (hashlib.sha256(data).hexdigest(), 2, 1))

    def test_faults_are_listed_and_cleared(self):
        self.fault(fault="status", status=503, times=5)
        self.assertEqual(self.crm.admin("GET", "/_ref/faults")[1]["faults"][0]["times"], 5)
        self.assertEqual(self.crm.admin("DELETE", "/_ref/faults")[0], 200)
        self.assertEqual(self.crm.request("GET", "/v1/customers")[0], 200)
        status, answer = self.crm.admin("POST", "/_ref/faults", {"fault": "meltdown"})
        self.assertEqual((status, answer["error"]), (400, "bad_fault"))


class Pages(Fixture):
    def test_recording_is_served_with_ranges(self):
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id))
        data = os.urandom(10_000)
        self.crm.put_recording(call_id, data)
        connection = self.crm.connection()  # one keep-alive connection, as a browser would use

        def get(headers=None, method="GET"):
            connection.request(method, f"/recordings/{call_id}", headers=headers or {})
            response = connection.getresponse()
            return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()

        status, headers, body = get()
        self.assertEqual((status, headers["content-type"], headers["content-length"], headers["accept-ranges"]),
                         (200, "audio/ogg", "10000", "bytes"))
        self.assertEqual(body, data)
        status, headers, body = get({"Range": "bytes=0-99"})
        self.assertEqual((status, headers["content-range"], headers["content-length"], body),
                         (206, "bytes 0-99/10000", "100", data[:100]))
        status, headers, body = get({"Range": "bytes=9990-"})
        self.assertEqual((status, headers["content-range"], body), (206, "bytes 9990-9999/10000", data[9990:]))
        status, headers, body = get({"Range": "bytes=-16"})
        self.assertEqual((status, headers["content-range"], body), (206, "bytes 9984-9999/10000", data[-16:]))
        status, headers, body = get({"Range": "bytes=5000-99999"})
        self.assertEqual((status, headers["content-range"], body), (206, "bytes 5000-9999/10000", data[5000:]))
        status, headers, _ = get({"Range": "bytes=10000-"})
        self.assertEqual((status, headers["content-range"]), (416, "bytes */10000"))
        status, _, body = get({"Range": "bytes=0-1,5-6"})  # several ranges: the whole file
        self.assertEqual((status, body), (200, data))
        status, headers, body = get(method="HEAD")
        self.assertEqual((status, headers["content-length"], body), (200, "10000", b""))
        connection.close()
        self.assertEqual(self.crm.request("GET", f"/recordings/{uuid.uuid4()}", signed=False)[0], 404)

    def test_timeline_mixes_calls_with_notes_tasks_and_quotes_in_time_order(self):
        page = self.crm.request("GET", "/customers/c-101", signed=False, token=None)[2].decode()
        seeded = re.findall(r'data-at="([^"]+)"', page)
        self.assertGreaterEqual(len(seeded), 5)
        times = sorted(datetime.datetime.fromisoformat(at) for at in seeded)
        # calls between, before and after the seeded items, sent in another order than time order
        middle = times[1] + (times[2] - times[1]) / 2
        moments = [middle, times[0] - datetime.timedelta(days=1), times[-1] + datetime.timedelta(hours=1)]
        ids = []
        for moment in moments:
            call_id = str(uuid.uuid4())
            ids.append(call_id)
            started = moment.isoformat(timespec="milliseconds")
            self.assertEqual(self.crm.put_entry(call_entry(call_id, started=started))[0], 201)
        self.crm.put_recording(ids[0], b"OggS-not-really")
        self.crm.put_entry(call_entry(str(uuid.uuid4()), customer="c-102"))  # another customer's call
        self.crm.put_entry(call_entry(str(uuid.uuid4()), customer=None))  # matched nobody

        status, headers, body = self.crm.request("GET", "/customers/c-101", signed=False, token=None)
        self.assertEqual((status, headers["content-type"]), (200, "text/html; charset=utf-8"))
        page = body.decode()
        entries = re.findall(r'<li class="entry (\w+)" data-kind="\w+" data-at="([^"]+)"', page)
        self.assertEqual(len(entries), len(seeded) + 3)
        moments_listed = [datetime.datetime.fromisoformat(at) for _, at in entries]
        self.assertEqual(moments_listed, sorted(moments_listed), "strictly in time order")
        self.assertEqual({kind for kind, _ in entries}, {"call", "note", "task", "quote"})
        self.assertEqual(re.findall(r'data-call-id="([^"]+)"', page), [ids[1], ids[0], ids[2]])
        self.assertIn(f'<audio controls preload="metadata" src="/recordings/{ids[0]}">', page)
        self.assertEqual(page.count("<audio"), 1, "a player only for a received recording")
        for shown in ('<span class="line">Sales 1</span>', '<span class="user">Li Na</span>', "Inbound call",
                      '<span class="outcome">answered</span>', '<span class="duration">1 min 6 s'):
            self.assertIn(shown, page)
        index = self.crm.request("GET", "/", signed=False, token=None)[2].decode()
        self.assertIn('<a href="/customers/c-101">张伟</a>', index)
        self.assertEqual(index.count('class="entry call"'), 1, "the unmatched call is on the index")
        self.assertEqual(self.crm.request("GET", "/customers/nobody", signed=False, token=None)[0], 404)


class Browser(Fixture):
    def test_chromium_plays_the_recording_and_knows_its_duration(self):
        need_tools(self, "chromium", "ffmpeg", "opusenc")
        folder = pathlib.Path(self.tmp.name)
        subprocess.run(["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=12.5",
                        "-ar", "48000", "-ac", "1", str(folder / "tone.wav")], check=True)
        subprocess.run(["opusenc", "--quiet", str(folder / "tone.wav"), str(folder / "tone.opus")], check=True,
                       capture_output=True)
        data = (folder / "tone.opus").read_bytes()
        call_id = str(uuid.uuid4())
        self.crm.put_entry(call_entry(call_id, recording=recording_meta(call_id, data)))
        self.assertEqual(self.crm.put_recording(call_id, data)[0], 201)
        # The duration of an Ogg file is in its last page: Chromium finds it with a Range request.
        dom = subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                              "--disable-background-networking", "--disable-component-update",
                              f"--user-data-dir={folder / 'chromium'}", "--virtual-time-budget=3000", "--dump-dom",
                              f"http://127.0.0.1:{self.crm.port}/customers/c-101"],
                             capture_output=True, text=True, timeout=60).stdout
        duration = re.search(r'<audio [^>]*src="/recordings/' + call_id + r'"[^>]*data-duration="([0-9.]+)"', dom)
        self.assertIsNotNone(duration, dom)
        self.assertAlmostEqual(float(duration.group(1)), 12.5, delta=0.1)


class Https(Fixture):
    tls = True

    def tls_files(self):
        folder = pathlib.Path(self.tmp.name)

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)
        openssl("req", "-x509", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=crm-ref test CA")
        openssl("req", "-new", "-nodes", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1")
        openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
                "-out", "server.pem", "-days", "2", "-copy_extensions", "copy")
        return {"cert": str(folder / "server.pem"), "key": str(folder / "server.key"), "ca": str(folder / "ca.pem")}

    def test_signed_entry_and_upload_over_https_with_the_test_ca(self):
        self.assertEqual(self.crm.scheme, "https")
        call_id = str(uuid.uuid4())
        connection = self.crm.connection()  # trusts the test CA
        self.assertEqual(self.crm.put_entry(call_entry(call_id), connection=connection)[0], 201)
        data = os.urandom(1 << 20)
        status, headers, _ = self.crm.put_recording(call_id, data, connection=connection)  # same connection
        self.assertEqual((status, headers["repr-digest"]), (201, repr_digest_of(data)))
        self.assertIn(connection.sock.version(), ("TLSv1.2", "TLSv1.3"))
        connection.close()
        # a client without the test CA refuses the certificate
        with self.assertRaises(ssl.SSLCertVerificationError):
            self.crm.request("GET", "/v1/customers", connection=self.crm.connection(ssl.create_default_context()))
        # the reset fault works under TLS too
        self.assertEqual(self.crm.admin("POST", "/_ref/faults", {"fault": "reset_mid_upload", "after_bytes": 1000})[0],
                         201)
        with self.assertRaises((ConnectionResetError, BrokenPipeError, http.client.RemoteDisconnected, ssl.SSLError)):
            self.crm.put_recording(call_id, os.urandom(1 << 20))


def main():
    global CRM_REF, SOURCE
    parser = argparse.ArgumentParser()
    parser.add_argument("--crm-ref", required=True, help="the deskline-crm-ref program")
    parser.add_argument("--source-dir", required=True)
    args, rest = parser.parse_known_args()
    CRM_REF, SOURCE = pathlib.Path(args.crm_ref), pathlib.Path(args.source_dir)
    unittest.main(argv=[sys.argv[0], *rest], verbosity=2)


if __name__ == "__main__":
    main()
