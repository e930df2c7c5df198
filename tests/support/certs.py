"""Self-signed certificates for tests: TLS servers on loopback, a stand-in SNS signer."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Sequence
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey


def self_signed(
    key: PrivateKey,
    common_name: str,
    *,
    dns: Sequence[str] = (),
    ips: Sequence[str] = (),
    ca: bool = False,
    days: int = 30,
) -> x509.Certificate:
    """A certificate for ``key``, valid from yesterday for ``days`` days."""
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    alt_names: list[x509.GeneralName] = [x509.DNSName(d) for d in dns]
    alt_names += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ips]
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
    )
    if ca:
        # A self-signed server certificate doubles as its own trust anchor.
        builder = builder.add_extension(
            x509.BasicConstraints(ca=True, path_length=None), critical=True
        )
    return builder.sign(key, hashes.SHA256())


def write_tls_files(
    folder: Path, key: PrivateKey, cert: x509.Certificate, stem: str = "tls"
) -> tuple[Path, Path]:
    """Write ``<stem>.pem`` (certificate) and ``<stem>.key`` (PKCS#8 key); return both paths."""
    cert_path, key_path = folder / f"{stem}.pem", folder / f"{stem}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def loopback_tls_files(folder: Path, key: PrivateKey) -> tuple[Path, Path]:
    """Certificate and key for a TLS server on 127.0.0.1 / localhost, trusted as its own CA."""
    cert = self_signed(key, "localhost", dns=["localhost"], ips=["127.0.0.1"], ca=True, days=2)
    return write_tls_files(folder, key, cert)
