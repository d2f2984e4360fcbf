"""lenet_utils.widgets: the book's one widget strategy (a pure figure function plus interactive_figure)."""
import os
import subprocess
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from lenet_utils.widgets import interactive_figure  # noqa: E402

CHAPTERS = ["background", "input_layer", "convolution", "pooling", "fully_connected", "activations", "innovations",
            "lenet5", "reproduction"]


def test_each_change_draws_the_pure_figure_once(monkeypatch):
    import IPython.display
    import ipywidgets

    shown, calls = [], []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))

    def figure(a, b=1):
        calls.append((a, b))
        fig, ax = plt.subplots()
        ax.set_title(f"a={a}, b={b}")
        return fig

    w = interactive_figure(figure, a=ipywidgets.IntSlider(3, 0, 5), b=ipywidgets.fixed(7))
    assert calls == [(3, 7)] and len(shown) == 1
    assert shown[0].axes[0].get_title() == "a=3, b=7"
    assert not plt.fignum_exists(shown[0].number)  # closed, so the inline backend cannot draw it again
    w.children[0].value = 5
    assert calls == [(3, 7), (5, 7)] and len(shown) == 2 and shown[1].axes[0].get_title() == "a=5, b=7"


def test_ipywidgets_is_imported_only_when_a_widget_is_built():
    code = ("import sys, importlib\n"
            "import lenet_utils, lenet_utils.widgets\n"
            f"for name in {CHAPTERS!r}:\n"
            "    importlib.import_module('lenet_utils.chapters.' + name)\n"
            "assert 'ipywidgets' not in sys.modules, 'ipywidgets was imported'\n"
            "from lenet_utils.chapters.activations import activation_widget\n"
            "activation_widget()\n"
            "assert 'ipywidgets' in sys.modules\n")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=300, env=dict(os.environ, MPLBACKEND="Agg"))
