# The browser test here drives the same headless Chromium as tests/browser/.
from tests.browser.conftest import browser, page  # noqa: F401
