"""Engines: what trains and evaluates the models under the one loop (`core.loop.Loop`).

An engine holds M models and their data and offers the loop one small interface:

- `M`, `task`, `split_names[m]` (the splits model m has: train, val, test);
- `train_epoch(active)`: one epoch of training for the models where the bool mask `active` is set;
- `evaluate()`: every split of every model in eval mode → {'train_loss': tensor[M], ...} (float64, NaN where
  a model lacks the split);
- `snapshot(mask, into)` / `restore(snapshot, mask)`: copy the weights of the models in `mask` aside and back
  (early stopping's restore-best);
- `model(m)`: model m as an `nn.Module` with its current weights.

Two engines implement it: `ModuleEngine` (one `nn.Module` with a torch optimizer: anything, including the
from-scratch model, batch norm, augmentation) and `StackedEngine` (many models of one shape as one
computation; `stack_key` says which models it takes and why not).
"""

from .module import ModuleEngine
from .stacked import StackedEngine, stack_key

__all__ = ["ModuleEngine", "StackedEngine", "stack_key"]
