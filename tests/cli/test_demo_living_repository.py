"""The living repository in the real `facilitator demo` process, scripted through standard
input: a question nobody could answer, an answer in reply (`^`), `^ /save`, the approval from
the moderators' notice, the asker's private answer, a paraphrase answered, /gaps empty."""

from __future__ import annotations

from pathlib import Path

from tests.cli.test_console_session import run_demo

SCRIPT = [
    "/as ana",  # a coordinator in the demo data
    "/nudges set quiet_hours off",  # the story must not wait for the morning
    "/as mia",
    "how do we budget travel for field visits to remote municipalities?",
    "/as tom",
    "^ We budget a fixed daily allowance per person and book transport three weeks ahead.",
    "/as bruno",  # a moderator
    "^ /save",
    "/as ana",
    "/press 1",  # "Approve" in the notice the moderators got
    "/as zed",
    "how should we budget travel for field visits to remote towns?",
    "/as ana",
    "/gaps",
]


def test_the_demo_tells_the_whole_story(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "\n".join(SCRIPT) + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    unknown = out.index("bot (to the group)> I don't know that one yet.")
    offered = out.index(
        "bot (privately to bruno)> Uma pergunta em aberto recebeu resposta.", unknown
    )
    saved = out.index("bot (to the group)> Salva como rascunho para o repositório (#", offered)
    told_tom = out.index("bot (privately to tom)> Your answer was saved", saved)
    notice = out.index("bot (privately to ana)> 1 propuesta nueva para el repositorio:", told_tom)
    approved = out.index("bot (to the group)> Aprobado y publicado: #", notice)
    decided = out.index("bot (privately to tom)> Good news: your contribution", approved)
    answered = out.index("bot (privately to mia)> Your question has an answer.", decided)
    assert "fixed daily allowance" in out[answered : answered + 600]
    assert "privately to bruno)> Boa notícia" not in out  # he saved it; it is Tom's
    paraphrase = out.index("(now speaking as zed)", answered)
    assert "fixed daily allowance" in out[paraphrase : paraphrase + 400]
    last_lines = out.rstrip().splitlines()[-2:]
    assert last_lines[0].endswith("No hubo preguntas sin respuesta en los últimos 30 días.")
    assert last_lines[1] == "(demo closed: goodbye!)"  # the end of the input ends the demo
    assert "Traceback" not in out + result.stderr
