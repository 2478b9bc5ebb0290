"""A SASL_SSL listener for the embedded Kafka: a throwaway CA, SCRAM users, TLS everywhere.

What production clusters run, made on the spot so the client side (librdkafka
settings from ``STREAMWISE_KAFKA_*``) is proved against the real thing: the CA
and the broker certificate (valid for 127.0.0.1 and localhost) are made with
``openssl``, the broker's trust store with ``keytool``, and the SCRAM users are
written by Kafka's own storage tool when the log dir is formatted, as an
operator bootstrapping a KRaft cluster would do. Clients and the broker itself
(inter-broker traffic) authenticate on the SASL_SSL listener; only the KRaft
controller listener, bound to 127.0.0.1, stays plaintext.
"""

from __future__ import annotations

import secrets
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pipelines.devenv.broker.errors import BrokerError

ScramMechanism = Literal["SCRAM-SHA-256", "SCRAM-SHA-512"]
BROKER_USER = "broker"
"""The broker's own SCRAM user, for inter-broker traffic on the SASL_SSL listener."""
CERT_DAYS = 2


def _password() -> str:
    return secrets.token_urlsafe(18)


@dataclass(frozen=True)
class SaslSsl:
    """Ask ``embedded_broker`` for a SASL_SSL listener with these SCRAM ``users``.

    With ``authorize``, the broker runs Kafka's ``StandardAuthorizer`` and denies what no
    ACL allows (``allow.everyone.if.no.acl.found=false``): only the ``admins`` (and the
    broker itself) may do anything else, such as creating topics and adding ACLs.
    """

    users: Mapping[str, str] = field(default_factory=lambda: {"streamwise": _password()})
    mechanism: ScramMechanism = "SCRAM-SHA-512"
    authorize: bool = False
    admins: tuple[str, ...] = ()


@dataclass(frozen=True)
class TlsFiles:
    """The throwaway CA and the broker's key material in ``home``."""

    ca_pem: Path
    cert_pem: Path
    """The certificate signed for 127.0.0.1/localhost (PEM), for any local TLS server."""
    key_pem: Path
    keystore: Path
    truststore: Path
    password: str


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        msg = f"could not {what}: {(result.stderr or result.stdout).strip()[-300:]}"
        raise BrokerError(msg)


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        msg = f"'{name}' is needed for the embedded Kafka's SASL_SSL listener; install it"
        raise BrokerError(msg)
    return path


def make_tls(home: Path) -> TlsFiles:
    """A CA, a broker certificate it signed for 127.0.0.1/localhost, PKCS12 key and trust stores."""
    openssl, keytool = _tool("openssl"), _tool("keytool")
    home.mkdir(parents=True, exist_ok=True)
    ca_key, ca_pem = home / "ca.key", home / "ca.pem"
    key, csr, cert = home / "broker.key", home / "broker.csr", home / "broker.pem"
    ext = home / "broker.ext"
    files = TlsFiles(ca_pem, cert, key, home / "broker.p12", home / "truststore.p12", _password())
    _run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", str(CERT_DAYS),
          "-subj", "/CN=streamwise throwaway CA", "-keyout", str(ca_key), "-out", str(ca_pem)],
         "make the CA")  # fmt: skip
    _run([openssl, "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
          "-keyout", str(key), "-out", str(csr)], "make the broker key")  # fmt: skip
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    _run([openssl, "x509", "-req", "-in", str(csr), "-CA", str(ca_pem), "-CAkey", str(ca_key),
          "-CAcreateserial", "-days", str(CERT_DAYS), "-extfile", str(ext), "-out", str(cert)],
         "sign the broker certificate")  # fmt: skip
    _run([openssl, "pkcs12", "-export", "-in", str(cert), "-inkey", str(key),
          "-certfile", str(ca_pem), "-name", "broker", "-out", str(files.keystore),
          "-passout", f"pass:{files.password}"], "write the broker key store")  # fmt: skip
    _run([keytool, "-importcert", "-noprompt", "-alias", "ca", "-file", str(ca_pem),
          "-keystore", str(files.truststore), "-storetype", "PKCS12",
          "-storepass", files.password], "write the broker trust store")  # fmt: skip
    return files


@dataclass(frozen=True)
class SecureListener:
    """A prepared SASL_SSL listener: broker properties, format arguments, client settings."""

    sasl: SaslSsl
    tls: TlsFiles
    broker_password: str = field(default_factory=_password)

    @classmethod
    def prepare(cls, sasl: SaslSsl, home: Path) -> SecureListener:
        if BROKER_USER in sasl.users:
            msg = f"user name {BROKER_USER!r} is reserved for the broker itself"
            raise BrokerError(msg)
        return cls(sasl, make_tls(home / "tls"))

    def server_properties(self, port: int, controller_port: int) -> dict[str, str]:
        """The ``server.properties`` entries that replace the plaintext client listener."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{BROKER_USER}" password="{self.broker_password}";'
        )
        mechanism = self.sasl.mechanism
        return {
            "listeners": f"SASL_SSL://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
            "advertised.listeners": f"SASL_SSL://127.0.0.1:{port}",
            "inter.broker.listener.name": "SASL_SSL",
            "listener.security.protocol.map": "SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms": mechanism,
            "sasl.mechanism.inter.broker.protocol": mechanism,
            f"listener.name.sasl_ssl.{mechanism.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PKCS12",
            "ssl.keystore.location": str(self.tls.keystore),
            "ssl.keystore.password": self.tls.password,
            "ssl.key.password": self.tls.password,
            "ssl.truststore.type": "PKCS12",
            "ssl.truststore.location": str(self.tls.truststore),
            "ssl.truststore.password": self.tls.password,
            **(self._authorizer() if self.sasl.authorize else {}),
        }

    def _authorizer(self) -> dict[str, str]:
        # The broker reaches the controller on the plaintext loopback listener as
        # User:ANONYMOUS, which must pass the controller's own authorizer.
        supers = [BROKER_USER, "ANONYMOUS", *self.sasl.admins]
        return {
            "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found": "false",
            "super.users": ";".join(f"User:{name}" for name in supers),
        }

    def format_args(self) -> list[str]:
        """``StorageTool format`` arguments that create the SCRAM users with the cluster."""
        users = {BROKER_USER: self.broker_password, **self.sasl.users}
        return [
            arg
            for name, password in users.items()
            for arg in ("--add-scram", f"{self.sasl.mechanism}=[name={name},password={password}]")
        ]

    def client_config(self, user: str | None = None) -> dict[str, str]:
        """librdkafka settings of a client that logs in as ``user`` (the first one by default)."""
        name = user or next(iter(self.sasl.users))
        return {
            "security.protocol": "SASL_SSL",
            "sasl.mechanism": self.sasl.mechanism,
            "sasl.username": name,
            "sasl.password": self.sasl.users[name],
            "ssl.ca.location": str(self.tls.ca_pem),
        }

    def java_client_properties(self, user: str) -> str:
        """The same login for Kafka's Java tools (``--command-config`` of ``kafka-acls``)."""
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{user}" password="{self.sasl.users[user]}";'
        )
        return (
            f"security.protocol=SASL_SSL\nsasl.mechanism={self.sasl.mechanism}\n"
            f"sasl.jaas.config={jaas}\n"
            f"ssl.truststore.type=PEM\nssl.truststore.location={self.tls.ca_pem}\n"
        )
