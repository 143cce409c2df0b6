"""Train the digits MCUNet-style net and write ``models/digits_mcunet.keras``.

    python -m tinyc.frontend.train_digits [--output models/digits_mcunet.keras]

scikit-learn's 8x8 digits (bundled, offline), upsampled to 32x32x1, stratified 75/25 split with
a fixed seed (``tinyc.frontend.data.digits_split``). Trains in seconds on 2 CPU cores, then
reports float top-1 and int8 top-1 (TFLite interpreter) on the held-out split.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import time
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from tinyc.frontend.blocks import build_model
from tinyc.frontend.data import digits_representative_dataset, digits_split
from tinyc.frontend.zoo import digits_mcunet

SEED = 0
EPOCHS = 12
BATCH_SIZE = 32
LEARNING_RATE = 1e-2  # peak of a cosine decay over all steps
DEFAULT_OUTPUT = Path("models/digits_mcunet.keras")


@dataclass(frozen=True)
class TrainResult:
    float_top1: float
    int8_top1: float
    test_samples: int
    train_seconds: float


def train(*, epochs: int = EPOCHS, seed: int = SEED) -> keras.Model:
    """A batch-1 model with the trained weights (a static batch keeps Flatten a single RESHAPE)."""
    x_train, y_train, _, _ = digits_split()
    keras.utils.set_random_seed(seed)
    spec = digits_mcunet()
    trainable = build_model(spec, seed=seed, batch_size=None)
    steps = epochs * -(-len(x_train) // BATCH_SIZE)
    trainable.compile(
        optimizer=keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(LEARNING_RATE, steps)),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    trainable.fit(x_train, y_train, epochs=epochs, batch_size=BATCH_SIZE, shuffle=True, verbose=0)
    model = build_model(spec, seed=seed, batch_size=1)
    model.set_weights(trainable.get_weights())
    return model


def evaluate(model: keras.Model) -> tuple[float, float]:
    """(float top-1, int8 top-1) on the held-out split."""
    from tinyc.frontend.evaluate import convert_int8, int8_predictions

    _, _, x_test, y_test = digits_split()
    float_predictions = np.argmax(model.predict(x_test, batch_size=1, verbose=0), axis=1)
    with contextlib.redirect_stdout(io.StringIO()):
        flatbuffer = convert_int8(model, digits_representative_dataset)
    int8_top1 = float(np.mean(int8_predictions(flatbuffer, x_test) == y_test))
    return float(np.mean(float_predictions == y_test)), int8_top1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    args = parser.parse_args()
    start = time.perf_counter()
    model = train(epochs=args.epochs)
    train_seconds = time.perf_counter() - start
    args.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(args.output)
    float_top1, int8_top1 = evaluate(model)
    _, _, x_test, _ = digits_split()
    result = TrainResult(float_top1, int8_top1, len(x_test), train_seconds)
    print(f"wrote {args.output}: trained {result.train_seconds:.1f} s; held-out top-1 on "
          f"{result.test_samples} samples: float {result.float_top1:.4f}, int8 {result.int8_top1:.4f}")


if __name__ == "__main__":
    main()
