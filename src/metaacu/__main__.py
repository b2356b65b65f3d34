from metaacu.cli import main
import sys

sys.exit(main())
