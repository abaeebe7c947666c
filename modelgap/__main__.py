import sys

from modelgap.cli import main

sys.exit(main())
