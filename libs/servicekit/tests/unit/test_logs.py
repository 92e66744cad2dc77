"""The kit's logging set-up beside gunicorn's own logger, which shares the process."""
import logging

from servicekit.logs import configure_logging


def test_gunicorns_own_lines_still_format_after_the_kit_sets_logging_up():
    from gunicorn.glogging import Logger
    configure_logging("sample")
    record = logging.LogRecord("gunicorn.error", logging.INFO, __file__, 1, "Worker exiting (pid: %s)", (4242,), None)
    line = logging.Formatter(Logger.error_fmt, Logger.datefmt).format(record)
    assert "Worker exiting (pid: 4242)" in line and "[None]" not in line
