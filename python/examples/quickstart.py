#!/usr/bin/python3
"""descpipe from Python: a DataFrame in, a selection with its lineage out (`make demo` runs it).

    PYTHONPATH=build/python /usr/bin/python3 python/examples/quickstart.py TABLE.csv OUTDIR

TABLE.csv: descriptors with metadata columns (mol_id, smiles) in front. (Debian's pandas reads no
Parquet: it has no pyarrow. descpipe.run reads Parquet itself; `descpipe sample -o x.csv` or
`apply -o x.csv` export one as CSV.)
"""
import sys

import numpy as np
import pandas as pd
from sklearn.linear_model import RidgeCV
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import descpipe

table, out = sys.argv[1], sys.argv[2]
# round_trip: the doubles of the file to the last bit (pandas' default parser rounds some).
df = pd.read_csv(table, float_precision="round_trip", dtype={"mol_id": str, "smiles": str})
print(f"DataFrame: {df.shape[0]} molecules x {df.shape[1]} columns")

# 1. The whole pipeline on the DataFrame, without writing it to a file: outputs into OUTDIR.
result = descpipe.run(df, out=out, progress=False, quiet=True)
print(f"\n{len(result.final)} final descriptors; per pass:")
print(result.summary[["columns_in", "columns_out", "seconds"]].to_string())

removed = result.lineage[result.lineage["fate"] == "removed"]
print(f"\nwhy descriptors were removed ({len(removed)}):")
print(removed["pass_name"].value_counts().to_string())
print("\nthree removed descriptors, what stands for each now and how similar it is:")
print(removed.dropna(subset=["represented_by"])[
    ["pass_name", "represented_by", "rho_to_representative", "r2_on_final"]].head(3).to_string())
print()
print(result.explain(removed.index[0]))
# The HTML report: descpipe.run wrote it into OUTDIR; Result.report() writes it anywhere. In
# Jupyter, `result` on its own shows a short summary (Result._repr_html_).
print(f"\nthe report, one self-contained file to open in a browser: {result.report()}")

# 2. As a scikit-learn step: y guides the choice of representatives and is never a feature.
# The target: RDKit's MolLogP (the shared table), else the first descriptor (a generated table).
target = "MolLogP" if "MolLogP" in df else df.select_dtypes("number").columns[0]
y = df[target].fillna(df[target].median()).to_numpy()
features = df.drop(columns=[target])
numeric = features.select_dtypes("number").replace([np.inf, -np.inf], np.nan)
numeric = numeric.fillna(numeric.median())
model = make_pipeline(descpipe.DescriptorSelector(), StandardScaler(), RidgeCV())
scores = cross_val_score(model, numeric, y, cv=3)
kept = model.fit(numeric, y)[0].get_feature_names_out()
print(f"\nRidge on the {len(kept)} selected descriptors (of {numeric.shape[1]}) predicting "
      f"{target}: cross-validated R^2 {scores.mean():.3f}")
