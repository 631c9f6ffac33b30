"""The records commands on a real database: documents verify, the archive bundle and its stdlib verifier, retention."""

from __future__ import annotations

import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner
from sqlalchemy import select, text

from engine import clock
from engine.accounts.users import Actor
from engine.records.models import IssuedDocument
from engine.runtime.collaboration import Collaboration
from engine.store.models import ProcessInstance, Task
from tests.conftest import COMPLAINT_RECEIVED, ROOT
from web.cli import main as cli_main
from web.documents import documents_service
from web.engine_setup import open_engine

VERIFIER = ROOT / "scripts" / "archive-verify.py"
SALES = Actor("sales1", frozenset({"sales"}))
Invoke = Callable[..., click.testing.Result]


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("AFTERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'afterflow.db'}")
    monkeypatch.setenv("SECRET_KEY", "records-cli-secret")

    def invoke(*args: str, input: str | None = None) -> click.testing.Result:
        return CliRunner().invoke(cli_main, list(args), input=input)

    assert invoke("setup-demo").exit_code == 0
    return invoke


def complaint_with_records(invoke: Invoke) -> tuple[str, int]:
    """A complaint with its internal form issued twice and a photo attached."""
    started = invoke("start", "complaint", "--as", "sales1", "--data", json.dumps(COMPLAINT_RECEIVED))
    assert started.exit_code == 0, started.output
    number = started.output.split()[0]
    engine = open_engine()
    with engine.sessions() as session:
        instance_id = session.scalar(
            select(ProcessInstance.id).where(ProcessInstance.business_number == number)
        )
        task_id = session.scalar(select(Task.id).where(Task.instance_id == instance_id))
    assert instance_id is not None and task_id is not None
    documents = documents_service(engine)
    documents.issue(instance_id, "complaint_form", SALES)
    documents.issue(instance_id, "complaint_form", SALES)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    Collaboration(engine).add_attachment(instance_id, task_id, "现场照片.png", png, SALES)
    return number, instance_id


def verify(bundle: Path) -> subprocess.CompletedProcess[str]:
    # -I -S: no site-packages, no environment — the standard library only, as an inspector has it.
    return subprocess.run(
        [sys.executable, "-I", "-S", str(VERIFIER), str(bundle)], capture_output=True, text=True, timeout=60
    )


def rewritten(bundle: Path, out: Path, change: Callable[[str, bytes], bytes]) -> Path:
    with zipfile.ZipFile(bundle) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            target.writestr(info, change(info.filename, source.read(info.filename)))
    return out


