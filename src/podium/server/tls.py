"""`podium serve --tls`'s certificate: one self-signed certificate per workspace, made
once under PODIUM_HOME, naming this machine and its loopback addresses, so clients that
only talk TLS to a host (databricks-connect) can trust it."""

from __future__ import annotations

import datetime
import ipaddress
import socket
from pathlib import Path

from podium.files import write_whole

VALID_DAYS = 825  # the longest that clients (macOS, browsers) accept for a server cert


def self_signed(folder: Path, hosts: list[str]) -> tuple[Path, Path]:
    """The certificate and key files in `folder`, made now when missing: a self-signed
    certificate for `hosts`, localhost, 127.0.0.1, ::1 and this machine's name. The key
    is readable only by its owner."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    if cert.exists() and key.exists():
        return cert, key
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder.mkdir(parents=True, exist_ok=True)
    private = ec.generate_private_key(ec.SECP256R1())
    names = list(dict.fromkeys(["localhost", socket.gethostname(), "127.0.0.1", "::1",
                                *(h for h in hosts if h not in ("", "0.0.0.0", "::"))]))
    alternatives: list[x509.GeneralName] = []
    for name in names:
        try:
            alternatives.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            alternatives.append(x509.DNSName(name))
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "podium workspace"),
                         x509.NameAttribute(NameOID.ORGANIZATION_NAME, "podium")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(subject).issuer_name(subject)
        .public_key(private.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=VALID_DAYS))
        .add_extension(x509.SubjectAlternativeName(alternatives), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(private, hashes.SHA256()))
    write_whole(key, private.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()), 0o600)
    write_whole(cert, certificate.public_bytes(serialization.Encoding.PEM))
    return cert, key
