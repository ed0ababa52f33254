"""The README's first command, scripted: the real `facilitator demo` process on piped stdin."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml

from tests.cli.support import run_cli
from tests.conftest import REPO_ROOT

PRESS_USAGE = "(no buttons are shown yet: /press N presses the Nth button"


def run_demo(directory: Path, script: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli(directory, "demo", *args, database="demo.db", stdin=script)


def test_scripted_console_session_behaves_and_exits_at_end_of_input(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/help",
            "/lang es",
            "/help",
            "/members",  # moderator-only, tried by a member
            "/hepl",  # unknown: a suggestion
            "/lang klingon",  # malformed argument
            "/press ²",  # a digit that is not a number
            "/as bruno",  # a moderator in the demo data
            "/members",
        ]
    )
    result = run_demo(tmp_path, script + "\n")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    english_help = out.index("bot (to the group)> What you can do here (your role: member)")
    switched = out.index("bot (to the group)> Listo: te hablaré en español.")
    spanish_help = out.index("bot (to the group)> Lo que puedes hacer aquí (tu rol: miembro)")
    assert english_help < switched < spanish_help
    assert "/members" not in out[english_help:switched]
    only_guest = "bot (to the group, only guest sees it)> "
    assert only_guest + "Lo siento, /members requiere el rol de moderación o uno superior," in out
    assert only_guest + "No conozco el comando /hepl. ¿Quisiste decir /help?" in out
    assert (
        "«klingon» no es una opción válida aquí (idioma). Elige una de estas: en, es, pt." in out
    )
    assert "Uso: `/lang [en|es|pt]`" in out
    assert "(now speaking as bruno)" in out
    assert PRESS_USAGE in out
    # Bruno prefers Portuguese in the demo data, and as a moderator he sees the member list.
    assert "membros" in out and "Ana Morales: coordenação" in out
    log = (tmp_path / "var" / "facilitator.log").read_text("utf-8")
    assert "command refused for lack of role" in log
    assert "unknown command" in log
    assert "malformed arguments" in log
    assert "klingon" not in log  # message bodies are not logged


def test_demo_flags_choose_identity_and_role(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "/whoami\n/settings\n", "--as", "dora", "--role", "moderator")
    assert result.returncode == 0, result.stderr
    assert "(now speaking as dora, role moderator)" in result.stdout
    assert (
        "You are dora, with the moderator role in Knowledge Exchange Network (demo)."
        in result.stdout
    )
    assert "Time zone: America/Santiago" in result.stdout


def test_demo_refuses_an_unknown_role_flag(tmp_path: Path) -> None:
    result = run_demo(tmp_path, "", "--role", "emperor")
    assert result.returncode == 2
    assert "unknown role 'emperor'" in result.stderr


# Every line of the bot says where it goes: the group, the group but one person's eyes only,
# or privately to someone.
DESTINATION = re.compile(r"bot \((al grupo|al grupo, solo lo ve \w+|en privado a \w+)\)> ")


def test_a_spanish_session_shows_where_each_line_goes_and_what_time_brings(
    tmp_path: Path,
) -> None:
    spec = yaml.safe_load((REPO_ROOT / "data" / "demo" / "community.yaml").read_text("utf-8"))
    [ana] = [person for person in spec["members"] if person["name"] == "ana"]
    script = [
        "/as carla",
        "Hola a todos, ¿quién prepara la próxima reunión?",  # seen lately: the poll reminds her
        "/as ana",
        "/leaderboard semana",
        '/poll "¿Qué día nos reunimos?" "Martes" "Jueves" recordar cierra en 2d',
        "/esperar 1d",
        "/help",
        "/whois ana",
    ]
    result = run_demo(tmp_path, "\n".join(script) + "\n", "--lang", "es")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Traceback" not in out + result.stderr
    said = [line for line in out.splitlines() if line.startswith("bot")]
    assert said and all(DESTINATION.match(line) for line in said), said
    # `semana` is read as the week: the week's ranking, not the usage.
    ranking = out.index(
        "bot (al grupo)> Los más activos de los últimos 7 días\n",
        out.index("(ahora hablas como ana)"),
    )
    assert "1. Carla Rojas: " in out[ranking : out.index("📊")]
    assert "Uso:" not in out[: out.index("📊")]
    poll = out.index("bot (al grupo)> 📊 ¿Qué día nos reunimos?", ranking)
    reminder = out.index("la encuesta «¿Qué día nos reunimos?» cierra el", poll)
    assert "bot (al grupo)> Carla Rojas" in out[poll:reminder]
    assert re.search(r"\n— .+ \(America/Santiago\) —\n", out[poll:reminder])
    waited = out.index("(el reloj de la demostración marca ahora", reminder)
    helped = out.index("bot (al grupo)> Lo que puedes hacer aquí", waited)
    profile = out.index(f"bot (al grupo, solo lo ve ana)> {ana['display_name']}: ", helped)
    assert ana["organisation"] in out[profile:] and ana["expertise"][0] in out[profile:]
    assert out.rstrip().splitlines()[-1] == "(demostración cerrada: ¡hasta pronto!)"
