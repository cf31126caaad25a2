"""The Hub client against a real HTTP server on 127.0.0.1, through huggingface_hub."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from fakehub.server import VALID_TOKEN, FakeHub

from app.core.gguf.quant_files import group_files
from app.core.hub.hub_client import (
    GatedRepo,
    HubClient,
    HubUnreachable,
    InvalidToken,
    RepoNotFound,
    known_token,
    network_reason,
)


def test_search_filters_and_sorts(fake_hub: FakeHub) -> None:
    client = HubClient(fake_hub.endpoint, token=False)
    by_downloads = [m.repo_id for m in client.search("", "downloads")]
    assert by_downloads == ["acme/Popular-GGUF", "acme/Tiny-GGUF", "acme/Gated-GGUF"]
    assert next(m.repo_id for m in client.search("", "likes")) == "acme/Gated-GGUF"
    assert next(m.repo_id for m in client.search("", "updated")) == "acme/Gated-GGUF"
    (tiny,) = client.search("tiny")
    assert (tiny.author, tiny.downloads, tiny.likes) == ("acme", 1200, 7)
    assert tiny.last_modified is not None and tiny.last_modified.year == 2026
    assert tiny.gated is None
    assert client.search("gated")[0].gated == "manual"
    request = next(r for r in fake_hub.requests if r.path.startswith("/api/models?"))
    assert "filter=gguf" in request.path and "search=" not in request.path


def test_repo_files_grouped_by_quant(fake_hub: FakeHub) -> None:
    details = HubClient(fake_hub.endpoint, token=False).repo("acme/Tiny-GGUF")
    assert details.license == "apache-2.0" and details.downloads == 1200
    sizes = {f.path: f.size for f in details.files}
    repo = fake_hub.repos["acme/Tiny-GGUF"]
    assert sizes == {path: f.size for path, f in repo.files.items()}
    groups = group_files(details.files)
    assert [g.quant for g in groups] == ["Q4_K_M", "F16", "Q8_0"]  # recommended, then size
    split = groups[1]
    assert split.shards_expected == 2 and split.complete
    assert [f.path for f in split.files] == [
        "split/tiny-F16-00001-of-00002.gguf",
        "split/tiny-F16-00002-of-00002.gguf",
    ]
    assert split.label == "tiny-F16 (2 parts)"
    tiny = next(f for f in details.files if f.path == "tiny-Q4_K_M.gguf")
    assert tiny.sha256 == repo.files["tiny-Q4_K_M.gguf"].sha256


def test_missing_repo_and_bad_id(fake_hub: FakeHub) -> None:
    client = HubClient(fake_hub.endpoint, token=False)
    with pytest.raises(RepoNotFound, match="no such model repository"):
        client.repo("acme/Nope-GGUF")
    with pytest.raises(RepoNotFound, match="not a valid repository id"):
        client.repo("a/b/c")


def test_server_error_then_success_is_retried(fake_hub: FakeHub) -> None:
    fake_hub.api_faults.append(500)
    found = HubClient(fake_hub.endpoint, token=False).search("tiny")
    assert [m.repo_id for m in found] == ["acme/Tiny-GGUF"]
    assert sum(r.path.startswith("/api/models?") for r in fake_hub.requests) == 2


def test_no_network_says_so_quickly() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = HubClient(f"http://127.0.0.1:{port}", token=False)
    with pytest.raises(HubUnreachable, match=r"unreachable.*work offline") as caught:
        client.search("qwen")
    assert "the connection was refused" in str(caught.value)
    with pytest.raises(HubUnreachable):
        client.repo("acme/Tiny-GGUF")


def test_a_name_that_does_not_resolve_is_said_in_words() -> None:
    client = HubClient("http://no-such-host.invalid", token=False)
    with pytest.raises(HubUnreachable) as caught:
        client.search("qwen")
    message = str(caught.value)
    assert "does not resolve" in message and "gaierror" not in message
    assert network_reason(socket.gaierror(-2, "Name or service not known")) == (
        "its name does not resolve: no network, or no DNS"
    )


def test_token_is_checked_and_kept_by_the_hub_client(fake_hub: FakeHub, hf_home: Path) -> None:
    client = HubClient(fake_hub.endpoint)
    with pytest.raises(InvalidToken):
        client.save_token("hf_wrong")
    assert not known_token()
    assert client.save_token(VALID_TOKEN) == "student"
    assert (hf_home / "token").read_text() == VALID_TOKEN
    assert known_token()
    # A new client (as after a restart) sends the stored token and reaches the gated repo.
    fresh = HubClient(fake_hub.endpoint)
    assert fresh.headers()["authorization"] == f"Bearer {VALID_TOKEN}"


def test_gated_file_without_token_explains(fake_hub: FakeHub, tmp_path: Path) -> None:
    from app.core.hub.downloader import Downloader

    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo("acme/Gated-GGUF")
    assert details.gated == "manual"
    with pytest.raises(GatedRepo, match=r"accept its conditions.*access token"):
        Downloader(client, tmp_path).download("acme/Gated-GGUF", details.files[0], details.commit)
    assert not list(tmp_path.rglob("*.gguf"))


def test_offline_mode_is_said_not_waited_for(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from huggingface_hub import constants

    from app.core.hub.downloader import Downloader

    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo("acme/Tiny-GGUF")
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE is set"):
        client.search("tiny")
    with pytest.raises(HubUnreachable, match="HF_HUB_OFFLINE is set"):
        Downloader(client, tmp_path).download("acme/Tiny-GGUF", details.files[1], details.commit)
    assert not list(tmp_path.rglob("*.gguf*"))


def test_the_connectivity_check_goes_through_the_proxy(
    fake_hub: FakeHub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Behind a proxy the Hub's own host cannot be reached directly: the check asks
    through HTTP_PROXY, as downloads do, and NO_PROXY is honoured."""
    from fakehub.proxy import ForwardingProxy

    from app.core.hub.hub_client import HubUnreachable

    for name in ("NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    client = HubClient("http://hub.invalid", token=False)  # a name no DNS resolves
    with pytest.raises(HubUnreachable, match="unreachable"):
        client.probe("search")
    with ForwardingProxy(fake_hub.endpoint) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        client.probe("search")  # reachable, through the proxy
        assert proxy.seen == ["HEAD http://hub.invalid/"]
        monkeypatch.setenv("NO_PROXY", "hub.invalid")
        with pytest.raises(HubUnreachable):
            client.probe("search")
        assert len(proxy.seen) == 1
