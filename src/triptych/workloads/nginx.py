"""nginx serving a static file from the platform's disk, `wrk --latency` on the host; a Lua
`done()` hook prints wrk's exact counts and latency percentiles as one JSON line."""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar

from triptych.errors import ParseError
from triptych.platforms.base import Endpoint, Platform
from triptych.process import CommandResult
from triptych.sample import MetaValue, Sample
from triptych.validate import setting
from triptych.workloads.base import RunSpec, number, whole_seconds
from triptych.workloads.service import ServiceWorkload, write_file

NGINX_PORT = 18080
SIZES = {"1k": 1024, "100k": 100 * 1024}
PERCENTILES = ("50", "90", "99", "99.9")
ROOT, TEMP = "www", "temp"  # the served files and nginx's temporary paths, in its own directory
# wrk calls done(summary, latency, requests) once at the end; latency is in microseconds.
DONE_LUA = """done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, '
    .. '"write": %d, "status": %d, "timeout": %d}, "latency_us": {"mean": %f, "max": %d, '
    .. '"p50": %d, "p90": %d, "p99": %d, "p99.9": %d}}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency.mean, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency:percentile(99.9)))
end
"""


@dataclass(frozen=True)
class NginxParams:
    connections: int = setting(
        32, low=1, high=10_000, hint="connections = 32 (or a list to sweep, like [1, 8, 32])"
    )
    size: str = setting("1k", choices=tuple(SIZES))


def nginx_conf(directory: str, listen: str, port: int, connections: int) -> str:
    """A foreground nginx whose every path is in the service's own directory."""
    temp = f"{directory}/{TEMP}"
    return f"""daemon off;
master_process on;
worker_processes 1;
pid {directory}/nginx.pid;
error_log stderr notice;
events {{ worker_connections {max(1024, 2 * connections)}; }}
http {{
  access_log off;
  sendfile on;
  keepalive_requests 100000000;
  client_body_temp_path {temp}/body;
  proxy_temp_path {temp}/proxy;
  fastcgi_temp_path {temp}/fastcgi;
  uwsgi_temp_path {temp}/uwsgi;
  scgi_temp_path {temp}/scgi;
  server {{ listen {listen}:{port}; root {directory}/{ROOT}; }}
}}
"""


class NginxWrk(ServiceWorkload):
    """Requests/s and latency percentiles of one static file over keep-alive connections."""

    name: ClassVar[str] = "nginx"
    tool: ClassVar[str] = "wrk"
    primary_metric: ClassVar[str] = "request rate"
    Params: ClassVar[type[NginxParams]] = NginxParams
    params: NginxParams
    port: ClassVar[int] = NGINX_PORT
    min_duration: ClassVar[float] = 1.0

    def setup(self, platform: Platform, directory: str) -> None:
        conf = nginx_conf(directory, platform.listen_host(), self.port, self.params.connections)
        mkdir = ["mkdir", "-p", f"{directory}/{ROOT}", f"{directory}/{TEMP}"]
        platform.execute_as_service(mkdir, 60).check(platform.name)
        write_file(platform, f"{directory}/nginx.conf", conf)
        size = str(SIZES[self.params.size])
        make = ["sh", "-c", 'head -c "$1" /dev/urandom > "$0"', f"{directory}/{ROOT}/file", size]
        platform.execute_as_service(make, 60).check(platform.name)

    def server_argv(self, platform: Platform, directory: str) -> list[str]:
        return ["nginx", "-e", "stderr", "-p", directory, "-c", f"{directory}/nginx.conf"]

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        """A GET of the file the rounds fetch, answered 200."""
        conn = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10)
        try:
            conn.request("GET", "/file")
            status = conn.getresponse().status
        except OSError as e:
            return f"GET /file: {e}"
        finally:
            conn.close()
        return None if status == HTTPStatus.OK else f"GET /file answered {status}"

    def after_ready(self, platform: Platform, endpoint: Endpoint, client_dir: Path) -> None:
        (client_dir / "done.lua").write_text(DONE_LUA)

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        c = self.params.connections
        threads = min(c, len(self.client_cpus()))
        return [
            "wrk",
            "-t", str(threads),
            "-c", str(c),
            "-d", f"{whole_seconds(run.duration)}s",
            "--timeout", "10s",
            "--latency",
            "-s", str(client_dir / "done.lua"),
            f"http://{endpoint.host}:{endpoint.port}/file",
        ]  # fmt: skip

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        return parse_wrk(result.stdout, self.params)


def parse_wrk(output: str, p: NginxParams) -> list[Sample]:
    """The JSON line our done() hook prints after wrk's own summary."""
    line = next((ln for ln in reversed(output.splitlines()) if ln.startswith("{")), None)
    if line is None:
        raise ParseError("wrk", "no JSON line from the done() hook (is it wrk 4?)", output)
    try:
        doc: Any = json.loads(line)
    except json.JSONDecodeError as e:
        raise ParseError("wrk", f"done() JSON does not parse ({e.msg})", output) from None
    meta: dict[str, MetaValue] = {
        "connections": p.connections,
        "size": p.size,
        "file_bytes": SIZES[p.size],
    }
    requests = number("wrk", output, doc.get("requests"), "requests")
    seconds = number("wrk", output, doc.get("duration_us"), "duration_us") / 1e6
    if requests <= 0 or seconds <= 0:
        raise ParseError("wrk", "no request completed", output)
    counts = {k: number("wrk", output, v, f"errors.{k}") for k, v in doc["errors"].items()}
    if counts.get("status", 0) > 0:
        # A 404 is served fast: its rate must never pass for the file's.
        problem = f"{counts['status']:.0f} of {requests:.0f} responses were not 2xx or 3xx"
        raise ParseError("wrk", f"{problem} (is the file served?)", output)
    errors = sum(counts.values())
    latency = doc.get("latency_us", {})
    samples = [
        Sample("request rate", requests / seconds, "requests/s", True, metadata=meta),
        Sample("errors", errors, "count", False, metadata=meta),
        Sample("latency mean", number("wrk", output, latency.get("mean"), "mean"), "us", False,
               metadata=meta),
    ]  # fmt: skip
    for q in PERCENTILES:
        us = number("wrk", output, latency.get(f"p{q}"), f"p{q}")
        samples.append(Sample(f"latency p{q}", us, "us", False, metadata=meta))
    return samples
