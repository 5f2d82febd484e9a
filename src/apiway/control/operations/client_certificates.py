"""Client certificates: self-signed certificates the gateway presents to HTTP backends. The private
key is kept in the record (internal, never returned) so backend mutual TLS can use it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from apiway.control.operations.tags import NO_CLIENT_CERTIFICATE, public, public_page
from apiway.control.patch import patches, replace_path, set_or_clear
from apiway.control.plane import ControlPlane
from apiway.control.registry import operation
from apiway.model import ids
from apiway.store.kinds import CLIENT_CERTIFICATE

VALIDITY = timedelta(days=365)


def client_certificate(cp: ControlPlane, certificate_id: str) -> dict[str, Any]:
    return cp.record(CLIENT_CERTIFICATE, certificate_id, NO_CLIENT_CERTIFICATE)


def self_signed(common_name: str, start: datetime) -> tuple[str, str]:
    """(certificate PEM, private key PEM) of a new RSA 2048 self-signed client certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "apiway"),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(start + VALIDITY)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return certificate.public_bytes(serialization.Encoding.PEM).decode(), key_pem.decode()


@operation("GenerateClientCertificate")
def generate_client_certificate(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    certificate_id = ids.new_id(6)
    start = datetime.now(UTC).replace(microsecond=0)
    pem, key_pem = self_signed(certificate_id, start)
    record: dict[str, Any] = {"clientCertificateId": certificate_id, "pemEncodedCertificate": pem,
                              "createdDate": int(start.timestamp()),
                              "expirationDate": int((start + VALIDITY).timestamp()),
                              "tags": dict(p.get("tags") or {}), "_privateKey": key_pem}
    if p.get("description"):
        record["description"] = p["description"]
    cp.store.put_record(CLIENT_CERTIFICATE, certificate_id, record)
    return public(record, compact=True)


@operation("GetClientCertificates")
def get_client_certificates(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    records = sorted(cp.store.list_records(CLIENT_CERTIFICATE),
                     key=lambda r: (r["createdDate"], r["clientCertificateId"]))
    return public_page(records, p)


@operation("GetClientCertificate")
def get_client_certificate(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    return public(client_certificate(cp, p["clientCertificateId"]))


@operation("UpdateClientCertificate")
def update_client_certificate(cp: ControlPlane, p: dict[str, Any]) -> dict[str, Any]:
    record = client_certificate(cp, p["clientCertificateId"])
    for patch in patches(p, "UpdateClientCertificate"):
        set_or_clear(record, replace_path(patch, ("/description",)), patch.value)
    cp.store.put_record(CLIENT_CERTIFICATE, record["clientCertificateId"], record)
    return public(record)


@operation("DeleteClientCertificate")
def delete_client_certificate(cp: ControlPlane, p: dict[str, Any]) -> None:
    cp.store.delete_record(CLIENT_CERTIFICATE, client_certificate(cp, p["clientCertificateId"])["clientCertificateId"])
