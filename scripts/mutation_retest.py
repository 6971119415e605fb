"""Mark mutmut's surviving mutants as untested, so that the next `mutmut run` tests them again
against tests added since (mutmut keeps a verdict until the function itself changes).
Usage: python scripts/mutation_retest.py   (in the repository root, after a `make mutation`)"""

import json
from pathlib import Path

SURVIVED = 0  # mutmut's exit code of a mutant the tests did not catch

reset = 0
for meta in Path("mutants").rglob("*.py.meta"):
    data = json.loads(meta.read_text())
    codes = data["exit_code_by_key"]
    for key, code in codes.items():
        if code == SURVIVED:
            codes[key] = None
            reset += 1
    meta.write_text(json.dumps(data, indent=4))
print(f"{reset} surviving mutants will be tested again")
