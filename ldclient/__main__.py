from ldclient.cli import main

raise SystemExit(main())
