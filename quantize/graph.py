"""The one walker of a Keras graph: every other module reads a model's layer calls through here.

Keras 3 keeps a functional model's graph in the private ``model._nodes_by_depth`` (``{depth: [node, ...]}``, depth 0
at the outputs, a node deeper than every node consuming its outputs).  This is the only module that reads it, so a
change of Keras's internals is mended in one place.  A node is one call of a layer (``node.operation``) on its
input tensors; a layer shared by several models (the VAE's encoder in its training and deployable models) has one
node per call, and only the nodes of the model asked about are walked.

No Keras import: the functions only read the model given to them.
"""

from __future__ import annotations

from dataclasses import dataclass


def nodes_in_order(model) -> list:
    """Every node of ``model`` from the inputs to the outputs: the deepest first, the nodes of one depth in Keras's
    order, so that every node comes after the nodes producing its inputs."""
    by_depth = model._nodes_by_depth
    return [node for depth in sorted(by_depth, reverse=True) for node in by_depth[depth]]


@dataclass(frozen=True, eq=False)
class LayerCall:
    """One call of a layer in a model's graph, its tensors named by ``id`` (stable while the model lives)."""

    node: object
    layer: object
    cls: str  # the layer's class name
    ins: list[int]  # ids of the input tensors, in order
    out: int  # id of the (first) output tensor

    @property
    def output(self):
        """The (first) output tensor."""
        return self.node.output_tensors[0]

    @property
    def out_shape(self) -> tuple[int, ...]:
        """Shape of the output without the batch axis."""
        return tuple(int(d) for d in self.output.shape[1:])


def layer_calls(model) -> list[LayerCall]:
    """The layer calls of ``model`` in graph order (:func:`nodes_in_order`), its input layers left out."""
    calls = []
    for node in nodes_in_order(model):
        layer = node.operation
        cls = layer.__class__.__name__
        if cls == "InputLayer":
            continue
        calls.append(LayerCall(node, layer, cls, [id(t) for t in node.input_tensors], id(node.output_tensors[0])))
    return calls


def node_of(model, layer):
    """The node of ``layer`` in ``model`` (when the model calls it more than once, the first in the order Keras stores
    the depths, which is not :func:`nodes_in_order`), None when the model does not call it."""
    for nodes in model._nodes_by_depth.values():
        for node in nodes:
            if node.operation is layer:
                return node
    return None


def input_in_model(model, layer):
    """The tensor feeding ``layer`` inside ``model`` (its first input); ValueError when the model does not call it."""
    node = node_of(model, layer)
    if node is None:
        raise ValueError(f"layer {layer.name} is not part of model {model.name}")
    return node.input_tensors[0]


def output_in_model(model, layer):
    """The output of ``layer`` inside ``model``: for a layer shared with another model ``layer.output`` would be the
    one of the first graph that called it; ``layer.output`` only when the model does not call the layer."""
    node = node_of(model, layer)
    return node.output_tensors[0] if node is not None else layer.output
