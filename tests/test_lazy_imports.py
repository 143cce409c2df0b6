"""A model file's top-level `import keras` runs lazily: a cached load imports no TensorFlow, converts the same bytes
and still builds the float model on demand; a file that uses Keras at import time gets the hint once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO

LAZY = (
    "import keras\n"
    "import numpy as np\n"
    "def build():\n"
    "    keras.utils.set_random_seed(3)\n"
    "    x = keras.Input((4, 4, 2))\n"
    "    return keras.Model(x, keras.layers.Conv2D(3, 1, name='head')(x))\n"
    "def representative_dataset():\n"
    "    rng = np.random.default_rng(0)\n"
    "    for _ in range(4):\n"
    "        yield [rng.uniform(-1, 1, (1, 4, 4, 2)).astype(np.float32)]\n")
EAGER = LAZY.replace("import numpy as np\n", "import numpy as np\nfrom keras import layers\n")

PROBE = """
import hashlib, json, sys
from pathlib import Path
from tinyc.frontend.loader import build_keras, load_model
loaded = load_model(Path(sys.argv[1]))
facts = {"from_cache": loaded.from_cache, "tensorflow_imported": "tensorflow" in sys.modules,
         "keras_module": type(sys.modules["keras"]).__name__, "notes": list(loaded.notes),
         "tflite": hashlib.sha256(loaded.tflite).hexdigest()}
if sys.argv[2] == "build":
    facts["outputs"] = [list(t.shape) for t in build_keras(loaded).outputs]
print(json.dumps(facts))
"""


def probe(model: Path, cache: Path, *, build: bool = False) -> dict[str, object]:
    env = {**os.environ, "TINYC_CACHE_DIR": str(cache), "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", PROBE, str(model), "build" if build else "-"], env=env,
                          capture_output=True, text=True, check=True, timeout=600)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_a_cached_load_of_a_file_that_imports_keras_imports_no_tensorflow(tmp_path: Path) -> None:
    model = tmp_path / "m.py"
    model.write_text(LAZY)
    fresh = probe(model, tmp_path / "cache")
    assert fresh["from_cache"] is False
    cached = probe(model, tmp_path / "cache", build=True)
    assert cached["from_cache"] is True and cached["tflite"] == fresh["tflite"]
    assert cached["outputs"] == [[None, 4, 4, 3]]  # build() still imports Keras when the float model is needed
    quick = probe(model, tmp_path / "cache")
    assert (quick["tensorflow_imported"], quick["keras_module"]) == (False, "_LazyModule")
    assert not any("import time" in n for n in quick["notes"])  # type: ignore[union-attr]


def test_a_file_that_uses_keras_at_import_time_is_told_once(tmp_path: Path) -> None:
    model = tmp_path / "eager.py"
    model.write_text(EAGER)
    probe(model, tmp_path / "cache")
    first, second = probe(model, tmp_path / "cache"), probe(model, tmp_path / "cache")
    assert first["from_cache"] is True and first["tensorflow_imported"] is True
    hints = [n for n in first["notes"] if "import time" in n]  # type: ignore[union-attr]
    assert hints and hints[0].startswith("eager.py uses keras at import time")
    assert not any("import time" in n for n in second["notes"])  # type: ignore[union-attr]
