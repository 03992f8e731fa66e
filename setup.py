"""Packaging for forecast-nb, driven by settings.ini (nbdev 2). No pkg_resources (gone in setuptools 82+)."""
from configparser import ConfigParser
from pathlib import Path
import setuptools

cfg = ConfigParser(delimiters=["="])
cfg.read("settings.ini", encoding="utf-8")
cfg = cfg["DEFAULT"]

def reqs(key): return cfg.get(key, "").split()

extras = {k: reqs(f"{k}_requirements") for k in ("models", "tuning", "serve", "online", "scale", "dev", "bench")}
extras["all"] = sorted({r for k in ("models", "tuning", "serve", "online", "scale") for r in extras[k]})

package_data = {}
for spec in cfg.get("package_data", "").split("\n"):
    if spec.strip():
        pkg, globs = spec.split(":", 1)
        package_data[pkg.strip()] = globs.split()

setuptools.setup(
    name=cfg["lib_name"],
    version=cfg["version"],
    description=cfg["description"],
    long_description=Path("README.md").read_text(encoding="utf-8") if Path("README.md").exists() else cfg["description"],
    long_description_content_type="text/markdown",
    author=cfg["author"],
    author_email=cfg["author_email"],
    license="Apache-2.0",
    url=cfg["git_url"],
    project_urls={"Source": cfg["git_url"]},
    classifiers=["Development Status :: 3 - Alpha", "Intended Audience :: Science/Research",
                 "Programming Language :: Python :: 3.11", "Topic :: Scientific/Engineering :: Information Analysis",
                 "Framework :: Jupyter"],
    keywords=cfg["keywords"].split(),
    python_requires=f">={cfg['min_python']}",
    packages=setuptools.find_packages(include=["forecast_nb", "forecast_nb.*"]),
    package_data=package_data,
    include_package_data=True,
    install_requires=reqs("requirements"),
    extras_require=extras,
    entry_points={
        "console_scripts": cfg.get("console_scripts", "").split(),
        "nbdev": [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"],
    },
    zip_safe=False,
)
