"""Optional: Claude writes an answer from the passages that passed the gate, citing chunk ids.

Only passing passages are sent. Any failure (no key, timeout, 5xx) yields None and a note; the
caller then returns the passages alone, never an error."""

from __future__ import annotations

import os

from ragate.server.config import LlmSettings
from ragate.server.schemas import SearchResult

SYSTEM = (
    "Answer the user's question using only the numbered passages provided. Cite every claim with the "
    "passage's id in square brackets, e.g. [3f2a...]. If the passages do not contain the answer, say so."
)


def llm_client(settings: LlmSettings):
    """The Anthropic client the [llm] settings describe; None without provider "anthropic" and a key."""
    key = os.environ.get(settings.api_key_env, "")
    if settings.provider != "anthropic" or not key:
        return None
    import anthropic

    kwargs = {"api_key": key, "timeout": settings.timeout_s, "max_retries": 1}
    if settings.base_url:
        kwargs["base_url"] = settings.base_url
    return anthropic.Anthropic(**kwargs)


class AnswerWriter:
    def __init__(self, settings: LlmSettings, client):
        self.client = client
        self.settings = settings

    @classmethod
    def from_settings(cls, settings: LlmSettings) -> AnswerWriter | None:
        client = llm_client(settings)
        return None if client is None else cls(settings, client)

    def write(self, question: str, passages: list[SearchResult]) -> tuple[str | None, str | None]:
        """(answer, None) on success; (None, note) when the model could not be used."""
        import anthropic

        context = "\n\n".join(f"[{p.chunk_id}] {p.title}\n{p.text}" for p in passages)
        try:
            msg = self.client.messages.create(
                model=self.settings.model,
                max_tokens=self.settings.max_tokens,
                system=SYSTEM,
                messages=[{"role": "user", "content": f"Passages:\n\n{context}\n\nQuestion: {question}"}],
            )
        except anthropic.APITimeoutError:
            return None, f"answer not written: the LLM did not reply within {self.settings.timeout_s:g}s; passages returned as context"
        except anthropic.APIStatusError as e:
            return None, f"answer not written: the LLM returned HTTP {e.status_code}; passages returned as context"
        except anthropic.APIError as e:
            return None, f"answer not written: {type(e).__name__}; passages returned as context"
        text = "".join(getattr(b, "text", "") for b in msg.content).strip()
        return (text or None), (None if text else "answer not written: the LLM returned no text")
