"""The README's first command, scripted: the real `facilitator demo` process on piped stdin."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.support import run_cli

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
    english_help = out.index("bot> What you can do here (your role: member)")
    switched = out.index("bot> Listo: te hablaré en español.")
    spanish_help = out.index("bot> Lo que puedes hacer aquí (tu rol: miembro)")
    assert english_help < switched < spanish_help
    assert "/members" not in out[english_help:switched]
    assert (
        "bot (only you)> Lo siento, /members requiere el rol de moderación o uno superior," in out
    )
    assert "bot (only you)> No conozco el comando /hepl. ¿Quisiste decir /help?" in out
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
