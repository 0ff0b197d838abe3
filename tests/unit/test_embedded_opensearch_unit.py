"""Fast tests of the OpenSearch launcher's pure parts; no Java is started."""

from __future__ import annotations

import hashlib
import os
import stat
import threading
import zipfile
from pathlib import Path
from typing import Any

import pytest

from cets.search import embedded_opensearch as eo
from cets.search.embedded_opensearch import _distribution, _run_as

OPENJDK_17 = """openjdk version "17.0.15" 2025-04-15
OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)
OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)
"""
TEMURIN_21 = """openjdk version "21.0.5" 2024-10-15 LTS
OpenJDK Runtime Environment Temurin-21.0.5+11 (build 21.0.5+11-LTS)
OpenJDK 64-Bit Server VM Temurin-21.0.5+11 (build 21.0.5+11-LTS, mixed mode, sharing)
"""
TEMURIN_25 = """openjdk version "25.0.3" 2026-04-21 LTS
OpenJDK Runtime Environment Temurin-25.0.3+9 (build 25.0.3+9-LTS)
OpenJDK 64-Bit Server VM Temurin-25.0.3+9 (build 25.0.3+9-LTS, mixed mode, sharing)
"""
ORACLE_8 = """java version "1.8.0_292"
Java(TM) SE Runtime Environment (build 1.8.0_292-b10)
Java HotSpot(TM) 64-Bit Server VM (build 25.292-b10, mixed mode)
"""
WITH_TOOL_OPTIONS = 'Picked up JAVA_TOOL_OPTIONS: -Xmx1g\nopenjdk version "11.0.2" 2019-01-15\n'
EARLY_ACCESS = 'openjdk version "26-ea" 2026-03-17\n'


@pytest.mark.parametrize(
    ("output", "major"),
    [
        (OPENJDK_17, 17),
        (TEMURIN_21, 21),
        (TEMURIN_25, 25),
        (ORACLE_8, 8),
        (WITH_TOOL_OPTIONS, 11),
        (EARLY_ACCESS, 26),
    ],
)
def test_parse_java_major(output: str, major: int) -> None:
    assert eo.parse_java_major(output) == major


def test_parse_java_major_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="no Java version"):
        eo.parse_java_major("bash: java: command not found")


# --- settings -----------------------------------------------------------------------------


def test_settings_defaults_are_valid() -> None:
    settings = eo.OpenSearchSettings(cluster_name="agency-a")
    assert (settings.http_port, settings.heap_mb, settings.version) == (0, 512, "2.19.1")
    assert settings.run_as_user == "cets-opensearch"


@pytest.mark.parametrize(
    ("overrides", "setting"),
    [
        ({"cluster_name": "Agency"}, "cluster_name"),
        ({"cluster_name": ""}, "cluster_name"),
        ({"cluster_name": "-agency"}, "cluster_name"),
        ({"cluster_name": "a" * 65}, "cluster_name"),
        ({"cluster_name": "a.b"}, "cluster_name"),
        ({"http_port": 80}, "http_port"),
        ({"http_port": 65536}, "http_port"),
        ({"transport_port": 1023}, "transport_port"),
        ({"http_port": 19200, "transport_port": 19200}, "http_port"),
        ({"heap_mb": 127}, "heap_mb"),
        ({"heap_mb": 32769}, "heap_mb"),
        ({"version": "latest"}, "version"),
        ({"startup_timeout_s": 0}, "startup_timeout_s"),
        ({"run_as_user": "Open Search"}, "run_as_user"),
    ],
)
def test_settings_reject_bad_values(overrides: dict[str, Any], setting: str) -> None:
    arguments: dict[str, Any] = {"cluster_name": "agency-a", **overrides}
    with pytest.raises(ValueError, match=setting):
        eo.OpenSearchSettings(**arguments)


def test_settings_accept_edges() -> None:
    eo.OpenSearchSettings(cluster_name="a" * 64, http_port=1024, transport_port=65535)
    eo.OpenSearchSettings(cluster_name="0_a-b", heap_mb=128)
    eo.OpenSearchSettings(cluster_name="x", heap_mb=32768)


def test_node_properties_before_start_explain_themselves() -> None:
    node = eo.EmbeddedOpenSearch(eo.OpenSearchSettings(cluster_name="idle"))
    assert node.pid is None
    with pytest.raises(eo.EmbeddedOpenSearchError, match="start"):
        _ = node.url
    with pytest.raises(eo.EmbeddedOpenSearchError, match="started"):
        _ = node.log_path
    node.stop()  # harmless when never started


