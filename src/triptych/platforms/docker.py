"""Docker containers as platforms: docker-bridge (default bridge network) and docker-host.

One long-lived, unprivileged, labelled container per platform and session; workloads run in it
with exec; a labelled volume backs the `volume` disk variant.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any, ClassVar, Self, cast

import docker
import docker.errors
from docker.models.containers import Container
from docker.models.volumes import Volume

from triptych.cleanup import report_swept
from triptych.errors import PlatformUnavailable, TriptychError
from triptych.host_cpu import Carriers, cgroup_cpu_file
from triptych.images import REQUIRED_TOOLS, VOLUME_MOUNT, RootfsRecipe
from triptych.platforms.addresses import LOOPBACK, AddressPool, bridge_pool
from triptych.platforms.base import (
    ColdStart,
    Endpoint,
    Platform,
    PlatformSettings,
    ScratchDir,
    check_variant,
)
from triptych.platforms.catalog import DOCKER_BRIDGE, DOCKER_HOST
from triptych.platforms.cgroups import Limits
from triptych.platforms.docker_attrs import (
    bridge_addresses,
    container_address,
    create_config,
    published_port,
)
from triptych.platforms.docker_conn import ENGINE_GONE, connect, why_gone
from triptych.platforms.docker_instance import DockerInstance, container_pid, shim_of
from triptych.platforms.docker_process import ContainerProcess, exec_timed
from triptych.platforms.docker_shims import end_shims
from triptych.platforms.docker_sweep import labels, sweep_docker
from triptych.platforms.runtimes import DEFAULT_RUNTIME, RUNTIMES, Runtime
from triptych.platforms.settings import DockerSettings, EngineSettings, cpu_list
from triptych.process import KILLED_EXIT, CommandResult
from triptych.sample import MetaValue
from triptych.service_user import SERVICE_UID

OVERLAY_DIR = "/triptych-overlay"
SERVICE_USER = f"{SERVICE_UID}:{SERVICE_UID}"
# The engine's daemons: what they spend during a round is the platform's (host_cpu.py).
DOCKER_ENGINES = frozenset({"dockerd", "containerd", "docker-proxy"})
STATE_SETTLE = 3.0  # seconds the engine may take to mark a killed container as exited


class DockerPlatform(Platform):
    """A container on the local Docker engine; subclasses choose the network mode."""

    network_mode: ClassVar[str]
    engine_gone: ClassVar[str] = "the Docker engine is gone"

    @classmethod
    def create(cls, settings: PlatformSettings, engines: EngineSettings) -> Self:
        return cls(settings.session, settings.server_ports, engines.docker)

    def __init__(self, session: str, ports: tuple[int, ...], settings: DockerSettings) -> None:
        super().__init__(session)
        self.ports = ports
        self.settings = settings
        self._client: docker.DockerClient | None = None
        self._container: Container | None = None
        self._volume: Volume | None = None
        self._image_id = ""
        self._create = ""
        self._info: dict[str, Any] = {}
        self._version = ""
        self._cold_starts = 0
        self._pool: AddressPool | None = None

    @property
    def labels(self) -> dict[str, str]:
        return labels(self.session, self.name)

    @property
    def runtime(self) -> Runtime:
        return RUNTIMES[self.settings.runtime]

    @property
    def resource_name(self) -> str:
        """One container and volume per runtime: `[docker] runtimes` run side by side."""
        default = self.settings.runtime == DEFAULT_RUNTIME
        return super().resource_name + ("" if default else f"-{self.settings.runtime}")

    def cannot_run(self, target: str, variant: str = "") -> str | None:
        return self.runtime.cannot_run(self.network_mode, target)

    def _address_pool(self, client: docker.DockerClient) -> AddressPool | None:
        """Where its containers' own addresses may lie (None: they share the host's network,
        reached on loopback)."""
        del client
        return None

    def _check_runtime(self) -> None:
        """The runtime runs on this machine and this dockerd knows it, or why not (one line)."""
        why = self.runtime.unusable_here()
        if why is not None:
            raise PlatformUnavailable(f"runtime {self.runtime.name}: {why}")
        known = self._info.get("Runtimes") or {}
        wanted = self.runtime.dockerd_name(self.network_mode)
        if wanted not in known:
            raise PlatformUnavailable(
                f"runtime {self.runtime.name} is not registered with this dockerd as {wanted!r} "
                "(scripts/daemons.sh registers installed runtimes with the dockerd it starts; "
                "for your own, add `python3 src/triptych/platforms/runtimes.py` to its "
                "daemon.json)"
            )

    def _run_container(self, client: docker.DockerClient, options: dict[str, Any]) -> Container:
        """`sleep infinity` in a new container; a runtime that cannot start one here makes the
        platform unavailable with the last line of the runtime's own error."""
        try:
            return cast(
                Container, client.containers.run(self._image_id, ["sleep", "infinity"], **options)
            )
        except docker.errors.APIError as e:
            # Created but not started: it holds its volume until it is removed, and a
            # sandboxing runtime's shim may outlive it (docker_shims).
            with contextlib.suppress(docker.errors.APIError):
                created = client.containers.get(options["name"])
                created.remove(force=True)
                end_shims(str(created.id))
            if self.settings.runtime == DEFAULT_RUNTIME:
                raise
            said = str(e.explanation or e).strip().splitlines()
            raise PlatformUnavailable(
                f"runtime {self.runtime.name} could not start a container here: "
                f"{said[-1] if said else 'no reason given'}"
            ) from None

    def _image(self, client: docker.DockerClient) -> str:
        tag = self.settings.image or RootfsRecipe().image_tag
        try:
            return str(client.images.get(tag).id)
        except docker.errors.ImageNotFound:
            fix = (
                "build it with `triptych images build`"
                if self.settings.image is None
                else "build or load it locally (no registry is used)"
            )
            raise PlatformUnavailable(f"Docker image {tag} is not on this engine; {fix}") from None

    def _run_options(self) -> dict[str, Any]:
        s = self.settings
        options: dict[str, Any] = {
            "name": self.resource_name,
            "labels": self.labels,
            "detach": True,
            "init": True,  # `sleep infinity` as PID 1 ignores SIGTERM; tini does not
            "cap_drop": ["ALL"],
            "security_opt": ["no-new-privileges"],
            "network_mode": self.network_mode,
            "runtime": self.runtime.dockerd_name(self.network_mode),
            "volumes": {self._volume.name: {"bind": VOLUME_MOUNT, "mode": "rw"}}
            if self._volume
            else {},
        }
        if self.network_mode == "bridge":
            options["ports"] = {f"{p}/tcp": ("127.0.0.1", None) for p in self.ports}
        if s.cpus is not None:
            options["nano_cpus"] = int(s.cpus * 1e9)
        if s.cpuset is not None:
            options["cpuset_cpus"] = s.cpuset
        if s.memory is not None:
            options["mem_limit"] = s.memory
            options["memswap_limit"] = s.memory
        return options

    def start(self) -> None:
        client = self._client = connect()
        report_swept(sweep_docker(client))
        self._info = client.info()
        self._pool = self._address_pool(client)
        self._check_runtime()
        self._version = str(client.version().get("Version", "unknown"))
        self._image_id = self._image(client)
        self._volume = client.volumes.create(name=self.resource_name, labels=self.labels)
        self._container = self._run_container(client, self._run_options())
        self._create = create_config(self._container.attrs)
        self._exec(["true"], 60).check(self.name)
        self._check_tools()
        self._exec(["mkdir", "-p", OVERLAY_DIR], 60).check(self.name)

    def _check_tools(self) -> None:
        script = 'for t in "$@"; do command -v "$t" >/dev/null || echo "$t"; done'
        missing = self._exec(["sh", "-c", script, "sh", *REQUIRED_TOOLS], 60).stdout.split()
        if missing:
            raise PlatformUnavailable(
                f"image {self.settings.image or RootfsRecipe().image_tag} lacks "
                f"{', '.join(missing)}; install them in the image"
            )

    def release(self) -> list[str]:
        left = []
        if self._container is not None:
            try:
                self._container.remove(force=True, v=True)
            except docker.errors.NotFound:
                pass
            except ENGINE_GONE:
                left.append(f"container {self._container.name}")
            self._container = None
        if self._volume is not None:
            try:
                self._volume.remove(force=True)
            except docker.errors.NotFound:
                pass
            except ENGINE_GONE:
                left.append(f"volume {self._volume.name}")
            self._volume = None
        if self._client is not None:
            self._client.close()
            self._client = None
        return left

    def _engine_gone(self, error: Exception) -> TriptychError:
        return TriptychError(
            f"Docker engine went away during the run on {self.name} ({why_gone(error)}); "
            "start it again with scripts/daemons.sh start"
        )

    def _exec(self, argv: Sequence[str], timeout: float, user: str = "") -> CommandResult:
        container = self._started(self._container)
        try:
            result = exec_timed(container, argv, timeout, self.name, user)
        except ENGINE_GONE as e:
            raise self._engine_gone(e) from None
        if result.returncode != 0:
            self._check_alive(killed=result.returncode in (KILLED_EXIT, -1))
        return result

    def check_alive(self) -> None:
        self._check_alive(killed=False)

    def _check_alive(self, killed: bool) -> None:
        """Raise if the container is gone or stopped; after a SIGKILL, give the engine a moment
        to record the container's death before believing it still runs."""
        container = self._started(self._container)
        deadline = time.monotonic() + (STATE_SETTLE if killed else 0)
        while True:
            try:
                container.reload()
            except docker.errors.NotFound:
                raise TriptychError(
                    f"container {container.name} was removed during the run"
                ) from None
            except ENGINE_GONE as e:
                raise self._engine_gone(e) from None
            except docker.errors.APIError as e:
                raise TriptychError(f"container {container.name}: {e.explanation}") from None
            state = container.attrs.get("State", {})
            if state.get("Status") != "running":
                why = (
                    "OOM-killed" if state.get("OOMKilled") else f"exit code {state.get('ExitCode')}"
                )
                raise TriptychError(f"container {container.name} stopped during the run ({why})")
            if time.monotonic() >= deadline:
                return
            time.sleep(0.1)

    def execute(self, argv: Sequence[str], timeout: float) -> CommandResult:
        return self._exec(argv, timeout)

    def carriers(self) -> Carriers:
        """The container's cgroup (its processes, ended ones included), its shim, and the
        engine's daemons and port proxies."""
        pid = container_pid(self._started(self._container))
        usage = cgroup_cpu_file(pid) if pid > 0 else None
        shim = shim_of(pid)
        return Carriers(
            cgroups=(usage,) if usage is not None else (),
            processes=(shim,) if shim > 1 else (),
            engines=DOCKER_ENGINES,
        )

    def new_instance(self, tag: str) -> DockerInstance:
        """A container like ours, running: no volume, no published port."""
        options = {**self._run_options(), "name": f"{self.resource_name}-{tag}", "volumes": {}}
        options.pop("ports", None)
        container = self._run_container(self._started(self._client), options)
        return DockerInstance(container, self._pool)

    def _spawn(self, argv: Sequence[str], user: str = "") -> ContainerProcess:
        container = self._started(self._container)
        name = f"{argv[0]}-{len(self._servers)}".replace("/", "_")
        return ContainerProcess(container, argv, name, user)

    def pinned_cpus(self) -> tuple[int, ...] | None:
        return cpu_list(self.settings.cpuset) if self.settings.cpuset else None

    def cgroup_limits(self) -> Limits:
        return Limits.of(self.settings)

    def execute_as_service(self, argv: Sequence[str], timeout: float) -> CommandResult:
        # Docker sets the user itself: the container has no capability to change it.
        return self._exec(argv, timeout, SERVICE_USER)

    def service_dir(self, path: str) -> None:
        # No capability to chown in here: the volume's services directory comes from the image,
        # owned by the service user (Docker copies it into each new volume).
        mine = ["sh", "-c", 'test -d "$0" && test -O "$0" && test -w "$0"', path]
        if self.execute_as_service(mine, 60).returncode != 0:
            raise TriptychError(
                f"{path} in the container is not a directory of the service user's (uid "
                f"{SERVICE_UID}); rebuild the image with `triptych images build`"
            )

    def _spawn_service(self, argv: Sequence[str]) -> ContainerProcess:
        # As with execute_as_service: Docker sets the user, the container cannot.
        return self._spawn(argv, SERVICE_USER)

    def scratch(self, variant: str) -> ScratchDir:
        check_variant(self, variant, self.disk_variants)
        return ScratchDir(variant, VOLUME_MOUNT if variant == "volume" else OVERLAY_DIR)

    def cold_start(self, timeout: float) -> ColdStart:
        """A fresh container like ours: create -> first exec answering, and its memory use."""
        self._cold_starts += 1
        options = {**self._run_options(), "name": f"{self.resource_name}-cold-{self._cold_starts}"}
        options["volumes"] = {}
        started = time.monotonic()
        fresh = DockerInstance(
            self._run_container(self._started(self._client), options), self._pool
        )
        try:
            fresh.wait_until_answers(timeout)
            seconds = time.monotonic() - started
            stats = cast("dict[str, Any]", fresh.container.stats(stream=False))
            usage = int(stats.get("memory_stats", {}).get("usage", 0))
        finally:
            fresh.remove()
        return ColdStart(seconds, usage, "cgroup memory usage")

    def metadata(self) -> dict[str, MetaValue]:
        return {
            "platform": self.name,
            "layer": self.kind.layer,
            "image_id": self._image_id,
            "network_mode": self.network_mode,
            "engine_version": self._version,
            "storage_driver": str(self._info.get("Driver", "unknown")),
            "cgroup_version": str(self._info.get("CgroupVersion", "unknown")),
            **self.settings.metadata(),
            "create_config": self._create,
        }


