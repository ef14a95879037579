"""Logs what a data scientist logs, to a real MLflow tracking server: two
training runs of the `wine` experiment, each with a training dataset named
by its S3 location and an evaluation dataset built in code, a parameter, a
metric and a model registered as `wine-quality`; then the `champion` alias
and a deploy tag on version 2. `promote-1` moves the alias to version 1.

Usage: train.py TRACKING_URL train|promote-1
"""

import sys

import mlflow
import pandas as pd
from mlflow.tracking import MlflowClient


class MeanQuality(mlflow.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return [5.3] * len(model_input)


def train():
    mlflow.set_experiment("wine")
    wines = pd.DataFrame({
        "acidity": [7.4, 7.8, 11.2, 7.4],
        "alcohol": [9.4, 9.8, 9.8, 9.4],
        "quality": [5, 5, 6, 5],
    })
    for i, alpha in enumerate([0.5, 0.1]):
        with mlflow.start_run(run_name=f"alpha-{alpha}"):
            train = mlflow.data.from_pandas(wines, source="s3://lake/wine/train.parquet", name="wine-train")
            mlflow.log_input(train, context="training")
            mlflow.log_input(mlflow.data.from_pandas(wines.tail(2), name="wine-holdout"), context="eval")
            mlflow.log_param("alpha", alpha)
            mlflow.log_metric("rmse", 0.7 - 0.1 * i)
            mlflow.pyfunc.log_model(name="model", python_model=MeanQuality(),
                                    registered_model_name="wine-quality")
    client = MlflowClient()
    client.set_registered_model_alias("wine-quality", "champion", "2")
    client.set_model_version_tag("wine-quality", "2", "mlgraph.service", "wine-api")


def main():
    mlflow.set_tracking_uri(sys.argv[1])
    if sys.argv[2] == "train":
        train()
    elif sys.argv[2] == "promote-1":
        MlflowClient().set_registered_model_alias("wine-quality", "champion", "1")
    else:
        sys.exit(f"unknown step {sys.argv[2]}")


if __name__ == "__main__":
    main()
