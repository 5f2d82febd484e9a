from apiway.cli import main

raise SystemExit(main())
