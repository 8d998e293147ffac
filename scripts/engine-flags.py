#!/usr/bin/env python3
"""Regenerate the flag lists of fixtures/engines/ from the engines' own argument definitions.

Reads source only (Python ast; nothing is imported or run). Usage:
  scripts/engine-flags.py vllm   SRC   # SRC = unpacked vllm-X.tar.gz (has vllm/engine/arg_utils.py)
  scripts/engine-flags.py sglang SRC   # SRC = sglang/srt of an unpacked sglang wheel
  scripts/engine-flags.py router FILE  # FILE = router_args.py of sglang-router or vllm-router
Prints `FLAG KIND` lines (KIND: flag | int | float | str | json | list | choice:a|b|...); the
header lines of each fixture (version, file, sha256) are written by hand.
"""
import ast
import glob
import os
import re
import sys


def kind_of_annotation(a, aliases):
    if a is None:
        return "str"
    a = a[9:-1] if a.startswith("Optional[") else a
    a = a.replace(" | None", "").split(" | ")[0].strip()
    a = aliases.get(a, a)
    if a == "bool":
        return "bool"
    if a in ("int", "PositiveInt", "NonNegativeInt"):
        return "int"
    if a == "float":
        return "float"
    m = re.fullmatch(r"Literal\[(.*)\]", a, re.S)
    if m:
        try:
            vals = ast.literal_eval("[" + m.group(1) + "]")
        except Exception:
            return "str"
        return "choice:" + "|".join(map(str, vals))
    if a.startswith(("List[", "list[")):
        return "list"
    if "Config" in a or "dict" in a:
        return "json"
    return "str"


def call_kind(call, default):
    kind = default
    for k in call.keywords:
        v = ast.unparse(k.value) if k.value is not None else ""
        if k.arg == "action" and ("store_true" in v or "store_false" in v or "Deprecated" in v):
            kind = "flag"
        elif k.arg == "action" and "BooleanOptional" in v:
            kind = "bool"
        elif k.arg == "action" and "append" in v:
            kind = "list"
        elif k.arg == "type":
            kind = {"int": "int", "float": "float"}.get(v, kind)
        elif k.arg == "nargs" and kind == "str":
            kind = "list"
        elif k.arg == "choices" and isinstance(k.value, (ast.List, ast.Tuple)):
            kind = "choice:" + "|".join(str(e.value) for e in k.value.elts if isinstance(e, ast.Constant))
    return kind


def literal_flag(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):  # f"--{prefix}name" with an empty prefix
        return "".join(v.value if isinstance(v, ast.Constant) else "" for v in node.values)
    return None


def classes_and_aliases(files):
    ann, aliases = {}, {}
    for f in files:
        for n in ast.walk(ast.parse(open(f).read())):
            if isinstance(n, ast.ClassDef):
                d = {b.target.id: ast.unparse(b.annotation) for b in n.body
                     if isinstance(b, ast.AnnAssign) and isinstance(b.target, ast.Name)}
                if len(d) >= len(ann.get(n.name, {})):
                    d["__bases__"] = [ast.unparse(x) for x in n.bases]
                    ann[n.name] = d
            if (isinstance(n, ast.Assign) and isinstance(n.targets[0], ast.Name)
                    and isinstance(n.value, ast.Subscript) and ast.unparse(n.value.value) == "Literal"):
                aliases[n.targets[0].id] = ast.unparse(n.value)
    return ann, aliases


def field_annotation(ann, cls, field):
    seen = set()
    while cls and cls not in seen:
        seen.add(cls)
        d = ann.get(cls, {})
        if field in d:
            return d[field]
        bases = d.get("__bases__", [])
        cls = bases[0] if bases else None
    return None


def vllm(root):
    files = glob.glob(os.path.join(root, "vllm/config/**/*.py"), recursive=True)
    files += [os.path.join(root, p) for p in ("vllm/entrypoints/common/cli_args.py", "vllm/engine/arg_utils.py",
                                              "vllm/model_executor/layers/quantization/__init__.py")]
    ann, aliases = classes_and_aliases(files)
    out = {}
    for path in ("vllm/engine/arg_utils.py", "vllm/entrypoints/common/cli_args.py"):
        tree = ast.parse(open(os.path.join(root, path)).read())
        kw = {n.targets[0].id: ast.unparse(n.value.args[0]) for n in ast.walk(tree)
              if isinstance(n, ast.Assign) and isinstance(n.value, ast.Call)
              and ast.unparse(n.value.func) == "get_kwargs" and isinstance(n.targets[0], ast.Name)}
        for n in ast.walk(tree):
            if not (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_argument"):
                continue
            names = [f for f in map(literal_flag, n.args) if f and f.startswith("--")]
            if not names:
                continue
            kind = call_kind(n, "str")
            for k in n.keywords:
                s = k.value
                if k.arg is None and isinstance(s, ast.Dict):
                    s = next((v for kk, v in zip(s.keys, s.values) if kk is None), s)
                if k.arg is None and isinstance(s, ast.Subscript) and isinstance(s.value, ast.Name) and s.value.id in kw:
                    kind = kind_of_annotation(field_annotation(ann, kw[s.value.id], s.slice.value), aliases)
            out[names[0]] = kind
    cls = "FrontendArgs"
    while cls:
        for f, a in ann.get(cls, {}).items():
            if not f.startswith("__"):
                out.setdefault("--" + f.replace("_", "-"), kind_of_annotation(a, aliases))
        bases = ann.get(cls, {}).get("__bases__", [])
        cls = bases[0] if bases else None
    return out


def sglang(root):
    files = sorted(glob.glob(os.path.join(root, "arg_groups/**/*.py"), recursive=True)) + [os.path.join(root, "server_args.py")]
    _, aliases = classes_and_aliases(files)
    out = {}
    for f in files:
        for n in ast.walk(ast.parse(open(f).read())):
            if (isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)
                    and isinstance(n.annotation, ast.Subscript) and ast.unparse(n.annotation.value) == "A"):
                t, meta = n.annotation.slice.elts[0], n.annotation.slice.elts[1]
                arg = meta if isinstance(meta, ast.Call) else None
                names, skip = ["--" + n.target.id.replace("_", "-")], False
                for k in arg.keywords if arg else []:
                    if k.arg == "cli_name":
                        names[0] = k.value.value
                    if k.arg == "aliases":
                        names += [e.value for e in k.value.elts]
                    if k.arg == "no_cli" and ast.unparse(k.value) == "True":
                        skip = True
                if skip:
                    continue
                kind = kind_of_annotation(ast.unparse(t), aliases)
                kind = "flag" if kind == "bool" else kind
                kind = call_kind(arg, kind) if arg else kind
                for nm in names:
                    out[nm] = kind
            elif isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_argument":
                for nm in [x for x in map(literal_flag, n.args) if x and x.startswith("--")]:
                    out.setdefault(nm, call_kind(n, "str"))
    return out


def router(path):
    out = {}
    for n in ast.walk(ast.parse(open(path).read())):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "add_argument" and n.args:
            name = literal_flag(n.args[0])
            if name and name.startswith("--"):
                out[name] = call_kind(n, "str")
    return out


if __name__ == "__main__":
    what, src = sys.argv[1], sys.argv[2]
    flags = {"vllm": vllm, "sglang": sglang, "router": router}[what](src)
    for k in sorted(f for f in flags if f != "--"):
        if flags[k] == "bool":  # BooleanOptionalAction: --x and --no-x
            print(k, "flag")
            print("--no-" + k[2:], "flag")
        else:
            print(k, flags[k])
