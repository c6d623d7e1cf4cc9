"""What the report scripts take from the `gradmix` binary rather than define themselves (issue #27):
the method list (`gradmix info --methods`) and every mean, interval and paired difference over seeds
(`gradmix table --values`, GradMixReports' Statistics: the Student-t interval with the exact quantile)."""
import json
import os
import subprocess
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def binary(path=None):
  """The gradmix binary: `path`, else $GRADMIX_BIN, else the release build of this checkout."""
  b = path or os.environ.get("GRADMIX_BIN") or os.path.join(ROOT, ".build", "release", "gradmix")
  if not os.access(b, os.X_OK):
    raise SystemExit(f"error: {b}: no gradmix binary (swift build -c release, or pass --bin / set GRADMIX_BIN)")
  return b


def methods(gradmix, suite=True):
  """The methods `gradmix train --method` accepts (suite: those the task suite compares, in its table order)."""
  out = subprocess.run([gradmix, "info", "--methods"] + (["--suite"] if suite else []),
                       check=True, capture_output=True, text=True).stdout
  return out.split()


class Stats:
  """Means and 95% intervals over seeds, computed by `gradmix table --values` in one call.

  A report is rendered twice: on the first pass every `estimate`/`paired` call records its values and
  returns a placeholder; `compute()` sends them all to gradmix; the second pass reads the results.
  Values are {seed: value}; a paired difference is over the seeds both have.
  """

  def __init__(self, gradmix):
    self.gradmix = gradmix
    self.requests = {}
    self.results = None

  @staticmethod
  def _key(a, b):
    return tuple(sorted(a.items())), (tuple(sorted(b.items())) if b is not None else None)

  def _get(self, a, b):
    k = self._key(a, b)
    if self.results is None:
      self.requests.setdefault(k, (dict(a), None if b is None else dict(b)))
      return None
    return self.results[k]

  def estimate(self, values):
    """(mean, 95% half-width; NaN for one value) of the values."""
    g = self._get(values, None)
    if g is None:
      return 0.0, float("nan")
    return g["mean"], g.get("ci95_half_width", float("nan"))

  def paired(self, a, b):
    """(mean, 95% half-width) of a[s] - b[s] over the seeds s both have; None without one."""
    g = self._get(a, b)
    if g is None:
      return (0.0, float("nan")) if self.results is None else None
    if "diff_mean" not in g:
      return None
    return g["diff_mean"], g.get("diff_ci95_half_width", float("nan"))

  def compute(self):
    keys = list(self.requests)
    tables = []
    for k in keys:
      a, b = self.requests[k]
      groups = [{"group": "a", "values": {str(s): v for s, v in a.items()}}]
      if b is not None:
        groups.append({"group": "b", "values": {str(s): v for s, v in b.items()}})
      tables.append({"metric": "value", "baseline": "b" if b is not None else None, "groups": groups})
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
      json.dump(tables, f)
      path = f.name
    try:
      out = subprocess.run([self.gradmix, "table", "--values", path], check=True, capture_output=True, text=True).stdout
    finally:
      os.unlink(path)
    self.results = {k: t["groups"][0] for k, t in zip(keys, json.loads(out))}
