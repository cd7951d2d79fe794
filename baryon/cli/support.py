"""``baryon support``: ask the customer-service assistant from the terminal.

Commands::

    baryon support ask "TEXT" [--conversation-id ID] [--json]

``ask`` answers with the workspace's ``support-intent`` champion directly (no server,
not metered): the intent, its confidence and the answer, or the hand-off to a human
with its reason (``out_of_scope``, ``low_confidence``, ``no_answer``). A hand-off is
queued for an agent and for labeling like one made through the API. Train the model
first with ``baryon demo`` (or ``SupportPipeline(ws).run()`` in Python).
"""

from __future__ import annotations

from typing import Annotated

import typer

from baryon.cli._common import console, get_workspace, print_json

__all__ = ["app"]

app = typer.Typer(no_args_is_help=True, help="Customer-service assistant.")


@app.command("ask")
def ask_cmd(
    ctx: typer.Context,
    text: Annotated[str, typer.Argument(help="The customer's message.")],
    conversation_id: Annotated[
        str | None,
        typer.Option("--conversation-id", help="Groups the turns of one conversation."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Answer one message: intent and answer, or a hand-off to a human."""
    from baryon.solutions.support.service import SupportService

    reply = SupportService(get_workspace(ctx)).answer(text, conversation_id=conversation_id)
    if as_json:
        print_json(reply)
        return
    guess = f"{reply['intent']} (confidence {reply['confidence']:.2f})"
    if reply["handoff"]:
        console.print(
            f"[bold]handed off to a human[/bold] ({reply['handoff_reason']}); best guess {guess}"
        )
    else:
        console.print(f"[bold]intent[/bold] {guess}")
    console.print(reply["answer"], markup=False, highlight=False, soft_wrap=True)
    console.print(
        f"[dim]{reply['model']} v{reply['model_version']} · {reply['prediction_id']}[/dim]"
    )
