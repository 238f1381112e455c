"""Import a real deployment: each server's Asterisk configuration becomes a plan and a scenario.

```python
from iaxsim.deploy import import_deployment, write_import
result = import_deployment(["etc/A", "etc/B"])
write_import(result, "net")      # net/plan.csv, net/network.toml, net/import.txt, net/<id>/*.conf
```
"""
from iaxsim.deploy.importer import ImportResult, ServerImport, import_deployment, write_import

__all__ = ["ImportResult", "ServerImport", "import_deployment", "write_import"]
