"""Tell the tidemark tracker where a Python program is: simulated dates and phases.

Under ``tidemark run`` (which puts this package on PYTHONPATH) or with the tracker preloaded
(``LD_PRELOAD=libtidemark_preload.so``), each call writes a marker into the trace, so that the
timeline and the growth findings of a backtest read in simulated days, as the bundled engine's do::

    import tidemark

    for day in trading_days:
        tidemark.mark_date(day)            # "2024-03-15", a datetime.date, a pandas Timestamp
        with tidemark.phase("rebalance"):
            rebalance(day)

Without the tracker every function checks its argument as it would with it (a program behaves the
same either way) and does nothing else. Nothing here allocates on the tracker's side; the text of
a marker is copied (up to 255 bytes).
"""

import ctypes as _ctypes

__all__ = ["active", "mark", "mark_date", "phase", "scan"]

# Must equal tidemark::format::MarkerKind (include/tidemark/trace_format.h).
_TEXT, _SIMULATION_DATE, _PHASE_BEGIN, _PHASE_END = 0, 1, 2, 3


def _entry():
    try:
        fn = _ctypes.CDLL(None).tidemark_marker_v1
    except (AttributeError, OSError):
        return None
    fn.argtypes = (_ctypes.c_int, _ctypes.c_char_p)
    fn.restype = None
    return fn


_marker = _entry()


def _scan_entry():
    # PyDLL: the call keeps the GIL, so the tracker may read the interpreter's objects.
    try:
        fn = _ctypes.PyDLL(None).tidemark_scan_v1
    except (AttributeError, OSError):
        return None
    fn.argtypes = ()
    fn.restype = _ctypes.c_int
    return fn


_scanner = _scan_entry()


def active():
    """True when this process runs under the tidemark tracker."""
    return _marker is not None


def scan():
    """Scans the heap now, with the interpreter's object graph, when the tracker runs with --scan
    (TIDEMARK_SCAN=1): the analysis then finds the garbage cycles at this point and, with two
    scans, what grew between them. Nothing is collected, and the program waits only for the scan.
    Returns True when the object graph was recorded, False otherwise (no tracker, no --scan)."""
    if _scanner is None:
        return False
    return _scanner() == 1


def _text(value):
    if not isinstance(value, (str, bytes)):
        raise TypeError("a marker's text is a str or bytes, not %s" % type(value).__name__)
    data = value.encode("utf-8", "replace") if isinstance(value, str) else value
    return data.replace(b"\0", b"?")[:255]


def mark(text):
    """Writes a free-text marker."""
    data = _text(text)
    if _marker is not None:
        _marker(_TEXT, data)


def mark_date(date):
    """Marks the start of a simulated day: a "YYYY-MM-DD" string or anything with isoformat()
    (datetime.date, datetime.datetime, numpy.datetime64 via str, pandas.Timestamp)."""
    if hasattr(date, "isoformat"):
        date = date.isoformat()
    elif not isinstance(date, (str, bytes)):
        date = str(date)
    data = _text(date)[:10]
    if _marker is not None:
        _marker(_SIMULATION_DATE, data)


class phase(object):
    """A phase of the program, as a context manager: ``with tidemark.phase("pipeline"): ...``."""

    __slots__ = ("_name",)

    def __init__(self, name):
        self._name = _text(name)

    def __enter__(self):
        if _marker is not None:
            _marker(_PHASE_BEGIN, self._name)
        return self

    def __exit__(self, *exc):
        if _marker is not None:
            _marker(_PHASE_END, self._name)
        return False