class DockerBridgePlatform(DockerPlatform):
    """Docker's default bridge: reached at the container's address or a port published on lo."""

    name: ClassVar[str] = DOCKER_BRIDGE.name
    network_mode: ClassVar[str] = "bridge"

    def _address_pool(self, client: docker.DockerClient) -> AddressPool | None:
        attrs = client.networks.get("bridge").attrs
        return bridge_pool(attrs.get("IPAM"), bridge_addresses(attrs))

    def endpoint(self, port: int, variant: str) -> Endpoint:
        check_variant(self, variant, self.network_variants)
        container = self._started(self._container)
        if variant == "bridge-ip":
            return Endpoint(variant, container_address(container, self._pool), port)
        container.reload()
        return Endpoint(
            variant, LOOPBACK, published_port(container.attrs, port, self.resource_name)
        )


class DockerHostPlatform(DockerPlatform):
    """`--net=host`: the host's network namespace, so servers listen on loopback."""

    name: ClassVar[str] = DOCKER_HOST.name
    network_mode: ClassVar[str] = "host"

    def listen_host(self) -> str:
        return LOOPBACK

    def endpoint(self, port: int, variant: str) -> Endpoint:
        check_variant(self, variant, self.network_variants)
        return Endpoint(variant, LOOPBACK, port)
