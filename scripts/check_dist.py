"""Check a built sdist and wheel the way a PyPI release needs them (scripts/release_check.sh runs it).

- metadata: name, version, summary, SPDX license and its file, readme as Markdown, authors, keywords, URLs,
  classifiers, Python requirement;
- the wheel: every module, the config files that enable the server extension, and a *production* labextension
  (minified, no source maps: a stale development build must not slip in through ``skip-if-exists``);
- the sdist: what the wheel is rebuilt from (the labextension's sources and lock file), and no node_modules.

    python scripts/check_dist.py DIST_DIR
"""

from __future__ import annotations

import email
import json
import sys
import tarfile
import zipfile
from pathlib import Path

LABEXT = "share/jupyter/labextensions/jupyter-codeinterp/"


def check_metadata(text: str) -> list[str]:
    meta = email.message_from_string(text)
    fields = ["Name", "Version", "Summary", "License-Expression", "License-File", "Author", "Keywords"]
    fields += ["Requires-Python", "Description-Content-Type"]
    problems = [f"metadata has no {field}" for field in fields if not meta.get(field)]
    if meta.get("Description-Content-Type") != "text/markdown":
        problems.append(f"readme is {meta.get('Description-Content-Type')!r}, not Markdown")
    urls = {value.split(",", 1)[0] for value in meta.get_all("Project-URL") or []}
    problems += [f"no {name} URL" for name in ("Homepage", "Source", "Issues") if name not in urls]
    classifiers = set(meta.get_all("Classifier") or [])
    for needed in ("Framework :: Jupyter :: JupyterLab :: Extensions :: Prebuilt", "Programming Language :: Python"):
        if not any(c.startswith(needed) for c in classifiers):
            problems.append(f"classifier missing: {needed}")
    if "Code Interpreter" not in (meta.get_payload() or ""):
        problems.append("the long description is not the README")
    return problems


def check_wheel(path: Path, modules: set[str]) -> list[str]:
    with zipfile.ZipFile(path) as whl:
        names = whl.namelist()
        data = next(n.split("/", 1)[0] for n in names if ".data/" in n)
        info = next(n.split("/", 1)[0] for n in names if n.endswith(".dist-info/METADATA"))
        problems = check_metadata(whl.read(f"{info}/METADATA").decode())
        shipped = {n.split("/")[-1] for n in names if n.startswith("jupyter_codeinterp/") and n.endswith(".py")}
        problems += [f"module missing from the wheel: {m}" for m in sorted(modules - shipped)]
        for config in ("jupyter_server_config.d", "jupyter_notebook_config.d"):
            member = f"{data}/data/etc/jupyter/{config}/jupyter_codeinterp.json"
            if member not in names:
                problems.append(f"missing {member}")
            elif not json.loads(whl.read(member)):
                problems.append(f"{member} is empty")
        static = [n for n in names if n.startswith(f"{data}/data/{LABEXT}static/")]
        package = json.loads(whl.read(f"{data}/data/{LABEXT}package.json"))
        load = package["jupyterlab"]["_build"]["load"]
        entry = f"{data}/data/{LABEXT}{load}"
        if entry not in names:
            return [*problems, f"the labextension's entry point {load} is not in the wheel"]
        maps = [n for n in static if n.endswith(".map")]
        if maps:
            problems.append(f"the labextension is a development build (source maps: {maps[:2]})")
        if whl.read(entry).count(b"\n") > 5:
            problems.append(f"the labextension's {load} is not minified: a development build")
        if not any(n.endswith("third-party-licenses.json") for n in static):
            problems.append("the labextension has no third-party-licenses.json (production builds write it)")
        if not any(n.startswith(f"{data}/data/{LABEXT}schemas/jupyter-codeinterp/") for n in names):
            problems.append("the labextension's settings schema is missing")
        if not any(n.endswith(".dist-info/licenses/LICENSE") for n in names):
            problems.append("the wheel has no LICENSE")
    return problems


def sdist_names(path: Path) -> set[str]:
    with tarfile.open(path) as sdist:
        return {n.split("/", 1)[1] for n in sdist.getnames() if "/" in n}


def check_sdist(names: set[str]) -> list[str]:
    needed = ["pyproject.toml", "README.md", "LICENSE", "labextension/package.json", "labextension/package-lock.json"]
    needed += ["labextension/src/index.ts", "jupyter-config/server-config/jupyter_codeinterp.json"]
    problems = [f"sdist lacks {n}" for n in needed if n not in names]
    problems += [f"sdist ships {n}" for n in names if "node_modules/" in n][:3]
    return problems


def main() -> int:
    dist = Path(sys.argv[1])
    wheels, sdists = sorted(dist.glob("*.whl")), sorted(dist.glob("*.tar.gz"))
    if len(wheels) != 1 or len(sdists) != 1:
        print(f"check_dist: expected one wheel and one sdist in {dist}, found {wheels + sdists}", file=sys.stderr)
        return 1
    names = sdist_names(sdists[0])
    modules = {n.split("/")[-1] for n in names if n.startswith("jupyter_codeinterp/") and n.count("/") == 1}
    problems = check_wheel(wheels[0], {m for m in modules if m.endswith(".py")}) + check_sdist(names)
    for problem in problems:
        print(f"check_dist: {problem}", file=sys.stderr)
    if not problems:
        print(f"check_dist: ok: {wheels[0].name} ({wheels[0].stat().st_size // 1024} KB), {sdists[0].name}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
