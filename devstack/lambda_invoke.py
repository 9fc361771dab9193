"""A local Lambda Invoke API: `POST /2015-03-31/functions/{name}/invocations` runs the real handler in-process.

boto3's own Lambda client (`endpoint_url=` this server's base URL) works unchanged: the function may be
named by name, `name:qualifier`, partial ARN or full ARN; errors carry Lambda's status codes, bodies and
`x-amzn-ErrorType`; a handler exception is a 200 with `X-Amz-Function-Error: Unhandled` and Lambda's
error document, so boto3 returns `FunctionError` and the payload.

Invocations run concurrently in one process: like warm containers that share memory, which is a
stricter test of the handlers' thread safety than Lambda itself.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, unquote, urlsplit

from devstack.lambda_context import LocalLambdaContext, invoke
from devstack.loopback import BODY_TIMEOUT_SECONDS, BadFraming, LoopbackServer, read_body, refuse
from sellertoken import names

Handler = Callable[[object, object], object]

ACCOUNT_ID = "123456789012"  # the account LocalLambdaContext's ARNs name
REGION = "us-east-1"
INVOKE_PATH = re.compile(r"/2015-03-31/functions/(?P<function>[^/]+)/invocations")
# "$LATEST" and the alias the CDK stack puts in front of the vend function (infra/vending.py ALIAS_NAME).
QUALIFIERS = frozenset({"$LATEST", names.LIVE_ALIAS})
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024  # Lambda's synchronous request and response limit
DEFAULT_TIMEOUT_SECONDS = 30.0  # the vend function's timeout in infra/vending.py
_ARN = re.compile(
    r"(?:arn:aws:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):function:)?"
    r"(?P<name>[A-Za-z0-9_-]{1,64})(?::(?P<qualifier>\$LATEST|[A-Za-z0-9_-]{1,128}))?"
)


@dataclass
class Reply:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""


def function_arn(name: str, region: str = REGION, qualifier: str | None = None) -> str:
    arn = f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}"
    return f"{arn}:{qualifier}" if qualifier else arn


class LocalLambda:
    """Serves `functions` ({"sellertoken-vend": handler, …}) on host:port in a background thread."""

    def __init__(
        self,
        functions: dict[str, Handler] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = REGION,
        timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS,
        body_timeout: float = BODY_TIMEOUT_SECONDS,
    ) -> None:
        self.functions: dict[str, Handler] = dict(functions or {})  # function name -> handler; others may add
        self.region = region
        self.timeout_seconds = timeout_seconds
        self.timeouts: dict[str, float] = {}  # function name -> its own timeout, where not the default
        self.body_timeout = body_timeout
        self.http = LoopbackServer(self._serve, host=host, port=port, name="local-lambda")
        self.base_url = self.http.base_url

    def start(self) -> str:
        return self.http.start()

    def stop(self) -> None:
        self.http.stop()

    # -- the Invoke operation, without HTTP -------------------------------------------------------

    def invoke(
        self,
        function: str,
        payload: bytes,
        *,
        invocation_type: str = "RequestResponse",
        qualifier: str | None = None,
    ) -> Reply:
        """What Lambda answers to Invoke (function given as name, name:qualifier or ARN)."""
        request_id = str(uuid.uuid4())
        found = self._resolve(function, qualifier)
        if isinstance(found, Reply):
            return _with_request_id(found, request_id)
        name, handler = found
        if len(payload) > MAX_PAYLOAD_BYTES:
            message = f"{len(payload)} byte payload is too large for the {invocation_type} invocation type"
            return _error(413, "RequestTooLargeException", message, request_id)
        try:
            event = json.loads(payload) if payload.strip() else {}
        except (ValueError, RecursionError) as exc:  # UnicodeDecodeError included; RecursionError: nested too deep
            # Lambda's answer to a payload that is not JSON: 400 InvalidRequestContentException, "The request
            # body could not be parsed as JSON" (botocore's Lambda model and reference).
            reason = "nesting too deep" if isinstance(exc, RecursionError) else str(exc)
            message = f"Could not parse request body into json: Could not parse payload into json: {reason}"
            return _error(400, "InvalidRequestContentException", message, request_id)
        if invocation_type == "DryRun":
            return _with_request_id(Reply(204), request_id)
        if invocation_type == "Event":
            threading.Thread(
                target=self._run, args=(name, handler, event, request_id), name=f"invoke-{name}", daemon=True
            ).start()
            return _with_request_id(Reply(202), request_id)
        if invocation_type != "RequestResponse":
            message = f"1 validation error detected: Value '{invocation_type}' at 'invocationType' failed to satisfy"
            return _error(400, "InvalidParameterValueException", message + " constraint", request_id)
        return self._run(name, handler, event, request_id)

    def _resolve(self, function: str, qualifier: str | None) -> tuple[str, Handler] | Reply:
        match = _ARN.fullmatch(function)
        if match is None:
            return _error(400, "ValidationException", f"1 validation error detected: FunctionName '{function}'")
        name = match["name"]
        given = match["qualifier"]
        if given and qualifier and given != qualifier:
            message = "The derived qualifier from the function name does not match the specified qualifier."
            return _error(400, "InvalidParameterValueException", message)
        qualifier = given or qualifier
        region = match["region"] or self.region
        known = (
            name in self.functions
            and region == self.region
            and match["account"] in (None, ACCOUNT_ID)
            and (qualifier is None or qualifier in QUALIFIERS)
        )
        if not known:
            message = f"Function not found: {function_arn(name, region, qualifier)}"
            return _error(404, "ResourceNotFoundException", message)
        return name, self.functions[name]

    def _run(self, name: str, handler: Handler, event: object, request_id: str) -> Reply:
        timeout = self.timeouts.get(name, self.timeout_seconds)
        context = LocalLambdaContext(name, timeout_seconds=timeout, aws_request_id=request_id)
        outcome: dict[str, object] = {}

        def call() -> None:
            try:
                outcome["result"] = invoke(handler, event, context)
            except BaseException as exc:  # noqa: BLE001 - Lambda reports whatever the handler raised
                outcome["error"] = exc

        worker = threading.Thread(target=call, name=f"handler-{name}", daemon=True)
        worker.start()
        worker.join(timeout)
        headers = {"X-Amz-Executed-Version": "$LATEST"}
        if worker.is_alive():  # Lambda stops the sandbox; here the thread finishes on its own, unheard
            message = f"RequestId: {request_id} Error: Task timed out after {timeout:.2f} seconds"
            return _unhandled("Sandbox.Timedout", message, request_id, headers)
        if "error" in outcome:
            error = outcome["error"]
            # The stack trace stays out: it could carry values from the handler's frames.
            return _unhandled(type(error).__name__, str(error), request_id, headers)
        try:
            body = json.dumps(outcome.get("result")).encode()
        except (TypeError, ValueError) as exc:
            return _unhandled("Runtime.MarshalError", f"Unable to marshal response: {exc}", request_id, headers)
        if len(body) > MAX_PAYLOAD_BYTES:
            message = f"Response payload size exceeded maximum allowed payload size ({MAX_PAYLOAD_BYTES} bytes)."
            return _unhandled("Function.ResponseSizeTooLarge", message, request_id, headers)
        return _with_request_id(Reply(200, {**headers, "Content-Type": "application/json"}, body), request_id)

    # -- HTTP ---------------------------------------------------------------------------------------

    def _serve(self, request: BaseHTTPRequestHandler) -> None:
        parts = urlsplit(request.path)
        try:
            payload = read_body(request, max_bytes=MAX_PAYLOAD_BYTES, timeout=self.body_timeout)
        except BadFraming as error:
            # Too large: Lambda's RequestTooLargeException (413). Anything else is a request header that
            # cannot be read: InvalidRequestContentException covers "a request header is invalid" (400).
            if error.status == 413:
                message = f"Request must be smaller than {MAX_PAYLOAD_BYTES} bytes for the Invoke operation"
                reply = _error(413, "RequestTooLargeException", message)
            else:
                reply = _error(400, "InvalidRequestContentException", f"{error.reason}: the request cannot be framed")
            refuse(request, reply.status, reply.headers, reply.body)
            return
        match = INVOKE_PATH.fullmatch(parts.path)
        if match is None or request.command != "POST":
            reply = _error(404, "UnknownOperationException", "Unknown operation (only Invoke is served locally)")
        else:
            qualifier = (parse_qs(parts.query).get("Qualifier") or [None])[0]
            reply = self.invoke(
                unquote(match["function"]),
                payload,
                invocation_type=request.headers.get("X-Amz-Invocation-Type") or "RequestResponse",
                qualifier=qualifier,
            )
        request.send_response(reply.status)
        for name, value in reply.headers.items():
            request.send_header(name, value)
        request.send_header("Content-Length", str(len(reply.body)))
        request.end_headers()
        if request.command != "HEAD":
            request.wfile.write(reply.body)


def _error(status: int, error_type: str, message: str, request_id: str | None = None) -> Reply:
    """A Lambda service error as botocore parses it: type in x-amzn-ErrorType, text in `message`."""
    body = json.dumps({"Type": "User", "message": message}).encode()
    reply = Reply(status, {"Content-Type": "application/json", "x-amzn-ErrorType": error_type}, body)
    return _with_request_id(reply, request_id or str(uuid.uuid4()))


def _unhandled(error_type: str, message: str, request_id: str, headers: dict[str, str]) -> Reply:
    document = {"errorType": error_type, "errorMessage": message, "requestId": request_id, "stackTrace": []}
    reply = Reply(
        200,
        {**headers, "Content-Type": "application/json", "X-Amz-Function-Error": "Unhandled"},
        json.dumps(document).encode(),
    )
    return _with_request_id(reply, request_id)


def _with_request_id(reply: Reply, request_id: str) -> Reply:
    reply.headers.setdefault("x-amzn-RequestId", request_id)
    return reply
