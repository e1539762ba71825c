"""The SMS backend is chosen by settings; the HTTP gateway adapter against a loopback gateway."""

import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from apps.notifications import sms
from apps.notifications.sms import HttpGatewaySmsBackend, LocmemSmsBackend, SmsDeliveryError, get_sms_backend, send_sms


class RecordingBackend(sms.BaseSmsBackend):
    sent: list = []

    def send(self, number, text):
        type(self).sent.append((number, text))
        return "rec-1"


def test_backend_is_swappable_by_settings(settings):
    settings.SMS_BACKEND = "apps.notifications.sms.LocmemSmsBackend"
    assert isinstance(get_sms_backend(), LocmemSmsBackend)
    settings.SMS_BACKEND = "tests.notifications.test_sms.RecordingBackend"
    assert send_sms("13800138000", "验证码 123456") == "rec-1"
    assert RecordingBackend.sent == [("13800138000", "验证码 123456")]
    assert LocmemSmsBackend.outbox == []
    settings.SMS_BACKEND = "apps.notifications.sms.HttpGatewaySmsBackend"
    assert isinstance(get_sms_backend(), HttpGatewaySmsBackend)


@pytest.fixture
def gateway():
    """A gateway on loopback that records requests and answers with the configured status."""
    received = []
    state = {"status": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            received.append({"auth": self.headers["Authorization"], "body": json.loads(body)})
            self.send_response(state["status"])
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(json.dumps({"id": f"gw-{len(received)}"}).encode())

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/send", received, state
    server.shutdown()


def test_http_gateway_sends_number_and_text_only(settings, gateway):
    url, received, _state = gateway
    settings.SMS_BACKEND = "apps.notifications.sms.HttpGatewaySmsBackend"
    settings.SMS_GATEWAY_URL = url
    settings.SMS_GATEWAY_KEY = "key-123"
    settings.SMS_GATEWAY_SENDER = "校友会"
    assert send_sms("13800138000", "您好") == "gw-1"
    assert received == [{"auth": "Bearer key-123", "body": {"to": "13800138000", "text": "您好", "sender": "校友会"}}]


def test_http_gateway_refusal_raises_for_the_outbox_to_retry(settings, gateway):
    url, _received, state = gateway
    settings.SMS_GATEWAY_URL = url
    state["status"] = 503
    with pytest.raises(SmsDeliveryError):
        HttpGatewaySmsBackend().send("13800138000", "x")
    settings.SMS_GATEWAY_URL = "http://127.0.0.1:9/nothing-listens-here"
    with pytest.raises(SmsDeliveryError):
        HttpGatewaySmsBackend().send("13800138000", "x")
