# Brine's #!py shim, run as `python3 -I -c <this>`: runs one SLS module's run()
# the way salt.utils.templates.py does and talks JSON lines with Brine.
#
# Protocol (one JSON object per line; Python writes ASCII-only JSON):
#   Brine -> shim, first line: {"file", "source", "grains", "pillar", "opts", "sls", "saltenv"}
#   shim -> Brine: {"call": "mod.fun", "args": [...], "kwargs": {...}}
#                  answered by {"ok": value} or {"error": "message"}
#   shim -> Brine, last: {"result": data}
#                  or {"error": kind, "message": text}, kind one of no_run, not_dict, not_data
#                  or {"error": "exception", "message", "traceback"[, "line": n]}
# A dict with a key that is not a string crosses as {"\u0000keyed": [[kind, text,
# value], ...]} both ways (external_render/src/python/keyed.rs), so __pillar__'s
# 139: stays the int 139. Floats may be inf or nan (JSON text Infinity, NaN).
# Runs under Python 3.7 and later.
import json
import linecache
import os
import sys
import traceback
import types

# The protocol runs on private, non-inheritable copies of fds 0 and 1. The SLS
# gets /dev/null as fd 0 and stderr as fd 1, so print(), os.write(1, ...) or a
# program it starts cannot corrupt the protocol.
_IN = os.fdopen(os.dup(0), "rb")
_OUT = os.fdopen(os.dup(1), "wb")
_null = os.open(os.devnull, os.O_RDONLY)
os.dup2(_null, 0)
os.close(_null)
os.dup2(2, 1)


_MARKER = "\u0000keyed"
_KINDS = {"int": int, "float": float, "str": str}


def _tag(obj, path=()):
    """`obj` with each dict that has a non-string key (or the marker) wrapped."""
    if not isinstance(obj, (list, tuple, dict)):
        return obj
    if id(obj) in path:
        raise ValueError("Circular reference detected")
    path = path + (id(obj),)
    if isinstance(obj, (list, tuple)):
        return [_tag(x, path) for x in obj]
    if all(isinstance(k, str) for k in obj) and _MARKER not in obj:
        return {k: _tag(v, path) for k, v in obj.items()}
    entries = []
    for k, v in obj.items():
        if isinstance(k, bool):
            kind, text = "bool", "true" if k else "false"
        elif k is None:
            kind, text = "null", "null"
        elif isinstance(k, int):
            kind, text = "int", str(k)
        elif isinstance(k, float):
            kind, text = "float", json.dumps(k)
        elif isinstance(k, str):
            kind, text = "str", k
        else:
            raise TypeError("keys must be str, int, float, bool or None, not %s" % type(k).__name__)
        entries.append([kind, text, _tag(v, path)])
    return {_MARKER: entries}


def _untag(d):
    if len(d) != 1 or _MARKER not in d:
        return d
    out = {}
    for kind, text, value in d[_MARKER]:
        if kind == "bool":
            key = text == "true"
        elif kind == "null":
            key = None
        else:
            key = _KINDS[kind](text)
        out[key] = value
    return out


def _dumps(msg):
    return json.dumps(_tag(msg), ensure_ascii=True).encode("ascii") + b"\n"


def _send(msg):
    _OUT.write(_dumps(msg))
    _OUT.flush()


def _receive():
    line = _IN.readline()
    if not line:
        # Brine went away (or stopped this render): nothing left to do.
        os._exit(3)
    return json.loads(line.decode("utf-8"), object_hook=_untag)


class SaltCallError(Exception):
    """A `__salt__[...]` call Brine answered with an error."""


class _SaltFunction:
    def __init__(self, name):
        self._name = name

    def __call__(self, *args, **kwargs):
        try:
            request = _dumps({"call": self._name, "args": list(args), "kwargs": kwargs})
        except (TypeError, ValueError, RecursionError) as exc:
            raise TypeError(
                "__salt__['%s']: the arguments are not data Brine can pass: %s"
                % (self._name, exc)
            ) from None
        _OUT.write(request)
        _OUT.flush()
        answer = _receive()
        if "error" in answer:
            raise SaltCallError(answer["error"])
        return answer["ok"]

    def __repr__(self):
        return "<salt function %s>" % self._name


class _SaltModule:
    def __init__(self, name):
        self._name = name

    def __getattr__(self, fun):
        if fun.startswith("__"):
            raise AttributeError(fun)
        return _SaltFunction("%s.%s" % (self._name, fun))


class _Salt:
    """`__salt__`: `__salt__['mod.fun'](...)` and `__salt__.mod.fun(...)` ask Brine."""

    def __getitem__(self, name):
        if not isinstance(name, str) or "." not in name:
            raise KeyError(name)
        return _SaltFunction(name)

    def get(self, name, default=None):
        return self[name]

    def __getattr__(self, mod):
        if mod.startswith("__"):
            raise AttributeError(mod)
        return _SaltModule(mod)

    def _cannot_list(self, *_):
        # Answering False for a function Brine lacks would be a silent wrong
        # answer; calling it gives an error that names it.
        raise TypeError(
            "Brine cannot list the functions of __salt__ in a #!py file; "
            "call the function instead"
        )

    __contains__ = _cannot_list
    __iter__ = _cannot_list
    __len__ = _cannot_list
    keys = _cannot_list

    def __repr__(self):
        return "<salt functions>"


def _exception(file, exc):
    """`{"message": "KeyError: 'x'", "traceback": ..., "line": n}`: the
    exception, the last few frames of the SLS file (no shim frames), its line."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == file]
    only = traceback.format_exception_only(type(exc), exc)
    detail = "".join(traceback.format_list(frames[-5:]) + only[:-1]).rstrip("\n")
    msg = {"error": "exception", "message": only[-1].strip(), "traceback": detail}
    if isinstance(exc, SyntaxError) and exc.filename == file:
        msg["line"] = exc.lineno
    elif frames:
        msg["line"] = frames[-1].lineno
    return msg


def _fail(kind, message):
    _send({"error": kind, "message": message})


def _main():
    req = _receive()
    file, source = req["file"], req["source"]
    # Tracebacks show the SLS's own lines although it is not a file here.
    linecache.cache[file] = (len(source), None, source.splitlines(True), file)
    name = os.path.basename(file).split(".")[0]
    mod = types.ModuleType(name)
    mod.__file__ = file
    try:
        exec(compile(source, file, "exec"), mod.__dict__)
    except BaseException as exc:  # SystemExit from the SLS is its error too
        return _send(_exception(file, exc))
    sys.modules[name] = mod
    # As salt/renderers/py.py: set after the module ran, seen by run().
    salt = _Salt()
    names = {
        "salt": salt,
        "grains": req["grains"],
        "pillar": req["pillar"],
        "opts": req["opts"],
        "saltenv": req["saltenv"],
        "sls": req["sls"],
    }
    for key, value in names.items():
        setattr(mod, key, value)
        setattr(mod, "__%s__" % key, value)
    mod.__env__ = req["saltenv"]
    run = getattr(mod, "run", None)
    if not callable(run):
        return _fail("no_run", "defines no run() function")
    try:
        data = run()
    except BaseException as exc:
        return _send(_exception(file, exc))
    # Salt's state compiler takes a falsy render as an empty SLS.
    if not data:
        data = {}
    if not isinstance(data, dict):
        return _fail("not_dict", "run() returned %s, not a dict" % type(data).__name__)
    try:
        text = _dumps({"result": data})
    except (TypeError, ValueError, RecursionError) as exc:
        return _fail("not_data", "run() returned a dict that is not data: %s" % exc)
    _OUT.write(text)
    _OUT.flush()


_main()
