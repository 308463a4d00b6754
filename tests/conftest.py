"""Shared fixtures for triptych's own tests.

The engines' libraries (docker, libvirt) are imported by the fixtures that need them, never at
the top: the parser and statistics tests run where neither is installed.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.engines import unavailable
from triptych.errors import PlatformUnavailable

if TYPE_CHECKING:
    import docker
    import libvirt

pytest_plugins = ["pytester"]

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture
def data() -> Path:
    """Real output captured from the tools on a Debian 12 machine."""
    return DATA


@pytest.fixture
def real_run(tmp_path: Path) -> Path:
    """A real saved run of the suite (quick.toml, all four platforms, result api 1), copied:
    reading a run writes its cache beside it, and tests/data must stay as committed."""
    copy = tmp_path / "saved" / "0001_quick.json"
    copy.parent.mkdir()
    shutil.copyfile(DATA / "run-quick-all-platforms.json", copy)
    return copy


@pytest.fixture(scope="session")
def docker_client() -> Iterator[docker.DockerClient]:
    """A client of the real local Docker engine."""
    from triptych.platforms.docker_conn import connect  # noqa: PLC0415 - the engine on demand

    try:
        client = connect()
    except PlatformUnavailable as e:
        unavailable("docker", str(e))
    try:
        yield client
    finally:
        client.close()


@pytest.fixture(scope="module")
def conn() -> Iterator[libvirt.virConnect]:
    """A connection to the real local libvirtd."""
    from triptych.platforms import libvirt_conn  # noqa: PLC0415 - the engine on demand

    try:
        c = libvirt_conn.connect()
    except PlatformUnavailable as e:
        unavailable("vm", str(e))
    try:
        yield c
    finally:
        c.close()


@pytest.fixture(scope="session")
def bench_image(docker_client: docker.DockerClient) -> str:
    """The suite's own image, built (or taken from the cache) exactly as `triptych images build`."""
    from triptych.images import RootfsRecipe, build_rootfs, docker_image  # noqa: PLC0415

    recipe = RootfsRecipe()
    return docker_image(docker_client, recipe, build_rootfs(recipe))


@pytest.fixture(autouse=True)
def no_leftovers(request: pytest.FixtureRequest) -> Iterator[None]:
    """After every test marked `fault`: no container, volume, network, domain, server, guest
    disk or scratch directory of the suite that was not there before it."""
    if request.node.get_closest_marker("fault") is None:
        yield
        return
    from tests.leftovers import suite_resources  # noqa: PLC0415 - the engines on demand

    before = suite_resources()
    yield
    assert sorted(suite_resources() - before) == []


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    """A real PostgreSQL (tests/pg.py) for one test module; yields its URL."""
    from tests.pg import postgres  # noqa: PLC0415 - psycopg on demand

    with postgres() as target:
        yield target


@pytest.fixture
def store(server: str) -> Iterator[str]:
    """An empty store (the schema is created by the first publish), emptied again after."""
    from tests.pg import empty  # noqa: PLC0415

    yield server
    empty(server)


@pytest.fixture
def history(tmp_path: Path) -> Path:
    """The six real unchanged runs of one machine (tests/data/history), copied: reading them
    writes a cache beside them."""
    copy = tmp_path / "history"
    copy.mkdir()
    for f in (DATA / "history").glob("*.json"):
        shutil.copy(f, copy / f.name)
    return copy
