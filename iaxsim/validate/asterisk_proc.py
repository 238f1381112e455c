"""Start, command and stop Asterisk instances (one per replayed server), each in its own directory.

An Asterisk *build* is the directory holding ``sbin/asterisk``, ``lib`` (its shared libraries,
put on ``LD_LIBRARY_PATH``) and ``lib/asterisk/modules``. An instance is started with its own
``asterisk.conf`` (it daemonises), commanded through its control socket (``asterisk -C … -rx``)
and stopped with ``core stop now``; one still alive after that is killed by the PID it wrote.
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

from iaxsim.errors import ConfigError
from iaxsim.validate.asterisk_conf import asterisk_conf, logger_conf, modules_conf

#: Seconds an instance may take to boot, and to stop before it is killed.
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
#: Seconds one ``-rx`` command may take.
COMMAND_TIMEOUT = 15.0


def check_build(build: Path) -> Path:
    """The build directory, resolved; :class:`ConfigError` naming ``--asterisk`` unless it
    holds an executable ``sbin/asterisk`` and its modules."""
    build = Path(build).expanduser().resolve()
    binary = build / "sbin" / "asterisk"
    if not (binary.is_file() and os.access(binary, os.X_OK)):
        raise ConfigError(f"--asterisk {build}: no executable sbin/asterisk there (give the "
                          "unpacked build's directory, the one holding sbin/ and lib/)")
    if not (build / "lib" / "asterisk" / "modules" / "chan_iax2.so").is_file():
        raise ConfigError(f"--asterisk {build}: lib/asterisk/modules/chan_iax2.so is missing")
    return build


class AsteriskInstance:
    """One Asterisk server: ``root`` its directory (etc/, log/, run/ …), ``build`` the build."""

    def __init__(self, name: str, root: Path, build: Path):
        self.name, self.root, self.build = name, root, build
        self.etc = root / "etc"
        self.pid: int | None = None
        for sub in ("etc", "lib", "spool", "run", "log", "cache"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        # real-time scheduling where the system allows it (root), as for the WAN emulator: the
        # servers' delays should be their own, not those of whatever else runs on the machine
        high = hasattr(os, "geteuid") and os.geteuid() == 0
        (self.etc / "asterisk.conf").write_text(asterisk_conf(root, build, high), encoding="utf-8")
        (self.etc / "modules.conf").write_text(modules_conf(), encoding="utf-8")
        (self.etc / "logger.conf").write_text(logger_conf(), encoding="utf-8")
        self.env = dict(os.environ)
        libs = str(build / "lib")
        self.env["LD_LIBRARY_PATH"] = (libs + os.pathsep + self.env["LD_LIBRARY_PATH"]
                                       if self.env.get("LD_LIBRARY_PATH") else libs)

    @property
    def log(self) -> Path:
        """The instance's ``full`` log."""
        return self.root / "log" / "full"

    def write(self, name: str, text: str) -> None:
        """Write a configuration file of the instance (``iax.conf``, ``extensions.conf`` …)."""
        (self.etc / name).write_text(text, encoding="utf-8")

    def _argv(self, *args: str) -> list[str]:
        return [str(self.build / "sbin" / "asterisk"), "-C", str(self.etc / "asterisk.conf"), *args]

    def start(self) -> None:
        """Start the daemon and wait until it has fully booted."""
        done = subprocess.run(self._argv(), env=self.env, capture_output=True, text=True,
                              timeout=START_TIMEOUT, check=False)
        if done.returncode != 0:
            raise ConfigError(f"Asterisk server {self.name} did not start: "
                              f"{(done.stderr or done.stdout).strip() or 'exit ' + str(done.returncode)}")
        deadline = time.monotonic() + START_TIMEOUT
        pidfile = self.root / "run" / "asterisk.pid"
        while True:
            if self.pid is None and pidfile.exists():
                try:
                    self.pid = int(pidfile.read_text().strip())
                except ValueError:
                    pass
            if (self.root / "run" / "asterisk.ctl").exists():
                out = self.command("core waitfullybooted", check=False)
                if "fully booted" in out:
                    return
            if time.monotonic() > deadline:
                raise ConfigError(f"Asterisk server {self.name} did not boot within "
                                  f"{START_TIMEOUT:.0f} s (see {self.log})")
            time.sleep(0.05)

    def command(self, cli: str, check: bool = True) -> str:
        """Run one CLI command (``-rx``) and return its output."""
        try:
            done = subprocess.run(self._argv("-rx", cli), env=self.env, capture_output=True,
                                  text=True, timeout=COMMAND_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            if check:
                raise ConfigError(f"Asterisk server {self.name}: {cli!r} timed out") from None
            return ""
        if check and done.returncode != 0:
            raise ConfigError(f"Asterisk server {self.name}: {cli!r} failed: "
                              f"{(done.stderr or done.stdout).strip()}")
        return done.stdout

    def command_async(self, cli: str) -> subprocess.Popen[bytes]:
        """Start one CLI command without waiting for it."""
        return subprocess.Popen(self._argv("-rx", cli), env=self.env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)

    def alive(self) -> bool:
        """The daemon's process still exists."""
        if self.pid is None:
            return False
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def stop(self) -> None:
        """``core stop now``; the process is killed when it is still there after STOP_TIMEOUT."""
        if self.pid is None:
            pidfile = self.root / "run" / "asterisk.pid"
            try:
                self.pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                return
        if self.alive():
            self.command("core stop now", check=False)
        deadline = time.monotonic() + STOP_TIMEOUT
        while self.alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        for sig in (signal.SIGTERM, signal.SIGKILL):
            if not self.alive():
                break
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                break
            deadline = time.monotonic() + STOP_TIMEOUT
            while self.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
