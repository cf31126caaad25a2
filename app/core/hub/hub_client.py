"""The Hugging Face Hub, through the official `huggingface_hub` client.

Search GGUF repositories, list a repository's files with sizes and LFS sha256, read the
Hub's license and popularity, and keep an access token where the client keeps it. Every
failure becomes one `HubError` subclass with a sentence a user can act on: the client
raises its own `HfHubHTTPError` family for HTTP replies and raw httpx errors for transport
failures.
"""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from urllib.parse import quote

import httpx2
from huggingface_hub import HfApi, constants, get_token
from huggingface_hub.errors import (
    EntryNotFoundError,
    GatedRepoError,
    HfHubHTTPError,
    HFValidationError,
    OfflineModeIsEnabled,
    RepositoryNotFoundError,
    RevisionNotFoundError,
)

# Public (documented as huggingface_hub.utils.build_hf_headers); the package re-exports it
# without `as`, which mypy does not count as an export.
from huggingface_hub.utils import build_hf_headers  # type: ignore[attr-defined]

from app.core.errors import PlaygroundError
from app.core.gguf.quant_files import HubFile

SortKey = Literal["downloads", "likes", "updated"]
SORT_FIELDS: dict[SortKey, str] = {
    "downloads": "downloads",
    "likes": "likes",
    "updated": "last_modified",
}
SEARCH_FIELDS = ["author", "downloads", "likes", "lastModified", "gated", "pipeline_tag", "tags"]


def network_reason(exc: BaseException) -> str:
    """Why a connection failed, in words (not "gaierror" or "ConnectError")."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return "its name does not resolve: no network, or no DNS"
        if isinstance(seen, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(seen, TimeoutError | socket.timeout):
            return "no answer in time"
        if isinstance(seen, ssl.SSLError):
            return "a secure connection could not be made"
        seen = seen.__cause__ or seen.__context__
    text = str(exc).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "resolve" in text:
        return "its name does not resolve: no network, or no DNS"
    if "refused" in text:
        return "the connection was refused"
    if "timed out" in text or "timeout" in text:
        return "no answer in time"
    return "no connection"


class HubError(PlaygroundError):
    """The Hub could not answer; the message says why and what to do."""


class RepoNotFound(HubError):
    pass


class GatedRepo(HubError):
    pass


class FileNotOnHub(HubError):
    pass


class RateLimited(HubError):
    pass


class HubServerError(HubError):
    pass


class MalformedAnswer(HubError):
    """The Hub (or a mirror) answered, but not in the shape its API has."""


class HubUnreachable(HubError):
    pass


class InvalidToken(HubError):
    pass


@dataclass(frozen=True)
class HubModel:
    """A search result, with the columns the Hub's own list shows."""

    repo_id: str
    author: str
    downloads: int
    likes: int
    last_modified: datetime | None
    gated: str | None  # None, "auto" or "manual"
    pipeline_tag: str | None = None
    license: str | None = None  # the Hub's licence id, from the "license:" tag

    @property
    def name(self) -> str:
        return self.repo_id.split("/", 1)[-1]


@dataclass(frozen=True)
class RepoDetails:
    repo_id: str
    commit: str
    files: list[HubFile] = field(default_factory=list)
    license: str | None = None
    downloads: int = 0
    likes: int = 0
    last_modified: datetime | None = None
    gated: str | None = None
    pipeline_tag: str | None = None


def _gated(value: Any) -> str | None:
    if value in (None, False, "false", "False"):
        return None
    return str(value) if isinstance(value, str) else "auto"


def _license(info: Any) -> str | None:
    card = getattr(info, "card_data", None)
    value = getattr(card, "license", None) if card is not None else None
    if value:
        return str(value)
    for tag in getattr(info, "tags", None) or []:
        if isinstance(tag, str) and tag.startswith("license:"):
            return tag.removeprefix("license:")
    return None


def _text(value: Any, field_name: str) -> str:
    if not isinstance(value, str) or not value:
        raise ValueError(f"'{field_name}' is {value!r}, not a name")
    return value


def _count(value: Any) -> int:
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"a count is {value!r}")
    return value


