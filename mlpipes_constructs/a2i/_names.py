"""Name rules of the SageMaker A2I resources (from botocore's ``sagemaker`` model)."""

from __future__ import annotations

import hashlib
import re

from mlpipes_constructs._internal.validation import Problems, is_unresolved

#: HumanTaskUiName and FlowDefinitionName: at most 63 lowercase letters, digits and hyphens.
LOWERCASE_NAME = re.compile(r"^[a-z0-9](-*[a-z0-9])*$")
MAX_NAME_LENGTH = 63
#: ``-`` and 10 hex digits of a content hash, appended to a name prefix.
HASH_SUFFIX_LENGTH = 11


def check_name_prefix(problems: Problems, prop: str, value: str) -> None:
    """``value`` + ``-<10 hex digits>`` must be a valid lowercase A2I resource name."""
    if is_unresolved(value):
        problems.add(f"{prop} must be a literal string: the name is derived from it at synth")
        return
    limit = MAX_NAME_LENGTH - HASH_SUFFIX_LENGTH
    if not LOWERCASE_NAME.match(value) or len(value) > limit:
        problems.add(
            f"{prop} '{value}' must be 1 to {limit} lowercase letters, digits and hyphens, "
            "starting and ending with a letter or digit (a hash of the content is appended)"
        )


def default_prefix(node_id: str, limit: int = MAX_NAME_LENGTH - HASH_SUFFIX_LENGTH) -> str:
    """A valid name prefix from a construct id (``ReviewUi`` -> ``reviewui``)."""
    cleaned = re.sub(r"[^a-z0-9]+", "-", node_id.lower()).strip("-")
    return cleaned[:limit].rstrip("-") or "mlpipes"


def hashed_name(prefix: str, content: str) -> str:
    """``<prefix>-<first 10 hex digits of sha256(content)>``."""
    digest = hashlib.sha256(content.encode("utf-8")).hexdigest()
    return f"{prefix}-{digest[: HASH_SUFFIX_LENGTH - 1]}"
