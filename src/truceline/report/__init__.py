"""Reports: the daily report (``daily``: what it says, read from the store; ``mapping``:
the map picture; ``render``: the HTML, JSON and PNG files, and the index page) and the
breach assessment (``assessment``). Templates live in ``report/templates``.

Import the module you need (``truceline.report.render`` pulls in Matplotlib)."""
