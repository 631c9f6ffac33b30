"""Tables of the KPI read model: what the KPIs need of each case, kept current by case version."""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from engine.store.database import Base


class KpiCase(Base):
    """What the KPIs read of one case, as of the case version it was computed from (a read model).

    Rebuilt per case by ``processes.kpis.facts.refresh`` whenever the case's ``lock_version`` moved on,
    so the dashboard aggregates narrow rows instead of replaying the audit log.
    """

    __tablename__ = "kpi_case"

    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), primary_key=True)
    seen_version: Mapped[int] = mapped_column(Integer)
    process_key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    #: Company-time month (YYYY-MM) the case completed in; None while it has not.
    ended_month: Mapped[str | None] = mapped_column(String(7))
    technician: Mapped[str | None] = mapped_column(String(64))
    department: Mapped[str | None] = mapped_column(String(128))
    breached: Mapped[bool] = mapped_column(Boolean)
    closure_breached: Mapped[bool] = mapped_column(Boolean)
    #: A repair that started a linked complaint.
    complained: Mapped[bool] = mapped_column(Boolean)


class KpiFollowUp(Base):
    """One follow-up card of a repair (4 criteria, each satisfied or not, None if not rated)."""

    __tablename__ = "kpi_follow_up"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("kpi_case.instance_id"), index=True)
    month: Mapped[str] = mapped_column(String(7))
    rating_attitude: Mapped[bool | None] = mapped_column(Boolean)
    rating_technique: Mapped[bool | None] = mapped_column(Boolean)
    rating_arrival_time: Mapped[bool | None] = mapped_column(Boolean)
    rating_promises: Mapped[bool | None] = mapped_column(Boolean)


class KpiState(Base):
    """The KPI read model's single bookkeeping row: the timezone its months are counted in."""

    __tablename__ = "kpi_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    timezone: Mapped[str] = mapped_column(String(64))
