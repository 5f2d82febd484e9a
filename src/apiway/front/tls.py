"""HTTPS for the native front-end: the port's own certificate, and each custom domain's, chosen per
connection by the name the client asks for (SNI)."""

from __future__ import annotations

import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path


class TlsError(Exception):
    """A certificate or key that cannot be served; the message names the file, `field` says which one."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field  # "cert" or "key"


def server_context() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2  # AWS's default security policy, TLS_1_2
    context.set_alpn_protocols(["http/1.1"])
    return context


def load_files(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for a PEM certificate (its chain may follow it in the file) and its private key."""
    texts = {}
    for field, path in (("cert", cert), ("key", key)):
        try:
            texts[field] = path.read_text("ascii", errors="replace")
        except OSError as exc:
            raise TlsError(field, f"{path}: cannot read it: {exc.strerror or exc}") from None
    if "-----BEGIN CERTIFICATE-----" not in texts["cert"]:
        raise TlsError("cert", f"{cert}: no PEM certificate in it (-----BEGIN CERTIFICATE-----)")
    if "PRIVATE KEY-----" not in texts["key"]:
        raise TlsError("key", f"{key}: no PEM private key in it (-----BEGIN PRIVATE KEY-----)")

    def no_password() -> bytes:  # else OpenSSL would ask on the terminal
        raise TlsError("key", f"{key}: the private key is encrypted; give it unencrypted")

    context = server_context()
    try:
        context.load_cert_chain(cert, key, password=no_password)
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise TlsError("key", f"{key} is not the private key of the certificate in {cert}") from None
        raise TlsError("cert", f"{cert}, {key}: not a usable certificate and key ({exc.reason or exc})") from None
    return context


def load_pem(cert: str, key: str, chain: str | None = None) -> ssl.SSLContext:
    """A server context from PEM texts (the control plane's certificateBody, certificatePrivateKey and
    certificateChain); OpenSSL reads only files, so they pass through a private temporary directory."""
    with tempfile.TemporaryDirectory() as tmp:  # created readable by this user only
        cert_file, key_file = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert_file.write_text(cert.strip() + "\n" + (chain.strip() + "\n" if chain else ""))
        key_file.write_text(key.strip() + "\n")
        try:
            return load_files(cert_file, key_file)
        except TlsError as exc:
            message = str(exc).replace(str(cert_file), "certificateBody")
            raise TlsError(exc.field, message.replace(str(key_file), "certificatePrivateKey")) from None


class ServerTls:
    """The listening socket's context. It presents the default certificate unless the client names a
    custom domain that has its own (an exact name, else a `*.` wildcard one label up)."""

    def __init__(self, default: ssl.SSLContext) -> None:
        self.context = default
        self._by_name: dict[str, ssl.SSLContext] = {}
        default.sni_callback = self._pick

    def set_domains(self, contexts: Mapping[str, ssl.SSLContext]) -> None:
        self._by_name = {name.lower(): context for name, context in contexts.items()}

    def _pick(self, conn: ssl.SSLObject | ssl.SSLSocket, server_name: str | None, _: ssl.SSLContext) -> None:
        if not server_name or not self._by_name:
            return
        name = server_name.lower()
        found = self._by_name.get(name)
        if found is None and "." in name:
            found = self._by_name.get("*." + name.partition(".")[2])
        if found is not None:
            conn.context = found
