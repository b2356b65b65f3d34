import sys

from metaacu.cli import main

sys.exit(main())
