"""Train a random forest on data/dataset.csv and report its accuracy.

The CSV is generated on the first run (a synthetic classification problem),
so the example needs nothing but the requirements. Results go to output/,
which tccp brings back to the laptop when the job finishes.
"""
import json
import os
import platform

import pandas as pd
from sklearn.datasets import make_classification
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import train_test_split

DATA = "data/dataset.csv"


def make_dataset(path):
    features, target = make_classification(
        n_samples=2000, n_features=12, n_informative=6, random_state=7
    )
    df = pd.DataFrame(features, columns=[f"f{i}" for i in range(features.shape[1])])
    df["target"] = target
    os.makedirs(os.path.dirname(path), exist_ok=True)
    df.to_csv(path, index=False)
    print(f"generated {path}: {len(df)} rows")


if not os.path.exists(DATA):
    make_dataset(DATA)

df = pd.read_csv(DATA)
X_train, X_test, y_train, y_test = train_test_split(
    df.drop("target", axis=1), df["target"], random_state=7
)
model = RandomForestClassifier(n_estimators=100, random_state=7)
model.fit(X_train, y_train)
accuracy = model.score(X_test, y_test)
print(f"Accuracy: {accuracy:.4f} on {platform.node()}")

os.makedirs("output", exist_ok=True)
with open("output/metrics.json", "w") as f:
    json.dump({"accuracy": accuracy, "rows": len(df), "node": platform.node()}, f, indent=2)
print("wrote output/metrics.json")
