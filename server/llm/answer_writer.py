"""Optional: Claude writes an answer from the passages that passed the gate, citing chunk ids, and
([gate] llm_check) judges whether a borderline pool's passages suffice at all.

Only passing passages are sent. Any failure (no key, timeout, 5xx) yields None and a note; the
caller then returns the passages alone, never an error, and a failed check never blocks an answer."""

from __future__ import annotations

import os

from ragate.server.config import LlmSettings
from ragate.server.schemas import SearchResult

SYSTEM = (
    "Answer the user's question using only the numbered passages provided. Cite every claim with the "
    "passage's id in square brackets, e.g. [3f2a...]. If the passages do not contain the answer, say so."
)


SUFFICIENCY = (
    "Decide whether the numbered passages contain enough information to answer the user's question. "
    "Reply with exactly one word: SUFFICIENT or INSUFFICIENT."
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

    def _ask(self, system: str, question: str, passages: list[SearchResult], max_tokens: int) -> tuple[str | None, str | None]:
        """(text, None) on success; (None, what went wrong) when the model could not be used."""
        import anthropic

        context = "\n\n".join(f"[{p.chunk_id}] {p.title}\n{p.text}" for p in passages)
        try:
            msg = self.client.messages.create(
                model=self.settings.model,
                max_tokens=max_tokens,
                system=system,
                messages=[{"role": "user", "content": f"Passages:\n\n{context}\n\nQuestion: {question}"}],
            )
        except anthropic.APITimeoutError:
            return None, f"the LLM did not reply within {self.settings.timeout_s:g}s"
        except anthropic.APIStatusError as e:
            return None, f"the LLM returned HTTP {e.status_code}"
        except anthropic.APIError as e:
            return None, type(e).__name__
        text = "".join(getattr(b, "text", "") for b in msg.content).strip()
        return (text or None), (None if text else "the LLM returned no text")

    def write(self, question: str, passages: list[SearchResult]) -> tuple[str | None, str | None]:
        """(answer, None) on success; (None, note) when the model could not be used."""
        text, error = self._ask(SYSTEM, question, passages, self.settings.max_tokens)
        if text is None:
            return None, f"answer not written: {error}; passages returned as context"
        return text, None

    def sufficient(self, question: str, passages: list[SearchResult]) -> tuple[bool | None, str | None]:
        """(verdict, note): False only on a clear INSUFFICIENT; None when no verdict could be had."""
        text, error = self._ask(SUFFICIENCY, question, passages, 5)
        if text is None:
            return None, f"sufficiency not checked: {error}; the gate's decision stands"
        verdict = text.split()[0].strip(".").upper()
        if verdict not in ("SUFFICIENT", "INSUFFICIENT"):
            return None, f"sufficiency not checked: unexpected reply {text[:40]!r}; the gate's decision stands"
        return verdict == "SUFFICIENT", None if verdict == "SUFFICIENT" else "the LLM judged the passages insufficient to answer"
