"""How big the MLflow server is, and what it costs while nobody uses it: sizing profiles.

Two profiles ship, and any field can be changed with :func:`dataclasses.replace`:

``MlflowSizing.SMALL_TEAM`` (the default)
    A ``t4g.medium`` server (Graviton, 2 burstable vCPUs, 4 GiB) and Aurora PostgreSQL
    Serverless v2 from 0 to 4 ACUs, which pauses after 5 minutes without connections and
    then bills no compute. Storage is Aurora's cluster volume: six copies across three
    Availability Zones whatever the number of instances, with the same automated backups,
    deletion protection and final snapshot as the provisioned profile. Trade-offs:

    - the first request after a pause waits while the database resumes (about 15 seconds;
      longer after a pause of more than a day), and clients should allow for it;
    - the server closes database connections after every request (SQLAlchemy ``NullPool``)
      and does not run MLflow's periodic server jobs (GenAI online scoring and trace
      archival schedulers), which query the database every minute and would keep it awake
      (both are MLflow settings the default ``mlflow_version`` reads; another version must
      honour them too, or the database never pauses and bills at least 0.5 ACU around the
      clock, about $44 a month in us-east-1);
    - a single writer: if its zone fails, Aurora starts a new writer in another zone
      (minutes, not the seconds of a standby failover); ``multi_az=True`` adds a reader in a
      second zone that pauses and resumes with the writer;
    - a burstable server earns CPU credits while idle and spends them under load; sustained
      load above the baseline bills surplus credits (T4g unlimited mode).

``MlflowSizing.PRODUCTION``
    The profile before sizing existed: an ``m7g.large`` server (2 vCPUs, 8 GiB) and
    PostgreSQL on a provisioned ``db.t4g.medium`` RDS instance with a Multi-AZ standby and
    20 GiB of gp3 storage that grows automatically. Always on: no cold start, and a
    standby failover in about a minute, at several times the idle cost.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from mlpipes_constructs.mlflow._props import (
    DEFAULT_DATABASE_INSTANCE_TYPE,
    DEFAULT_INSTANCE_TYPE,
    PRODUCTION_INSTANCE_TYPE,
)

#: Aurora Serverless v2 capacity is set in half-ACU steps from 0 to 256.
MAX_SERVERLESS_CAPACITY = 256
#: Aurora waits from 5 minutes to a day without connections before it pauses an instance.
MIN_AUTO_PAUSE_SECONDS = 300
MAX_AUTO_PAUSE_SECONDS = 86400


@dataclass(frozen=True)
class ServerlessDatabase:
    """Aurora PostgreSQL Serverless v2: compute that scales with load and pauses when idle.

    Args:
        min_capacity: the fewest Aurora capacity units (ACUs, about 2 GiB of memory each) the
            writer runs with; 0 lets it pause when it has no connections, and bills no
            compute while paused. Half-ACU steps. Default: 0.
        max_capacity: the most ACUs the writer scales to under load. Half-ACU steps, at most
            256. Default: 4 (about 8 GiB of memory).
        auto_pause_seconds: how long the writer must have no connections before it pauses,
            300 (5 minutes) to 86400 (a day); only used when ``min_capacity`` is 0.
            Default: 300.
    """

    min_capacity: float = 0
    max_capacity: float = 4
    auto_pause_seconds: int = MIN_AUTO_PAUSE_SECONDS

    @property
    def auto_pauses(self) -> bool:
        """Whether the database pauses when idle (``min_capacity`` 0)."""
        return self.min_capacity == 0

    def problems(self, prop: str) -> list[str]:
        """What is wrong with these values, each message naming ``prop``'s field."""
        found: list[str] = []
        for name, value in (
            ("min_capacity", self.min_capacity),
            ("max_capacity", self.max_capacity),
        ):
            if not 0 <= value <= MAX_SERVERLESS_CAPACITY or (value * 2) % 1 != 0:
                found.append(
                    f"{prop}.{name} {value:g} must be from 0 to {MAX_SERVERLESS_CAPACITY} ACUs "
                    "in steps of 0.5"
                )
        if self.max_capacity < max(self.min_capacity, 1):
            found.append(
                f"{prop}.max_capacity {self.max_capacity:g} must be at least 1 ACU and at least "
                f"min_capacity ({self.min_capacity:g})"
            )
        if not MIN_AUTO_PAUSE_SECONDS <= self.auto_pause_seconds <= MAX_AUTO_PAUSE_SECONDS:
            found.append(
                f"{prop}.auto_pause_seconds {self.auto_pause_seconds} must be from "
                f"{MIN_AUTO_PAUSE_SECONDS} (5 minutes) to {MAX_AUTO_PAUSE_SECONDS} (a day)"
            )
        return found


@dataclass(frozen=True)
class ProvisionedDatabase:
    """PostgreSQL on a provisioned RDS instance: always on, billed by the hour.

    Args:
        instance_type: the RDS instance class, with or without ``db.``. Default:
            ``"t4g.medium"``.
        allocated_storage: initial gp3 storage in GiB, 20 to 16384; storage grows
            automatically up to 5 times this, at most 64 TiB. Default: 20.
        multi_az: keep a synchronous standby in a second zone. Default: True.
    """

    instance_type: str = DEFAULT_DATABASE_INSTANCE_TYPE
    allocated_storage: int = 20
    multi_az: bool = True


@dataclass(frozen=True)
class MlflowSizing:
    """The server's instance and database, as one choice (see the module's profiles).

    Args:
        instance_type: EC2 instance type of the server.
        workers: server worker processes.
        database: the backend store: :class:`ServerlessDatabase` or
            :class:`ProvisionedDatabase`.
    """

    instance_type: str
    workers: int
    database: ServerlessDatabase | ProvisionedDatabase

    #: Idle-cheap: t4g.medium and Aurora Serverless v2 that pauses (the default).
    SMALL_TEAM: ClassVar[MlflowSizing]
    #: Always on: m7g.large and a provisioned Multi-AZ RDS instance.
    PRODUCTION: ClassVar[MlflowSizing]

    @property
    def serverless(self) -> bool:
        """Whether the database is Aurora Serverless v2."""
        return isinstance(self.database, ServerlessDatabase)


MlflowSizing.SMALL_TEAM = MlflowSizing(
    instance_type=DEFAULT_INSTANCE_TYPE, workers=2, database=ServerlessDatabase()
)
MlflowSizing.PRODUCTION = MlflowSizing(
    instance_type=PRODUCTION_INSTANCE_TYPE, workers=4, database=ProvisionedDatabase()
)
