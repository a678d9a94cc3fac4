"""Trains a random forest on a CSV and writes its metrics to output/."""
import json
import os
import socket

import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split


def make_dataset(path, rows=2000, seed=0):
    """Writes a synthetic two-class dataset (the example brings its own data)."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(rows, 4))
    target = (x[:, 0] + 0.5 * x[:, 1] - x[:, 2] > 0).astype(int)
    df = pd.DataFrame(x, columns=["f1", "f2", "f3", "f4"])
    df["target"] = target
    os.makedirs(os.path.dirname(path), exist_ok=True)
    df.to_csv(path, index=False)


if not os.path.exists("data/dataset.csv"):
    make_dataset("data/dataset.csv")

df = pd.read_csv("data/dataset.csv")
X_train, X_test, y_train, y_test = train_test_split(
    df.drop("target", axis=1), df["target"], random_state=0)
model = RandomForestClassifier(n_estimators=100, random_state=0)
model.fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
print(f"Accuracy: {accuracy:.4f} (trained on {socket.gethostname()})")

os.makedirs("output", exist_ok=True)
with open("output/metrics.json", "w") as f:
    json.dump({"accuracy": accuracy, "rows": len(df)}, f, indent=2)
print("metrics written to output/metrics.json")