def _hub_file(sibling: Any) -> HubFile:
    """One file of a repository, checked: a name, a size of 0 or more, a sha256 or none."""
    lfs = sibling.lfs
    size = _count(lfs.size if lfs is not None else sibling.size)
    sha = lfs.sha256 if lfs is not None else None
    if sha is not None and not (isinstance(sha, str) and len(sha) == 64):
        raise ValueError(f"the sha256 of {sibling.rfilename!r} is {sha!r}")
    return HubFile(path=_text(sibling.rfilename, "rfilename"), size=size, sha256=sha)


class HubClient:
    """One Hub endpoint (HF_ENDPOINT or huggingface.co) and the token the client finds."""

    def __init__(self, endpoint: str | None = None, token: str | bool | None = None) -> None:
        self.endpoint = (endpoint or constants.ENDPOINT).rstrip("/")
        self._token = token
        self._api = HfApi(endpoint=self.endpoint, token=token)

    # ---- errors ---------------------------------------------------------------------
    @contextlib.contextmanager
    def errors(self, what: str, repo_id: str | None = None) -> Iterator[None]:
        """Turn the client's exceptions into a HubError that says what to do."""
        try:
            yield
        except GatedRepoError as exc:  # a subclass of RepositoryNotFoundError: first
            raise GatedRepo(self.gated_message(repo_id or "this repository")) from exc
        except RevisionNotFoundError as exc:
            raise RepoNotFound(f"{repo_id}: that revision does not exist on the Hub") from exc
        except RepositoryNotFoundError as exc:
            raise RepoNotFound(
                f"{repo_id}: no such model repository on the Hub (or it is private)"
            ) from exc
        except OfflineModeIsEnabled as exc:
            raise HubUnreachable(
                f"{what}: HF_HUB_OFFLINE is set, so the Hub is not asked; the library and "
                "downloaded models work offline (unset HF_HUB_OFFLINE to search and download)"
            ) from exc
        except HFValidationError as exc:
            raise RepoNotFound(f"{repo_id}: not a valid repository id (owner/name)") from exc
        except EntryNotFoundError as exc:
            raise FileNotOnHub(f"{what}: the file is not in {repo_id}") from exc
        except HfHubHTTPError as exc:
            raise self.status_error(what, exc.response) from exc
        except httpx2.HTTPError as exc:
            raise self.unreachable(what, exc) from exc
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            # HFValidationError (a ValueError) is handled above; the rest is an answer of
            # the wrong shape (a mirror or proxy that speaks another dialect).
            raise MalformedAnswer(
                f"{what}: the Hub at {self.endpoint} answered something this app does not "
                f"understand ({type(exc).__name__}: {exc})"
            ) from exc

    def gated_message(self, repo_id: str) -> str:
        return (
            f"{repo_id} is gated: accept its conditions at {self.endpoint}/{repo_id} while "
            "logged in, then give the app an access token (Models → Hub token)"
        )

    def status_error(self, what: str, response: Any) -> HubError:
        status = int(getattr(response, "status_code", 0) or 0)
        if status == 429:
            retry = (getattr(response, "headers", None) or {}).get("Retry-After")
            wait = f"; retry after {retry} s" if retry else "; wait a minute and retry"
            return RateLimited(f"{what}: the Hub is rate-limiting requests{wait}")
        if status == 401:
            return InvalidToken(f"{what}: the Hub refused the access token (401)")
        if status >= 500:
            return HubServerError(f"{what}: the Hub had a server error ({status}); retry later")
        return HubError(f"{what}: the Hub answered {status}")

    def unreachable(self, what: str, exc: BaseException) -> HubUnreachable:
        return HubUnreachable(
            f"{what}: the Hub at {self.endpoint} is unreachable ({network_reason(exc)}); "
            "the library and downloaded models still work offline"
        )

    def check_online(self, what: str) -> None:
        """HF_HUB_OFFLINE (or TRANSFORMERS_OFFLINE) set: say so instead of asking."""
        if constants.is_offline_mode():
            with self.errors(what):
                raise OfflineModeIsEnabled("HF_HUB_OFFLINE is set")

    def probe(self, what: str, timeout: float = 3.0) -> None:
        """Fail fast when the Hub cannot be reached at all.

        The client retries network errors with backoff for about 20 s; offline, a user
        should hear it at once. The probe is an HTTP request through the same client as
        the downloads, so HTTPS_PROXY, HTTP_PROXY and NO_PROXY count as they do there (a
        socket opened to the Hub's host would fail behind a proxy that downloads pass).
        Any answer, even an error page, means the Hub is reachable.
        """
        try:
            httpx2.head(self.endpoint, timeout=timeout, follow_redirects=False)
        except httpx2.HTTPError as exc:
            raise self.unreachable(what, exc) from exc

    # ---- queries ----------------------------------------------------------------------
    def search(
        self, text: str = "", sort: SortKey = "downloads", limit: int = 50
    ) -> list[HubModel]:
        """GGUF repositories matching `text`, most downloaded (or liked, or recent) first."""
        self.check_online("search")
        self.probe("search")
        with self.errors("search"):
            found = self._api.list_models(
                filter="gguf",
                search=text.strip() or None,
                sort=SORT_FIELDS[sort],  # type: ignore[arg-type]
                limit=limit,
                expand=SEARCH_FIELDS,  # type: ignore[arg-type]
            )
            return [
                HubModel(
                    repo_id=_text(m.id, "id"),
                    author=m.author or _text(m.id, "id").split("/", 1)[0],
                    downloads=_count(m.downloads),
                    likes=_count(m.likes),
                    last_modified=m.last_modified,
                    gated=_gated(m.gated),
                    pipeline_tag=m.pipeline_tag,
                    license=_license(m),
                )
                for m in found
            ]

    def repo(self, repo_id: str, revision: str | None = None) -> RepoDetails:
        """A repository's files (size, LFS sha256) and the Hub's facts about it."""
        self.check_online(repo_id)
        self.probe(repo_id)
        with self.errors(repo_id, repo_id):
            info = self._api.model_info(repo_id, revision=revision, files_metadata=True)
            files = [_hub_file(s) for s in info.siblings or []]
            return RepoDetails(
                repo_id=_text(info.id, "id"),
                commit=info.sha or (revision or "main"),
                files=files,
                license=_license(info),
                downloads=_count(info.downloads),
                likes=_count(info.likes),
                last_modified=info.last_modified,
                gated=_gated(info.gated),
                pipeline_tag=info.pipeline_tag,
            )

    def resolve_url(self, repo_id: str, filename: str, revision: str) -> str:
        return (
            f"{self.endpoint}/{repo_id}/resolve/{quote(revision, safe='')}/"
            f"{quote(filename, safe='/')}"
        )

    def headers(self) -> dict[str, str]:
        """Authorization (when a token is known) and the client's user agent."""
        return dict(build_hf_headers(token=self._token, library_name="llm-playground"))

    # ---- token ------------------------------------------------------------------------
    def save_token(self, token: str) -> str:
        """Check the token with the Hub, then keep it where huggingface_hub keeps tokens.

        Returns the user name. The token never goes into the app's own files.
        """
        token = token.strip()
        if not token:
            raise InvalidToken("the access token is empty")
        with self.errors("token check"):
            try:
                info = self._api.whoami(token=token)
            except HfHubHTTPError as exc:
                if getattr(exc.response, "status_code", 0) in (401, 403):
                    raise InvalidToken("the Hub does not accept this access token") from exc
                raise
        name = str(info.get("name") or "user")
        _store_token(token)
        self._token = token
        self._api = HfApi(endpoint=self.endpoint, token=token)
        return name


def _store_token(token: str) -> None:
    """Where the client reads its active token (`HF_TOKEN_PATH`, as `hf auth login` writes
    it; `get_token` finds it there). `login()` itself would check the token against the
    default endpoint, not the one this client talks to, so the check is done above."""
    path = constants.HF_TOKEN_PATH
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(token)
    except OSError as exc:
        raise HubError(
            f"the token is valid but could not be kept in {path} ({exc.strerror or exc})"
        ) from exc


def known_token() -> bool:
    """Whether the client has a token (HF_TOKEN or a stored login); never returns it."""
    return bool(get_token())


DEFAULT_DOWNLOAD_TIMEOUT = 30.0


def download_timeout() -> float:
    """Seconds a download waits for the next bytes: HF_HUB_DOWNLOAD_TIMEOUT when set to a
    positive number (the Hub client's own setting, read when asked), else 30."""
    try:
        value = float(os.environ.get("HF_HUB_DOWNLOAD_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_DOWNLOAD_TIMEOUT
    return value if value > 0 and value == value else DEFAULT_DOWNLOAD_TIMEOUT
