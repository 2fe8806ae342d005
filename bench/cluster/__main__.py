import sys

from bench.cluster.main import main

sys.exit(main())
