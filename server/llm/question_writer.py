"""Training queries for `ragate tune --synthesize`: Claude writes, for a passage of the user's own
corpus, one question that the passage answers. Users rarely have labels; their passages are
enough to start from."""

from __future__ import annotations

from ragate.retrieval.errors import ConfigError
from ragate.server.config import LlmSettings
from ragate.server.llm.answer_writer import llm_client

SYSTEM = (
    "You write search queries for training a retrieval model. Given a passage, write one question a "
    "user might ask that this passage answers. Reply with the question only, on one line."
)


class QuestionWriter:
    def __init__(self, settings: LlmSettings):
        self.client = llm_client(settings)
        if self.client is None:
            raise ConfigError(f'--synthesize needs Claude: set [llm] provider = "anthropic" and the API key in ${settings.api_key_env}')
        self.settings = settings

    def question(self, passage: str) -> str | None:
        """The question, or None when the model gave none (the passage is then left out)."""
        msg = self.client.messages.create(
            model=self.settings.model,
            max_tokens=200,
            system=SYSTEM,
            messages=[{"role": "user", "content": f"Passage:\n\n{passage}"}],
        )
        text = " ".join("".join(getattr(b, "text", "") for b in msg.content).split())
        return text or None
