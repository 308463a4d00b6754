"""Network workloads: server on the platform, client on the host (iperf3, sockperf)."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from triptych.errors import ParseError
from triptych.platforms.base import Background, Endpoint, Platform
from triptych.process import CommandResult, run_local
from triptych.sample import MetaValue, Sample
from triptych.validate import setting
from triptych.workloads.base import RunSpec, number, whole_seconds
from triptych.workloads.placement import Placement
from triptych.workloads.server import ServerWorkload, answered

# Fixed, uncommon ports: a container publishes them when it is created.
IPERF3_PORT = 15201
SOCKPERF_PORT = 15202
SERVER_READY_TIMEOUT = 60.0  # the tool's own server starts in moments, under emulation too
CONNECT_RETRIES = 10
CONTROL_ERRORS = (
    "onnection refused",
    "unable to receive control message",
    "unable to send control message",
    "the server is busy",
)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
AVG_RTT = re.compile(r"avg-(?:rtt|lat)=(\S+)")
PERCENTILE = re.compile(r"percentile (\d+\.\d+) =\s*(\S+)")


class NetworkWorkload(ServerWorkload):
    """A network tool's server as the service user; a round retries a stumbled handshake."""

    family: ClassVar[str] = "network"
    ready_timeout: ClassVar[float] = SERVER_READY_TIMEOUT
    parses_failed_runs: ClassVar[bool] = True  # iperf3's JSON carries its own error

    def server_argv(self, platform: Platform) -> list[str]:
        raise NotImplementedError

    def parse(self, output: str) -> list[Sample]:
        raise NotImplementedError

    def start_server(self, platform: Platform, placement: Placement) -> Background:
        argv = placement.server_argv(self.server_argv(platform))
        return platform.spawn_service(argv, placement.enter)

    def parse_round(self, result: CommandResult, client_dir: Path) -> list[Sample]:
        return self.parse(result.stdout)

    def run_client(
        self, argv: list[str], run: RunSpec, where: str, env: dict[str, str] | None
    ) -> CommandResult:
        result = run_local(argv, run.timeout, where, env=env)
        for _ in range(CONNECT_RETRIES):
            # A server that just served a round may briefly re-open its listener or still be
            # tearing the last test down (iperf3 does, slowly under emulation): retry a failed
            # connect or control handshake, before any data was measured; nothing else.
            if not any(e in result.stdout + result.stderr for e in CONTROL_ERRORS):
                break
            time.sleep(1)
            result = run_local(argv, run.timeout, where, env=env)
        return result


@dataclass(frozen=True)
class Iperf3Params:
    streams: int = setting(1, low=1, high=128, hint="streams = 1")
    reverse: bool = setting(False, hint="reverse = false (true: the platform sends)")


class Iperf3Tcp(NetworkWorkload):
    """`iperf3 -J` TCP throughput; received Gbit/s and sender retransmits."""

    name: ClassVar[str] = "iperf3-tcp"
    primary_metric: ClassVar[str] = "tcp throughput"
    tool: ClassVar[str] = "iperf3"
    Params: ClassVar[type[Iperf3Params]] = Iperf3Params
    params: Iperf3Params
    port: ClassVar[int] = IPERF3_PORT

    def server_argv(self, platform: Platform) -> list[str]:
        return ["iperf3", "-s", "-B", platform.listen_host(), "-p", str(self.port)]

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        """A real iperf3 test of 1 KiB: the server's control channel answers."""
        host, port = endpoint.host, str(endpoint.port)
        return answered(["iperf3", "-c", host, "-p", port, "-n", "1K", "--connect-timeout", "5000"])

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        argv = [
            "iperf3",
            "-c",
            endpoint.host,
            "-p",
            str(endpoint.port),
            "-t",
            str(whole_seconds(run.duration)),
            "-P",
            str(self.params.streams),
            "-J",
        ]
        return [*argv, "-R"] if self.params.reverse else argv

    def parse(self, output: str) -> list[Sample]:
        return parse_iperf3(output, self.params)


