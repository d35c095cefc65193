# -*- Python -*-
import os

import lit.formats
from lit.llvm import llvm_config

config.name = "gradc"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".gir", ".test"]
config.excludes = ["Inputs", "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
# The suite runs once per backend (see below), possibly at the same time:
# each run gets its own directory for scripts and temporary files.
config.test_exec_root = os.path.join(
    config.gradc_obj_root, "test", lit_config.params.get("backend", "jit"))

# The JIT's compile cache lives in the exec root, emptied at each run, never
# in the user's home.
import shutil

cache_dir = os.path.join(config.test_exec_root, "compile-cache")
shutil.rmtree(cache_dir, ignore_errors=True)
config.environment["GRADC_CACHE_DIR"] = cache_dir

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.add_tool_substitutions(["gradc"], [config.gradc_tools_dir])
config.substitutions.append(("%cxx", config.host_cxx))
config.substitutions.append(("%examples", os.path.join(config.gradc_src_root, "examples")))
config.substitutions.append(("%python", "/usr/bin/python3"))
if config.gradc_have_blas:
    config.available_features.add("blas")

# The whole suite runs twice under ctest: with the default backend (the LLVM
# JIT) and with `--param backend=interp`, where every `gradc run` without an
# explicit --backend uses the reference interpreter.
backend = lit_config.params.get("backend", "jit")
config.name = "gradc-" + backend
if backend == "interp":
    config.substitutions.insert(0, (r"\bgradc run\b", "gradc run --backend=interp"))

# Emitted C++ is compiled warning-free; clang++-19 (if installed) checks it too.
import shutil

config.substitutions.append(("%emitflags", "-std=c++17 -O1 -Wall -Wextra -Werror"))
config.substitutions.append(
    ("%clangxx", shutil.which("clang++-19") or config.host_cxx))
config.substitutions.append(
    ("%cpp_check", "/usr/bin/python3 " +
     os.path.join(config.test_source_root, "Inputs", "cpp_check.py")))
if shutil.which("dot"):
    config.available_features.add("graphviz")
