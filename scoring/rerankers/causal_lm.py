"""`causal-lm`: a causal language model used as a reranker in this process (Qwen3-Reranker,
mxbai-rerank-v2): the pair is written into the model family's prompt, and the score is the
log-odds of "yes" against "no" as the next token at the last position.

Prompts are batched with left padding, so the last position is the prompt's own last token in
every row; the document is truncated, never the query or the template."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ragate.retrieval.deadline import check as check_deadline
from ragate.retrieval.model_paths import pick_device, resolve_model
from ragate.scoring.rerankers.base import Reranker


@dataclass(frozen=True)
class PromptTemplate:
    prefix: str
    body: str  # {instruction}, {query}, {document}
    suffix: str
    yes: str
    no: str
    instruction: str = ""


TEMPLATES = {
    "qwen3": PromptTemplate(
        prefix='<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n',
        body="<Instruct>: {instruction}\n<Query>: {query}\n<Document>: {document}",
        suffix="<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
        yes="yes",
        no="no",
        instruction="Given a web search query, retrieve relevant passages that answer the query",
    ),
    "mxbai": PromptTemplate(
        prefix="<|endoftext|><|im_start|>system\nYou are Qwen, created by Alibaba Cloud. You are a helpful assistant.<|im_end|>\n<|im_start|>user\n",
        body="query: {query} \ndocument: {document} \n{instruction}\nRelevance:",
        suffix="<|im_end|>\n<|im_start|>assistant\n",
        yes="1",
        no="0",
        instruction="You are a search relevance expert who evaluates how well documents match search queries. For each "
        "query-document pair, carefully analyze the semantic relationship between them, then provide your binary "
        "relevance judgment (0 for not relevant, 1 for relevant).",
    ),
}


def family(model: str) -> str:
    """The prompt family of a model name: mxbai-rerank-v2 has its own, the rest Qwen3-Reranker's."""
    return "mxbai" if "mxbai" in model.lower() else "qwen3"


class CausalLmReranker(Reranker):
    kind = "causal-lm"
    scores = 'the log-odds of "yes" against "no" as the model\'s next token'

    def __init__(
        self, model: str, *, device: str = "auto", max_length: int = 512, batch_size: int = 8, instruction: str = "", cache_size: int = 0
    ):
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        super().__init__(f"causal-lm:{model}", cache_size=cache_size)
        self.device = pick_device(device)
        self.template = TEMPLATES[family(model)]
        self.instruction = instruction or self.template.instruction
        path = resolve_model(model)
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        dtype = torch.bfloat16 if self.device.startswith("cuda") else torch.float32
        self.model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype).to(self.device).eval()
        self.yes_id, self.no_id = (self.tokenizer.convert_tokens_to_ids(t) for t in (self.template.yes, self.template.no))
        self._prefix = self.tokenizer(self.template.prefix, add_special_tokens=False)["input_ids"]
        self._suffix = self.tokenizer(self.template.suffix, add_special_tokens=False)["input_ids"]
        self.max_length, self.batch_size = max_length, batch_size
        self.engine_reason = f"PyTorch, {family(model)} prompt"
        self._lock = threading.Lock()

    def prompt_ids(self, query: str, document: str) -> list[int]:
        """The whole prompt's token ids, the document cut to fit `max_length`."""
        head, tail = (part.format(instruction=self.instruction, query=query) for part in self.template.body.split("{document}"))
        fixed = self._prefix + self.tokenizer(head, add_special_tokens=False)["input_ids"]
        end = self.tokenizer(tail, add_special_tokens=False)["input_ids"] + self._suffix
        room = max(0, self.max_length - len(fixed) - len(end))
        doc = self.tokenizer(document, add_special_tokens=False)["input_ids"][:room]
        return fixed + doc + end

    def _score_uncached(self, queries: Sequence[str], passages: Sequence[str]) -> np.ndarray:
        import torch

        t0 = time.perf_counter()
        prompts = [self.prompt_ids(q, p) for q, p in zip(queries, passages, strict=True)]
        order = sorted(range(len(prompts)), key=lambda i: len(prompts[i]))
        out = np.zeros(len(prompts), dtype=np.float32)
        with self._lock, torch.inference_mode():
            for s in range(0, len(order), self.batch_size):
                check_deadline("rerank")
                idx = order[s : s + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [prompts[i] for i in idx]}, return_tensors="pt").to(self.device)
                mask = batch["attention_mask"]
                # Positions counted from each prompt's first real token, as if it were unpadded.
                positions = (mask.cumsum(-1) - 1).clamp(min=0)
                last = self.model(input_ids=batch["input_ids"], attention_mask=mask, position_ids=positions).logits[:, -1, :].float()
                out[idx] = (last[:, self.yes_id] - last[:, self.no_id]).cpu().numpy()
        if prompts:
            self._measured(len(prompts), time.perf_counter() - t0)
        return out