def parse_iperf3(output: str, p: Iperf3Params) -> list[Sample]:
    try:
        doc: Any = json.loads(output)
    except json.JSONDecodeError as e:
        raise ParseError(
            "iperf3", f"JSON does not parse ({e.msg} at char {e.pos})", output
        ) from None
    if not isinstance(doc, dict):
        raise ParseError("iperf3", "its JSON is not an object", output)
    if doc.get("error"):
        raise ParseError("iperf3", f"reported error: {doc['error']}", output)
    end = doc.get("end", {})
    received, sent = end.get("sum_received"), end.get("sum_sent")
    if not isinstance(received, dict) or not isinstance(sent, dict):
        raise ParseError("iperf3", "no end.sum_received / end.sum_sent", output)
    meta: dict[str, MetaValue] = {
        "streams": p.streams,
        "direction": "platform->host" if p.reverse else "host->platform",
    }
    gbits = number("iperf3", output, received.get("bits_per_second"), "bits_per_second") / 1e9
    return [
        Sample("tcp throughput", gbits, "Gbit/s", True, metadata=meta),
        Sample(
            "tcp retransmits",
            number("iperf3", output, sent.get("retransmits", 0), "retransmits"),
            "count",
            False,
            metadata=meta,
        ),
    ]


@dataclass(frozen=True)
class SockperfParams:
    message_size: int = setting(64, low=14, high=65000, hint="message_size = 64")


class SockperfPingPong(NetworkWorkload):
    """`sockperf ping-pong --tcp --full-rtt`: round-trip time, mean and percentiles."""

    name: ClassVar[str] = "sockperf-pingpong"
    primary_metric: ClassVar[str] = "round-trip time p50"
    tool: ClassVar[str] = "sockperf"
    Params: ClassVar[type[SockperfParams]] = SockperfParams
    params: SockperfParams
    port: ClassVar[int] = SOCKPERF_PORT
    # sockperf warms itself up before every measurement (its "warmup stage": a few dummy
    # messages, then a fixed 2 s pause), and the server's readiness check was a real 1 s
    # ping-pong: a discarded run of the suite's own would cost a round and warm nothing more.
    warms_up: ClassVar[bool] = False

    def server_argv(self, platform: Platform) -> list[str]:
        return ["sockperf", "server", "--tcp", "-i", platform.listen_host(), "-p", str(self.port)]

    def request(self, endpoint: Endpoint, client_dir: Path) -> str | None:
        """A real ping-pong second: the server echoes."""
        argv = ["sockperf", "ping-pong", "--tcp", "-i", endpoint.host, "-p", str(endpoint.port)]
        return answered([*argv, "-t", "1"])

    def client_argv(self, endpoint: Endpoint, client_dir: Path, run: RunSpec) -> list[str]:
        return [
            "sockperf",
            "ping-pong",
            "--tcp",
            "-i",
            endpoint.host,
            "-p",
            str(endpoint.port),
            "-t",
            str(whole_seconds(run.duration)),
            "-m",
            str(self.params.message_size),
            "--full-rtt",
        ]

    def parse(self, output: str) -> list[Sample]:
        return parse_sockperf(output, self.params)


def parse_sockperf(output: str, p: SockperfParams) -> list[Sample]:
    text = ANSI.sub("", output)
    avg = AVG_RTT.search(text)
    if avg is None:
        raise ParseError("sockperf", "no avg-rtt line (did the server answer?)", output)
    meta: dict[str, MetaValue] = {"message_size": p.message_size, "protocol": "tcp"}
    samples = [
        Sample(
            "round-trip time mean",
            number("sockperf", output, avg.group(1), "avg-rtt"),
            "us",
            False,
            metadata=meta,
        )
    ]
    pcts = {float(k): v for k, v in PERCENTILE.findall(text)}
    for q, label in ((50.0, "p50"), (99.0, "p99"), (99.9, "p99.9")):
        if q in pcts:
            samples.append(
                Sample(
                    f"round-trip time {label}",
                    number("sockperf", output, pcts[q], f"percentile {q}"),
                    "us",
                    False,
                    metadata=meta,
                )
            )
    return samples