def flip_one_byte(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def test_the_archive_bundle_verifies_with_the_stdlib_script_and_fails_after_one_changed_byte(
    cli: Invoke, tmp_path: Path
) -> None:
    number, _ = complaint_with_records(cli)
    bundle = tmp_path / f"{number}.zip"
    exported = cli("archive", "export", "--case", number, str(bundle))
    assert exported.exit_code == 0, exported.output
    assert "2 document(s), 1 attachment(s)" in exported.output
    with zipfile.ZipFile(bundle) as zipped:
        names = set(zipped.namelist())
        record = json.loads(zipped.read("record.json"))
        events = json.loads(zipped.read("events.json"))
        manifest = json.loads(zipped.read("manifest.json"))
    assert {"README.txt", "record.json", "events.json", "manifest.json", "manifest.sha256"} <= names
    assert len([n for n in names if n.startswith("documents/") and n.endswith(".pdf")]) == 2
    assert any(n.startswith("attachments/") for n in names)
    assert record["case"]["business_number"] == number
    assert record["data"]["complaint_text"] == COMPLAINT_RECEIVED["complaint_text"]
    assert [e["action"] for e in events].count("document_issued") == 2
    assert set(manifest["files"]) == names - {"manifest.json", "manifest.sha256"}

    checked = verify(bundle)
    assert (checked.returncode, checked.stdout.strip()) == (0, "OK"), checked.stdout + checked.stderr

    pdf = next(n for n in names if n.startswith("documents/"))
    one_byte = rewritten(bundle, tmp_path / "pdf.zip", lambda n, d: flip_one_byte(d, 200) if n == pdf else d)
    failed = verify(one_byte)
    assert failed.returncode == 1 and pdf in failed.stdout
    in_record = rewritten(
        bundle, tmp_path / "record.zip", lambda n, d: flip_one_byte(d, 10) if n == "record.json" else d
    )
    assert verify(in_record).returncode == 1
    in_manifest = rewritten(
        bundle, tmp_path / "manifest.zip", lambda n, d: flip_one_byte(d, 30) if n == "manifest.json" else d
    )
    assert verify(in_manifest).returncode == 1
    raw = bundle.read_bytes()
    damaged = tmp_path / "raw.zip"
    damaged.write_bytes(flip_one_byte(raw, len(raw) // 3))
    assert verify(damaged).returncode == 1
    extra = rewritten(bundle, tmp_path / "extra.zip", lambda n, d: d)
    with zipfile.ZipFile(extra, "a") as zipped:
        zipped.writestr("documents/slipped-in.pdf", b"%PDF-1.4")
    assert "not in the manifest" in verify(extra).stdout


def test_documents_verify_exits_one_naming_a_document_changed_or_deleted_in_the_database(cli: Invoke) -> None:
    number, instance_id = complaint_with_records(cli)
    ok = cli("documents", "verify")
    assert ok.exit_code == 0 and "2 issued documents verified" in ok.output
    engine = open_engine()
    with engine.writer.begin() as session:
        first = session.scalar(select(IssuedDocument).where(IssuedDocument.instance_id == instance_id))
        assert first is not None
        session.execute(
            text("UPDATE issued_document SET content = :c WHERE id = :i"),
            {"c": first.content + b"\n", "i": first.id},
        )
        changed = first.number
    bad = cli("documents", "verify")
    assert bad.exit_code == 1 and changed in bad.output and number in bad.output
    audit = cli("audit", "verify")
    assert audit.exit_code == 1 and f"document {changed}" in audit.output and "altered" in audit.output
    with engine.writer.begin() as session:
        second = session.scalar(
            select(IssuedDocument.number).where(
                IssuedDocument.instance_id == instance_id, IssuedDocument.version == 2
            )
        )
        session.execute(text("DELETE FROM issued_document WHERE number = :n"), {"n": second})
    gone = cli("documents", "verify", "--case", number)
    assert gone.exit_code == 1 and f"issued document {second} of {number} was deleted" in gone.output


def test_retention_commands_hold_release_and_purge_with_a_verifying_tombstone(cli: Invoke) -> None:
    number, instance_id = complaint_with_records(cli)
    engine = open_engine()
    engine.terminate(instance_id, Actor("sup1", frozenset({"service_supervisor"})), "客户撤回")
    with engine.sessions() as session:
        ended = session.scalar(select(ProcessInstance.ended_at).where(ProcessInstance.id == instance_id))
    assert ended is not None
    clock.freeze(ended + timedelta(days=365 * 3))
    assert number not in cli("retention", "report").output
    assert "complaint\t5 years, 1 year(s) past expiry" in cli("retention", "policy").output
    refused = cli("retention", "purge", number, "--by", "admin", "--yes")
    assert refused.exit_code == 1 and "kept until" in refused.output

    clock.freeze(datetime(ended.year + 6, 1, 1, tzinfo=ended.tzinfo))
    assert number in cli("retention", "report").output
    assert cli("retention", "hold", number, "--reason", "诉讼保全", "--by", "qa1").exit_code == 0
    assert number not in cli("retention", "report").output
    held = cli("retention", "purge", number, "--by", "admin", "--yes")
    assert held.exit_code == 1 and "legal hold" in held.output
    assert cli("retention", "release", number, "--reason", "诉讼结束", "--by", "qa1").exit_code == 0
    purged = cli("retention", "purge", number, "--by", "admin", "--yes")
    assert purged.exit_code == 0, purged.output
    with engine.sessions() as session:
        assert session.get(ProcessInstance, instance_id) is None
    assert cli("retention", "verify").output.strip() == "1 tombstone(s) verified"
    nobody = cli("retention", "hold", number, "--reason", "x", "--by", "nobody")
    assert nobody.exit_code == 1 and "nobody" in nobody.output
