#!/usr/bin/python
"""Ansible module: one HTTP request, answered with ansible.builtin.uri's result keys."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: http_request
short_description: Send one HTTP request to a slot (health, version, activation) like ansible.builtin.uri
description:
  - The subset of C(ansible.builtin.uri) the pipeline's roles use, with the same result keys
    (C(status), C(json), C(content), C(msg)), so C(until), C(failed_when) and templates read the same.
    Its action plugin runs it in the task's worker - a few milliseconds instead of a Python process per
    request and per retry.
  - Fails when the status is not in C(status_code); a refused connection or a timeout is status -1.
    Use C(no_log) when C(headers) carry a token.
  - With C(retry_until), an answer that is not accepted and may change by itself (none came, 429, 5xx)
    is asked for again with backoff until that time (C(bedrock_release.pipeline.retry)), each retry
    journaled (C(backend_retry)) when C(run_dir) is given. Another status fails at once.
options:
  url:
    description: The URL (http or https).
    type: str
    required: true
  method:
    description: The HTTP method.
    type: str
    choices: [GET, POST, PUT, DELETE]
    default: GET
  headers:
    description: Request headers.
    type: dict
    default: {}
  body:
    description: A JSON body (sent with Content-Type application/json).
    type: raw
  status_code:
    description: The statuses that are a success.
    type: list
    elements: int
    default: [200]
  timeout:
    description: Seconds to wait for the answer.
    type: float
    default: 10
  retry_until:
    description: RFC 3339 time until which a transient answer is asked for again; empty - one request.
    type: str
    default: ""
  run_dir:
    description: Run folder whose journal records every retry.
    type: path
author: Release Team
"""

EXAMPLES = r"""
- name: Slot is healthy
  bedrock.release.http_request:
    url: "{{ slot_url }}/health"
  register: __health
  until: __health.status == 200
  retries: 10
  delay: 1
"""

RETURN = r"""
status:
  description: The HTTP status; -1 when no answer came (refused, timed out).
  returned: always
  type: int
json:
  description: The body parsed as JSON, when it is JSON.
  returned: when the body is JSON
  type: raw
content:
  description: The body as text.
  returned: always
  type: str
url:
  description: The URL requested.
  returned: always
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.bedrock.release.plugins.module_utils.release_common import require_library

try:
    from bedrock_release.pipeline.http_call import http_call
    from bedrock_release.pipeline.retry import RetryExhaustedError, TransientError, retry_until
except ImportError:
    http_call = None
    RetryExhaustedError = TransientError = RuntimeError


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "url": {"type": "str", "required": True},
            "method": {"type": "str", "choices": ["GET", "POST", "PUT", "DELETE"], "default": "GET"},
            "headers": {"type": "dict", "default": {}},
            "body": {"type": "raw"},
            "status_code": {"type": "list", "elements": "int", "default": [200]},
            "timeout": {"type": "float", "default": 10},
            "retry_until": {"type": "str", "default": ""},
            "run_dir": {"type": "path"},
        },
        supports_check_mode=False,
    )
    require_library(module)
    p = module.params
    answers = []

    def ask() -> object:
        answer = http_call(
            p["url"], method=p["method"], headers=p["headers"], json_body=p["body"], timeout_s=p["timeout"]
        )
        answers.append(answer)
        if answer.transient and not answer.ok(p["status_code"]):
            raise TransientError(answer.message(p["status_code"]))
        return answer

    try:
        answer = retry_until(p["retry_until"], p["run_dir"])(ask, f"{p['method']} {p['url']}")
    except TransientError:
        answer = answers[-1]  # no deadline: the one answer, judged below as before
    except RetryExhaustedError as exc:
        module.fail_json(msg=str(exc), status=answers[-1].status, url=p["url"], content=answers[-1].content)
    except ValueError as exc:
        module.fail_json(msg=str(exc), status=-1, url=p["url"])
    result = {"status": answer.status, "content": answer.content, "url": answer.url}
    if answer.json is not None:
        result["json"] = answer.json
    if not answer.ok(p["status_code"]):
        module.fail_json(msg=answer.message(p["status_code"]), **result)
    module.exit_json(changed=False, msg=answer.message(p["status_code"]), **result)


if __name__ == "__main__":
    main()
