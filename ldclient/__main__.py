from ldclient.cli import main
from ldclient.memory import return_freed_memory

return_freed_memory()
raise SystemExit(main())
