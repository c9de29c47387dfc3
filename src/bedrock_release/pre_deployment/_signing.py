"""Ed25519 signatures over evidence documents, with the approvals' key ids and key files."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from bedrock_release.pre_deployment._io import canonical_bytes
from bedrock_release.pre_deployment.errors import EvidenceError
from bedrock_release.release.approvals import key_id

__all__ = ["SIGNATURE_FIELDS", "sign_document", "verify_document"]

SIGNATURE_FIELDS = ("key_id", "signature")


def _payload(document: Mapping[str, Any]) -> bytes:
    return canonical_bytes({k: v for k, v in document.items() if k != "signature"})


def sign_document(private_key: Ed25519PrivateKey, body: Mapping[str, Any]) -> dict[str, Any]:
    """Return ``body`` with ``key_id`` and a base64 ``signature`` over every other field."""
    if set(SIGNATURE_FIELDS) & set(body):
        raise ValueError("the body must not carry key_id or signature already")
    signed = {**body, "key_id": key_id(private_key.public_key())}
    signed["signature"] = base64.b64encode(private_key.sign(_payload(signed))).decode("ascii")
    return signed


def verify_document(
    path: Path, document: Mapping[str, Any], trusted: Sequence[Ed25519PublicKey], *, role: str
) -> str:
    """Check the document's signature against the role's trusted keys; return the key id or raise."""
    kid, signature = document.get("key_id"), document.get("signature")
    if not isinstance(kid, str) or not isinstance(signature, str) or not kid or not signature:
        raise EvidenceError(path, "unsigned: needs key_id and signature")
    try:
        raw = base64.b64decode(signature, validate=True)
    except binascii.Error:
        raise EvidenceError(path, "field signature: not base64") from None
    if len(raw) != 64:
        raise EvidenceError(path, f"field signature: an Ed25519 signature has 64 bytes, got {len(raw)}")
    keys = {key_id(key): key for key in trusted}
    if not keys:
        raise EvidenceError(path, f"no trusted {role} key is configured: the signature cannot be checked")
    key = keys.get(kid)
    if key is None:
        raise EvidenceError(path, f"signed with key {kid}, which is not a trusted {role} key")
    try:
        key.verify(raw, _payload(document))
    except InvalidSignature:
        raise EvidenceError(
            path, f"signature does not verify with {kid}: forged or edited after signing"
        ) from None
    return kid
