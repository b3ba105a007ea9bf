"""Trains the iris classifier and saves it with its class names: python3 train.py MODEL_PATH."""

import sys

import joblib
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def main(path: str) -> None:
    iris = load_iris()  # bundled with scikit-learn: no download
    x_train, x_test, y_train, y_test = train_test_split(
        iris.data, iris.target, test_size=0.2, random_state=0, stratify=iris.target)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    model.fit(x_train, y_train)
    accuracy = model.score(x_test, y_test)
    print(f"held-out accuracy: {accuracy:.3f}")
    if accuracy < 0.9:
        sys.exit(f"accuracy {accuracy:.3f} is below 0.9: not saving the model")
    joblib.dump({"model": model,
                 "classes": [str(name) for name in iris.target_names],
                 "features": [str(name) for name in iris.feature_names]}, path)
    print(f"saved {path}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "model.joblib")
