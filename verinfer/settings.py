"""The one configuration object: every ``VERINFER_*`` environment variable, typed and defaulted.

Usage::

    from verinfer.settings import get_settings
    data = get_settings().data_dir
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = REPO_ROOT / "tools" / "node_modules"


class Settings(BaseSettings):
    """verinfer's settings; CLI flags of the same name override them."""

    model_config = SettingsConfigDict(env_prefix="VERINFER_", extra="ignore")

    data_dir: Path = Field(
        default=REPO_ROOT / ".verinfer",
        description="Models, circuits, keys, dev SRS files and the default database live here.",
    )
    srs_dir: Path | None = Field(
        default=None,
        description="Folder of ceremony SRS files (kzg{k}.srs). Unset: a generated dev SRS.",
    )
    srs_sha256: str | None = Field(
        default=None, description="Comma-separated k=sha256 pairs the ceremony SRS must match."
    )
    rpc_url: str | None = Field(
        default=None,
        validation_alias=AliasChoices("ETH_RPC_URL", "VERINFER_RPC_URL"),
        description="JSON-RPC URL of the chain (--rpc-url; Foundry's ETH_RPC_URL).",
    )
    private_key: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("ETH_PRIVATE_KEY", "VERINFER_PRIVATE_KEY"),
        description="Signer key (--private-key; ETH_PRIVATE_KEY). Never printed or logged.",
    )
    keystore: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("ETH_KEYSTORE", "VERINFER_KEYSTORE"),
        description="Encrypted keystore file of the signer (--keystore; ETH_KEYSTORE).",
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir."
    )
    disputes_database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the dispute agents' store (claims, games, signed moves); "
        "default: VERINFER_DATABASE_URL, else SQLite <data dir>/disputes.db.",
    )
    production: bool = Field(
        default=False,
        description="Production mode: refuse a generated dev SRS and a VERINFER_SRS_DIR whose "
        "files are not pinned by VERINFER_SRS_SHA256 (whoever made an SRS can forge proofs).",
    )
    host: str = Field(default="127.0.0.1", description="Address the gateway binds (--host).")
    port: int = Field(default=8000, description="Port the gateway listens on (--port).")
    max_body_bytes: int = Field(
        default=4 << 20,
        gt=0,
        description="Largest request body the gateway reads; larger ones get 413 before parsing.",
    )
    max_queue: int = Field(
        default=256,
        gt=0,
        description="Proof jobs waiting at most; beyond it infer answers 503 with Retry-After "
        "(nothing is accepted that cannot be proven).",
    )
    retry_after_s: int = Field(
        default=2, gt=0, description="Seconds a client is told to wait (Retry-After) on 503."
    )
    max_inflight: int = Field(
        default=64,
        gt=0,
        description="Infer requests being read or predicted at once; beyond it infer answers 429 "
        "with Retry-After (bounds the memory that request bodies can take).",
    )
    workers: int = Field(
        default=1,
        gt=0,
        description="Worker processes that prove (and trace) jobs; one already uses every core.",
    )
    worker_nice: int = Field(
        default=10,
        ge=0,
        le=19,
        description="Niceness added to the worker processes, so the server's answers get the "
        "CPU before the proofs and traces running behind them (0: equal priority).",
    )
    worker_start_method: Literal["spawn", "forkserver"] = Field(
        default="spawn",
        description="How worker processes start (never fork: the server has threads running).",
    )
    job_attempts: int = Field(
        default=3,
        gt=0,
        description="Times a job is tried when its worker process dies under it (killed, out "
        "of memory) before it fails with the reason.",
    )
    task_timeout_s: float = Field(
        default=1800.0,
        gt=0,
        description="A proof or trace running longer than this is taken as hung: its worker "
        "is restarted and the job retried (VERINFER_JOB_ATTEMPTS in all, then failed).",
    )
    claim_batch_size: int = Field(
        default=1,
        ge=1,
        le=256,
        description="Optimistic claims of one model posted in one claimBatch (bond: count × "
        "min bond); 1 posts one claim per response. Batches cut gas per response (see "
        "docs/optimistic.md, Batched claims).",
    )
    claim_batch_wait_s: float = Field(
        default=30.0,
        gt=0,
        description="With VERINFER_CLAIM_BATCH_SIZE > 1: a batch that is not full is posted once "
        "its oldest response has waited this long (keep it well under the request deadline).",
    )
    self_request: bool = Field(
        default=True,
        description="With --rpc-url: an HTTP answer that names no paid request is requested on "
        "the provider's own account (its fee paid to itself, plus gas) so that its claim is "
        "public and can be challenged. False: such answers are only the gateway's word (their "
        "claim status says 'local'); paid requests are claimed either way.",
    )
    log_level: str = Field(
        default="INFO", description="Level of the gateway's JSON log lines on stderr."
    )
    store_busy_timeout_s: float = Field(
        default=10.0,
        gt=0,
        description="How long one store write waits for a lock held elsewhere (SQLite busy "
        "timeout) before it is retried.",
    )
    store_synchronous: Literal["full", "normal"] = Field(
        default="normal",
        description="SQLite fsync policy of the gateway's job and claim stores: 'normal' (WAL) "
        "keeps every acknowledged row through any crash of the process, kill -9 included, and "
        "saves an fsync per answer; a power cut may lose the last ones (a paid request is then "
        "found again on chain). 'full' also survives a power cut. The dispute store is always "
        "'full'. PostgreSQL ignores it (its synchronous_commit is the server's).",
    )
    store_retry_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a request keeps retrying a store write before answering 503; the "
        "proof worker retries until the write succeeds.",
    )
    anvil_bin: Path = Field(
        default=TOOLS_DIR / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil",
        description="The anvil binary (installed by the set-up from npm).",
    )
    solcjs_dir: Path = Field(
        default=TOOLS_DIR / "solc", description="The solc-js package (pinned, from npm)."
    )
    node_bin: str = Field(default="node", description="Node.js, which runs solc-js.")
    threads: int | None = Field(default=None, description="Executor threads (default: all).")
    zk_max_logrows: int = Field(
        default=18,
        gt=0,
        description="`models add --mode auto`: largest circuit (2**k rows) for zk.",
    )
    zk_max_pk_bytes: int = Field(
        default=1 << 30, gt=0, description="auto mode: largest estimated proving key for zk."
    )
    zk_max_prove_s: float = Field(
        default=60.0, gt=0, description="auto mode: longest estimated proof (seconds) for zk."
    )
    zk_max_memory_bytes: int = Field(
        default=8 << 30, gt=0, description="auto mode: largest estimated proving memory for zk."
    )

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def artifacts_dir(self) -> Path:
        return self.data_dir / "artifacts"

    @property
    def effective_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'verinfer.db'}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
