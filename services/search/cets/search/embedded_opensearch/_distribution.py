"""The OpenSearch distribution: fetched from Maven Central once, checked, and unpacked.

The minimal distribution lacks two modules every full distribution ships, so both are fetched
too and installed into the unpacked tree: ``analysis-common`` (``asciifolding`` and the language
analyzers) and ``lang-painless`` (scripting, which the near-duplicate image search scores with),
with the libraries ``lang-painless`` declares. The tree lives in a shared cache directory; a
lock file lets one caller at a time do the work.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import re
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cets.search.embedded_opensearch._errors import DistributionError, MavenNotFoundError

log = logging.getLogger(__package__)

DEFAULT_VERSION = "2.19.1"
_DISTRIBUTION = ("org.opensearch.distribution.integ-test-zip", "opensearch", "zip")
_ANALYSIS_MODULE = ("org.opensearch.plugin", "analysis-common", "jar")
_PAINLESS_MODULE = ("org.opensearch.plugin", "lang-painless", "jar")
_PAINLESS_SPI = ("org.opensearch.plugin", "opensearch-scripting-painless-spi", "jar")
# The libraries lang-painless 2.19 declares in its POM (compile scope), at their own versions.
_PAINLESS_LIBRARIES = (
    ("org.antlr", "antlr4-runtime", "4.13.1", "jar"),
    ("org.ow2.asm", "asm", "9.7", "jar"),
    ("org.ow2.asm", "asm-analysis", "9.7", "jar"),
    ("org.ow2.asm", "asm-commons", "9.7", "jar"),
    ("org.ow2.asm", "asm-tree", "9.7", "jar"),
    ("org.ow2.asm", "asm-util", "9.7", "jar"),
)
_LAYOUT = "r2"
"""Names the set of modules added to the tree (r2: analysis-common and lang-painless), so a
tree unpacked by an earlier release, without lang-painless, is never mistaken for this one."""
_PAINLESS_POLICY = """grant {
  // needed to generate runtime classes
  permission java.lang.RuntimePermission "createClassLoader";
  // needed to find the classloader to load allowlisted classes from
  permission java.lang.RuntimePermission "getClassLoader";
};
"""


def default_cache_dir() -> Path:
    """Where distributions are unpacked: ``$CETS_CACHE_DIR``, else a per-user cache.

    Root gets ``/var/cache/cets``, readable by the unprivileged user that runs the nodes.
    """
    if configured := os.environ.get("CETS_CACHE_DIR"):
        return Path(configured).expanduser()
    if os.geteuid() == 0:
        return Path("/var/cache/cets")
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and Path(xdg).is_absolute() else Path.home() / ".cache"
    return base / "cets"


def default_m2_repo() -> Path:
    """The local Maven repository: ``$CETS_M2_REPO``, else ``~/.m2/repository``."""
    if configured := os.environ.get("CETS_M2_REPO"):
        return Path(configured).expanduser()
    return Path.home() / ".m2" / "repository"


def plugin_descriptor(version: str, module: str = "analysis-common") -> str:
    """The ``plugin-descriptor.properties`` that makes OpenSearch load ``module``
    (``analysis-common`` or ``lang-painless``)."""
    description, classname = _MODULE_CLASSES[module]
    return (
        f"description={description}\n"
        f"version={version}\n"
        f"name={module}\n"
        f"classname={classname}\n"
        "java.version=11\n"
        f"opensearch.version={version}\n"
        "extended.plugins=\n"
        "has.native.controller=false\n"
    )


_MODULE_CLASSES = {
    "analysis-common": (
        'Adds "built in" analyzers to OpenSearch.',
        "org.opensearch.analysis.common.CommonAnalysisPlugin",
    ),
    "lang-painless": (
        "An easy, safe and fast scripting language for OpenSearch",
        "org.opensearch.painless.PainlessPlugin",
    ),
}


def ensure_distribution(
    version: str = DEFAULT_VERSION, cache_dir: Path | None = None, m2_repo: Path | None = None
) -> Path:
    """Return the home of OpenSearch ``version``, downloading and unpacking it on first use.

    Artifacts already in the local Maven repository (``m2_repo``, see :func:`default_m2_repo`)
    are used without Maven. A lock file makes concurrent callers, in any process, wait for
    one of them to do the work; the unpacked tree appears atomically, by a rename.
    """
    _check_version(version)
    cache = cache_dir if cache_dir is not None else default_cache_dir()
    name = f"opensearch-{version}-{_LAYOUT}"
    home = cache / name
    if home.is_dir():
        return home
    _make_dirs(cache)
    with _file_lock(cache / f".{name}.lock"):
        if home.is_dir():
            return home
        for stale in cache.glob(f".{name}-*"):  # left by an interrupted unpack
            shutil.rmtree(stale, ignore_errors=True)
        repo = m2_repo if m2_repo is not None else default_m2_repo()
        archive = _fetch(repo, *_coordinates(_DISTRIBUTION, version))
        modules = {
            "analysis-common": [_fetch(repo, *_coordinates(_ANALYSIS_MODULE, version))],
            "lang-painless": [
                _fetch(repo, *_coordinates(_PAINLESS_MODULE, version)),
                _fetch(repo, *_coordinates(_PAINLESS_SPI, version)),
                *(_fetch(repo, *library) for library in _PAINLESS_LIBRARIES),
            ],
        }
        log.info("unpacking OpenSearch %s into %s", version, home)
        _install(archive, modules, version, home)
    return home


def _coordinates(artifact: tuple[str, str, str], version: str) -> tuple[str, str, str, str]:
    group, name, extension = artifact
    return group, name, version, extension


def _check_version(version: str) -> None:
    if not re.fullmatch(r"\d+\.\d+\.\d+", version):
        raise ValueError(f"version {version!r} is invalid: expected a release like '2.19.1'")


def _make_dirs(path: Path) -> None:
    """Create ``path`` and missing parents, each new one mode 0755 whatever the umask."""
    missing = [p for p in (path, *path.parents) if not p.exists()]
    for directory in reversed(missing):
        directory.mkdir(exist_ok=True)
        directory.chmod(0o755)


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _fetch(repo: Path, group: str, artifact: str, version: str, extension: str) -> Path:
    path = repo.joinpath(*group.split("."), artifact, version, f"{artifact}-{version}.{extension}")
    coordinates = f"{group}:{artifact}:{version}:{extension}"
    if not path.is_file():
        _maven_download(coordinates, repo, path)
    _verify_sha1(path)
    return path


def _maven_download(coordinates: str, repo: Path, expected: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise MavenNotFoundError(
            f"{expected.name} is not in the local Maven repository {repo} and Maven ('mvn') "
            "is not on PATH: install Maven (for example the 'maven' package), or put the "
            f"file into {expected.parent} yourself (artifact {coordinates} on Maven Central)."
        )
    log.info("downloading %s with Maven (once; later starts reuse it)", coordinates)
    command = [mvn, "-q", "-B", "dependency:get", f"-Dartifact={coordinates}"]
    command += ["-Dtransitive=false", f"-Dmaven.repo.local={repo}"]
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            command, capture_output=True, text=True, timeout=1800, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise DistributionError(f"running Maven to download {coordinates} failed: {exc}") from exc
    if result.returncode != 0 or not expected.is_file():
        output = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise DistributionError(
            f"Maven could not download {coordinates} (exit {result.returncode}); check access "
            f"to Maven Central or the mirrors in ~/.m2/settings.xml. Maven said:\n{output}"
        )


def _verify_sha1(path: Path) -> None:
    checksum_file = path.with_name(path.name + ".sha1")
    if not checksum_file.is_file():
        log.warning("no %s; cannot verify %s", checksum_file.name, path)
        return
    expected = checksum_file.read_text(encoding="ascii", errors="replace").split()[:1]
    digest = hashlib.sha1(usedforsecurity=False)
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    if [digest.hexdigest()] != [e.lower() for e in expected]:
        raise DistributionError(
            f"{path} does not match its checksum in {checksum_file.name} (corrupt or "
            "incomplete download): delete both files and try again."
        )


def _install(archive: Path, modules: dict[str, list[Path]], version: str, home: Path) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{home.name}-", dir=home.parent))
    try:
        try:
            with zipfile.ZipFile(archive) as zipped:
                zipped.extractall(staging)
                executables = {
                    info.filename.rstrip("/")
                    for info in zipped.infolist()
                    if not info.is_dir() and (info.external_attr >> 16) & 0o111
                }
        except (zipfile.BadZipFile, OSError) as exc:
            raise DistributionError(f"cannot unpack {archive}: {exc}; delete it and retry") from exc
        unpacked = staging / f"opensearch-{version}"
        if not (unpacked / "bin" / "opensearch").is_file():
            raise DistributionError(f"{archive} does not hold opensearch-{version}/bin/opensearch")
        for module, jars in modules.items():
            module_dir = unpacked / "modules" / module
            module_dir.mkdir()
            for jar in jars:
                shutil.copyfile(jar, module_dir / jar.name)
            descriptor = plugin_descriptor(version, module)
            (module_dir / "plugin-descriptor.properties").write_text(descriptor)
            if module == "lang-painless":
                (module_dir / "plugin-security.policy").write_text(_PAINLESS_POLICY)
        _make_world_readable(staging, executables)
        unpacked.rename(home)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _make_world_readable(root: Path, executables: set[str]) -> None:
    """Directories 0755; files 0644, or 0755 when executable in the archive or under bin/."""
    for directory, _, files in os.walk(root):
        Path(directory).chmod(0o755)
        for name in files:
            path = Path(directory, name)
            relative = path.relative_to(root).as_posix()
            in_bin = path.parent.name == "bin" and not path.suffix
            path.chmod(0o755 if relative in executables or in_bin else 0o644)
