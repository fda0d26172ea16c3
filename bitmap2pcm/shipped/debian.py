"""Files of Debian packages, fetched from Debian's archive when a brain is made or judged.

Videos with sound that may be redistributed live in Debian packages (game intros, demos,
sample files). They are never committed: `fetch` downloads the package with `apt-get
download` (no root needed, nothing installed), unpacks it with `dpkg -x` and keeps only the
wanted file, under a cache folder, with the package's version beside it. Nothing here runs
when a brain renders: only `make brains` and the benchmarks call it.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
import tempfile
from pathlib import Path

from ..core.errors import UserError

log = logging.getLogger("bitmap2pcm")

CACHE = Path(__file__).resolve().parents[2] / ".cache" / "sets"


def cached(package: str, member: str, cache: Path = CACHE) -> Path:
    """Where `fetch` keeps the file `member` of `package` (there or not yet)."""
    return cache / package / Path(member).name


def fetch(package: str, member: str, cache: Path = CACHE) -> Path:
    """The file `member` (its path inside the package) of Debian package `package`, from
    `cache`/PACKAGE/; downloaded and unpacked only when it is not there yet. The package's
    name and version go beside it, in VERSION."""
    wanted = cached(package, member, cache)
    folder = wanted.parent
    if wanted.is_file():
        return wanted
    folder.mkdir(parents=True, exist_ok=True)
    log.info("fetching %s from Debian's archive for %s", package, Path(member).name)
    with tempfile.TemporaryDirectory(prefix=".fetch.", dir=folder) as scratch:
        try:
            subprocess.run(["apt-get", "download", package], cwd=scratch, check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        except (OSError, subprocess.CalledProcessError) as error:
            detail = (getattr(error, "stderr", None) or "").strip()
            reason = detail.splitlines()[-1] if detail else str(error)
            raise UserError(f"could not download the Debian package {package} ({reason}); run "
                            f"'apt-get update', or put the file at {wanted} yourself") from None
        deb = next(Path(scratch).glob("*.deb"))
        unpacked = Path(scratch) / "x"
        subprocess.run(["dpkg", "-x", str(deb), str(unpacked)], check=True)
        source = unpacked / member
        if not source.is_file():
            raise UserError(f"{deb.name} has no {member}")
        version = subprocess.run(["dpkg-deb", "-f", str(deb), "Version"], check=True,
                                 capture_output=True, text=True).stdout.strip()
        (folder / "VERSION").write_text(f"{package} {version}\n")
        shutil.move(str(source), wanted)
    return wanted


def version(package: str, cache: Path = CACHE) -> str:
    """"PACKAGE VERSION" as fetched into `cache`, or the bare name before it was."""
    recorded = cache / package / "VERSION"
    return recorded.read_text().strip() if recorded.is_file() else package
