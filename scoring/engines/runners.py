"""Forward passes on one padded batch: a cross-encoder in PyTorch (CPU/GPU, fp32/fp16/bf16), and
any exported graph (the cross-encoder's logits, the bi-encoder's embeddings) in ONNX Runtime on
CPU (fp32, dynamic or static int8) or OpenVINO on CPU (fp32, bf16 or static int8). Every runner
returns its output in fp32 as a numpy array, shaped as the graph's output (the reranker flattens
its logits to one per pair)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np


def is_out_of_memory(e: BaseException) -> bool:
    import torch

    return isinstance(e, torch.cuda.OutOfMemoryError) or "out of memory" in str(e).lower()


class TorchRunner:
    def __init__(self, model, device: str, precision: str):
        import torch

        self._torch = torch
        self.device = device
        self.precision = precision
        dtype = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}[precision]
        self.model = model.to(device=device, dtype=dtype).eval()
        self.kind = "torch" if precision == "fp32" else f"torch-{precision}"

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        torch = self._torch
        with torch.inference_mode():
            inputs = {k: torch.from_numpy(v).to(self.device, non_blocking=True) for k, v in batch.items()}
            # Upcast before leaving the device: only the logits cross back, in fp32.
            return self.model(**inputs).logits.float().view(-1).cpu().numpy()

    def to_cpu(self) -> None:
        """The last resort when even one pair does not fit on the GPU: fp32 on CPU."""
        self.model = self.model.to(device="cpu", dtype=self._torch.float32)
        if self.device.startswith("cuda"):
            self._torch.cuda.empty_cache()
        self.device, self.precision, self.kind = "cpu", "fp32", "torch"


def lowest_priority() -> None:
    """Give the calling thread (on Linux, this thread only) the lowest CPU priority: background work
    runs when the machine has nothing else to do."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
    except (OSError, AttributeError):
        pass


def cpu_threads() -> int:
    """Every CPU this process may use: runtimes' defaults count physical cores, which under-uses small VMs."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class OnnxRunner:
    def __init__(self, path: Path, threads: int = 0):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.intra_op_num_threads = threads or cpu_threads()
        self.session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
        self.inputs = [i.name for i in self.session.get_inputs()]
        self.device = "cpu"
        self.kind = "onnx-int8" if path.name.endswith(".int8.onnx") else "onnx-qdq" if ".qdq." in path.name else "onnx"

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {k: batch[k].astype(np.int64, copy=False) for k in self.inputs}
        return np.asarray(self.session.run(None, feeds)[0], dtype=np.float32)


class OpenVinoRunner:
    def __init__(self, path: Path, threads: int = 0, *, bf16: bool = False):
        import openvino as ov

        # Latency hint: one request at a time uses every thread, as the reranker sends one batch at a time.
        config = {"PERFORMANCE_HINT": "LATENCY", "INFERENCE_NUM_THREADS": threads or cpu_threads()}
        int8 = ".openvino-int8." in path.name
        if not int8:
            # The CPU plugin silently runs fp32 graphs in bf16 where the CPU has it; say which one is wanted.
            config["INFERENCE_PRECISION_HINT"] = "bf16" if bf16 else "f32"
        self.compiled = ov.Core().compile_model(str(path), "CPU", config)
        self.inputs = [i.get_any_name() for i in self.compiled.inputs]
        self.device = "cpu"
        self.kind = "openvino-int8" if int8 else "openvino-bf16" if bf16 else "openvino"

    def forward(self, batch: dict[str, np.ndarray]) -> np.ndarray:
        feeds = {k: batch[k].astype(np.int64, copy=False) for k in self.inputs}
        return np.asarray(self.compiled(feeds)[0], dtype=np.float32)
