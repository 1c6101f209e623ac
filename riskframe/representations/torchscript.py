"""Representations of a TorchScript model: the output of a named layer, read from the compiled graph.

TorchScript modules refuse forward hooks ("register_forward_hook is not supported on
ScriptModules"), and a loaded file has no Python source to rerun. So the layer is found in the
model's own graph instead: the forward graph is inlined (every node then records the submodule it
came from, ``Node.getModuleHierarchy``), the value that leaves the named submodule becomes the
graph's only output, and the pruned graph is compiled into a function of the same module. What
runs is exactly the model's computation up to that layer.

This uses TorchScript internals (``torch._C``), pinned by the ``torch==2.13.0`` extra and covered
by the tests on scripted and traced models.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from riskframe.data.datasets import Dataset
from riskframe.errors import DetectorError, MissingDependencyError
from riskframe.io.model_files import open_model
from riskframe.spec.validation import did_you_mean

try:
    import torch
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise MissingDependencyError("torch", "torch", "TorchScript representations") from exc

BATCH = 1024
_SCOPE = re.compile(r"([^.()]+)\(([^()]*)\)")
# The input operand of each op that applies a linear layer's weights.
_LINEAR_INPUT = {"aten::linear": 0, "aten::addmm": 1, "aten::matmul": 0}
FINAL_LINEAR_INPUT = "input of the final linear layer"


def _module_path(node: Any) -> list[str]:
    """``'penultimate(Sequential).2(ReLU).UNKNOWN_INSTANCE(...)'`` -> ``['penultimate', '2', ...]``."""
    return [name for name, _ in _SCOPE.findall(node.getModuleHierarchy())]


def _inlined_forward(module: Any) -> Any:
    graph = module.forward.graph.copy()
    torch._C._jit_pass_inline(graph)
    return graph


def _leaving_values(graph: Any, path: list[str]) -> list[Any]:
    """Tensor values computed inside submodule ``path`` and used outside it (its outputs)."""

    def inside(node: Any) -> bool:
        return _module_path(node)[: len(path)] == path

    return [
        value
        for node in graph.nodes()
        if inside(node)
        for value in node.outputs()
        if isinstance(value.type(), torch._C.TensorType) and any(not inside(use.user) for use in value.uses())
    ]


class TorchScriptModel:
    """A TorchScript model loaded on CPU, whose layers can be read by name."""

    kind = "TorchScript"

    def __init__(self, module: Any, name: str) -> None:
        self.module = module.eval()
        self.name = name
        self._input_layout: str | None = None

    @classmethod
    def load(cls, path: Path, name: str) -> TorchScriptModel:
        """Load ``path`` through :func:`riskframe.io.model_files.open_model`: scanned first, refused
        unless the scan finds it safe; a file that is not TorchScript is a :class:`DetectorError`."""
        return cls(open_model(path, "torchscript", name).model, name)

    def layer_names(self) -> list[str]:
        return [layer for layer, _ in self.module.named_modules() if layer]

    def default_layer(self) -> str:
        """The outermost submodule whose output is the input of the model's final linear layer,
        or :data:`FINAL_LINEAR_INPUT` when no submodule produces it alone."""
        graph = _inlined_forward(self.module)
        value = self._final_linear_input(graph)
        path = _module_path(value.node())
        for depth in range(1, len(path) + 1):
            leaving = _leaving_values(graph, path[:depth])
            if len(leaving) == 1 and leaving[0].debugName() == value.debugName():
                return ".".join(path[:depth])
        return FINAL_LINEAR_INPUT

    def representations(self, dataset: Dataset, layer: str) -> np.ndarray:
        """The output of ``layer`` for every sample of ``dataset``, flattened to (N, D)."""
        capture = self.layer_function(layer)
        inputs = self.inputs(dataset)
        with torch.inference_mode():
            chunks = [capture(chunk) for chunk in torch.split(inputs, BATCH)]
        return torch.cat(chunks).flatten(1).double().numpy()

    def layer_function(self, layer: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """A function computing ``layer``'s output from a model input batch (the model's own
        computation, pruned after the layer). Raises :class:`DetectorError` for an unknown layer,
        listing the ones that exist."""
        function = self._capture(layer)
        module = self.module._c
        return lambda inputs: function(module, inputs)

    def output_size(self, dataset: Dataset) -> int:
        """Size of the model's output for one sample of ``dataset``."""
        with torch.inference_mode():
            out = self.module(self.inputs(dataset)[:1])
        if not isinstance(out, torch.Tensor) or out.ndim != 2:
            raise DetectorError(f"model {self.name!r} must return class scores (N, K); got {_describe(out)}")
        return int(out.shape[1])

    def inputs(self, dataset: Dataset) -> torch.Tensor:
        """The dataset as the model takes it: images as (N, C, H, W) when it has images and the
        model accepts them, else the flat (N, D) features."""
        candidates = _candidate_inputs(dataset)
        if self._input_layout is None:
            errors = []
            for layout, build in candidates.items():
                try:
                    with torch.inference_mode():
                        self.module(build()[:2])
                except Exception as exc:  # the model's own shape checks, as RuntimeError or others
                    errors.append(f"{layout}: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}")
                    continue
                self._input_layout = layout
                break
            else:
                raise DetectorError(
                    f"model {self.name!r} cannot take dataset {dataset.name!r} as input; tried " + "; ".join(errors)
                )
        return candidates[self._input_layout]()

    def _capture(self, layer: str) -> Callable[..., Any]:
        graph = _inlined_forward(self.module)
        if layer == FINAL_LINEAR_INPUT:
            leaving = [self._final_linear_input(graph)]
        else:
            names = self.layer_names()
            if layer not in names:
                raise DetectorError(
                    f"model {self.name!r} has no layer {layer!r}{did_you_mean(layer, names)}; "
                    f"its layers are: {', '.join(names)}"
                )
            leaving = _leaving_values(graph, layer.split("."))
        if len(leaving) != 1:
            why = (
                "is not run by forward on a straight path"
                if not leaving
                else (f"has {len(leaving)} outputs (called more than once, or returns several tensors)")
            )
            raise DetectorError(f"layer {layer!r} of model {self.name!r} {why}; name a layer with one tensor output")
        graph.eraseOutput(0)
        graph.registerOutput(leaving[0])
        torch._C._jit_pass_dce(graph)
        return torch._C._create_function_from_graph("riskframe_capture", graph)

    def _final_linear_input(self, graph: Any) -> Any:
        linear = [node for node in graph.nodes() if node.kind() in _LINEAR_INPUT]
        if not linear:
            raise DetectorError(
                f"model {self.name!r} has no linear layer to take the default representation from; "
                f"name one with `layer:` ({', '.join(self.layer_names()) or 'it has no submodules'})"
            )
        last = linear[-1]
        return list(last.inputs())[_LINEAR_INPUT[last.kind()]]


def _candidate_inputs(dataset: Dataset) -> dict[str, Callable[[], torch.Tensor]]:
    out: dict[str, Callable[[], torch.Tensor]] = {}
    images = dataset.images
    if images is not None:
        shape = (
            (images.shape[0], 1, *images.shape[1:])
            if images.ndim == 3
            else (images.shape[0], images.shape[3], images.shape[1], images.shape[2])
        )
        out[f"images {shape}"] = lambda: _as_nchw(images)
    flat = dataset.features
    out[f"features {flat.shape}"] = lambda: torch.from_numpy(np.ascontiguousarray(flat, dtype=np.float32))
    return out


def _as_nchw(images: np.ndarray) -> torch.Tensor:
    array = np.asarray(images, dtype=np.float32)
    array = array[:, None] if array.ndim == 3 else array.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(array))


def _describe(out: Any) -> str:
    if isinstance(out, torch.Tensor):
        return f"a tensor of shape {tuple(out.shape)}"
    return f"a {type(out).__name__}"
