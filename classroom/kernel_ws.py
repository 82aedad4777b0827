"""A notebook's kernel reached as JupyterLab reaches it: a session through the server's REST API,
then Jupyter's messages over the kernel's websocket. Used by the class tests: students' servers behind
a hub's proxy (test_e2e.py, container/test_class.py) and a learner's JupyterLab in a container
(container/test_learner.py).

    kernel = Kernel("http://127.0.0.1:PORT/user/NAME", token, "rust-lesson/notebooks/01-....ipynb")
    await kernel.open()
    outputs = await kernel.execute("label", code)      # raises Failure if the cell failed
"""

import asyncio
import json
import pathlib
import sys
import time
import uuid

import nbformat
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.websocket import websocket_connect

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "tools"))
import notebook_runner  # noqa: E402  (the runner's checks of a cell's outputs)

# evcxr's stderr can arrive just after the cell's idle status: listen this much longer.
LATE_OUTPUT_S = 0.5


class Failure(Exception):
    pass


class Kernel:
    def __init__(self, base_url, token, path, kernel_name="rust-tch", who="learner"):
        self.base_url, self.token, self.path, self.kernel_name, self.who = base_url.rstrip("/"), token, path, kernel_name, who
        self.ws = None
        self.kernel_id = None
        self.session_id = uuid.uuid4().hex
        self.png_at = {}

    async def api(self, method, path, body=None, ok=(200, 201, 202, 204), timeout=60):
        request = HTTPRequest(f"{self.base_url}{path}", method=method,
                              headers={"Authorization": f"token {self.token}"},
                              body=None if body is None else json.dumps(body),
                              allow_nonstandard_methods=True, request_timeout=timeout)
        response = await AsyncHTTPClient().fetch(request, raise_error=False)
        if response.code not in ok:
            raise Failure(f"{self.who}: {method} {path}: HTTP {response.code} {(response.body or b'')[:300]!r}")
        return json.loads(response.body) if response.body else None

    async def open(self):
        session = await self.api("POST", "/api/sessions", {
            "path": self.path, "type": "notebook", "name": "", "kernel": {"name": self.kernel_name}})
        self.kernel_id = session["kernel"]["id"]
        url = self.base_url.replace("http", "ws", 1) + f"/api/kernels/{self.kernel_id}/channels?session_id={self.session_id}"
        self.ws = await websocket_connect(HTTPRequest(url, headers={"Authorization": f"token {self.token}"}),
                                          max_message_size=256 * 2**20)

    async def interrupt(self):
        await self.api("POST", f"/api/kernels/{self.kernel_id}/interrupt")

    def close(self):
        if self.ws is not None:
            self.ws.close()

    async def start(self, code):
        msg_id = uuid.uuid4().hex
        await self.ws.write_message(json.dumps({
            "header": {"msg_id": msg_id, "username": self.who, "session": self.session_id,
                       "msg_type": "execute_request", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "channel": "shell", "buffers": [],
            "content": {"code": code, "silent": False, "store_history": True, "user_expressions": {},
                        "allow_stdin": False, "stop_on_error": True}}))
        return msg_id

    async def collect(self, label, msg_id, timeout, until=None):
        """The cell's outputs and its execute_reply (None if `until(text so far)` said stop first)."""
        outputs, reply, idle_at = [], None, None
        deadline = time.monotonic() + timeout
        while True:
            if reply is not None and idle_at is not None:
                remaining = idle_at + LATE_OUTPUT_S - time.monotonic()
                if remaining <= 0:
                    break
            else:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise Failure(f"{self.who}: cell '{label}' did not finish within {timeout} s")
            try:
                raw = await asyncio.wait_for(self.ws.read_message(), remaining)
            except asyncio.TimeoutError:
                continue
            if raw is None:
                raise Failure(f"{self.who}: the kernel's websocket closed during cell '{label}'")
            msg = json.loads(raw)
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            kind, content = msg["msg_type"], msg["content"]
            if kind == "stream":
                outputs.append(nbformat.v4.new_output("stream", name=content["name"], text=content["text"]))
            elif kind in ("display_data", "execute_result"):
                if "image/png" in content.get("data", {}):
                    self.png_at.setdefault(label, time.monotonic())
                outputs.append(nbformat.v4.new_output("display_data", data=content.get("data", {})))
            elif kind == "error":
                outputs.append(nbformat.v4.new_output(
                    "error", ename=content.get("ename", ""), evalue=content.get("evalue", ""),
                    traceback=content.get("traceback", [])))
            elif kind == "status" and content["execution_state"] == "idle":
                idle_at = time.monotonic()
            elif kind == "execute_reply":
                reply = content
            if until is not None and reply is None and until(text_of(outputs)):
                return outputs, None
        return outputs, reply

    async def execute(self, label, code, timeout=300):
        """Runs a cell; its outputs, or Failure naming what went wrong in it."""
        outputs, reply = await self.collect(label, await self.start(code), timeout)
        problems = cell_problems(code, outputs, reply)
        if problems:
            raise Failure(f"{self.who}: cell '{label}' failed: " + "; ".join(problems))
        return outputs


def text_of(outputs):
    return "".join(notebook_runner.output_text(o) for o in outputs)


def cell_problems(code, outputs, reply):
    problems = notebook_runner.cell_problems(nbformat.v4.new_code_cell(code, outputs=outputs))
    if reply is not None and reply.get("status") != "ok":
        problems.append(f"execute_reply status {reply.get('status')}: {reply.get('evalue', '')}")
    return problems
