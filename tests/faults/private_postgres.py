"""A PostgreSQL cluster of one test's own, on a free port: it can be stopped and started
without disturbing the shared server the other tests use.

The server binaries come from the machine's PostgreSQL installation (Debian puts them in
/usr/lib/postgresql/<version>/bin). PostgreSQL refuses to run as root, so under root the
cluster belongs to the `postgres` system user and its commands run through `runuser`."""

from __future__ import annotations

import asyncio
import os
import pwd
import shutil
import socket
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

SUPERUSER = "postgres"


def server_binaries() -> Path | None:
    """The directory holding initdb and pg_ctl, the newest version first; None if absent."""
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    found = shutil.which("pg_ctl")
    if found:
        candidates.append(Path(found).parent)
    for directory in candidates:
        if (directory / "initdb").exists() and (directory / "pg_ctl").exists():
            return directory
    return None


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivateCluster:
    """`await PrivateCluster.create()`, then `start()`, `stop()`, `start()` again, `destroy()`."""

    def __init__(
        self, binaries: Path, directory: Path, port: int, settings: Mapping[str, str]
    ) -> None:
        self.binaries = binaries
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "server.log"
        self.port = port
        self.settings = dict(settings)
        self._run_as = ["runuser", "-u", SUPERUSER, "--"] if os.geteuid() == 0 else []

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://{SUPERUSER}@127.0.0.1:{self.port}/postgres"

    @classmethod
    async def create(
        cls, binaries: Path, settings: Mapping[str, str] | None = None
    ) -> PrivateCluster:
        """initdb into a new temporary directory (trust authentication, on 127.0.0.1 only).

        `settings` are server settings for every start, e.g. {"fsync": "off"}."""
        directory = Path(tempfile.mkdtemp(prefix="facilitator-pg-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam(SUPERUSER)
            os.chown(directory, owner.pw_uid, owner.pw_gid)
        cluster = cls(binaries, directory, _free_port(), settings or {})
        await cluster._run(
            "initdb", "-D", str(cluster.data), "-U", SUPERUSER, "--auth=trust",
            "--encoding=UTF8", "--no-sync",
        )  # fmt: skip
        return cluster

    async def start(self) -> None:
        options = [
            f"-p {self.port}",
            "-c listen_addresses=127.0.0.1",
            f"-c unix_socket_directories={self.directory}",
            *(f"-c {name}={value}" for name, value in self.settings.items()),
        ]
        await self._run(
            "pg_ctl", "start", "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
            "-o", " ".join(options),
        )  # fmt: skip

    async def stop(self, mode: str = "fast") -> None:
        """`fast` ends every session (rolling back what was in flight) and shuts down cleanly;
        `immediate` is a crash: the next start recovers from the write-ahead log."""
        await self._run("pg_ctl", "stop", "-D", str(self.data), "-m", mode, "-w", "-t", "60")

    async def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            await self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)

    def postmaster_pid(self) -> int | None:
        try:
            return int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    async def _run(self, program: str, *arguments: str) -> None:
        command: Sequence[str] = [*self._run_as, str(self.binaries / program), *arguments]
        process = await asyncio.create_subprocess_exec(
            *command,
            cwd=self.directory,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        output, _ = await process.communicate()
        if process.returncode != 0:
            log = self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""
            raise RuntimeError(
                f"{program} {' '.join(arguments)} failed ({process.returncode}): "
                f"{output.decode(errors='replace')[-2000:]}\n{log}"
            )