def test_start_many_rejects_duplicate_names() -> None:
    with pytest.raises(ValueError, match="distinct"):
        eo.start_many(["a", "b", "a"])


# --- java discovery -----------------------------------------------------------------------


def _fake_jdk(root: Path, version_output: str) -> Path:
    """A directory whose bin/java prints ``version_output`` the way java -version does."""
    java = root / "bin" / "java"
    java.parent.mkdir(parents=True)
    java.write_text(f"#!/bin/sh\nprintf '%s' '{version_output}' >&2\n")  # builtins only
    java.chmod(0o755)
    return root


@pytest.fixture
def no_java(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """JAVA_HOME and OPENSEARCH_JAVA_HOME point at nothing; PATH holds no java."""
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "no-such-jdk"))
    monkeypatch.setenv("OPENSEARCH_JAVA_HOME", str(tmp_path / "no-such-jdk-either"))
    return tmp_path


def test_find_java_without_any_java_says_what_to_do(no_java: Path) -> None:
    with pytest.raises(eo.JavaNotFoundError) as caught:
        eo.find_java()
    message = str(caught.value)
    assert "$OPENSEARCH_JAVA_HOME" in message
    assert "$JAVA_HOME" in message
    assert "no 'java' on PATH" in message
    assert "install a JDK 17 or 21" in message
    assert "set JAVA_HOME or OPENSEARCH_JAVA_HOME" in message


def test_find_java_rejects_old_and_too_new_java(
    no_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(no_java / "jdk8", ORACLE_8)))
    monkeypatch.setenv("OPENSEARCH_JAVA_HOME", str(_fake_jdk(no_java / "jdk25", TEMURIN_25)))
    with pytest.raises(eo.JavaNotFoundError, match=r"is Java 25.*is Java 8"):
        eo.find_java()


