"""Shared fixtures. MNIST comes from one place: the ``data_root`` fixture, which resolves the data root the
way the notebooks and scripts do (``lenet_utils.data.data_root``: $LENET_DATA, else ``data/`` in the
repository) and fails with a clear message when the files are not there. Tests never download: a test that
reads MNIST without asking for ``data_root`` finds no data root set and fails instead of downloading."""
import asyncio
import os

import matplotlib
import pytest
import torchvision

from lenet_utils.data import DATA_ENV, DataError, check_files, data_root as resolve_data_root

matplotlib.use("Agg")

# Resolved once, at collection, from the environment the test command was started with; the variable itself
# is taken away so that only the fixture below can hand the root to a test (or to the notebooks it builds).
_ROOT = resolve_data_root(os.environ.pop(DATA_ENV, None)).resolve()


@pytest.fixture(scope="session")
def data_root():
    """The MNIST root ($LENET_DATA, else data/ in the repository), set in the environment for the test."""
    try:
        check_files(_ROOT, checksum=False)
    except DataError as err:
        pytest.fail(f"{err}\nThe tests read MNIST from {_ROOT} and never download it: set {DATA_ENV} to the "
                    f"folder that holds MNIST/raw/ (the README's test command does).", pytrace=False)
    os.environ[DATA_ENV] = str(_ROOT)
    return _ROOT


@pytest.fixture(autouse=True, scope="session")
def _never_download():
    patch = pytest.MonkeyPatch()

    def refuse(self, *args, **kwargs):
        raise RuntimeError(f"the tests never download {type(self).__name__}: ask for the data_root fixture")

    for dataset in (torchvision.datasets.MNIST, torchvision.datasets.FashionMNIST):
        patch.setattr(dataset, "download", refuse)
    yield
    patch.undo()


@pytest.fixture
def faithful_model():
    """A LeNet5Faithful with the weights that seed 0 draws."""
    from lenet_utils.models import LeNet5Faithful
    from lenet_utils.train import seeded

    with seeded(0):
        return LeNet5Faithful()


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


# Tables that tests hand over for the end of the run (the JupyterLab test's per-notebook
# times); printed in pytest's terminal summary, so they show with or without -s.
_REPORTS = pytest.StashKey[list]()


def pytest_configure(config):
    config.stash[_REPORTS] = []


@pytest.fixture(scope="session")
def terminal_report(request) -> list:
    """Append (title, text) to print it at the end of the pytest run."""
    return request.config.stash[_REPORTS]


def pytest_terminal_summary(terminalreporter, config):
    for title, text in config.stash.get(_REPORTS, []):
        terminalreporter.write_sep("-", title)
        terminalreporter.write_line(text)


# The built site, its local HTTP server and the headless Chromium context are defined in test_site.py
# and shared, one of each per session, by every test that opens pages (test_site.py, test_explorer.py).
import test_site as _site  # noqa: E402

site = pytest.fixture(scope="session")(_site.site)
server = pytest.fixture(scope="session")(_site.server)
browser_context = pytest.fixture(scope="session")(_site.browser_context)


def run_coroutine(coro):
    """asyncio.run(coro) in a thread of its own. Playwright's sync API (the session-wide browser of the site
    tests) keeps an event loop running in the main thread for the rest of the session, and asyncio.run
    refuses to start inside a thread that already runs one."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, coro).result()
