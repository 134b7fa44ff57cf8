import sys

from lecun98.cli import main

sys.exit(main())
