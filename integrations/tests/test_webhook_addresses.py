"""Webhooks go only where the address check looked: no private IPv4 hidden in an IPv6 form,
and no second DNS answer between the check and the connection. The network is simulated:
the resolver is mocked and every connection to a public address is either refused or
redirected to a local server, so nothing leaves the machine."""

import errno
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.exceptions import ValidationError

from integrations import webhooks
from integrations.models import WebhookEndpoint
from integrations.services import webhook_endpoint_save

pytestmark = pytest.mark.django_db

PUBLIC = "93.184.215.14"


@pytest.fixture
def public_only(settings):
    settings.CLM_WEBHOOK_ALLOW_PRIVATE = False
    settings.CLM_WEBHOOK_TIMEOUT = 2


@pytest.fixture
def local_server():
    """A receiver on 127.0.0.1 recording the path and headers of each POST."""
    received = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            received.append((self.path, self.headers))
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.received = received
    server.port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def resolver(*answers):
    """A getaddrinfo answering `answers[0]` first, then `answers[1]`... (the last one repeats)."""
    calls = []

    def getaddrinfo(host, port, *args, **kwargs):
        calls.append(host)
        address = answers[min(len(calls), len(answers)) - 1]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    getaddrinfo.calls = calls
    return getaddrinfo


def network(monkeypatch, *, public_goes_to=None):
    """Record every socket connection; loopback connects for real, a public address reaches
    `public_goes_to` (a local port) or is unreachable."""
    connected = []
    real_connect = socket.socket.connect

    def connect(sock, address):
        connected.append(address)
        if ipaddress.ip_address(address[0]).is_loopback:
            return real_connect(sock, address)
        if public_goes_to is not None:
            return real_connect(sock, ("127.0.0.1", public_goes_to))
        raise OSError(errno.ENETUNREACH, "no network in tests")

    monkeypatch.setattr(socket.socket, "connect", connect)
    return connected


def post(url):
    return webhooks.send(url=url, secret="s3cret", event="deal.won", delivery_id="d1", body="{}")


@pytest.mark.parametrize(
    "url",
    [
        "http://[64:ff9b::7f00:1]/x",  # NAT64 of 127.0.0.1
        "http://[64:ff9b::a00:5]/x",  # NAT64 of 10.0.0.5
        "http://[64:ff9b:1::7f00:1]/x",  # local-use NAT64 prefix
        "http://[2002:7f00:1::]/x",  # 6to4 of 127.0.0.1
        "http://[2002:a9fe:a9fe::]/x",  # 6to4 of 169.254.169.254
        "http://[::ffff:127.0.0.1]/x",  # IPv4-mapped
        "http://[::ffff:7f00:1]/x",  # IPv4-mapped, hex
        "http://[::127.0.0.1]/x",  # IPv4-compatible
        "http://[::a00:5]/x",  # IPv4-compatible, hex
        "http://[2001:0:4136:e378:8000:63bf:80ff:fffe]/x",  # Teredo, client 127.0.0.1
    ],
)
def test_ipv6_forms_that_embed_a_private_ipv4_are_refused(public_only, monkeypatch, url):
    with pytest.raises(ValidationError) as refused:
        webhook_endpoint_save(endpoint=WebhookEndpoint(url=url, events=["deal.won"]))
    assert "private address" in refused.value.message_dict["url"][0]

    connected = network(monkeypatch)
    result = post(url)
    assert result.status_code is None and "private address" in result.error
    assert connected == []


def test_ipv6_forms_of_public_ipv4_addresses_are_public():
    for address in ("64:ff9b::808:808", "2002:808:808::1", "2606:4700:4700::1111", PUBLIC):
        assert webhooks.is_public_address(address), address


def test_a_name_that_rebinds_to_loopback_after_the_check_never_reaches_loopback(
    public_only, monkeypatch, local_server
):
    rebinding = resolver(PUBLIC, "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    connected = network(monkeypatch)

    result = post(f"http://rebind.example:{local_server.port}/hook")

    assert connected == [(PUBLIC, local_server.port)]  # the address that was checked
    assert rebinding.calls == ["rebind.example"]  # resolved once
    assert local_server.received == []
    assert result.status_code is None and "no network in tests" in result.error


def test_a_name_answering_public_and_loopback_together_is_refused(public_only, monkeypatch):
    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (a, port))
            for a in (PUBLIC, "127.0.0.1")
        ]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    connected = network(monkeypatch)
    assert "private address" in post("http://mixed.example/hook").error
    assert connected == []


def test_a_public_host_gets_the_post_with_its_own_host_header(
    public_only, monkeypatch, local_server
):
    monkeypatch.setattr(socket, "getaddrinfo", resolver(PUBLIC))
    connected = network(monkeypatch, public_goes_to=local_server.port)

    result = post(f"http://hooks.example.com:{local_server.port}/in/clm?k=1")

    assert result.ok and result.excerpt == "ok"
    assert connected == [(PUBLIC, local_server.port)]
    path, headers = local_server.received[0]
    assert path == "/in/clm?k=1"
    assert headers["Host"] == f"hooks.example.com:{local_server.port}"
    assert webhooks.verify(secret="s3cret", header=headers["X-CLM-Signature"], body="{}")


def test_https_checks_the_certificate_of_the_host_name_not_the_address(
    public_only, monkeypatch, local_server
):
    monkeypatch.setattr(socket, "getaddrinfo", resolver(PUBLIC))
    connected = network(monkeypatch, public_goes_to=local_server.port)
    handshakes = []

    def wrap_socket(context, sock, server_hostname=None, **kwargs):
        handshakes.append((server_hostname, context.check_hostname, context.verify_mode))
        raise ssl.SSLCertVerificationError("certificate verify failed (simulated)")

    monkeypatch.setattr(ssl.SSLContext, "wrap_socket", wrap_socket)

    result = post("https://hooks.example.com/hook")

    assert connected == [(PUBLIC, 443)]
    assert handshakes == [("hooks.example.com", True, ssl.CERT_REQUIRED)]
    assert result.status_code is None and "SSLCertVerificationError" in result.error