def test_find_java_prefers_opensearch_java_home(
    no_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jdk21 = _fake_jdk(no_java / "jdk21", TEMURIN_21)
    monkeypatch.setenv("JAVA_HOME", str(_fake_jdk(no_java / "jdk17", OPENJDK_17)))
    monkeypatch.setenv("OPENSEARCH_JAVA_HOME", str(jdk21))
    assert eo.find_java() == eo.JavaInfo(jdk21, 21)


def test_find_java_resolves_home_of_java_on_path(
    no_java: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    jdk = _fake_jdk(no_java / "jvm" / "jdk17", OPENJDK_17)
    links = no_java / "links"
    links.mkdir()
    (links / "java").symlink_to(jdk / "bin" / "java")
    monkeypatch.delenv("JAVA_HOME")
    monkeypatch.delenv("OPENSEARCH_JAVA_HOME")
    monkeypatch.setenv("PATH", str(links))
    assert eo.find_java() == eo.JavaInfo(jdk.resolve(), 17)


# --- cache location -----------------------------------------------------------------------


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CETS_CACHE_DIR", str(tmp_path / "chosen"))
    assert eo.default_cache_dir() == tmp_path / "chosen"
    monkeypatch.delenv("CETS_CACHE_DIR")
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    assert eo.default_cache_dir() == Path("/var/cache/cets")
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert eo.default_cache_dir() == tmp_path / "xdg" / "cets"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert eo.default_cache_dir() == tmp_path / "home" / ".cache" / "cets"


def test_default_m2_repo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CETS_M2_REPO", str(tmp_path))
    assert eo.default_m2_repo() == tmp_path
    monkeypatch.delenv("CETS_M2_REPO")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert eo.default_m2_repo() == tmp_path / "home" / ".m2" / "repository"


# --- distribution -------------------------------------------------------------------------

FAKE_VERSION = "9.9.9"


def _put_artifact(
    repo: Path, group: str, artifact: str, extension: str, data: bytes, version: str = FAKE_VERSION
) -> Path:
    path = repo.joinpath(*group.split("."), artifact, version)
    path.mkdir(parents=True)
    file = path / f"{artifact}-{version}.{extension}"
    file.write_bytes(data)
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    file.with_name(file.name + ".sha1").write_text(sha1)
    return file


def _fake_zip(path: Path, top: str = f"opensearch-{FAKE_VERSION}") -> bytes:
    with zipfile.ZipFile(path, "w") as zipped:
        for name, mode in [
            (f"{top}/bin/opensearch", 0o755),
            (f"{top}/bin/opensearch.bat", 0o644),
            (f"{top}/config/jvm.options", 0o600),
            (f"{top}/modules/transport-netty4/plugin-descriptor.properties", 0o644),
        ]:
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFREG | mode) << 16
            zipped.writestr(info, "x")
    return path.read_bytes()


@pytest.fixture
def fake_m2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A local Maven repository holding a tiny fake distribution; Maven is unavailable."""
    repo = tmp_path / "m2"
    archive = _fake_zip(tmp_path / "fake.zip")
    _put_artifact(repo, "org.opensearch.distribution.integ-test-zip", "opensearch", "zip", archive)
    _put_artifact(repo, "org.opensearch.plugin", "analysis-common", "jar", b"jar")
    _put_artifact(repo, "org.opensearch.plugin", "lang-painless", "jar", b"painless")
    _put_artifact(repo, "org.opensearch.plugin", "opensearch-scripting-painless-spi", "jar", b"spi")
    for group, artifact, version, extension in _distribution._PAINLESS_LIBRARIES:
        _put_artifact(repo, group, artifact, extension, b"lib", version=version)
    monkeypatch.setenv("PATH", str(tmp_path))  # no mvn here
    return repo


def test_ensure_distribution_without_maven_or_cached_artifact(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("CETS_M2_REPO", str(tmp_path / "empty-m2"))
    with pytest.raises(eo.MavenNotFoundError) as caught:
        eo.ensure_distribution(cache_dir=tmp_path / "cache")
    message = str(caught.value)
    assert "install Maven" in message
    assert "org.opensearch.distribution.integ-test-zip:opensearch:2.19.1:zip" in message
    assert not (tmp_path / "cache" / "opensearch-2.19.1-r2").exists()


def test_ensure_distribution_uses_local_maven_repository(fake_m2: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    home = eo.ensure_distribution(FAKE_VERSION, cache_dir=cache, m2_repo=fake_m2)
    assert home == cache / f"opensearch-{FAKE_VERSION}-r2"
    descriptor = home / "modules" / "analysis-common" / "plugin-descriptor.properties"
    assert descriptor.read_text() == eo.plugin_descriptor(FAKE_VERSION)
    assert (home / "modules" / "analysis-common" / f"analysis-common-{FAKE_VERSION}.jar").is_file()
    painless = home / "modules" / "lang-painless"
    assert (painless / "plugin-descriptor.properties").read_text() == eo.plugin_descriptor(
        FAKE_VERSION, "lang-painless"
    )
    assert sorted(p.name for p in painless.iterdir()) == [
        "antlr4-runtime-4.13.1.jar",
        "asm-9.7.jar",
        "asm-analysis-9.7.jar",
        "asm-commons-9.7.jar",
        "asm-tree-9.7.jar",
        "asm-util-9.7.jar",
        f"lang-painless-{FAKE_VERSION}.jar",
        f"opensearch-scripting-painless-spi-{FAKE_VERSION}.jar",
        "plugin-descriptor.properties",
        "plugin-security.policy",
    ]
    assert "createClassLoader" in (painless / "plugin-security.policy").read_text()
    modes = {
        p.relative_to(home).as_posix(): stat.S_IMODE(p.stat().st_mode) for p in home.rglob("*")
    }
    assert modes["bin/opensearch"] == 0o755
    assert modes["bin/opensearch.bat"] == 0o644
    assert modes["config/jvm.options"] == 0o644
    assert modes["modules/analysis-common"] == 0o755
    assert stat.S_IMODE(cache.stat().st_mode) == 0o755
    assert sorted(p.name for p in cache.iterdir()) == [
        f".opensearch-{FAKE_VERSION}-r2.lock",
        f"opensearch-{FAKE_VERSION}-r2",
    ]


def test_ensure_distribution_runs_once_for_concurrent_callers(
    fake_m2: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installs: list[Path] = []
    real_install = _distribution._install

    def counting_install(*args: Any) -> None:
        installs.append(args[-1])
        real_install(*args)

    monkeypatch.setattr(_distribution, "_install", counting_install)
    homes: list[Path] = []

    def ensure() -> None:
        homes.append(eo.ensure_distribution(FAKE_VERSION, tmp_path / "cache", fake_m2))

    threads = [threading.Thread(target=ensure) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(installs) == 1
    assert len(set(homes)) == 1 and len(homes) == 6


def test_ensure_distribution_rejects_corrupt_download(fake_m2: Path, tmp_path: Path) -> None:
    archive = next(fake_m2.rglob("*.zip"))
    archive.write_bytes(archive.read_bytes() + b"tampered")
    with pytest.raises(eo.DistributionError, match=r"checksum.*delete both files"):
        eo.ensure_distribution(FAKE_VERSION, cache_dir=tmp_path / "cache", m2_repo=fake_m2)
    assert not (tmp_path / "cache" / f"opensearch-{FAKE_VERSION}-r2").exists()


def test_ensure_distribution_rejects_unknown_archive(fake_m2: Path, tmp_path: Path) -> None:
    archive = next(fake_m2.rglob("*.zip"))
    data = _fake_zip(tmp_path / "other.zip", top="elasticsearch-9.9.9")
    archive.write_bytes(data)
    sha1 = hashlib.sha1(data, usedforsecurity=False).hexdigest()
    archive.with_name(archive.name + ".sha1").write_text(f"{sha1}  {archive.name}\n")
    with pytest.raises(eo.DistributionError, match="does not hold"):
        eo.ensure_distribution(FAKE_VERSION, cache_dir=tmp_path / "cache", m2_repo=fake_m2)
    assert [p.name for p in (tmp_path / "cache").iterdir()] == [
        f".opensearch-{FAKE_VERSION}-r2.lock"
    ]


# --- generated files and messages ---------------------------------------------------------


def test_plugin_descriptor() -> None:
    assert eo.plugin_descriptor("2.19.1").splitlines() == [
        'description=Adds "built in" analyzers to OpenSearch.',
        "version=2.19.1",
        "name=analysis-common",
        "classname=org.opensearch.analysis.common.CommonAnalysisPlugin",
        "java.version=11",
        "opensearch.version=2.19.1",
        "extended.plugins=",
        "has.native.controller=false",
    ]
    painless = eo.plugin_descriptor("2.19.1", "lang-painless").splitlines()
    assert "name=lang-painless" in painless
    assert "classname=org.opensearch.painless.PainlessPlugin" in painless


def test_jvm_options_name_only_absolute_files(tmp_path: Path) -> None:
    options = eo.render_jvm_options(256, tmp_path / "logs").splitlines()
    assert options[:2] == ["-Xms256m", "-Xmx256m"]
    assert f"-XX:ErrorFile={tmp_path}/logs/hs_err_pid%p.log" in options
    assert "18-:-Djava.security.manager=allow" in options
    assert not any("gc.log" in option or "=logs/" in option for option in options)


def test_opensearch_yml_quotes_values() -> None:
    text = eo.render_opensearch_yml(
        {"cluster.name": "a", "http.port": 9200, "x.enabled": False, "path.data": "/d: x"}
    )
    assert text.splitlines() == [
        'cluster.name: "a"',
        "http.port: 9200",
        "x.enabled: false",
        'path.data: "/d: x"',
    ]


def test_startup_error_carries_log_tail(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    log.write_text("".join(f"<line {n}>\n" for n in range(1, 31)))
    error = eo.StartupError("OpenSearch 'a' exited with code 1", log)
    message = str(error)
    assert message.startswith("OpenSearch 'a' exited with code 1")
    assert "<line 11>" in message and "<line 30>" in message
    assert "<line 10>" not in message
    assert f"full log: {log}" in message
    assert error.log_path == log
    assert isinstance(error, eo.EmbeddedOpenSearchError)


def test_startup_error_leaves_out_java_stack_frames(tmp_path: Path) -> None:
    log = tmp_path / "console.log"
    frames = "".join(f"\tat org.example.Frame{n}(Frame.java:{n})\n" for n in range(40))
    log.write_text(f"<cause>\n{frames}\t... 6 more\n<last>\n")
    message = str(eo.StartupError("failed", log))
    assert "<cause>" in message and "<last>" in message
    assert "Frame" not in message and "more" not in message


def test_startup_error_with_missing_log(tmp_path: Path) -> None:
    assert "log unreadable" in str(eo.StartupError("failed", tmp_path / "absent.log"))
    assert str(eo.StartupError("failed")) == "failed"


def test_blocked_directory_follows_owner_group_other_rules(tmp_path: Path) -> None:
    outer = tmp_path / "outer"
    inner = outer / "inner"
    inner.mkdir(parents=True)
    uid, gid = os.getuid(), os.getgid()
    try:
        assert _run_as._blocked_directory(inner, uid, {gid}) is None
        outer.chmod(0o600)
        assert _run_as._blocked_directory(inner, uid, {gid}) == outer
        outer.chmod(0o070)  # the owner's bits count for the owner, whatever the group's say
        assert _run_as._blocked_directory(inner, uid, {gid}) == outer
        outer.chmod(0o701)
        assert _run_as._blocked_directory(inner, uid, {gid}) is None
    finally:
        outer.chmod(0o755)
