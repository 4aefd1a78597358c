"""The dashboard's pages, in the order of the study guide: declared once, used by the router and the home page."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageInfo:
    path: str
    title: str
    icon: str
    url_path: str
    teaches: str


PAGES = [
    PageInfo("pages/playground.py", "Playground", ":material/sports_esports:", "playground",
             "Watch a network learn a 2-D data set live: play, pause, step; the decision boundary, the network's weights "
             "and the curves move as it trains; two models side by side; your own CSV; save and share the run."),
    PageInfo("pages/basics.py", "Network basics", ":material/psychology:", "basics",
             "Activation functions and their derivatives, vanishing gradients with depth, a forward and backward pass "
             "checked against autograd, and why a hidden nonlinear layer separates xor and circles."),
    PageInfo("pages/regression.py", "Regression", ":material/show_chart:", "regression",
             "Linear regression from scratch (randn/zeros, requires_grad, the manual step, clearing gradients) beside "
             "nn.Linear and the closed form; multivariate weights; polynomial regression with a degree slider."),
    PageInfo("pages/classification.py", "Classification", ":material/pin:", "classification",
             "Softmax regression and an MLP on digits or MNIST: curves, confusion matrix, misclassified images, "
             "saving and loading a model."),
    PageInfo("pages/capacity.py", "Capacity", ":material/straighten:", "capacity",
             "Under- and overfitting with polynomial degree, width against depth at a matched parameter budget, "
             "universal approximation with one hidden layer."),
    PageInfo("pages/data_strategies.py", "Data strategies", ":material/dataset:", "data-strategies",
             "Learning curves, data augmentation, a validation set for model selection, K-fold cross-validation and "
             "early stopping."),
    PageInfo("pages/regularization.py", "Regularization", ":material/compress:", "regularization",
             "L2, L1 and weight decay on a high-dimensional regression; dropout and why inverted dropout equals the "
             "classic test-time scaling in expectation."),
    PageInfo("pages/sweeps.py", "Sweeps", ":material/science:", "sweeps",
             "Sweep parameters over ranges with K folds and seeds, batched where possible: validation curves with the "
             "best value marked; progress, cancel, and nothing lost on refresh."),
    PageInfo("pages/runs.py", "Runs", ":material/table_view:", "runs",
             "Every stored run: filter, sort, compare curves overlaid or side by side, group over folds and seeds, "
             "re-run, export and import result tables."),
    PageInfo("pages/frontier.py", "Beyond the textbook", ":material/explore:", "frontier",
             "Double descent with random features, networks memorising random labels, the test error split into "
             "bias², variance and noise, and label noise with and without early stopping."),
    PageInfo("pages/reproductions.py", "Reproductions", ":material/fact_check:", "reproductions",
             "Canonical published results (d2l, scikit-learn, Srivastava, Zhang, Belkin, Prechelt) beside the lab's "
             "own figure on the same setup, and whether each holds; re-run any row."),
]
