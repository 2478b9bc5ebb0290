"""A pipeline whose step never returns (a model call that hangs), run as a process by the tests.

It prints ``stuck`` once it is inside the step, so the test knows when to send SIGTERM.
"""

from __future__ import annotations

import threading
from typing import Any

from pipelines.common import logs
from pipelines.common.app import make_app
from pipelines.common.settings import StreamwiseSettings


def hang(value: Any) -> Any:
    print("stuck", flush=True)
    threading.Event().wait()  # fault injection: never returns
    return value


def main() -> None:
    settings = StreamwiseSettings()
    logs.configure(settings.log_level, settings.log_format)
    papp = make_app("fraud", settings)
    papp.app.dataframe(papp.topic("transactions")).apply(hang)
    papp.run()


if __name__ == "__main__":
    main()
