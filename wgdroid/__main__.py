from wgdroid.cli.main import main

raise SystemExit(main())
