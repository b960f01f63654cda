"""The one configuration object: every ``VERINFER_*`` environment variable, typed and defaulted.

Usage::

    from verinfer.settings import get_settings
    data = get_settings().data_dir
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

REPO_ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = REPO_ROOT / "tools" / "node_modules"


class Settings(BaseSettings):
    """verinfer's settings; CLI flags of the same name override them."""

    model_config = SettingsConfigDict(env_prefix="VERINFER_", extra="ignore")

    data_dir: Path = Field(default=REPO_ROOT / ".verinfer")
    srs_dir: Path | None = Field(
        default=None,
        description="Folder of ceremony SRS files (kzg{k}.srs). Unset: a generated dev SRS.",
    )
    srs_sha256: str | None = Field(
        default=None, description="Comma-separated k=sha256 pairs the ceremony SRS must match."
    )
    rpc_url: str | None = Field(
        default=None, validation_alias=AliasChoices("ETH_RPC_URL", "VERINFER_RPC_URL")
    )
    private_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("ETH_PRIVATE_KEY", "VERINFER_PRIVATE_KEY")
    )
    keystore: Path | None = Field(
        default=None, validation_alias=AliasChoices("ETH_KEYSTORE", "VERINFER_KEYSTORE")
    )
    database_url: str | None = Field(
        default=None, description="SQLAlchemy URL; default: SQLite file in the data dir."
    )
    host: str = "127.0.0.1"
    port: int = 8000
    anvil_bin: Path = TOOLS_DIR / "@foundry-rs" / "anvil-linux-amd64" / "bin" / "anvil"
    solcjs_dir: Path = TOOLS_DIR / "solc"
    node_bin: str = "node"
    threads: int | None = Field(default=None, description="Executor threads (default: all).")

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
